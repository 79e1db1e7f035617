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
from dataclasses import dataclass
from functools import lru_cache
from string import ascii_lowercase, ascii_uppercase
from typing import Any

import pandas as pd
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, Line
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, PageBreak, Paragraph, Spacer, Table, TableStyle

from core.charts import (
    ACCENT,
    ACCENT_LIGHT,
    add_legend,
    add_no_data,
    style_bar_axes,
    titled_drawing,
)
from core.i18n import gettext
from core.pdf import INK, RULE, SHADE, Fonts, code128, labelled_barcode, text
from reports.catalogue import Chart, Section
from reports.files import columns_of
from reports.pdf_blocks import CONTENT_WIDTH, HEAD, Column, Look, fmt_money, fmt_pct
from reports.service.rebalancing import TABLES, PlanFacts
from reports.service.report import Report

CHART_WIDTH = 178 * mm
CHART_HEIGHT = 70 * mm
PART_BARCODE_WIDTH = 52 * mm
BARCODE_HEIGHT = 7 * mm
TICK_SIZE = 4.2 * mm
# The height of a plain table's rows (points).
ROW_HEIGHT = 13.5


# --- the chart ------------------------------------------------------------------------------


def stock_against_target(depots: pd.DataFrame, font: Fonts) -> Drawing:
    """Per depot, grouped bars of its position (units) before and after the plan,
    with a dark mark at the sum of its targets; "no data" without depots."""
    drawing = titled_drawing(
        CHART_WIDTH, CHART_HEIGHT, font, gettext("Stock against target by depot (units)")
    )
    if not len(depots):
        add_no_data(drawing, font, gettext("no depots"))
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
    style_bar_axes(chart, font)
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
    pairs = [
        (ACCENT_LIGHT, gettext("before the plan")),
        (ACCENT, gettext("after the plan")),
        (INK, gettext("target")),
    ]
    add_legend(
        drawing,
        font,
        pairs,
        x=CHART_WIDTH - 250,
        y=CHART_HEIGHT - 4,
        column_width=80,
        font_size=7.5,
    )
    return drawing


def charts(report: Report, font: Fonts) -> list[Chart]:
    """The page's and the PDF's chart: stock against target by depot."""
    title = gettext("Stock against target by depot (units)")
    return [
        Chart("stock-against-target", title, stock_against_target(report.tables["depots"], font))
    ]


# --- sections -------------------------------------------------------------------------------


def _summary_value(metric: str, value: Any) -> str:
    if value is None:
        return gettext("n/a")
    if metric.endswith("_cny"):
        return fmt_money(value, 2)
    if metric.endswith("_pct"):
        return fmt_pct(value)
    if metric == "plan_id":
        return str(value)
    return f"{int(value):,}"


def _summary_table(look: Look, summary: pd.DataFrame) -> Table:
    rows = [
        [Paragraph(text(label), look.body), Paragraph(text(_summary_value(m, v)), look.body)]
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


def _packing_list(
    look: Look, lane: Any, lines: pd.DataFrame, depot_names: dict[str, str]
) -> list[Flowable]:
    """One lane's packing list: heading, the lane's reference as a barcode, its
    route and totals, then its lines."""
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
    header = (
        "#",
        gettext("Part number"),
        gettext("Description"),
        gettext("Qty"),
        gettext("Part barcode"),
        gettext("Packed"),
    )
    rows = [
        PackingRow(number, part, str(description), int(qty))
        for number, (part, description, qty) in enumerate(
            zip(lines["part_number"], lines["description"], lines["qty"], strict=True), start=1
        )
    ]
    signatures = gettext("Packed by: ____________    Checked by: ____________    Date: ________")
    return [head, Spacer(1, 3 * mm), PackingLines(rows, header, font, signatures)]


@dataclass(frozen=True)
class PackingRow:
    """One line of a packing list."""

    number: int
    part_number: str
    description: str
    qty: int


def _pdf_number(value: float) -> str:
    return f"{value:.2f}"


@lru_cache(maxsize=20_000)
def _bars(value: str) -> tuple[tuple[float, float], ...]:
    """The bars of ``value``'s Code128 (``core.pdf.code128`` sizes them) as (left,
    width) in points from the code's left edge, quiet zone included; empty when
    Code128 cannot carry the value. Cached: a part is on several lanes' lists."""
    try:
        barcode = code128(value, max_width=PART_BARCODE_WIDTH - 4, bar_height=BARCODE_HEIGHT)
    except ValueError:
        return ()
    barcode.width  # noqa: B018  (computing the width encodes and decomposes the value)
    bar_width = barcode.barWidth
    left = barcode.lquiet if barcode.quiet else 0.0
    bars = []
    # As reportlab's MultiWidthBarcode.draw: lower-case letters are spaces, upper-case
    # letters bars, their place in the alphabet the width in modules.
    for symbol in barcode.decomposed:
        if symbol in ascii_lowercase:
            left += (ord(symbol) - ord("a") + 1) * bar_width
        elif symbol in ascii_uppercase:
            width = (ord(symbol) - ord("A") + 1) * bar_width
            bars.append((left, width))
            left += width
    return tuple(bars)


@lru_cache(maxsize=20_000)
def _bar_path(value: str) -> tuple[str, float]:
    """``value``'s bars as PDF rectangles from the origin (``BARCODE_HEIGHT`` high)
    and the code's width with its quiet zones; ("", 0) when Code128 cannot carry it."""
    bars = _bars(value)
    if not bars:
        return "", 0.0
    height = _pdf_number(BARCODE_HEIGHT)
    path = " ".join(f"{_pdf_number(x)} 0 {_pdf_number(w)} {height} re" for x, w in bars)
    return path, bars[-1][0] + bars[-1][1] + bars[0][0]


@lru_cache(maxsize=20_000)
def _fitted(value: str, font: str, size: float, width: float) -> str:
    """``value`` cut with an ellipsis to fit ``width`` points in one line."""
    if stringWidth(value, font, size) <= width:
        return value
    while value and stringWidth(value + "…", font, size) > width:
        value = value[:-1]
    return value + "…"


class PackingLines(Flowable):
    """A packing list's lines drawn straight onto the canvas: a header row (again on
    every page), then per line its number, part number, description, quantity, the
    part number as a Code128 and a box to tick.

    A plan can hold tens of thousands of lines: a table of Paragraphs and barcode
    flowables took most of a minute for 10,000 lines, so the rows are fixed-height
    strings and the bars and boxes are written as PDF path operators, one path per
    row's bars (``docs/PERFORMANCE.md``). It splits at a page's last whole row;
    the ``footer`` (where the packer and checker sign) follows the last row and never
    goes to a page of its own.
    """

    WIDTHS = (
        9 * mm,
        36 * mm,
        CONTENT_WIDTH - (9 + 36 + 12 + 15) * mm - PART_BARCODE_WIDTH,
        12 * mm,
        PART_BARCODE_WIDTH,
        15 * mm,
    )
    HEADER_HEIGHT = 6 * mm
    ROW_HEIGHT = 9.5 * mm
    FOOTER_HEIGHT = 14 * mm
    FONT_SIZE = 8.0

    def __init__(
        self, rows: list[PackingRow], header: tuple[str, ...], font: Fonts, footer: str = ""
    ) -> None:
        super().__init__()
        self.rows, self.header, self.font, self.footer = rows, header, font, footer
        self.widths = self.WIDTHS
        self.width = sum(self.WIDTHS)
        self.height = (
            self.HEADER_HEIGHT + len(rows) * self.ROW_HEIGHT + (self.FOOTER_HEIGHT if footer else 0)
        )

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        # The description takes what the frame leaves over.
        fixed = sum(self.WIDTHS) - self.WIDTHS[2]
        self.widths = (*self.WIDTHS[:2], available_width - fixed, *self.WIDTHS[3:])
        self.width = available_width
        return self.width, self.height

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        fits = int((available_height - self.HEADER_HEIGHT) // self.ROW_HEIGHT)
        if fits >= len(self.rows) and self.height > available_height:
            fits = len(self.rows) - 1  # the footer needs at least the last row with it
        if fits < 1:
            return []
        if fits >= len(self.rows):
            return [self]
        return [
            PackingLines(self.rows[:fits], self.header, self.font),
            PackingLines(self.rows[fits:], self.header, self.font, self.footer),
        ]

    def draw(self) -> None:
        canvas = self.canv
        lefts = [sum(self.widths[:i]) for i in range(len(self.widths))]
        top = self.height
        if self.footer:
            canvas.setFillColor(INK)
            canvas.setFont(self.font.regular, 9.5)
            canvas.drawString(3, 3 * mm, self.footer)
        pad, size, font = 3.0, self.FONT_SIZE, self.font.regular
        canvas.setFillColor(HEAD)
        canvas.rect(0, top - self.HEADER_HEIGHT, self.width, self.HEADER_HEIGHT, stroke=0, fill=1)
        canvas.setFillColor(colors.white)
        canvas.setFont(font, 7.5)
        baseline = top - self.HEADER_HEIGHT + 2.2 * mm
        for index, heading in enumerate(self.header):
            if index == 3:
                canvas.drawRightString(lefts[index] + self.widths[index] - pad, baseline, heading)
            else:
                canvas.drawString(lefts[index] + pad, baseline, heading)
        row_tops = [top - self.HEADER_HEIGHT - i * self.ROW_HEIGHT for i in range(len(self.rows))]
        # Zebra rows, then the rules under them: one path each.
        canvas.setFillColor(SHADE)
        shaded = [
            f"0 {_pdf_number(y - self.ROW_HEIGHT)} {_pdf_number(self.width)} "
            f"{_pdf_number(self.ROW_HEIGHT)} re"
            for i, y in enumerate(row_tops)
            if i % 2
        ]
        if shaded:
            canvas.addLiteral("\n".join(shaded) + "\nf")
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.25)
        canvas.addLiteral(
            "\n".join(
                f"0 {_pdf_number(y - self.ROW_HEIGHT)} m {_pdf_number(self.width)} "
                f"{_pdf_number(y - self.ROW_HEIGHT)} l"
                for y in row_tops
            )
            + "\nS"
        )
        canvas.setFillColor(INK)
        canvas.setFont(font, size)
        description_width = self.widths[2] - 2 * pad
        for row, y in zip(self.rows, row_tops, strict=True):
            baseline = y - self.ROW_HEIGHT / 2 - size * 0.35
            canvas.drawString(lefts[0] + pad, baseline, str(row.number))
            canvas.drawString(lefts[1] + pad, baseline, row.part_number)
            canvas.drawString(
                lefts[2] + pad, baseline, _fitted(row.description, font, size, description_width)
            )
            canvas.drawRightString(lefts[4] - pad, baseline, f"{row.qty:,}")
        # Bars and tick boxes as path operators (black fill, ink stroke).
        canvas.setFillColor(colors.black)
        bar_bottom = (self.ROW_HEIGHT - BARCODE_HEIGHT) / 2
        paths = []
        for row, y in zip(self.rows, row_tops, strict=True):
            path, used = _bar_path(row.part_number)
            if path:
                x0 = lefts[4] + (self.widths[4] - used) / 2
                y0 = y - self.ROW_HEIGHT + bar_bottom
                # The code's bars, drawn at its origin, moved into place.
                paths.append(f"q 1 0 0 1 {x0:.2f} {y0:.2f} cm {path} f Q")
        if paths:
            canvas.addLiteral("\n".join(paths))
        canvas.setStrokeColor(INK)
        canvas.setLineWidth(0.8)
        box = _pdf_number(TICK_SIZE)
        x = _pdf_number(lefts[5] + (self.widths[5] - TICK_SIZE) / 2)
        canvas.addLiteral(
            "\n".join(
                f"{x} {_pdf_number(y - (self.ROW_HEIGHT + TICK_SIZE) / 2)} {box} {box} re"
                for y in row_tops
            )
            + "\nS"
        )


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
    return [*story, PageBreak()]


def plain_table(
    look: Look, frame: pd.DataFrame, columns: list[Column], *, empty: str
) -> list[Flowable]:
    """``frame`` as ``pdf_blocks.data_table`` lays it out (dark header, zebra rows,
    numbers right-aligned), but with plain one-line strings of a fixed height in
    the cells: thousands of parts still short print in a second, where a
    Paragraph per cell took most of a minute."""
    if not len(frame):
        return [Paragraph(text(empty), look.note)]
    widths = [column.width * CONTENT_WIDTH for column in columns]
    header = [
        Paragraph(text(c.heading), look.head_cell_right if c.right else look.head_cell)
        for c in columns
    ]
    font, size = look.font.regular, 7.8
    cells = [
        [
            _fitted(column.fmt(value), font, size, width - 6)
            for column, value, width in zip(columns, values, widths, strict=True)
        ]
        for values in frame[[c.key for c in columns]].itertuples(index=False, name=None)
    ]
    commands: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 1), (-1, -1), font),
        ("FONTSIZE", (0, 1), (-1, -1), size),
        ("TEXTCOLOR", (0, 1), (-1, -1), INK),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, SHADE]),
    ]
    commands += [
        ("ALIGN", (index, 1), (index, -1), "RIGHT")
        for index, column in enumerate(columns)
        if column.right
    ]
    return [
        Table(
            [header, *cells],
            colWidths=widths,
            rowHeights=[None] + [ROW_HEIGHT] * len(cells),
            style=TableStyle(commands),
            repeatRows=1,
        )
    ]


def sections(report: Report, look: Look, labels: Mapping[str, str]) -> list[Section]:
    """The PDF's body after the cover (see the module notes); ``labels`` are the
    column headings in words."""
    facts: PlanFacts | None = report.details["plan"]
    depots = report.tables["depots"]
    depot_names = dict(zip(depots["depot"], depots["depot_name"], strict=True))

    def table_of(name: str) -> list[Flowable]:
        frame = report.tables[name]
        return plain_table(look, frame, columns_of(frame, labels), empty=gettext("None."))

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
            [_summary_table(look, report.tables["summary"])],
        ),
        Section(
            str(TABLES["depots"].title),
            str(TABLES["depots"].description),
            [chart, Spacer(1, 4 * mm), *table_of("depots")],
        ),
        Section(
            str(TABLES["lanes"].title),
            str(TABLES["lanes"].description),
            # The packing lists start on a page of their own: each goes with its shipment.
            [*table_of("lanes"), PageBreak()],
        ),
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
            table_of("still_short"),
        ),
    ]
