"""Drawing basics shared by the charts of every package (``reportlab.graphics``).

The reports and the planning pages draw their own charts; what they draw alike lives
here: the canvas with its title, the "no data" note across an empty chart, and the
legend of coloured squares. Text uses the caller's ``core.pdf.Fonts``, so Chinese
prints where the CJK font is installed; the words come translated from the caller.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.graphics.charts.barcharts import BarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors

from core.pdf import INK, MUTED, RULE, Fonts

ACCENT = colors.HexColor("#0b5cad")
ACCENT_LIGHT = colors.HexColor("#8fb4dc")
GOOD = colors.HexColor("#1f7a3a")
WARN = colors.HexColor("#d08c00")
BAD = colors.HexColor("#b3261e")
GRID = colors.HexColor("#e3e8ee")
TITLE_SIZE = 9.5
NO_DATA_SIZE = 9


def add_title(drawing: Drawing, font: Fonts, title: str, *, drop: float = 10) -> None:
    """The chart's title in bold at the top left, its baseline ``drop`` points below
    the top edge."""
    drawing.add(
        String(
            0, drawing.height - drop, title, fontName=font.bold, fontSize=TITLE_SIZE, fillColor=INK
        )
    )


def titled_drawing(width: float, height: float, font: Fonts, title: str) -> Drawing:
    """An empty drawing of ``width`` x ``height`` points carrying its title."""
    drawing = Drawing(width, height)
    add_title(drawing, font, title)
    return drawing


def add_no_data(drawing: Drawing, font: Fonts, words: str) -> None:
    """``words`` (e.g. "no data in this period") centred across the drawing, muted:
    a chart of empty data still draws, never fails."""
    drawing.add(
        String(
            drawing.width / 2,
            drawing.height / 2,
            words,
            fontName=font.regular,
            fontSize=NO_DATA_SIZE,
            fillColor=MUTED,
            textAnchor="middle",
        )
    )


def add_corner_note(drawing: Drawing, font: Fonts, words: str, *, y: float | None = None) -> None:
    """Small muted words flush right, by default level with the title (what the bars'
    labels mean, the scale); ``y`` puts them lower, e.g. under the axis."""
    drawing.add(
        String(
            drawing.width - 4,
            drawing.height - 10 if y is None else y,
            words,
            fontName=font.regular,
            fontSize=7,
            fillColor=MUTED,
            textAnchor="end",
        )
    )


def add_legend(
    drawing: Drawing,
    font: Fonts,
    pairs: Sequence[tuple[object, str]],
    *,
    x: float,
    y: float,
    column_width: float,
    rows: int = 1,
    font_size: float = 7,
) -> Legend:
    """A legend of coloured squares and their words, ``rows`` entries to a column,
    columns ``column_width`` points apart, its top left at (``x``, ``y``)."""
    legend = Legend()
    legend.x, legend.y = x, y
    legend.alignment = "right"
    legend.columnMaximum = rows
    legend.dx, legend.dy = 7, 7
    legend.deltax = column_width
    legend.fontName = font.regular
    legend.fontSize = font_size
    legend.strokeColor = None
    legend.colorNamePairs = list(pairs)
    drawing.add(legend)
    return legend


def style_bar_axes(chart: BarChart, font: Fonts) -> None:
    """The house look of a bar chart's axes: category names in ink under a thin rule,
    muted values on the left against a light grid from zero, no ticks."""
    chart.categoryAxis.labels.fontName = font.regular
    chart.categoryAxis.labels.fontSize = 7.5
    chart.categoryAxis.labels.fillColor = INK
    chart.categoryAxis.labels.dy = -3
    chart.categoryAxis.strokeColor = RULE
    chart.categoryAxis.visibleTicks = False
    chart.valueAxis.labels.fontName = font.regular
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labels.fillColor = MUTED
    chart.valueAxis.strokeColor = None
    chart.valueAxis.visibleTicks = False
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = GRID
    chart.valueAxis.gridStrokeWidth = 0.5
    chart.valueAxis.valueMin = 0
