"""The engineers' report drawn: its charts (on time and average rating by engineer,
cases per month) and the sections of its PDF.

Charts are ``reportlab.graphics`` drawings built with the house bar chart of
``reports.charts``: they go into the PDF as flowables and onto the page as SVG.
Empty tables still draw, with a "no data" note; words follow the reader's
language and names are the engineers' full names.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd
from flask_babel import pgettext
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer

from core.charts import ACCENT, ACCENT_LIGHT, GOOD, add_corner_note
from core.i18n import gettext, lazy_gettext
from core.pdf import MUTED, Fonts
from reports.catalogue import Chart, Section
from reports.charts import (
    DEFAULT_WIDTH,
    GOOD_PCT,
    LOW_PCT,
    _axis_note,
    _bar_chart,
    _counted_labels,
    _frame,
    _no_data,
    _number,
    _opened_closed_legend,
    _pct_bars,
)
from reports.files import shown
from reports.pdf_blocks import NA, Column, Look, data_table, fmt_decimal, is_missing
from reports.service.engineers_report import TABLES
from reports.service.report import Report

# The engineers drawn in a chart: the most closed cases first (the table's order).
CHART_ENGINEERS = 12
CHART_HEIGHT = 62 * mm
MONTH_FORMAT = "%Y-%m"
# Engineers' names and months drawn straight up to these counts, slanted beyond.
SLANT_ENGINEERS = 5
SLANT_MONTHS = 12
SLANTED_BOTTOM = 46
SLANTED_LEFT = 72
NAME_CHARS = 22
# The columns holding numbers, printed right-aligned.
NUMBER_COLUMNS = frozenset(
    {
        "cases",
        "closed",
        "promise_judged",
        "promise_met",
        "on_time_pct",
        "ratings",
        "average_rating",
        "escalations",
        "at_risk",
        "step_1",
        "step_2",
        "step_3",
        "rating",
        "step",
    }
)


def column_labels() -> dict[str, str]:
    """Headings in words of the report's own columns (the others are shared)."""
    return {
        "on_time_pct": pgettext("report", "On time %"),
        "escalations": pgettext("report", "Escalations"),
        "month_start": pgettext("report", "Month"),
        "step": pgettext("report", "Step"),
        "raised_at": pgettext("report", "Raised at"),
        "at_risk": pgettext("report", "At risk"),
    }


def _shown_engineers(engineers: pd.DataFrame) -> pd.DataFrame:
    return engineers.head(CHART_ENGINEERS)


def _names(shown: pd.DataFrame) -> list[str]:
    """The engineers' names as axis labels; long ones shortened when slanted (many
    engineers), whole otherwise."""
    names = [str(value) for value in shown["name"]]
    if len(names) <= SLANT_ENGINEERS:
        return names
    return [name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…" for name in names]


def _bottom(count: int, slant_from: int) -> float:
    """Room under the bars: more when the labels slant."""
    return SLANTED_BOTTOM if count > slant_from else 22


def _left(count: int, slant_from: int) -> float:
    """Room left of the bars: the first slanted name reaches out to the left."""
    return SLANTED_LEFT if count > slant_from else 34


def _slant(chart: Any, count: int, slant_from: int) -> None:
    """Many categories: their labels slant, so that they do not overlap."""
    if count > slant_from:
        chart.categoryAxis.labels.angle = 30
        chart.categoryAxis.labels.boxAnchor = "ne"
        chart.categoryAxis.labels.dx = 4


def _more_note(drawing: Drawing, font: Fonts, engineers: pd.DataFrame) -> None:
    if len(engineers) > CHART_ENGINEERS:
        note = gettext(
            "the %(shown)s of %(total)s engineers with the most cases closed",
            shown=CHART_ENGINEERS,
            total=len(engineers),
        )
        drawing.add(
            String(
                0, drawing.height - 20, note, fontName=font.regular, fontSize=6.5, fillColor=MUTED
            )
        )


def on_time_by_engineer(
    engineers: pd.DataFrame,
    font: Fonts,
    *,
    width: float = DEFAULT_WIDTH,
    height: float = CHART_HEIGHT,
) -> Drawing:
    """Bars of each engineer's closed cases done on time (%), green from 95 %, red
    below 80 %, labelled with the share and (judged cases); "n/a" when none was
    judged."""
    drawing = _frame(width, height, font, gettext("Closed cases on time, by engineer (%)"))
    shown = _shown_engineers(engineers)
    values = [_number(v) for v in shown["on_time_pct"]]
    judged = [int(n) for n in shown["promise_judged"]]
    chart = _pct_bars(
        drawing,
        font,
        _names(shown),
        values,
        judged,
        bottom=_bottom(len(shown), SLANT_ENGINEERS),
        left=_left(len(shown), SLANT_ENGINEERS),
    )
    _slant(chart, len(shown), SLANT_ENGINEERS)
    add_corner_note(
        drawing,
        font,
        gettext(
            "(n) closed cases judged · green from %(good)s%%, red below %(low)s%%",
            good=f"{GOOD_PCT:.0f}",
            low=f"{LOW_PCT:.0f}",
        ),
    )
    _more_note(drawing, font, engineers)
    if not any(judged):
        _no_data(drawing, font, gettext("no closed case could be judged in this period"))
    return drawing


def rating_by_engineer(
    engineers: pd.DataFrame,
    font: Fonts,
    *,
    width: float = DEFAULT_WIDTH,
    height: float = CHART_HEIGHT,
) -> Drawing:
    """Bars of each engineer's average customer rating (1 poor - 5 excellent),
    labelled with the average and (ratings)."""
    drawing = _frame(
        width, height, font, gettext("Average customer rating, by engineer (1 poor - 5 excellent)")
    )
    shown = _shown_engineers(engineers)
    values = [_number(v) for v in shown["average_rating"]]
    counts = [int(n) for n in shown["ratings"]]
    labels = _counted_labels(values, counts, "{:.2f}")
    chart = _bar_chart(
        drawing,
        font,
        _names(shown),
        [[v or 0.0 for v in values]],
        value_max=5.5,
        value_step=1,
        labels=labels,
        bottom=_bottom(len(shown), SLANT_ENGINEERS),
        left=_left(len(shown), SLANT_ENGINEERS),
    )
    _slant(chart, len(shown), SLANT_ENGINEERS)
    chart.bars[0].fillColor = GOOD
    add_corner_note(drawing, font, gettext("(n) ratings"))
    _more_note(drawing, font, engineers)
    if not any(counts):
        _no_data(drawing, font, gettext("no ratings in this period"))
    return drawing


def cases_per_month(
    monthly: pd.DataFrame,
    months: list[date],
    font: Fonts,
    *,
    width: float = DEFAULT_WIDTH,
    height: float = CHART_HEIGHT,
) -> Drawing:
    """Grouped bars of the cases opened and closed in each month of the period, all
    the engineers of the filters together."""
    drawing = _frame(width, height, font, gettext("Cases opened and closed per month"))
    totals = monthly.groupby("month_start")[["cases", "closed"]].sum()
    opened = [int(totals["cases"].get(month, 0)) for month in months]
    closed = [int(totals["closed"].get(month, 0)) for month in months]
    chart = _bar_chart(
        drawing,
        font,
        [month.strftime(MONTH_FORMAT) for month in months],
        [opened, closed],
        top=26,
        bottom=_bottom(len(months), SLANT_MONTHS),
        label_format="%.0f" if len(months) <= SLANT_MONTHS else None,
    )
    _slant(chart, len(months), SLANT_MONTHS)
    chart.bars[0].fillColor = ACCENT
    chart.bars[1].fillColor = ACCENT_LIGHT
    _opened_closed_legend(drawing, font)
    _axis_note(
        drawing,
        font,
        chart.x,
        gettext("calendar month (Asia/Shanghai), the first and last cut to the period"),
    )
    if not any(opened) and not any(closed):
        _no_data(drawing, font, gettext("no cases opened or closed in this period"))
    return drawing


def charts(report: Report, font: Fonts) -> list[Chart]:
    """The report's charts, in the reader's language: on time and average rating by
    engineer, cases per month."""
    engineers, monthly = report.tables["engineers"], report.tables["monthly"]
    months = list(report.details.get("months", []))
    return [
        Chart(
            "engineers-on-time",
            gettext("Closed cases on time, by engineer"),
            on_time_by_engineer(engineers, font),
        ),
        Chart(
            "engineers-rating",
            gettext("Average customer rating, by engineer"),
            rating_by_engineer(engineers, font),
        ),
        Chart(
            "engineers-months",
            gettext("Cases opened and closed per month"),
            cases_per_month(monthly, months, font),
        ),
    ]


# The PDF's columns of each table and their shares of the width: engineers by name
# (the files carry the usernames too), so the figures get the room.
PDF_COLUMNS: dict[str, tuple[tuple[str, float], ...]] = {
    "engineers": (
        ("name", 19),
        ("cases", 7),
        ("closed", 7),
        ("promise_judged", 8),
        ("promise_met", 8),
        ("on_time_pct", 8),
        ("ratings", 7),
        ("average_rating", 8),
        ("escalations", 9),
        ("at_risk", 5.5),
        ("step_1", 5.5),
        ("step_2", 5.5),
        ("step_3", 5.5),
    ),
    "monthly": (
        ("name", 21),
        ("month_start", 9),
        ("cases", 8),
        ("closed", 8),
        ("promise_judged", 9),
        ("promise_met", 9),
        ("on_time_pct", 9),
        ("ratings", 8),
        ("average_rating", 9),
        ("escalations", 10),
    ),
    "remarks": (
        ("name", 19),
        ("rma", 15),
        ("closed_at", 13),
        ("rating", 6),
        ("signed_by", 11),
        ("remarks", 36),
    ),
    "escalations": (
        ("name", 24),
        ("rma", 18),
        ("fault_level", 10),
        ("depot", 10),
        ("step", 10),
        ("raised_at", 18),
    ),
}


def _cell(column: str, value: Any) -> str:
    if is_missing(value):
        return NA
    if column == "average_rating":
        return fmt_decimal(value, 2)  # as the headline prints it
    if column == "month_start":
        return value.strftime(MONTH_FORMAT)
    return shown(column, value)


def pdf_columns(name: str, labels: Mapping[str, str]) -> list[Column]:
    """The columns ``name`` prints in the PDF, numbers right-aligned."""
    layout = PDF_COLUMNS[name]
    total = sum(weight for _, weight in layout)
    return [
        Column(
            key,
            labels.get(key, key),
            weight / total,
            fmt=lambda value, c=key: _cell(c, value),
            right=key in NUMBER_COLUMNS,
        )
        for key, weight in layout
    ]


def sections(report: Report, look: Look, labels: Mapping[str, str]) -> list[Section]:
    """The PDF after its cover: the evaluations with their charts, the months with
    theirs, the signed records and the escalations, each table in full."""
    drawn = {chart.key: chart.drawing for chart in charts(report, look.font)}

    def table(name: str) -> Flowable:
        frame = report.tables[name]
        return data_table(
            look,
            frame,
            pdf_columns(name, labels),
            empty=gettext("Nothing with these filters in this period."),
        )

    def part(name: str, *flowables: Flowable) -> Section:
        info = TABLES[name]
        return Section(str(info.title), str(info.description), [*flowables, table(name)])

    gap = Spacer(1, 4 * mm)
    return [
        part(
            "engineers",
            drawn["engineers-on-time"],
            gap,
            drawn["engineers-rating"],
            gap,
        ),
        part("monthly", drawn["engineers-months"], gap),
        part("remarks"),
        part("escalations"),
    ]


SUMMARY = lazy_gettext(
    "Cases handled, on time, customers' ratings and remarks, and escalations, by engineer and month"
)
