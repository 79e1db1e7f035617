"""The coverage report's charts, drawn with ``reportlab.graphics``: a map of the
cities coloured by their 24-hour covered share, and the share by hour of approval
with and without the emergency courier.

The map is a plain equirectangular projection of China's box (longitude 73-135 E,
latitude 18-54 N), longitude squeezed by the cosine of the box's middle latitude so
the country keeps its shape: enough to see where the gaps lie, not a survey map.
Both charts draw "no data" on empty frames, never fail; words are in the reader's
language, city names in Chinese on a Chinese page (when the font can print them).
"""

from __future__ import annotations

import math

import pandas as pd
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Circle, Drawing, Line, Rect, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.units import mm

from core.charts import ACCENT, BAD, GOOD, GRID, WARN, add_corner_note
from core.i18n import gettext, is_chinese
from core.pdf import INK, MUTED, RULE, Fonts
from reports.charts import DEFAULT_WIDTH, _frame, _no_data

WEST, EAST, SOUTH, NORTH = 73.0, 135.0, 18.0, 54.0
MAP_HEIGHT = 118 * mm
HOUR_HEIGHT = 70 * mm
FULL_PCT = 100.0
LOW_PCT = 80.0
NO_BASE = colors.HexColor("#c9d1da")
DEPOT = colors.HexColor("#1d2733")
EMERGENCY = colors.HexColor("#d0531b")


def share_colour(pct: float | None) -> colors.Color:
    """Green when every installed unit is covered, amber from 80 %, red below."""
    if pct is None or (isinstance(pct, float) and math.isnan(pct)):
        return NO_BASE
    if pct >= FULL_PCT:
        return GOOD
    return WARN if pct >= LOW_PCT else BAD


def _chinese(font: Fonts) -> bool:
    try:
        return font.cjk and is_chinese()
    except (RuntimeError, KeyError):  # outside any request or app: English
        return False


def coverage_map(
    cities: pd.DataFrame,
    depots: pd.DataFrame,
    font: Fonts,
    *,
    width: float = DEFAULT_WIDTH,
    height: float = MAP_HEIGHT,
) -> Drawing:
    """Cities (``by_city``: lat, lon, installed_units, covered_pct, city, city_zh) as
    dots sized by installed units and coloured by covered share; depots (``depot``,
    lat, lon) as dark squares with their code; cities not fully covered named."""
    drawing = _frame(width, height, font, gettext("24-hour coverage by city"))
    top, bottom = 16.0, 4.0
    squeeze = math.cos(math.radians((SOUTH + NORTH) / 2))
    box_w, box_h = (EAST - WEST) * squeeze, NORTH - SOUTH
    scale = min((width - 8) / box_w, (height - top - bottom) / box_h)
    left = (width - box_w * scale) / 2
    base = bottom

    def place(lon: float, lat: float) -> tuple[float, float]:
        return left + (lon - WEST) * squeeze * scale, base + (lat - SOUTH) * scale

    drawing.add(
        Rect(
            left,
            base,
            box_w * scale,
            box_h * scale,
            fillColor=colors.HexColor("#f6f8fa"),
            strokeColor=RULE,
            strokeWidth=0.5,
        )
    )
    for lon in range(80, 135, 10):
        x, _ = place(lon, SOUTH)
        drawing.add(Line(x, base, x, base + box_h * scale, strokeColor=GRID, strokeWidth=0.4))
        drawing.add(
            String(
                x + 1, base + 2, f"{lon}°E", fontName=font.regular, fontSize=5.5, fillColor=MUTED
            )
        )
    for lat in range(20, 55, 10):
        _, y = place(WEST, lat)
        drawing.add(Line(left, y, left + box_w * scale, y, strokeColor=GRID, strokeWidth=0.4))
        drawing.add(
            String(
                left + 2, y + 1, f"{lat}°N", fontName=font.regular, fontSize=5.5, fillColor=MUTED
            )
        )
    chinese = _chinese(font)
    if cities.empty:
        drawing.add(
            String(
                left + box_w * scale / 2,
                base + 14,
                gettext("no installed base"),
                fontName=font.regular,
                fontSize=9,
                fillColor=MUTED,
                textAnchor="middle",
            )
        )
    else:
        largest = max(float(cities["installed_units"].max()), 1.0)
        ordered = cities.sort_values("installed_units", ascending=False, kind="stable")
        for city in ordered.itertuples(index=False):
            x, y = place(float(city.lon), float(city.lat))
            radius = 1.8 + 3.2 * math.sqrt(float(city.installed_units) / largest)
            drawing.add(
                Circle(
                    x,
                    y,
                    radius,
                    fillColor=share_colour(city.covered_pct),
                    strokeColor=colors.white,
                    strokeWidth=0.4,
                )
            )
            pct = _value(city.covered_pct)
            if pct is not None and pct < FULL_PCT:
                name = city.city_zh if chinese and city.city_zh else city.city
                drawing.add(
                    String(
                        x + radius + 1.5,
                        y - 2,
                        f"{name} {pct:.0f}%",
                        fontName=font.regular,
                        fontSize=6.5,
                        fillColor=INK,
                    )
                )
    for depot in depots.itertuples(index=False):
        x, y = place(float(depot.lon), float(depot.lat))
        drawing.add(Rect(x - 2.4, y - 2.4, 4.8, 4.8, fillColor=DEPOT, strokeColor=colors.white))
        drawing.add(
            String(
                x - 3.5,
                y + 3.5,
                str(depot.depot),
                fontName=font.bold,
                fontSize=6.5,
                fillColor=DEPOT,
                textAnchor="end",
            )
        )
    legend = Legend()
    # Top left of the box (north of Xinjiang) holds no city: the legend goes there.
    legend.x = left + 8
    legend.y = base + box_h * scale - 8
    legend.fontName = font.regular
    legend.fontSize = 7
    legend.dx = legend.dy = 6
    legend.deltay = 11
    legend.columnMaximum = 6
    legend.alignment = "right"
    legend.colorNamePairs = [
        (GOOD, gettext("all covered (100%)")),
        (WARN, gettext("80% to under 100%")),
        (BAD, gettext("under 80%")),
        (DEPOT, gettext("depot")),
    ]
    drawing.add(legend)
    drawing.add(
        String(
            left + 8,
            base + box_h * scale - 62,
            gettext("dot size: installed units"),
            fontName=font.regular,
            fontSize=6.5,
            fillColor=MUTED,
        )
    )
    return drawing


def share_by_hour(
    by_hour: pd.DataFrame,
    font: Fonts,
    *,
    width: float = DEFAULT_WIDTH,
    height: float = HOUR_HEIGHT,
) -> Drawing:
    """Covered share (0-100 %) by hour of approval 00-23: standard service and
    with the C-1 emergency courier, two lines."""
    drawing = _frame(width, height, font, gettext("Covered share by hour of approval"))
    standard = [_value(v) for v in by_hour.get("covered_pct", pd.Series(dtype=float))]
    emergency = [_value(v) for v in by_hour.get("covered_emergency_pct", pd.Series(dtype=float))]
    hours = [f"{int(h):02d}" for h in by_hour.get("hour", pd.Series(dtype=int))]
    if not any(v is not None for v in standard + emergency):
        _no_data(drawing, font, gettext("no installed base"))
        return drawing
    chart = HorizontalLineChart()
    chart.x, chart.y = 30, 30
    chart.width = width - 40
    chart.height = height - 30 - 40
    chart.data = [standard, emergency]
    chart.categoryAxis.categoryNames = hours
    chart.categoryAxis.labels.fontName = font.regular
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.fillColor = INK
    chart.categoryAxis.strokeColor = RULE
    chart.categoryAxis.visibleTicks = False
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = 100
    chart.valueAxis.valueStep = 20
    chart.valueAxis.labels.fontName = font.regular
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labels.fillColor = MUTED
    chart.valueAxis.labelTextFormat = "%d%%"
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = GRID
    chart.valueAxis.gridStrokeWidth = 0.5
    chart.valueAxis.strokeColor = None
    chart.valueAxis.visibleTicks = False
    chart.lines[0].strokeColor = ACCENT
    chart.lines[0].strokeWidth = 1.6
    chart.lines[0].symbol = makeMarker("FilledCircle", size=3, fillColor=ACCENT)
    chart.lines[1].strokeColor = EMERGENCY
    chart.lines[1].strokeWidth = 1.2
    chart.lines[1].strokeDashArray = (3, 2)
    chart.lines[1].symbol = makeMarker("FilledSquare", size=3, fillColor=EMERGENCY)
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = 30, height - 20
    legend.fontName = font.regular
    legend.fontSize = 7.5
    legend.dx, legend.dy = 8, 6
    legend.deltax = 150
    legend.columnMaximum = 1
    legend.alignment = "right"
    legend.colorNamePairs = [
        (ACCENT, gettext("standard service")),
        (EMERGENCY, gettext("with the C-1 emergency courier")),
    ]
    drawing.add(legend)
    add_corner_note(drawing, font, gettext("hour of approval (Asia/Shanghai)"), y=4)
    return drawing


def _value(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]
