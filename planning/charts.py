"""The availability pages' charts, drawn with ``reportlab.graphics``.

``exchange_curve`` draws inventory value against the predicted share of
replacements within the window, one point per budget step, with today's targets,
the independent base stock and the optimised proposal marked; ``simulated_by_city``
the share a simulation achieved per customer city beside the model's prediction.
Both answer a ``Drawing`` that a page shows as inline SVG (``core.svg.inline_svg``).
Empty data still draws (the frame and a "no data" note), never an error. Words are
in the reader's language (``core.i18n``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.pdfbase.pdfmetrics import stringWidth

from core.charts import (
    ACCENT,
    ACCENT_LIGHT,
    BAD,
    GOOD,
    GRID,
    WARN,
    add_legend,
    add_no_data,
    add_title,
)
from core.i18n import gettext
from core.pdf import INK, MUTED, RULE, Fonts

# The plan in force amber, the baseline red, the optimised plan green.
CURRENT = WARN
BASELINE = BAD
OPTIMIZED = GOOD

CURVE_WIDTH = 520.0
CURVE_HEIGHT = 260.0
BAR_WIDTH = 520.0
BAR_ROW_HEIGHT = 13.0
MAX_CITIES = 40


@dataclass(frozen=True)
class Marked:
    """A plan marked on the curve: its name, inventory value (CNY) and share (0-1)."""

    label: str
    inventory_value: float
    within_window: float | None


def _axis_style(axis: object, font: Fonts) -> None:
    axis.labels.fontName = font.regular  # type: ignore[attr-defined]
    axis.labels.fontSize = 7  # type: ignore[attr-defined]
    axis.labels.fillColor = MUTED  # type: ignore[attr-defined]
    axis.strokeColor = RULE  # type: ignore[attr-defined]
    axis.visibleGrid = True  # type: ignore[attr-defined]
    axis.gridStrokeColor = GRID  # type: ignore[attr-defined]
    axis.gridStrokeWidth = 0.5  # type: ignore[attr-defined]


def exchange_curve(
    points: Sequence[tuple[float, float]],
    marked: Sequence[Marked],
    font: Fonts,
    *,
    goal: float | None = None,
    window_hours: float = 24.0,
    width: float = CURVE_WIDTH,
    height: float = CURVE_HEIGHT,
) -> Drawing:
    """The exchange curve: ``points`` are (inventory value CNY, share 0-1) per budget
    step; each of ``marked`` is drawn as its own symbol with a legend entry; a dashed
    line at ``goal``. Values in thousands of CNY, shares in per cent."""
    drawing = Drawing(width, height)
    add_title(
        drawing,
        font,
        gettext(
            "Predicted share of replacements within %(hours)s hours against inventory value",
            hours=f"{window_hours:g}",
        ),
        drop=11,
    )
    plot = LinePlot()
    plot.x, plot.y = 44, 72
    plot.width, plot.height = width - plot.x - 12, height - plot.y - 40
    series: list[list[tuple[float, float]]] = [
        [(value / 1000, share * 100) for value, share in points]
    ]
    shown = [m for m in marked if m.within_window is not None]
    highest = max([value for value, _ in points] + [m.inventory_value for m in shown], default=0.0)
    top = max(highest / 1000 * 1.05, 1.0)
    if goal is not None:
        series.append([(0.0, goal * 100), (top, goal * 100)])
    for m in shown:
        series.append([(m.inventory_value / 1000, (m.within_window or 0.0) * 100)])
    plot.data = series
    plot.joinedLines = 1
    plot.lines[0].strokeColor = ACCENT
    plot.lines[0].strokeWidth = 1.5
    plot.lines[0].symbol = makeMarker("FilledCircle", size=3, fillColor=ACCENT)
    first_marked = 1
    if goal is not None:
        plot.lines[1].strokeColor = MUTED
        plot.lines[1].strokeWidth = 0.7
        plot.lines[1].strokeDashArray = [3, 2]
        first_marked = 2
    markers = (
        ("FilledDiamond", CURRENT),
        ("FilledSquare", BASELINE),
        ("FilledStarFive", OPTIMIZED),
    )
    pairs: list[tuple[object, str]] = [(ACCENT, gettext("budget steps (the curve)"))]
    for index, m in enumerate(shown):
        shape, colour = markers[index % len(markers)]
        line = plot.lines[first_marked + index]
        line.strokeColor = colour
        line.symbol = makeMarker(shape, size=10, fillColor=colour, strokeColor=colour)
        pairs.append((colour, m.label))
    if goal is not None:
        pairs.append((MUTED, gettext("goal %(goal)s", goal=f"{goal:.0%}")))
    plot.xValueAxis.valueMin = 0
    plot.xValueAxis.valueMax = top
    plot.xValueAxis.labelTextFormat = "{:,.0f}".format
    plot.yValueAxis.valueMin = 0
    plot.yValueAxis.valueMax = 100
    plot.yValueAxis.valueStep = 20
    plot.yValueAxis.labelTextFormat = "%d%%"
    _axis_style(plot.xValueAxis, font)
    _axis_style(plot.yValueAxis, font)
    drawing.add(plot)
    drawing.add(
        String(
            plot.x + plot.width / 2,
            plot.y - 22,
            gettext("inventory value (thousand CNY)"),
            fontName=font.regular,
            fontSize=7.5,
            fillColor=MUTED,
            textAnchor="middle",
        )
    )
    # Two rows, columns as wide as the longest words (plus room for a browser's font,
    # a little wider than the PDF font the widths are measured with).
    widest = max(stringWidth(str(words), font.regular, 7) for _, words in pairs)
    add_legend(drawing, font, pairs, x=plot.x, y=34, column_width=widest * 1.15 + 24, rows=2)
    if len(points) < 2 or highest <= 0:
        add_no_data(drawing, font, gettext("no demand to stock for"))
    return drawing


def simulated_by_city(
    rows: Sequence[tuple[str, float | None, float | None]],
    font: Fonts,
    *,
    width: float = BAR_WIDTH,
) -> Drawing:
    """Horizontal bars per city: the simulated share within the window (dark) and
    the predicted one (light), in per cent; ``rows`` are (city label, simulated,
    predicted), the first ``MAX_CITIES`` drawn."""
    rows = list(rows)[:MAX_CITIES]
    height = 62 + BAR_ROW_HEIGHT * max(len(rows), 3)
    drawing = Drawing(width, height)
    add_title(
        drawing, font, gettext("Share within the window by city: simulated and predicted"), drop=11
    )
    chart = HorizontalBarChart()
    chart.x, chart.y = 110, 30
    chart.width, chart.height = width - chart.x - 16, height - chart.y - 34
    # The chart draws its first category at the bottom: reverse so the list reads down.
    ordered = list(reversed(rows))
    chart.data = [
        [(simulated or 0.0) * 100 for _, simulated, _ in ordered],
        [(predicted or 0.0) * 100 for _, _, predicted in ordered],
    ]
    chart.categoryAxis.categoryNames = [city for city, _, _ in ordered]
    chart.categoryAxis.labels.fontName = font.regular
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.fillColor = INK
    chart.categoryAxis.labels.boxAnchor = "e"
    # Anchored at their end in the SVG too: a browser's font is wider or narrower than
    # the PDF font the label was measured with, and must not run into the bars.
    chart.categoryAxis.labels.textAnchor = "end"
    chart.categoryAxis.labels.dx = -6
    chart.categoryAxis.strokeColor = RULE
    chart.categoryAxis.visibleTicks = False
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = 100
    chart.valueAxis.valueStep = 20
    chart.valueAxis.labelTextFormat = "%d%%"
    _axis_style(chart.valueAxis, font)
    chart.bars[0].fillColor = ACCENT
    chart.bars[1].fillColor = ACCENT_LIGHT
    chart.bars.strokeColor = None
    chart.barSpacing = 0.5
    chart.groupSpacing = 3
    drawing.add(chart)
    pairs = [(ACCENT, gettext("simulated")), (ACCENT_LIGHT, gettext("predicted"))]
    add_legend(drawing, font, pairs, x=chart.x, y=10, column_width=110)
    if not rows:
        add_no_data(drawing, font, gettext("no replacements in the simulated days"))
    return drawing
