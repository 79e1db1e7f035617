"""The stock-status report drawn: its charts (a depot x part family heat map of
shortage and excess, units on hand by depot and condition) and the sections of
its PDF.

Charts are ``reportlab.graphics`` drawings: the same drawing goes into the PDF as a
flowable and onto the page as SVG. They draw "no data" rather than fail on empty
tables, and their words are in the reader's language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

import pandas as pd
from flask_babel import pgettext
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.colors import Color
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, Spacer

from core.charts import add_legend, add_no_data, add_title
from core.i18n import gettext
from core.pdf import INK, MUTED, RULE, Fonts
from inventory.labels import BUCKET_LABELS, FAMILY_LABELS
from reports.catalogue import Chart, Section
from reports.files import columns_of
from reports.pdf_blocks import CONTENT_WIDTH, Column, Look, data_table
from reports.render import column_labels as shared_column_labels
from reports.service.report import Report
from reports.service.stock_status import TABLES, UNMOVED_DAYS

WIDTH = 178 * mm
BAR_HEIGHT = 64 * mm
SHORT = colors.HexColor("#b3261e")  # a depot-family short on balance
EXCESS = colors.HexColor("#0b5cad")  # ... in excess on balance
BALANCED = colors.HexColor("#f4f6f8")
# Conditions stacked in the bar chart, bottom up, with their colours.
CONDITION_COLOURS = (
    ("good_units", "good", "#1f7a3a"),
    ("defective", "defective", "#b3261e"),
    ("in_repair", "in_repair", "#d08c00"),
    ("quarantine", "quarantine", "#7b5ea7"),
    ("in_transit", "in_transit", "#8fb4dc"),
)


def column_labels() -> dict[str, str]:
    """Headings in words of the stock-status columns (beyond the shared ones)."""
    return {
        "family": pgettext("report", "Part family"),
        "good_units": pgettext("report", "Good units"),
        "reserved": pgettext("report", "Reserved"),
        "available": pgettext("report", "Available"),
        "defective": pgettext("report", "Defective"),
        "in_repair": pgettext("report", "In repair"),
        "quarantine": pgettext("report", "Quarantine"),
        "on_hand": pgettext("report", "On hand"),
        "in_transit": pgettext("report", "In transit"),
        "on_hand_value_cny": pgettext("report", "Value on hand (CNY)"),
        "in_transit_value_cny": pgettext("report", "Value in transit (CNY)"),
        "target_units": pgettext("report", "Target units"),
        "position_units": pgettext("report", "Position (available + in transit)"),
        "parts_short": pgettext("report", "Parts short"),
        "units_short": pgettext("report", "Units short"),
        "short_value_cny": pgettext("report", "Value short (CNY)"),
        "parts_excess": pgettext("report", "Parts in excess"),
        "units_excess": pgettext("report", "Units in excess"),
        "excess_value_cny": pgettext("report", "Excess value (CNY)"),
        "short": pgettext("report", "Short"),
        "excess": pgettext("report", "Excess"),
        "last_moved_at": pgettext("report", "Last moved"),
        "days_unmoved": pgettext("report", "Days unmoved"),
        # The heat map's columns are the part families.
        **{code: str(label) for code, label in FAMILY_LABELS.items()},
    }


def _labels() -> dict[str, str]:
    return {**shared_column_labels(), **column_labels()}


# --- charts ---------------------------------------------------------------------------------


def _mix(colour: Color, share: float) -> Color:
    """``colour`` at ``share`` (0-1) of its strength over the balanced grey."""
    share = max(0.0, min(1.0, share))
    return colors.Color(
        BALANCED.red + (colour.red - BALANCED.red) * share,
        BALANCED.green + (colour.green - BALANCED.green) * share,
        BALANCED.blue + (colour.blue - BALANCED.blue) * share,
    )


def cell_colour(net: int, strongest: int) -> Color:
    """A heat-map cell's colour: red when short on balance, blue when in excess,
    deeper the further from balance (``strongest``: the largest distance shown)."""
    if net == 0 or strongest <= 0:
        return BALANCED
    return _mix(SHORT if net < 0 else EXCESS, _strength(net, strongest))


def _strength(net: int, strongest: int) -> float:
    """How deep a cell is coloured (0-1): by the square root, so one huge cell does
    not bleach the rest; never paler than a fifth, so the smallest imbalance shows."""
    if net == 0 or strongest <= 0:
        return 0.0
    return 0.2 + 0.8 * min(1.0, abs(net) / strongest) ** 0.5


def _signed(value: int) -> str:
    return f"+{value:,}" if value > 0 else (f"−{-value:,}" if value < 0 else "0")


def _wrapped(words: str, width: float, font: str, size: float) -> list[str]:
    """``words`` on one line, or two when too wide for ``width`` points."""
    if stringWidth(words, font, size) <= width or " " not in words:
        return [words]
    head, _, tail = words.rpartition(" ")
    return [head, tail]


def heat_map(
    heat: pd.DataFrame,
    positions: pd.DataFrame,
    font: Fonts,
    *,
    targets_stored: bool = True,
    width: float = WIDTH,
) -> Drawing:
    """Depots down, part families across; each cell prints units in excess less
    units short (the ``heat_map`` table's number) and, below it, the units short
    and in excess behind it; red is short on balance, blue excess, grey balanced."""
    families = [column for column in heat.columns if column != "depot"]
    depots = heat["depot"].tolist()
    row_height, head_height, left, legend_height = 20.0, 26.0, 34.0, 26.0
    height = 16 + head_height + row_height * max(len(depots), 2) + legend_height
    drawing = Drawing(width, height)
    add_title(drawing, font, gettext("Shortage and excess: depot against part family (units)"))
    if not targets_stored or not depots or not families:
        add_no_data(
            drawing,
            font,
            gettext("no targets stored: shortage and excess are not assessed")
            if not targets_stored
            else gettext("no data"),
        )
        return drawing
    cell_width = (width - left) / len(families)
    top = height - 16 - head_height
    detail = positions.set_index(["depot", "family"])
    strongest = int(heat[families].abs().to_numpy().max()) if len(heat) else 0
    for index, family in enumerate(families):
        lines = _wrapped(str(FAMILY_LABELS.get(family, family)), cell_width - 4, font.regular, 7)
        for number, line in enumerate(lines):
            drawing.add(
                String(
                    left + cell_width * (index + 0.5),
                    top + 4 + 9 * (len(lines) - 1 - number),
                    line,
                    fontName=font.regular,
                    fontSize=7,
                    fillColor=INK,
                    textAnchor="middle",
                )
            )
    for row, depot in enumerate(depots):
        y = top - row_height * (row + 1)
        drawing.add(
            String(2, y + row_height / 2 - 3, depot, fontName=font.bold, fontSize=8, fillColor=INK)
        )
        for index, family in enumerate(families):
            net = int(heat.loc[heat["depot"] == depot, family].iloc[0])
            x = left + cell_width * index
            fill = cell_colour(net, strongest)
            drawing.add(
                Rect(x, y, cell_width, row_height, fillColor=fill, strokeColor=colors.white)
            )
            dark = _strength(net, strongest) > 0.6
            ink = colors.white if dark else INK
            drawing.add(
                String(
                    x + cell_width / 2,
                    y + row_height - 9,
                    _signed(net),
                    fontName=font.bold,
                    fontSize=7.5,
                    fillColor=ink,
                    textAnchor="middle",
                )
            )
            short = int(detail.loc[(depot, family), "units_short"])
            excess = int(detail.loc[(depot, family), "units_excess"])
            if short or excess:
                drawing.add(
                    String(
                        x + cell_width / 2,
                        y + 3,
                        f"−{short:,} / +{excess:,}",
                        fontName=font.regular,
                        fontSize=5.5,
                        fillColor=ink if dark else MUTED,
                        textAnchor="middle",
                    )
                )
    _heat_legend(drawing, font, strongest, left, 4)
    return drawing


def _heat_legend(drawing: Drawing, font: Fonts, strongest: int, x: float, y: float) -> None:
    """Swatches from deep red (short) through grey (balanced) to deep blue (excess)."""
    steps = [-1.0, -0.6, -0.25, 0.0, 0.25, 0.6, 1.0]
    swatch = 16.0
    for index, step in enumerate(steps):
        net = round(step * strongest) if strongest else 0
        if step and strongest and net == 0:
            net = 1 if step > 0 else -1
        drawing.add(
            Rect(
                x + index * swatch,
                y + 8,
                swatch,
                7,
                fillColor=cell_colour(net, max(strongest, 1)),
                strokeColor=RULE,
                strokeWidth=0.3,
            )
        )
    for words, at, anchor in (
        (gettext("short %(units)s", units=_signed(-strongest)), x, "start"),
        (gettext("balanced"), x + 3.5 * swatch, "middle"),
        (gettext("excess %(units)s", units=_signed(strongest)), x + 7 * swatch, "end"),
    ):
        drawing.add(
            String(
                at, y, words, fontName=font.regular, fontSize=6, fillColor=MUTED, textAnchor=anchor
            )
        )
    drawing.add(
        String(
            x + 7 * swatch + 10,
            y + 9,
            gettext("each cell: excess less short; below it: short / excess (units)"),
            fontName=font.regular,
            fontSize=6.5,
            fillColor=MUTED,
        )
    )


def stock_by_depot(by_depot: pd.DataFrame, font: Fonts, *, width: float = WIDTH) -> Drawing:
    """Stacked bars of each depot's units by condition, and what is on the road to it."""
    drawing = Drawing(width, BAR_HEIGHT)
    add_title(drawing, font, gettext("Units by depot and condition"))
    chart = VerticalBarChart()
    chart.x, chart.y = 34, 20
    chart.width, chart.height = width - 34 - 8, BAR_HEIGHT - 20 - 28
    chart.categoryAxis.style = "stacked"
    chart.data = [
        [int(value) for value in by_depot[column]] or [0] for column, _, _ in CONDITION_COLOURS
    ]
    chart.categoryAxis.categoryNames = by_depot["depot"].tolist() or [""]
    for axis in (chart.categoryAxis.labels, chart.valueAxis.labels):
        axis.fontName = font.regular
        axis.fontSize = 7.5
        axis.fillColor = INK
    chart.categoryAxis.strokeColor = RULE
    chart.categoryAxis.visibleTicks = False
    chart.valueAxis.strokeColor = None
    chart.valueAxis.visibleTicks = False
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = colors.HexColor("#e3e8ee")
    chart.valueAxis.gridStrokeWidth = 0.5
    chart.valueAxis.valueMin = 0
    totals = [sum(series[i] for series in chart.data) for i in range(len(chart.data[0]))]
    chart.valueAxis.valueMax = max(max(totals, default=0) * 1.1, 4)
    chart.bars.strokeColor = None
    chart.barWidth = 10
    chart.groupSpacing = 8
    for index, (_, _, colour) in enumerate(CONDITION_COLOURS):
        chart.bars[index].fillColor = colors.HexColor(colour)
    drawing.add(chart)
    pairs = [
        (colors.HexColor(colour), str(BUCKET_LABELS[bucket]))
        for _, bucket, colour in CONDITION_COLOURS
    ]
    add_legend(drawing, font, pairs, x=34, y=BAR_HEIGHT - 18, column_width=62)
    if not any(totals):
        add_no_data(drawing, font, gettext("no stock"))
    return drawing


def charts(report: Report, font: Fonts) -> list[Chart]:
    """The report's charts on its page, in the reader's language."""
    tables = report.tables
    targets_stored = bool(report.details.get("targets_stored", True))
    return [
        Chart(
            "stock-heat-map",
            gettext("Shortage and excess: depot against part family (units)"),
            heat_map(tables["heat_map"], tables["positions"], font, targets_stored=targets_stored),
        ),
        Chart(
            "stock-by-depot",
            gettext("Units by depot and condition"),
            stock_by_depot(tables["by_depot"], font),
        ),
    ]


# --- PDF ------------------------------------------------------------------------------------


def _table(look: Look, frame: pd.DataFrame, labels: Mapping[str, str], empty: str) -> Flowable:
    # An empty table prints ``empty`` only (and sizing columns of no rows can fail).
    columns = _fitted(columns_of(frame, labels), look) if len(frame) else []
    return data_table(look, frame, columns, empty=empty)


def _fitted(columns: list[Column], look: Look) -> list[Column]:
    """``columns`` widened where a word of the heading would not fit on its line
    (a narrow "Reserved" printed as "Reser-ved"), the others narrowed to make room."""
    style = look.head_cell
    needs = [
        (
            max(
                (
                    stringWidth(word, style.fontName, style.fontSize)
                    for word in re.findall(r"[A-Za-z0-9()+.%-]+", column.heading)
                ),
                default=0.0,
            )
            + 8  # the cell's padding, and a little air
        )
        / CONTENT_WIDTH
        for column in columns
    ]
    widths = [column.width for column in columns]
    for _ in range(4):  # narrowing the others can push one below its need: settle
        fixed = [width <= need for width, need in zip(widths, needs, strict=True)]
        room = 1.0 - sum(need for need, f in zip(needs, fixed, strict=True) if f)
        flexible = sum(width for width, f in zip(widths, fixed, strict=True) if not f)
        if room <= 0 or flexible <= 0:
            break
        widths = [
            need if f else width * room / flexible
            for width, need, f in zip(widths, needs, fixed, strict=True)
        ]
    total = sum(widths)
    return [
        replace(column, width=width / total) for column, width in zip(columns, widths, strict=True)
    ]


def sections(report: Report, look: Look) -> list[Section]:
    """The PDF after its cover: stock by depot (with its chart) and by family,
    shortage and excess (the heat map and the depot-family table), the largest
    shortages and excesses, and the unmoved stock."""
    tables, font, labels = report.tables, look.font, _labels()
    targets_stored = bool(report.details.get("targets_stored", True))
    nothing = gettext("Nothing to show.")
    out = [
        Section(
            str(TABLES["by_depot"].title),
            str(TABLES["by_depot"].description),
            [
                stock_by_depot(tables["by_depot"], font),
                Spacer(1, 3 * mm),
                _table(look, tables["by_depot"], labels, nothing),
            ],
        ),
        Section(
            str(TABLES["by_family"].title),
            str(TABLES["by_family"].description),
            [_table(look, tables["by_family"], labels, nothing)],
        ),
        Section(
            str(TABLES["heat_map"].title),
            str(TABLES["heat_map"].description),
            [
                heat_map(
                    tables["heat_map"], tables["positions"], font, targets_stored=targets_stored
                ),
                Spacer(1, 3 * mm),
                _table(look, tables["heat_map"], labels, nothing),
            ],
        ),
        Section(
            str(TABLES["positions"].title),
            str(TABLES["positions"].description),
            [_table(look, tables["positions"], labels, nothing)],
        ),
    ]
    for key, empty in (
        ("shortages", gettext("No part is short of its target.")),
        ("excess", gettext("No part is above twice its target.")),
        (
            "unmoved",
            gettext("No stock has been still for %(days)s days.", days=UNMOVED_DAYS),
        ),
    ):
        out.append(
            Section(
                str(TABLES[key].title),
                str(TABLES[key].description),
                [_table(look, tables[key], labels, empty)],
            )
        )
    return out
