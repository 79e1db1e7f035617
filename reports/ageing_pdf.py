"""The ageing report's charts and PDF sections.

Two charts, drawn with ``reportlab.graphics`` for the PDF and (as SVG) the page:
open cases by state, stacked by age bucket; and units overdue for return by
depot with their value. Both draw "no data" on empty tables instead of failing.
The PDF has five sections: open cases by state and age (chart and table with a
total row), the open cases, the overdue returns (chart and table), the overdue
returns by customer, engineer and depot, and the chasing history. Wide tables
print the columns a reader needs on paper; the files hold every column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pandas as pd
from flask_babel import pgettext
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer

from core.charts import (
    ACCENT,
    add_corner_note,
    add_legend,
    add_no_data,
    style_bar_axes,
    titled_drawing,
)
from core.i18n import gettext, lazy_gettext, zh_first
from core.pdf import INK, Fonts, text
from reports.catalogue import Chart, Section
from reports.files import columns_of, shown
from reports.pdf_blocks import Column, Look, data_table, fmt_int, fmt_money
from reports.render import column_labels as shared_column_labels
from reports.service.ageing import BUCKET_KEYS, TABLES, bucket_labels
from reports.service.report import Report
from rma.kinds import status_label

WIDTH = 178 * mm
HEIGHT = 70 * mm
# Young (pale blue) to old (deep red): the eye finds the old cases first.
BUCKET_COLOURS = ("#c6dbef", "#6baed6", "#2171b5", "#f2b134", "#e0701b", "#b3261e")

SLANT_FROM_CHARACTERS = 50  # category labels longer than this in all: slanted

# The columns printed on paper (the files hold them all).
PDF_COLUMNS: dict[str, list[str]] = {
    "open_cases": [
        "rma",
        "status",
        "fault_level",
        "customer",
        "depot",
        "engineer_name",
        "reported_at",
        "age_days",
        "at_risk",
        "due_at",
    ],
    "overdue": [
        "rma",
        "what",
        "serial",
        "customer",
        "engineer_name",
        "depot",
        "due_at",
        "days_overdue",
        "value_cny",
        "chases",
    ],
    "overdue_by_customer": [
        "customer",
        "units",
        "value_cny",
        "oldest_days_overdue",
        "chases",
        "last_chased_at",
    ],
    "chasing": [
        "rma",
        "customer",
        "engineer",
        "depot",
        "due_at",
        "chased_at",
        "days_overdue_then",
        "chased_to",
    ],
}


def column_labels() -> dict[str, Any]:
    """Headings in words of the ageing report's columns (over the shared ones)."""
    return {
        "status": lazy_gettext("State"),
        "customer_zh": lazy_gettext("Customer (Chinese)"),
        "city_zh": lazy_gettext("City (Chinese)"),
        "engineer_name": lazy_gettext("Engineer's name"),
        "family": lazy_gettext("Part family"),
        "reported_at": lazy_gettext("Reported at"),
        "age_days": lazy_gettext("Age (days)"),
        "due_at": lazy_gettext("Due at"),
        "past_due": lazy_gettext("Past due"),
        "under_1_day": lazy_gettext("Under 1 day"),
        "days_1_to_3": lazy_gettext("1-3 days"),
        "days_3_to_7": lazy_gettext("3-7 days"),
        "days_7_to_15": lazy_gettext("7-15 days"),
        "days_15_to_30": lazy_gettext("15-30 days"),
        "over_30_days": lazy_gettext("Over 30 days"),
        "oldest_age_days": lazy_gettext("Oldest (days)"),
        "what": lazy_gettext("Expected back"),
        "value_cny": lazy_gettext("Value (CNY)"),
        "chases": lazy_gettext("Reminders"),
        "last_chased_at": lazy_gettext("Last reminder"),
        "units": lazy_gettext("Units"),
        "oldest_days_overdue": lazy_gettext("Longest overdue (days)"),
        "chased_at": lazy_gettext("Reminder sent"),
        "days_overdue_then": lazy_gettext("Days overdue then"),
        "chased_to": lazy_gettext("Sent to"),
    }


# Relative widths of the printed columns.
PDF_WIDTHS: dict[str, float] = {
    "rma": 15,
    "status": 10,
    "what": 11,
    "serial": 14,
    "fault_level": 5.5,
    "customer": 15,
    "depot": 7,
    "engineer": 9,
    "engineer_name": 11,
    "name": 11,
    "reported_at": 10,
    "due_at": 10,
    "chased_at": 10,
    "last_chased_at": 10,
    "age_days": 6.5,
    "at_risk": 6,
    "days_overdue": 8,
    "days_overdue_then": 8,
    "value_cny": 9,
    "chases": 9.5,
    "units": 6,
    "oldest_days_overdue": 9,
    "chased_to": 22,
    **{key: 7 for key in BUCKET_KEYS},
    "total": 6,
    "oldest_age_days": 7,
}


# --- charts ---------------------------------------------------------------------------------


def _bars(
    drawing: Drawing,
    font: Fonts,
    categories: Sequence[str],
    data: Sequence[Sequence[float]],
    *,
    stacked: bool = False,
    top: float = 24,
) -> VerticalBarChart:
    # Long category labels (a dozen states) are slanted so they never overlap.
    widths = (2 if ord(character) > 0x2E80 else 1 for name in categories for character in name)
    slanted = sum(widths) > SLANT_FROM_CHARACTERS  # a Chinese character is about two
    bottom = 44 if slanted else 22
    chart = VerticalBarChart()
    chart.x, chart.y = 32, bottom
    chart.width, chart.height = drawing.width - 40, drawing.height - bottom - top
    chart.data = [list(series) for series in data]
    chart.strokeColor = None
    chart.categoryAxis.categoryNames = list(categories)
    style_bar_axes(chart, font)
    if slanted:
        chart.categoryAxis.labels.angle = 30
        chart.categoryAxis.labels.boxAnchor = "ne"
    if stacked:
        chart.categoryAxis.style = "stacked"
    sums = [sum(column) for column in zip(*data, strict=True)] if stacked else []
    highest = max(sums if stacked else [v for series in data for v in series], default=0)
    chart.valueAxis.valueMax = max(highest * 1.15, 1)
    if highest < 5:
        chart.valueAxis.valueStep = 1  # counts: whole numbers only
    chart.bars.strokeColor = None
    chart.barSpacing = 1
    chart.groupSpacing = 8
    drawing.add(chart)
    return chart


def open_by_state_chart(
    table: pd.DataFrame, font: Fonts, *, width: float = WIDTH, height: float = HEIGHT
) -> Drawing:
    """Open cases per state, each bar stacked by age bucket (young at the bottom),
    the state's total above it."""
    drawing = titled_drawing(width, height, font, gettext("Open cases by state and age"))
    states = [status_label(status) for status in table["status"]]
    series = [[int(v) for v in table[key]] for key in BUCKET_KEYS]
    chart = _bars(drawing, font, states or [""], series if states else [[0]], stacked=True)
    for index, colour in enumerate(BUCKET_COLOURS):
        chart.bars[index].fillColor = colors.HexColor(colour)
    totals = [int(v) for v in table["total"]] if len(table) else []
    step = chart.width / max(len(totals), 1)
    for index, total in enumerate(totals):
        drawing.add(
            String(
                chart.x + step * (index + 0.5),
                chart.y + chart.height * total / chart.valueAxis.valueMax + 3,
                fmt_int(total),
                fontName=font.regular,
                fontSize=7,
                fillColor=INK,
                textAnchor="middle",
            )
        )
    words = bucket_labels()
    pairs = [
        (colors.HexColor(colour), words[key])
        for colour, key in zip(BUCKET_COLOURS, BUCKET_KEYS, strict=True)
    ]
    add_legend(drawing, font, pairs, x=0, y=height - 16, column_width=60)
    if not totals:
        add_no_data(drawing, font, gettext("no open cases"))
    return drawing


def overdue_by_depot_chart(
    table: pd.DataFrame, font: Fonts, *, width: float = WIDTH, height: float = HEIGHT
) -> Drawing:
    """Units overdue for return per depot, each bar labelled with the units and
    their value (CNY)."""
    drawing = titled_drawing(width, height, font, gettext("Units overdue for return, by depot"))
    depots = list(table["depot"]) or [""]
    units = [int(v) for v in table["units"]] or [0]
    chart = _bars(drawing, font, depots, [units], top=20)
    chart.bars[0].fillColor = ACCENT
    chart.barLabels.fontName = font.regular
    chart.barLabels.fontSize = 6.5
    chart.barLabels.fillColor = INK
    chart.barLabels.nudge = 5
    chart.barLabelFormat = "values"
    values = list(table["value_cny"]) or [0.0]
    chart.barLabelArray = [
        [f"{n} · {fmt_money(v)}" if n else "" for n, v in zip(units, values, strict=True)]
    ]
    add_corner_note(drawing, font, gettext("units · value (CNY)"))
    if not any(units):
        add_no_data(drawing, font, gettext("no units overdue for return"))
    return drawing


def charts(report: Report, font: Fonts) -> list[Chart]:
    """The page's charts: open cases by state and age, overdue units by depot."""
    return [
        Chart(
            "ageing-open-by-state",
            gettext("Open cases by state and age"),
            open_by_state_chart(report.tables["open_by_state"], font),
        ),
        Chart(
            "ageing-overdue-by-depot",
            gettext("Units overdue for return, by depot"),
            overdue_by_depot_chart(report.tables["overdue_by_depot"], font),
        ),
    ]


# --- PDF sections ---------------------------------------------------------------------------


def _columns(frame: pd.DataFrame, labels: dict[str, str]) -> list[Column]:
    """``columns_of``' columns with the widths of ``PDF_WIDTHS`` where it names them
    (short codes under long headings would otherwise wrap letter by letter)."""
    if not len(frame):
        return []  # an empty table prints a note: nothing to measure
    columns = columns_of(frame, labels)
    if not all(column.key in PDF_WIDTHS for column in columns):
        return columns
    total = sum(PDF_WIDTHS[column.key] for column in columns)
    return [replace(column, width=PDF_WIDTHS[column.key] / total) for column in columns]


def _table(look: Look, report: Report, name: str, labels: dict[str, str]) -> Flowable:
    frame = report.tables[name]
    if "customer_zh" in frame:
        # One column on paper: 上海银行 Bank of Shanghai on a Chinese page, English otherwise.
        names = [
            zh_first(zh, en) for zh, en in zip(frame["customer_zh"], frame["customer"], strict=True)
        ]
        frame = frame.drop(columns="customer_zh").assign(customer=names)
    wanted = PDF_COLUMNS.get(name)
    if wanted:
        frame = frame[wanted]
    columns = _columns(frame, labels)
    return data_table(look, frame, columns, empty=gettext("Nothing to show with these filters."))


def _open_by_state_table(look: Look, report: Report, labels: dict[str, str]) -> Flowable:
    frame = report.tables["open_by_state"]
    columns = _columns(frame, labels)
    total: dict[str, str] = {"status": pgettext("report", "Total")}
    for key in (*BUCKET_KEYS, "total", "at_risk"):
        total[key] = fmt_int(int(frame[key].sum())) if len(frame) else "0"
    total["oldest_age_days"] = (
        shown("oldest_age_days", int(frame["oldest_age_days"].max())) if len(frame) else "–"
    )
    return data_table(
        look,
        frame,
        columns,
        total=total,
        empty=gettext("No open cases with these filters."),
    )


def sections(report: Report, look: Look) -> list[Section]:
    """The PDF's sections after the cover."""
    labels = {**shared_column_labels(), **{k: str(v) for k, v in column_labels().items()}}
    font = look.font
    by = [
        (name, str(TABLES[name].title))
        for name in ("overdue_by_customer", "overdue_by_engineer", "overdue_by_depot")
    ]
    summaries: list[Flowable] = []
    for name, title in by:
        summaries += [
            Paragraph(text(title), look.subheading),
            _table(look, report, name, labels),
            Spacer(1, 3 * mm),
        ]
    return [
        Section(
            str(TABLES["open_by_state"].title),
            str(TABLES["open_by_state"].description),
            [
                open_by_state_chart(report.tables["open_by_state"], font),
                Spacer(1, 4 * mm),
                _open_by_state_table(look, report, labels),
            ],
        ),
        Section(
            str(TABLES["open_cases"].title),
            str(TABLES["open_cases"].description),
            [_table(look, report, "open_cases", labels)],
        ),
        Section(
            str(TABLES["overdue"].title),
            str(TABLES["overdue"].description),
            [
                overdue_by_depot_chart(report.tables["overdue_by_depot"], font),
                Spacer(1, 4 * mm),
                _table(look, report, "overdue", labels),
            ],
        ),
        Section(
            gettext("Who owes the overdue units"),
            gettext("The overdue units by customer, by engineer and by depot."),
            summaries,
        ),
        Section(
            str(TABLES["chasing"].title),
            str(TABLES["chasing"].description),
            [_table(look, report, "chasing", labels)],
        ),
    ]
