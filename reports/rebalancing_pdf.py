"""The rebalancing report's PDF sections and chart.

After the framework's cover (``reports.files``): the plan's summary, stock
against target by depot (a chart and its table), the transfers by lane, one
packing list per lane and the parts still short. A packing list is what the
sending depot's staff pick from: the lane's reference as a Code128 (the plan
and lane, or the draft transfer's number once approved), then every line with
its part number, description, quantity, the part number as a Code128 and a box
to tick.

A plan can hold tens of thousands of lines, so the packing lists are drawn
cheaply: plain strings in the table cells rather than a Paragraph each, and
tables of a page's worth of rows, so reportlab never splits one long table
again and again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, PageBreak, Paragraph, Spacer, Table, TableStyle

from core.i18n import gettext
from core.pdf import INK, MUTED, RULE, SHADE, Fonts, code128, labelled_barcode, text
from reports.catalogue import Chart, Section
from reports.charts import ACCENT, ACCENT_LIGHT, GRID
from reports.files import columns_of
from reports.pdf_blocks import CONTENT_WIDTH, HEAD, Look, data_table, fmt_money, fmt_pct
from reports.service.rebalancing import TABLES, PlanFacts
from reports.service.report import Report

CHART_WIDTH = 178 * mm
CHART_HEIGHT = 70 * mm
# Lines of a packing list per table: about a page, so no table is split many times.
ROWS_PER_TABLE = 26
PART_BARCODE_WIDTH = 52 * mm
BARCODE_HEIGHT = 7 * mm
TICK_SIZE = 4.2 * mm


# --- the chart ------------------------------------------------------------------------------


def stock_against_target(depots: pd.DataFrame, font: Fonts) -> Drawing:
    """Per depot, grouped bars of its position (units) before and after the plan,
    with a dark mark at the sum of its targets; "no data" without depots."""
    drawing = Drawing(CHART_WIDTH, CHART_HEIGHT)
    drawing.add(
        String(
            0,
            CHART_HEIGHT - 10,
            gettext("Stock against target by depot (units)"),
            fontName=font.bold,
            fontSize=9.5,
            fillColor=INK,
        )
    )
    if not len(depots):
        drawing.add(
            String(
                CHART_WIDTH / 2,
                CHART_HEIGHT / 2,
                gettext("no depots"),
                fontName=font.regular,
                fontSize=9,
                fillColor=MUTED,
                textAnchor="middle",
            )
        )
        return drawing
    before = [int(v) for v in depots["position_before"]]
    after = [int(v) for v in depots["position_after"]]
    targets = [int(v) for v in depots["target_units"]]
    highest = max([*before, *after, *targets, 1])
    chart = VerticalBarChart()
    chart.x, chart.y = 40, 22
    chart.width, chart.height = CHART_WIDTH - 48, CHART_HEIGHT - 50
    chart.data = [before, after]
    chart.strokeColor = None
    chart.categoryAxis.categoryNames = [str(d) for d in depots["depot"]]
    chart.categoryAxis.labels.fontName = font.regular
    chart.categoryAxis.labels.fontSize = 7.5
    chart.categoryAxis.labels.dy = -3
    chart.categoryAxis.strokeColor = RULE
    chart.categoryAxis.visibleTicks = False
    chart.valueAxis.labels.fontName = font.regular
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labels.fillColor = MUTED
    chart.valueAxis.strokeColor = None
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = GRID
    chart.valueAxis.gridStrokeWidth = 0.5
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = highest * 1.15
    chart.bars.strokeColor = None
    chart.bars[0].fillColor = ACCENT_LIGHT
    chart.bars[1].fillColor = ACCENT
    chart.barSpacing = 1
    chart.groupSpacing = 8
    drawing.add(chart)
    # The target of each depot: a dark line across its pair of bars.
    group = chart.width / len(targets)
    for index, target in enumerate(targets):
        y = chart.y + chart.height * target / chart.valueAxis.valueMax
        left = chart.x + index * group + 3
        drawing.add(Line(left, y, left + group - 6, y, strokeColor=INK, strokeWidth=1.6))
    legend = Legend()
    legend.x, legend.y = CHART_WIDTH - 250, CHART_HEIGHT - 4
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.dx, legend.dy = 7, 7
    legend.deltax = 80
    legend.fontName = font.regular
    legend.fontSize = 7.5
    legend.strokeColor = None
    legend.colorNamePairs = [
        (ACCENT_LIGHT, gettext("before the plan")),
        (ACCENT, gettext("after the plan")),
        (INK, gettext("target")),
    ]
    drawing.add(legend)
    return drawing


def charts(report: Report, font: Fonts) -> list[Chart]:
    """The page's and the PDF's chart: stock against target by depot."""
    title = gettext("Stock against target by depot (units)")
    return [
        Chart("stock-against-target", title, stock_against_target(report.tables["depots"], font))
    ]


# --- sections -------------------------------------------------------------------------------


def _summary_value(metric: str, value: Any, facts: PlanFacts | None) -> str:
    if value is None:
        return gettext("n/a")
    if metric == "status" and facts is not None:
        return facts.status_label + (" · " + gettext("stale") if facts.stale else "")
    if metric.endswith("_cny"):
        return fmt_money(value, 2)
    if metric.endswith("_pct"):
        return fmt_pct(value)
    if metric == "plan_id":
        return str(value)
    return f"{int(value):,}"


def _summary_table(look: Look, summary: pd.DataFrame, facts: PlanFacts | None) -> Table:
    rows = [
        [Paragraph(text(label), look.body), Paragraph(text(_summary_value(m, v, facts)), look.body)]
        for m, label, v in summary.itertuples(index=False, name=None)
    ]
    table = Table(rows, colWidths=(70 * mm, 60 * mm), hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, RULE),
                ("LINEABOVE", (0, 0), (-1, 0), 0.9, HEAD),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return table


class TickBox(Flowable):
    """An empty square to tick by hand when the line is packed."""

    def __init__(self, size: float = TICK_SIZE) -> None:
        super().__init__()
        self.size = size
        self.width = self.height = size

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        self.canv.setStrokeColor(INK)
        self.canv.setLineWidth(0.8)
        self.canv.rect(0, 0, self.size, self.size)


def _fitted(value: str, font: str, size: float, width: float) -> str:
    """``value`` cut with an ellipsis to fit ``width`` points in one line."""
    if stringWidth(value, font, size) <= width:
        return value
    while value and stringWidth(value + "…", font, size) > width:
        value = value[:-1]
    return value + "…"


def _packing_list(
    look: Look, lane: Any, lines: pd.DataFrame, depot_names: dict[str, str]
) -> list[Flowable]:
    """One lane's packing list: heading, the lane's reference as a barcode, its
    route and totals, then its lines in page-sized tables."""
    font = look.font
    source = f"{lane.from_depot} {depot_names.get(lane.from_depot, '')}".strip()
    target = f"{lane.to_depot} {depot_names.get(lane.to_depot, '')}".strip()
    facts = [
        Paragraph(
            text(gettext("Packing list %(lane)s", lane=lane.lane)),
            look.section,
        ),
        Paragraph(
            text(gettext("From %(source)s to %(target)s", source=source, target=target)),
            look.body,
        ),
        Paragraph(
            text(
                gettext(
                    "%(lines)s lines, %(units)s units, freight %(freight)s CNY",
                    lines=f"{int(lane.lines):,}",
                    units=f"{int(lane.units):,}",
                    freight=fmt_money(lane.freight_cny, 2),
                )
            ),
            look.small,
        ),
    ]
    head = Table(
        [[facts, labelled_barcode(lane.lane, look.small, max_width=70 * mm, bar_height=12 * mm)]],
        colWidths=(CONTENT_WIDTH - 75 * mm, 75 * mm),
    )
    head.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("LINEBELOW", (0, 0), (-1, -1), 1.2, HEAD),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    widths = [
        9 * mm,
        36 * mm,
        CONTENT_WIDTH - (9 + 36 + 12 + 15) * mm - PART_BARCODE_WIDTH,
        12 * mm,
        PART_BARCODE_WIDTH,
        15 * mm,
    ]
    header = [
        "#",
        gettext("Part number"),
        gettext("Description"),
        gettext("Qty"),
        gettext("Part barcode"),
        gettext("Packed"),
    ]
    description_width = widths[2] - 6
    style = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font.regular),
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
            ("BACKGROUND", (0, 0), (-1, 0), HEAD),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("ALIGN", (3, 0), (3, -1), "RIGHT"),
            ("ALIGN", (4, 1), (5, -1), "CENTER"),
            ("TOPPADDING", (0, 1), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 1), (-1, -1), 2),
            ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, SHADE]),
        ]
    )
    records = list(zip(lines["part_number"], lines["description"], lines["qty"], strict=True))
    story: list[Flowable] = [head, Spacer(1, 3 * mm)]
    for start in range(0, len(records), ROWS_PER_TABLE):
        rows: list[list[Any]] = [header]
        for number, (part, description, qty) in enumerate(
            records[start : start + ROWS_PER_TABLE], start=start + 1
        ):
            rows.append(
                [
                    str(number),
                    part,
                    _fitted(str(description), font.regular, 8, description_width),
                    f"{int(qty):,}",
                    _part_barcode(part),
                    TickBox(),
                ]
            )
        story.append(Table(rows, colWidths=widths, style=style, repeatRows=1))
    story.append(Spacer(1, 6 * mm))
    story.append(
        Paragraph(
            text(gettext("Packed by: ____________    Checked by: ____________    Date: ________")),
            look.body,
        )
    )
    return story


def _part_barcode(part_number: str) -> Flowable | str:
    """The part number as a Code128; the text itself when Code128 cannot carry it."""
    try:
        return code128(part_number, max_width=PART_BARCODE_WIDTH - 4, bar_height=BARCODE_HEIGHT)
    except ValueError:
        return part_number


def _packing_lists(report: Report, look: Look, depot_names: dict[str, str]) -> list[Flowable]:
    lanes = report.tables["lanes"]
    moves = report.tables["moves"]
    if not len(lanes):
        return [Paragraph(text(gettext("The plan moves nothing.")), look.note)]
    by_lane = dict(tuple(moves.groupby("lane", sort=False)))
    story: list[Flowable] = []
    for number, lane in enumerate(lanes.itertuples(index=False)):
        if number:
            story.append(PageBreak())  # each list travels with its own shipment
        story += _packing_list(look, lane, by_lane[lane.lane], depot_names)
    return story


def sections(report: Report, look: Look, labels: Mapping[str, str]) -> list[Section]:
    """The PDF's body after the cover (see the module notes); ``labels`` are the
    column headings in words."""
    facts: PlanFacts | None = report.details["plan"]
    depots = report.tables["depots"]
    depot_names = dict(zip(depots["depot"], depots["depot_name"], strict=True))

    def table_of(name: str) -> Flowable:
        frame = report.tables[name]
        return data_table(look, frame, columns_of(frame, labels), empty=gettext("None."))

    if facts is None:
        intro = gettext("No rebalancing plan has been made yet.")
    else:
        intro = gettext(
            "Plan %(id)s, %(status)s, made by %(by)s.",
            id=facts.plan_id,
            status=facts.status_label + (" · " + gettext("stale") if facts.stale else ""),
            by=facts.created_by,
        )
        if facts.transfers:
            intro += " " + gettext("Draft transfers: %(codes)s.", codes=", ".join(facts.transfers))
    chart = stock_against_target(depots, look.font)
    return [
        Section(
            str(TABLES["summary"].title),
            intro,
            [_summary_table(look, report.tables["summary"], facts)],
        ),
        Section(
            str(TABLES["depots"].title),
            str(TABLES["depots"].description),
            [chart, Spacer(1, 4 * mm), table_of("depots")],
        ),
        Section(str(TABLES["lanes"].title), str(TABLES["lanes"].description), [table_of("lanes")]),
        Section(
            gettext("Packing lists"),
            gettext(
                "One list per lane, from the sending depot to the receiving one: scan the "
                "lane's code on the shipment, each part's code as it is packed, and tick it."
            ),
            _packing_lists(report, look, depot_names),
        ),
        Section(
            str(TABLES["still_short"].title),
            str(TABLES["still_short"].description),
            [table_of("still_short")],
        ),
    ]
