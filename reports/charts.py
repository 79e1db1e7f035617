"""The charts of the service-levels report, drawn with ``reportlab.graphics``.

Each function takes a table of ``reports.service.service_levels`` and answers a
``Drawing`` of the given size (points) that goes into a PDF as a flowable and
onto a web page as SVG (``to_svg``). Charts of empty data still draw: the axes
and a "no data" note, never an error. Text uses the report's font, so Chinese
prints where the CJK font is installed; words are in the reader's language
(``core.i18n``), English on the terminal and in the API.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from flask_babel import pgettext
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.lib import colors
from reportlab.lib.units import mm

from core.charts import (
    ACCENT,
    ACCENT_LIGHT,
    BAD,
    GOOD,
    WARN,
    add_corner_note,
    add_legend,
    add_no_data,
    style_bar_axes,
    titled_drawing,
)
from core.i18n import gettext
from core.pdf import INK, MUTED, RULE, Fonts
from core.svg import inline_svg

# Rating 1 (worst) to 5 (best).
RATING_COLOURS = ("#b3261e", "#e0701b", "#d9b300", "#6aa84f", "#1f7a3a")

DEFAULT_WIDTH = 178 * mm
DEFAULT_HEIGHT = 62 * mm
# Promise met at or above this share is shown green, below LOW red, between amber.
GOOD_PCT = 95.0
LOW_PCT = 80.0
MAX_CATEGORY_LABELS = 16


def _frame(width: float, height: float, font: Fonts, title: str) -> Drawing:
    return titled_drawing(width, height, font, title)


def _bar_chart(
    drawing: Drawing,
    font: Fonts,
    categories: Sequence[str],
    data: Sequence[Sequence[float]],
    *,
    value_max: float | None = None,
    value_step: float | None = None,
    left: float = 34,
    bottom: float = 22,
    top: float = 22,
    right: float = 8,
    labels: Sequence[Sequence[str]] | None = None,
    label_format: str | None = "%.0f",
) -> VerticalBarChart:
    chart = VerticalBarChart()
    chart.x, chart.y = left, bottom
    chart.width = drawing.width - left - right
    chart.height = drawing.height - bottom - top
    chart.data = [list(series) for series in data]
    chart.strokeColor = None
    chart.categoryAxis.categoryNames = list(categories)
    style_bar_axes(chart, font)
    highest = max((v for series in data for v in series if v is not None), default=0)
    chart.valueAxis.valueMax = value_max if value_max is not None else max(highest * 1.15, 1)
    if value_step is not None:
        chart.valueAxis.valueStep = value_step
    elif highest < 5 and value_max is None:
        chart.valueAxis.valueStep = 1  # counts: whole numbers only
    chart.barSpacing = 1
    chart.groupSpacing = 6 if len(data) > 1 else 10
    chart.barLabels.fontName = font.regular
    chart.barLabels.fontSize = 6.5
    chart.barLabels.fillColor = INK
    chart.barLabels.nudge = 5
    if labels is not None:
        chart.barLabelFormat = "values"
        chart.barLabelArray = [list(row) for row in labels]
    else:
        chart.barLabelFormat = label_format
    chart.bars.strokeColor = None
    drawing.add(chart)
    return chart


def _no_data(drawing: Drawing, font: Fonts, text: str | None = None) -> None:
    add_no_data(drawing, font, text or gettext("no data in this period"))


def _opened_closed_legend(drawing: Drawing, font: Fonts) -> None:
    """The legend of the opened (dark) and closed (light) bars, top right."""
    add_legend(
        drawing,
        font,
        [
            (ACCENT, pgettext("report", "opened")),
            (ACCENT_LIGHT, pgettext("report", "closed")),
        ],
        x=drawing.width - 120,
        y=drawing.height - 5,
        column_width=55,
        font_size=7.5,
    )


def _axis_note(drawing: Drawing, font: Fonts, x: float, words: str) -> None:
    """Small muted words under the category axis, e.g. what a bar's label means."""
    drawing.add(String(x, 4, words, fontName=font.regular, fontSize=6.5, fillColor=MUTED))


def _counted_labels(
    values: Sequence[float | None], counts: Sequence[int], spec: str
) -> list[list[str]]:
    """Bar labels (one series): each value formatted by ``spec`` with (how many it was
    judged on), "n/a" where nothing was."""
    return [
        [
            gettext("n/a") if v is None else f"{spec.format(v)} ({n})"
            for v, n in zip(values, counts, strict=True)
        ]
    ]


def _pct_bars(
    drawing: Drawing,
    font: Fonts,
    names: Sequence[str],
    values: Sequence[float | None],
    counts: Sequence[int],
    **layout: float,
) -> VerticalBarChart:
    """Bars of a share met (%) per name on a 0-110 scale, each labelled with the share
    and (how many it was judged on), "n/a" where nothing was, and coloured green from
    ``GOOD_PCT``, red below ``LOW_PCT``; ``layout`` is passed on to ``_bar_chart``."""
    labels = _counted_labels(values, counts, "{:.0f}%")
    chart = _bar_chart(
        drawing,
        font,
        names,
        [[v or 0.0 for v in values]],
        value_max=110,
        value_step=20,
        labels=labels,
        **layout,
    )
    for index, value in enumerate(values):
        chart.bars[(0, index)].fillColor = _pct_colour(value)
    return chart


def _pct_colour(value: float | None) -> colors.Color:
    if value is None:
        return RULE
    if value >= GOOD_PCT:
        return GOOD
    return WARN if value >= LOW_PCT else BAD


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


def on_time_by_depot(
    depots: pd.DataFrame,
    font: Fonts,
    *,
    overall_pct: float | None = None,
    width: float = DEFAULT_WIDTH,
    height: float = DEFAULT_HEIGHT,
) -> Drawing:
    """Bars of the 24-hour promise met (%) per depot, coloured green from 95 %, red
    below 80 %; depots without deliveries show "n/a"; a dashed line marks the
    network's share when ``overall_pct`` is given."""
    drawing = _frame(width, height, font, gettext("24-hour replacement promise met, by depot (%)"))
    values = [_number(v) for v in depots["met_pct"]]
    delivered = [int(n) for n in depots["delivered"]]
    chart = _pct_bars(drawing, font, list(depots["depot"]), values, delivered)
    note = gettext("(n) deliveries")
    if overall_pct is not None:
        note = gettext(
            "dashed: all depots %(pct)s · %(note)s", pct=f"{overall_pct:.0f}%", note=note
        )
        y = chart.y + chart.height * overall_pct / 110
        drawing.add(
            Line(
                chart.x,
                y,
                chart.x + chart.width,
                y,
                strokeColor=ACCENT,
                strokeWidth=0.8,
                strokeDashArray=[3, 2],
            )
        )
    add_corner_note(drawing, font, note)
    if not any(delivered):
        _no_data(drawing, font, gettext("no replacements delivered in this period"))
    return drawing


def weekly_flow(
    weekly: pd.DataFrame,
    font: Fonts,
    *,
    width: float = DEFAULT_WIDTH,
    height: float = DEFAULT_HEIGHT,
) -> Drawing:
    """Grouped bars of RMAs opened and closed per week; long periods label every
    n-th week only, so the labels never overlap."""
    drawing = _frame(width, height, font, gettext("RMAs opened and closed per week"))
    weeks = list(weekly["week_start"])
    years = {w.year for w in weeks}
    # Across a new year the labels carry the year, so fewer of them fit.
    fmt, most = ("%m-%d", MAX_CATEGORY_LABELS) if len(years) <= 1 else ("%y-%m-%d", 12)
    every = max(1, -(-len(weeks) // most))
    names = [w.strftime(fmt) if i % every == 0 else "" for i, w in enumerate(weeks)]
    opened = [int(v) for v in weekly["opened"]]
    closed = [int(v) for v in weekly["closed"]]
    few = len(weeks) <= 26
    chart = _bar_chart(
        drawing,
        font,
        names,
        [opened, closed],
        label_format="%.0f" if few else None,
        top=26,
    )
    chart.bars[0].fillColor = ACCENT
    chart.bars[1].fillColor = ACCENT_LIGHT
    chart.groupSpacing = 8 if few else 2
    _opened_closed_legend(drawing, font)
    _axis_note(drawing, font, chart.x, gettext("week starting (Monday, Asia/Shanghai)"))
    if not any(opened) and not any(closed):
        _no_data(drawing, font, gettext("no RMAs opened or closed in this period"))
    return drawing


def rating_distribution(
    ratings: pd.DataFrame,
    font: Fonts,
    *,
    width: float = DEFAULT_WIDTH,
    height: float = DEFAULT_HEIGHT,
) -> Drawing:
    """Bars of how many closed cases got each rating, 1 (red) to 5 (green)."""
    drawing = _frame(
        width, height, font, gettext("Customer ratings of closed cases (1 poor - 5 excellent)")
    )
    counts = [int(v) for v in ratings["count"]]
    shares = [_number(v) for v in ratings["share_pct"]]
    labels = [
        [
            f"{c} ({s:.0f}%)" if s is not None else str(c)
            for c, s in zip(counts, shares, strict=True)
        ]
    ]
    chart = _bar_chart(
        drawing,
        font,
        [str(int(r)) for r in ratings["rating"]],
        [counts],
        labels=labels,
        left=26,
    )
    for index, colour in enumerate(RATING_COLOURS[: len(counts)]):
        chart.bars[(0, index)].fillColor = colors.HexColor(colour)
    if not any(counts):
        _no_data(drawing, font, gettext("no ratings in this period"))
    return drawing


def stock_value_by_depot(
    stock: pd.DataFrame,
    font: Fonts,
    *,
    width: float = DEFAULT_WIDTH,
    height: float = DEFAULT_HEIGHT,
) -> Drawing:
    """Bars of good-stock value per depot, in thousand or million CNY (whichever
    keeps the labels short)."""
    values = [float(v) for v in stock["stock_value_cny"]]
    highest = max(values, default=0.0)
    if highest >= 1e6:
        scale, title = 1e6, gettext("Good stock value by depot (million CNY)")
    else:
        scale, title = 1e3, gettext("Good stock value by depot (thousand CNY)")
    drawing = _frame(width, height, font, title)
    scaled = [v / scale for v in values]
    digits = 1 if max(scaled, default=0) < 100 else 0
    chart = _bar_chart(
        drawing,
        font,
        list(stock["depot"]),
        [scaled],
        labels=[[f"{v:,.{digits}f}" for v in scaled]],
        left=30,
    )
    chart.bars[0].fillColor = ACCENT
    if not any(values):
        _no_data(drawing, font, gettext("no stock"))
    return drawing


def to_svg(drawing: Drawing, *, key: str, title: str = "") -> str:
    """The drawing as an inline, width-fluid ``<svg>`` element for a web page
    (``core.svg.inline_svg``, shared with the planning pages)."""
    return inline_svg(drawing, key=key, title=title)
