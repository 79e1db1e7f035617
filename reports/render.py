"""The service-levels report as files: PDF, XLSX, CSV (one table, or a ZIP of all)
and JSON.

* PDF: A4, a title page (period, generation time, key figures, contents), then
  one section per subject with tables and charts, page x of y in the footer.
  Chinese customer and city names print with the house CJK font
  (``core.pdf.fonts``).
* XLSX: one sheet per table (``SHEETS``), headers in words, bold and frozen;
  percentages, money and times formatted; times are Asia/Shanghai wall-clock
  (Excel has no time zones).
* CSV: one table per file, column names as in JSON, UTF-8 with a byte-order
  mark (so Excel shows Chinese correctly), instants ISO 8601 with the
  +08:00 offset, n/a as an empty field; text that a spreadsheet would run as
  a formula gets a leading apostrophe. ``csv_zip`` holds every table.
* JSON: ``to_json`` gives plain Python values (instants as ISO 8601 strings in
  Asia/Shanghai, n/a as None) ready for ``json.dumps``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import HRFlowable

from core import clock
from core.pdf import (
    INK,
    MUTED,
    PAGE_MARGIN,
    RULE,
    SHADE,
    Fonts,
    build_pdf,
    fonts,
    local_time,
    styles,
    text,
)
from reports import charts
from reports.service_levels import KIND_LABELS, TABLES, ServiceLevels

FORMATS = ("pdf", "xlsx", "csv", "json")
CONTENT_WIDTH = A4[0] - 2 * PAGE_MARGIN
HEAD = colors.HexColor("#12324f")
GOOD = colors.HexColor("#1f7a3a")
BAD = colors.HexColor("#b3261e")
NA = "–"
SHORT_KINDS = {"advance_replacement": "replacement", "repair": "repair", "loaner": "loaner"}

MEDIA_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "zip": "application/zip",
    "json": "application/json",
}

SHEETS = {
    "summary": "Summary",
    "weekly": "Weekly",
    "depots": "Depots",
    "fault_levels": "Fault levels",
    "escalations": "Escalations",
    "engineers": "Engineers",
    "remarks": "Remarks",
    "ratings": "Ratings",
    "stock": "Stock",
    "shortages": "Shortages",
    "overdue_returns": "Overdue returns",
}

# Column headings in words (XLSX, PDF and the web page); CSV and JSON keep the keys.
COLUMN_LABELS = {
    "metric": "Key",
    "label": "Figure",
    "value": "Value",
    "week_start": "Week starting",
    "week": "ISO week",
    "opened": "Opened",
    "closed": "Closed",
    "cancelled": "Cancelled",
    "depot": "Depot",
    "depot_name": "Depot name",
    "city": "City",
    "city_zh": "城市 City",
    "shipped": "Shipped",
    "emergency": "Emergency",
    "shipping_cost_cny": "Shipping cost (CNY)",
    "delivered": "Delivered",
    "on_time": "Within 24 h",
    "met_pct": "Promise met %",
    "avg_hours_to_delivery": "Avg hours approval to delivery",
    "fault_level": "Fault level",
    "kind": "Kind",
    "promise_judged": "Promises judged",
    "promise_met": "Promises met",
    "average_rating": "Average rating",
    "at_risk": "At risk",
    "step_1": "Step 1",
    "step_2": "Step 2",
    "step_3": "Step 3",
    "total": "Total",
    "engineer": "Engineer",
    "name": "Name",
    "cases": "Cases opened",
    "ratings": "Ratings",
    "rating_1": "Rated 1",
    "rating_2": "Rated 2",
    "rating_3": "Rated 3",
    "rating_4": "Rated 4",
    "rating_5": "Rated 5",
    "latest_remark": "Latest remark",
    "rma": "RMA",
    "closed_at": "Closed at",
    "rating": "Rating",
    "signed_by": "Signed by",
    "remarks": "Remarks",
    "count": "Cases",
    "share_pct": "Share %",
    "good_units": "Good units",
    "stock_value_cny": "Stock value (CNY)",
    "in_transit": "In transit",
    "target_units": "Target units",
    "parts_short": "Parts short",
    "units_short": "Units short",
    "units_excess": "Units excess",
    "excess_value_cny": "Excess value (CNY)",
    "part_number": "Part number",
    "description": "Description",
    "available": "Available",
    "target": "Target",
    "short": "Short",
    "short_value_cny": "Value short (CNY)",
    "customer": "Customer",
    "customer_zh": "客户 Customer",
    "serial": "Serial",
    "due": "Due back",
    "days_overdue": "Days overdue",
}

NOTES = (
    "Dates are Asia/Shanghai calendar days; the period includes both its first and last day.",
    "Opened, closed and cancelled count the cases reported, signed off or cancelled in the period.",
    "The 24-hour replacement promise is judged on every advance replacement or loaner delivered "
    "in the period (delivered at or before approval + 24 hours); the 72-working-hour repair "
    "promise on every repair sent back in the period.",
    "Ratings are the customers' signed verdicts (1 poor to 5 excellent) on the cases closed in "
    "the period.",
    "Engineers are evaluated on the cases they opened: the closed ones' ratings and the share "
    "of those closed cases whose promise was met.",
    "By depot: shipments, emergency couriers and shipping cost (as quoted at allocation) of the "
    "replacements shipped in the period; the promise and hours from approval to delivery over "
    "the depot's deliveries in the period.",
    "Open cases, overdue defective returns and stock health are as of the generation time.",
    "Stock value is good units on hand (reserved included) times unit cost. A position is the "
    "available good stock plus what is in transit to the depot; it is short below target and "
    "in excess above twice the target (no stored target counts as 0).",
    "A dash (–) means there was nothing to measure.",
)


@dataclass(frozen=True)
class Rendered:
    """A finished file: its bytes, media type and download name."""

    content: bytes
    media_type: str
    filename: str


def filename(report: ServiceLevels, extension: str, table: str | None = None) -> str:
    """``spares-service-levels-2026-10-27_2026-11-26.pdf`` (``-<table>`` before the
    extension for a single CSV table)."""
    suffix = f"-{table}" if table else ""
    return f"spares-service-levels-{report.period.slug}{suffix}.{extension}"


def render(
    report: ServiceLevels,
    fmt: str,
    table: str | None = None,
    *,
    generated_by: str | None = None,
) -> Rendered:
    """``report`` as a file of format ``fmt`` (pdf, xlsx, csv, json). For csv, one
    ``table`` as CSV, or without one a ZIP of every table; for json, only ``table``
    when given. The PDF's title page names ``generated_by``. ``Invalid`` for an
    unknown table (``report.table``), ``ValueError`` for an unknown format."""
    if fmt == "pdf":
        content = to_pdf(report, generated_by=generated_by)
        return Rendered(content, MEDIA_TYPES["pdf"], filename(report, "pdf"))
    if fmt == "xlsx":
        return Rendered(to_xlsx(report), MEDIA_TYPES["xlsx"], filename(report, "xlsx"))
    if fmt == "csv":
        if table:
            return Rendered(
                csv_table(report, table), MEDIA_TYPES["csv"], filename(report, "csv", table)
            )
        return Rendered(csv_zip(report), MEDIA_TYPES["zip"], filename(report, "zip"))
    if fmt == "json":
        body = json.dumps(to_json(report, table), ensure_ascii=False, indent=2) + "\n"
        return Rendered(body.encode("utf-8"), MEDIA_TYPES["json"], filename(report, "json", table))
    raise ValueError(f"unknown format {fmt!r}")


# --- plain values ---------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def plain(value: Any) -> Any:
    """A table cell as a JSON value: None for n/a, numpy numbers as Python numbers,
    instants as ISO 8601 in Asia/Shanghai, dates as ISO dates."""
    if _missing(value):
        return None
    if isinstance(value, datetime):
        return clock.local(value).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The table's rows as dicts of plain values."""
    return [
        {column: plain(value) for column, value in zip(frame.columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


def headline_json(report: ServiceLevels) -> dict[str, Any]:
    h = report.headline
    return {
        "opened": h.opened,
        "closed": h.closed,
        "cancelled": h.cancelled,
        "open_now": h.open_now,
        "replacements_delivered": h.replacements_delivered,
        "replacements_on_time": h.replacements_on_time,
        "replacement_met_pct": h.replacement_met_pct,
        "repairs_returned": h.repairs_returned,
        "repairs_on_time": h.repairs_on_time,
        "repair_met_pct": h.repair_met_pct,
        "ratings": h.ratings,
        "average_rating": h.average_rating,
        "escalations": dict(h.escalations),
        "escalations_total": h.escalations_total,
        "overdue_returns_now": h.overdue_returns_now,
    }


def to_json(report: ServiceLevels, table: str | None = None) -> dict[str, Any]:
    """The period, generation time, headline and tables (or one ``table``) as records."""
    names = [table] if table else list(report.tables)
    return {
        "period": {
            "start": report.period.start.isoformat(),
            "end": report.period.end.isoformat(),
            "days": report.period.days,
            "time_zone": "Asia/Shanghai",
        },
        "generated_at": plain(report.generated_at),
        "targets_stored": report.targets_stored,
        "headline": headline_json(report),
        "tables": {name: records(report.table(name)) for name in names},
    }


# --- CSV ------------------------------------------------------------------------------------


# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """n/a as an empty field; text that a spreadsheet would run as a formula (a
    customer's remark starting with ``=``) is quoted with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_table(report: ServiceLevels, table: str) -> bytes:
    """One table as CSV (UTF-8 with BOM, header row of keys, n/a empty, formula-like
    text quoted with an apostrophe)."""
    frame = report.table(table)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(list(frame.columns))
    for row in records(frame):
        writer.writerow([_csv_cell(value) for value in row.values()])
    return buffer.getvalue().encode("utf-8-sig")


def csv_zip(report: ServiceLevels) -> bytes:
    """Every table as its own CSV in one ZIP archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in report.tables:
            archive.writestr(filename(report, "csv", name), csv_table(report, name))
    return buffer.getvalue()


# --- XLSX -----------------------------------------------------------------------------------

PCT_COLUMNS = {"met_pct", "share_pct"}
MONEY_COLUMNS = {
    "shipping_cost_cny",
    "stock_value_cny",
    "excess_value_cny",
    "short_value_cny",
}
DECIMAL_COLUMNS = {"average_rating", "avg_hours_to_delivery"}
TIME_COLUMNS = {"closed_at", "due"}


def _number_format(column: str) -> str | None:
    if column in PCT_COLUMNS:
        return "0.0"
    if column in MONEY_COLUMNS:
        return "#,##0.00"
    if column in DECIMAL_COLUMNS:
        return "0.0#"
    if column in TIME_COLUMNS:
        return "yyyy-mm-dd hh:mm"
    return "yyyy-mm-dd" if column == "week_start" else None


def _for_excel(frame: pd.DataFrame) -> pd.DataFrame:
    """Excel has no time zones: instants become Asia/Shanghai wall-clock times."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            out[column] = series.dt.tz_convert(clock.SHANGHAI).dt.tz_localize(None)
        elif series.dtype == object:
            out[column] = series.map(
                lambda v: clock.local(v).replace(tzinfo=None) if isinstance(v, datetime) else v
            )
    return out.rename(columns=lambda c: COLUMN_LABELS.get(c, c))


def to_xlsx(report: ServiceLevels) -> bytes:
    """One sheet per table, header row bold on a tinted fill and frozen, columns sized
    to their content, numbers formatted."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in report.tables.items():
            sheet_name = SHEETS[name]
            _for_excel(frame).to_excel(
                writer, sheet_name=sheet_name, index=False, freeze_panes=(1, 0)
            )
            sheet = writer.sheets[sheet_name]
            header_fill = PatternFill("solid", fgColor="DCE6F0")
            for cell in sheet[1]:
                cell.font = Font(bold=True)
                cell.fill = header_fill
                cell.alignment = Alignment(vertical="center", wrap_text=True)
            for index, column in enumerate(frame.columns, start=1):
                letter = get_column_letter(index)
                number_format = _number_format(column)
                longest = len(COLUMN_LABELS.get(column, column))
                for cell in sheet[letter][1:]:
                    if number_format:
                        cell.number_format = number_format
                    if isinstance(cell.value, str) and cell.value.startswith("="):
                        # Text typed by people (remarks) must never become a formula.
                        cell.data_type = "s"
                    longest = max(longest, min(60, len(str(cell.value or ""))))
                sheet.column_dimensions[letter].width = max(8, min(62, longest + 2))
            sheet.sheet_view.zoomScale = 110
    return buffer.getvalue()


# --- PDF: formatting ------------------------------------------------------------------------


def _int(value: Any) -> str:
    return NA if _missing(value) else f"{int(value):,}"


def _pct(value: Any) -> str:
    return NA if _missing(value) else f"{float(value):.1f}%"


def _money(value: Any, digits: int = 0) -> str:
    return NA if _missing(value) else f"{float(value):,.{digits}f}"


def _decimal(value: Any, digits: int = 1) -> str:
    return NA if _missing(value) else f"{float(value):.{digits}f}"


@dataclass(frozen=True)
class _Look:
    """Fonts and paragraph styles of the report."""

    font: Fonts
    cover_kicker: ParagraphStyle
    cover_title: ParagraphStyle
    cover_subtitle: ParagraphStyle
    section: ParagraphStyle
    subheading: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    cell: ParagraphStyle
    cell_right: ParagraphStyle
    head_cell: ParagraphStyle
    head_cell_right: ParagraphStyle
    kpi_value: ParagraphStyle
    kpi_label: ParagraphStyle
    kpi_note: ParagraphStyle
    note: ParagraphStyle


def _look(font: Fonts) -> _Look:
    base = styles(font)

    def derive(parent: ParagraphStyle, name: str, **changes: Any) -> ParagraphStyle:
        style = ParagraphStyle(name, parent=parent, **changes)
        if "fontSize" in changes and "leading" not in changes:
            style.leading = changes["fontSize"] * 1.25
        return style

    return _Look(
        font=font,
        cover_kicker=derive(base.small, "kicker", fontSize=9, textColor=MUTED, spaceAfter=4),
        cover_title=derive(base.title, "cover", fontSize=30, spaceAfter=6, textColor=HEAD),
        cover_subtitle=derive(base.body, "subtitle", fontSize=12, textColor=MUTED, spaceAfter=4),
        section=derive(base.heading, "section", fontSize=14, textColor=HEAD, spaceBefore=12),
        subheading=derive(
            base.heading, "sub", fontSize=10.5, spaceBefore=8, spaceAfter=3, keepWithNext=1
        ),
        body=base.body,
        small=base.small,
        cell=derive(base.cell, "cellx", fontSize=7.8),
        cell_right=derive(base.cell, "cellr", fontSize=7.8, alignment=2),
        head_cell=derive(base.cell, "head", fontSize=7.5, textColor=colors.white),
        head_cell_right=derive(
            base.cell, "headr", fontSize=7.5, textColor=colors.white, alignment=2
        ),
        kpi_value=derive(base.big, "kpiv", fontSize=19, textColor=HEAD, leading=23),
        kpi_label=derive(base.small, "kpil", fontSize=7.8, textColor=INK, leading=10),
        kpi_note=derive(base.small, "kpin", fontSize=7, leading=9),
        note=derive(base.small, "note", fontSize=8, leading=11),
    )


@dataclass(frozen=True)
class _Column:
    key: str
    heading: str
    width: float  # share of the content width
    fmt: Callable[[Any], str] = text
    right: bool = False


def _data_table(
    look: _Look,
    frame: pd.DataFrame,
    columns: Sequence[_Column],
    *,
    total: dict[str, str] | None = None,
    empty: str = "Nothing in this period.",
) -> Flowable:
    """A table with a dark header row repeated on each page, zebra rows, numbers
    right-aligned, an optional bold total row; a note instead when empty."""
    if not len(frame):
        return Paragraph(text(empty), look.note)
    widths = [c.width * CONTENT_WIDTH for c in columns]
    header = [
        Paragraph(text(c.heading), look.head_cell_right if c.right else look.head_cell)
        for c in columns
    ]
    rows: list[list[Any]] = [header]
    for record in frame.to_dict("records"):
        rows.append(
            [
                Paragraph(text(c.fmt(record.get(c.key))), look.cell_right if c.right else look.cell)
                for c in columns
            ]
        )
    if total is not None:
        rows.append(
            [
                Paragraph(text(total.get(c.key, "")), look.cell_right if c.right else look.cell)
                for c in columns
            ]
        )
    table = Table(rows, colWidths=widths, repeatRows=1)
    commands: list[tuple[Any, ...]] = [
        ("BACKGROUND", (0, 0), (-1, 0), HEAD),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
    ]
    for index in range(2, len(rows), 2):
        commands.append(("BACKGROUND", (0, index), (-1, index), SHADE))
    if total is not None:
        commands += [
            ("LINEABOVE", (0, -1), (-1, -1), 0.9, INK),
            ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#dde5ee")),
        ]
    table.setStyle(TableStyle(commands))
    return table


def _section(look: _Look, number: int, title: str, intro: str = "") -> list[Flowable]:
    parts: list[Flowable] = [
        CondPageBreak(70 * mm),
        Paragraph(f"{number}&nbsp;&nbsp;{text(title)}", look.section),
        HRFlowable(width="100%", thickness=1.2, color=HEAD, spaceBefore=0, spaceAfter=4),
    ]
    if intro:
        parts.append(Paragraph(text(intro), look.note))
        parts.append(Spacer(1, 2 * mm))
    return parts


def _kpi_tiles(look: _Look, tiles: Sequence[tuple[str, str, str]], per_row: int = 4) -> Table:
    """Big figures on tinted tiles: (value, label, note)."""
    cells = [
        [
            Paragraph(text(value), look.kpi_value),
            Paragraph(text(label), look.kpi_label),
            Paragraph(text(note), look.kpi_note),
        ]
        for value, label, note in tiles
    ]
    while len(cells) % per_row:
        cells.append([])
    rows = [cells[i : i + per_row] for i in range(0, len(cells), per_row)]
    gap = 2.5 * mm
    width = (CONTENT_WIDTH - gap * (per_row - 1)) / per_row
    # Tiles sit in the even rows and columns; the odd ones are the gaps between them.
    data: list[list[Any]] = []
    heights: list[float | None] = []
    for number, row in enumerate(rows):
        if number:
            data.append([""] * (2 * per_row - 1))
            heights.append(gap)
        line: list[Any] = []
        for index, cell in enumerate(row):
            if index:
                line.append("")
            line.append(cell)
        data.append(line)
        heights.append(None)
    widths = [gap if index % 2 else width for index in range(2 * per_row - 1)]
    table = Table(data, colWidths=widths, rowHeights=heights)
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
        ("LEFTPADDING", (0, 0), (-1, -1), 6),
    ]
    for number, row in enumerate(rows):
        for index, cell in enumerate(row):
            if cell:
                at = (2 * index, 2 * number)
                commands += [
                    ("BACKGROUND", at, at, SHADE),
                    ("LINEABOVE", at, at, 2, HEAD),
                ]
    table.setStyle(TableStyle(commands))
    return table


def _met_note(on_time: int, judged: int, what: str) -> str:
    return f"{on_time} of {judged} {what}" if judged else f"no {what} in the period"


# --- PDF: the pages -------------------------------------------------------------------------


def _cover(report: ServiceLevels, look: _Look, generated_by: str | None) -> list[Flowable]:
    h, period = report.headline, report.period
    facts = [
        ("Period", f"{period.label} ({period.days} days, Asia/Shanghai dates, both included)"),
        ("Generated", f"{local_time(report.generated_at)} Asia/Shanghai"),
    ]
    if generated_by:
        facts.append(("Generated by", generated_by))
    facts.append(("Scope", "All customers, eight regional depots, every engineer"))
    fact_table = Table(
        [[Paragraph(text(k), look.small), Paragraph(text(v), look.body)] for k, v in facts],
        colWidths=(32 * mm, CONTENT_WIDTH - 32 * mm),
    )
    fact_table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, RULE),
                ("LINEABOVE", (0, 0), (-1, 0), 0.9, HEAD),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    tiles = [
        (_int(h.opened), "RMAs opened", f"{h.closed} closed, {h.open_now} open now"),
        (
            _pct(h.replacement_met_pct),
            "24-hour replacement promise met",
            _met_note(h.replacements_on_time, h.replacements_delivered, "deliveries"),
        ),
        (
            _pct(h.repair_met_pct),
            "72-working-hour repair promise met",
            _met_note(h.repairs_on_time, h.repairs_returned, "repairs returned"),
        ),
        (
            NA if h.average_rating is None else f"{h.average_rating:.2f}",
            "Average customer rating (1-5)",
            f"{h.ratings} signed verdicts" if h.ratings else "no ratings in the period",
        ),
    ]
    contents = [
        "Headline",
        "Replacements by depot",
        "By fault level and kind",
        "Engineers' evaluations",
        "Stock health",
        "Overdue defective returns",
        "How the numbers are counted",
    ]
    contents_rows = [
        [Paragraph(str(n), look.body), Paragraph(text(title), look.body)]
        for n, title in enumerate(contents, start=1)
    ]
    contents_table = Table(contents_rows, colWidths=(8 * mm, 90 * mm), hAlign="LEFT")
    contents_table.setStyle(
        TableStyle(
            [
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("TEXTCOLOR", (0, 0), (0, -1), MUTED),
            ]
        )
    )
    kicker = "SPARES · AFTER-SALES SERVICE" + (" · 服务水平报告" if look.font.cjk else "")
    return [
        Spacer(1, 28 * mm),
        Paragraph(text(kicker), look.cover_kicker),
        Paragraph("Service levels report", look.cover_title),
        Paragraph(
            "RMAs and promises kept, engineers' evaluations, stock health and overdue returns",
            look.cover_subtitle,
        ),
        Spacer(1, 8 * mm),
        fact_table,
        Spacer(1, 10 * mm),
        Paragraph("Key figures", look.subheading),
        _kpi_tiles(look, tiles),
        Spacer(1, 12 * mm),
        Paragraph("Contents", look.subheading),
        contents_table,
        Spacer(1, 14 * mm),
        Paragraph(
            text(
                "For planners and customer-service supervisors. Figures are read from the "
                "RMA records, the customers' signed service records and the stock ledger; "
                "nothing is estimated."
            ),
            look.note,
        ),
        PageBreak(),
    ]


def _headline_section(report: ServiceLevels, look: _Look) -> list[Flowable]:
    h = report.headline
    tiles = [
        (_int(h.opened), "RMAs opened", "reported in the period"),
        (_int(h.closed), "RMAs closed", "signed off by the customer"),
        (_int(h.cancelled), "RMAs cancelled", "in the period"),
        (_int(h.open_now), "RMAs open now", "at generation time"),
        (
            _pct(h.replacement_met_pct),
            "24-hour replacement promise",
            _met_note(h.replacements_on_time, h.replacements_delivered, "deliveries on time"),
        ),
        (
            _pct(h.repair_met_pct),
            "72-working-hour repair promise",
            _met_note(h.repairs_on_time, h.repairs_returned, "repairs on time"),
        ),
        (
            NA if h.average_rating is None else f"{h.average_rating:.2f}",
            "Average customer rating",
            f"from {h.ratings} ratings" if h.ratings else "no ratings",
        ),
        (_int(h.overdue_returns_now), "Defective returns overdue", "now"),
    ]
    escalations = report.tables["escalations"]
    levels = ", ".join(f"{level}: {count}" for level, count in h.escalations.items())
    return [
        *_section(look, 1, "Headline", f"Period {report.period.label}."),
        _kpi_tiles(look, tiles),
        Spacer(1, 4 * mm),
        Paragraph(
            text(f"Escalations raised: {h.escalations_total} ({levels})."),
            look.body,
        ),
        Spacer(1, 2 * mm),
        _data_table(
            look,
            escalations,
            [
                _Column("fault_level", "Fault level", 0.2),
                _Column("at_risk", "At risk (step 0)", 0.16, _int, True),
                _Column("step_1", "Step 1", 0.16, _int, True),
                _Column("step_2", "Step 2", 0.16, _int, True),
                _Column("step_3", "Step 3", 0.16, _int, True),
                _Column("total", "Total", 0.16, _int, True),
            ],
        ),
        Spacer(1, 5 * mm),
        charts.weekly_flow(report.tables["weekly"], look.font),
    ]


def _depot_section(report: ServiceLevels, look: _Look) -> list[Flowable]:
    depots, h = report.tables["depots"], report.headline
    hours = depots["avg_hours_to_delivery"]
    weights = depots["delivered"]
    weighted = (hours.fillna(0) * weights).sum() / weights.sum() if weights.sum() else None
    total = {
        "depot": "Total",
        "shipped": _int(depots["shipped"].sum()),
        "emergency": _int(depots["emergency"].sum()),
        "shipping_cost_cny": _money(depots["shipping_cost_cny"].sum(), 2),
        "delivered": _int(h.replacements_delivered),
        "on_time": _int(h.replacements_on_time),
        "met_pct": _pct(h.replacement_met_pct),
        "avg_hours_to_delivery": _decimal(weighted),
    }
    return [
        *_section(
            look,
            2,
            "Replacements by depot",
            "Advance replacements and loaners shipped by each depot in the period, and the "
            "24-hour promise on the depot's deliveries in the period.",
        ),
        _data_table(
            look,
            depots,
            [
                _Column("depot", "Depot", 0.08),
                _Column("depot_name", "Name", 0.17),
                _Column("city_zh", "城市" if look.font.cjk else "City", 0.08),
                _Column("shipped", "Shipped", 0.08, _int, True),
                _Column("emergency", "Emergency", 0.09, _int, True),
                _Column(
                    "shipping_cost_cny", "Shipping cost (CNY)", 0.13, lambda v: _money(v, 2), True
                ),
                _Column("delivered", "Delivered", 0.09, _int, True),
                _Column("on_time", "Within 24 h", 0.09, _int, True),
                _Column("met_pct", "Met", 0.08, _pct, True),
                _Column("avg_hours_to_delivery", "Avg hours to delivery", 0.11, _decimal, True),
            ],
            total=total,
        ),
        Spacer(1, 5 * mm),
        charts.on_time_by_depot(depots, look.font, overall_pct=h.replacement_met_pct),
    ]


def _fault_section(report: ServiceLevels, look: _Look) -> list[Flowable]:
    table = report.tables["fault_levels"].copy()
    table["kind"] = table["kind"].map(lambda k: KIND_LABELS.get(k, k))
    return [
        *_section(
            look,
            3,
            "By fault level and kind",
            "C-1: network down or severe problem; C-2: part of the network misbehaves; "
            "C-3: performance degraded. The promise is the 24-hour replacement for "
            "replacements and loaners, the 72-working-hour repair for repairs.",
        ),
        _data_table(
            look,
            table,
            [
                _Column("fault_level", "Level", 0.08),
                _Column("kind", "Kind", 0.2),
                _Column("opened", "Opened", 0.1, _int, True),
                _Column("closed", "Closed", 0.1, _int, True),
                _Column("cancelled", "Cancelled", 0.1, _int, True),
                _Column("promise_judged", "Promises judged", 0.12, _int, True),
                _Column("promise_met", "Promises met", 0.1, _int, True),
                _Column("met_pct", "Met", 0.09, _pct, True),
                _Column("average_rating", "Avg rating", 0.11, lambda v: _decimal(v, 2), True),
            ],
        ),
    ]


def _engineer_section(report: ServiceLevels, look: _Look) -> list[Flowable]:
    engineers = report.tables["engineers"].copy()
    engineers["who"] = [
        f"{name} ({user})" if name and name != user else user
        for name, user in zip(engineers["name"], engineers["engineer"], strict=True)
    ]
    remarks = report.tables["remarks"].copy()
    remarks["who"] = remarks["name"]
    remarks["when"] = [local_time(v) for v in remarks["closed_at"]]
    stars = [_Column(f"rating_{n}", str(n), 0.045, _int, True) for n in range(1, 6)]
    return [
        *_section(
            look,
            4,
            "Engineers' evaluations",
            "Per engineer, the cases they opened in the period, the cases of theirs closed in "
            "the period with the customers' ratings (count of each rating 1-5), and the share "
            "of those closed cases whose service promise was met.",
        ),
        _data_table(
            look,
            engineers,
            [
                _Column("who", "Engineer", 0.25),
                _Column("cases", "Opened", 0.08, _int, True),
                _Column("closed", "Closed", 0.08, _int, True),
                _Column("average_rating", "Avg rating", 0.09, lambda v: _decimal(v, 2), True),
                *stars,
                _Column("promise_judged", "Promises judged", 0.1, _int, True),
                _Column("promise_met", "Met", 0.075, _int, True),
                _Column("met_pct", "Met %", 0.09, _pct, True),
            ],
            empty="No engineer opened or closed a case in this period.",
        ),
        Spacer(1, 5 * mm),
        KeepTogether([charts.rating_distribution(report.tables["ratings"], look.font)]),
        Paragraph("Latest customer remarks", look.subheading),
        _data_table(
            look,
            remarks,
            [
                _Column("when", "Closed", 0.14),
                _Column("rma", "RMA", 0.15),
                _Column("who", "Engineer", 0.17),
                _Column("rating", "Rating", 0.07, _int, True),
                _Column("signed_by", "Signed by", 0.12),
                _Column("remarks", "Remarks", 0.35),
            ],
            empty="No remarks were written on the cases closed in this period.",
        ),
    ]


def _stock_section(report: ServiceLevels, look: _Look) -> list[Flowable]:
    stock, shortages = report.tables["stock"], report.tables["shortages"]
    intro = (
        "As of the generation time. Value is good units on hand times unit cost (CNY). "
        "Short: units below target; excess: units above twice the target; both count the "
        "available stock plus what is in transit to the depot."
    )
    parts: list[Flowable] = _section(look, 5, "Stock health", intro)
    if not report.targets_stored:
        parts.append(
            Paragraph(
                text(
                    "No target stock is stored yet, so shortage and excess are not assessed: "
                    "compute targets first (spares targets compute)."
                ),
                look.body,
            )
        )
    assessed = report.targets_stored
    total = {
        "depot": "Total",
        "good_units": _int(stock["good_units"].sum()),
        "stock_value_cny": _money(stock["stock_value_cny"].sum()),
        "in_transit": _int(stock["in_transit"].sum()),
        "target_units": _int(stock["target_units"].sum()),
        "parts_short": _int(stock["parts_short"].sum()) if assessed else NA,
        "units_short": _int(stock["units_short"].sum()) if assessed else NA,
        "units_excess": _int(stock["units_excess"].sum()) if assessed else NA,
        "excess_value_cny": _money(stock["excess_value_cny"].sum()) if assessed else NA,
    }
    parts += [
        _data_table(
            look,
            stock,
            [
                _Column("depot", "Depot", 0.08),
                _Column("city_zh", "城市" if look.font.cjk else "City", 0.08),
                _Column("good_units", "Good units", 0.09, _int, True),
                _Column("stock_value_cny", "Stock value (CNY)", 0.14, _money, True),
                _Column("in_transit", "In transit", 0.08, _int, True),
                _Column("target_units", "Target units", 0.09, _int, True),
                _Column("parts_short", "Parts short", 0.09, _int, True),
                _Column("units_short", "Units short", 0.09, _int, True),
                _Column("units_excess", "Units excess", 0.1, _int, True),
                _Column("excess_value_cny", "Excess value (CNY)", 0.16, _money, True),
            ],
            total=total,
        ),
        Spacer(1, 5 * mm),
        charts.stock_value_by_depot(stock, look.font),
        Paragraph(text(TABLES["shortages"].title), look.subheading),
    ]
    ranked = shortages.copy()
    ranked.insert(0, "rank", range(1, len(ranked) + 1))
    parts.append(
        _data_table(
            look,
            ranked,
            [
                _Column("rank", "#", 0.04, _int, True),
                _Column("part_number", "Part", 0.2),
                _Column("description", "Description", 0.3),
                _Column("depot", "Depot", 0.07),
                _Column("available", "Available", 0.08, _int, True),
                _Column("in_transit", "In transit", 0.08, _int, True),
                _Column("target", "Target", 0.07, _int, True),
                _Column("short", "Short", 0.06, _int, True),
                _Column("short_value_cny", "Value (CNY)", 0.1, _money, True),
            ],
            empty="No depot is below target."
            if assessed
            else "Not assessed: no target stock is stored.",
        )
    )
    return parts


def _customer(row: dict[str, Any]) -> str:
    name, zh = row.get("customer") or "", row.get("customer_zh") or ""
    return f"{name} / {zh}" if zh else name


def _city(row: dict[str, Any]) -> str:
    name, zh = row.get("city") or "", row.get("city_zh") or ""
    return f"{zh} {name}" if zh else name


def _overdue_section(report: ServiceLevels, look: _Look) -> list[Flowable]:
    overdue = report.tables["overdue_returns"].copy()
    overdue["who"] = [_customer(r) for r in overdue.to_dict("records")]
    overdue["where"] = [_city(r) for r in overdue.to_dict("records")]
    overdue["when"] = [local_time(v) for v in overdue["due"]]
    overdue["what"] = overdue["kind"].map(lambda k: SHORT_KINDS.get(k, k))
    return [
        *_section(
            look,
            6,
            "Overdue defective returns",
            "Units replaced or loaned in advance that should have come back by now and have "
            "not (15 days after delivery by default), the longest overdue first.",
        ),
        _data_table(
            look,
            overdue,
            [
                _Column("rma", "RMA", 0.14),
                _Column("who", "Customer", 0.22),
                _Column("where", "City", 0.11),
                _Column("depot", "Depot", 0.055),
                _Column("what", "Kind", 0.09),
                _Column("serial", "Serial", 0.11),
                _Column("when", "Due back", 0.1),
                _Column("days_overdue", "Days late", 0.065, _int, True),
                _Column("engineer", "Engineer", 0.11),
            ],
            empty="No defective or loaned unit is overdue for return.",
        ),
    ]


def _notes_section(look: _Look) -> list[Flowable]:
    parts = _section(look, 7, "How the numbers are counted")
    for note in NOTES:
        parts.append(Paragraph(f"•&nbsp;&nbsp;{text(note)}", look.note))
        parts.append(Spacer(1, 1.2 * mm))
    return parts


def to_pdf(report: ServiceLevels, *, generated_by: str | None = None) -> bytes:
    """The report as an A4 PDF: title page, six sections with tables and charts, and
    the counting rules; page x of y in the footer. Never raises for empty data."""
    font = fonts()
    look = _look(font)
    story: list[Flowable] = [
        *_cover(report, look, generated_by),
        *_headline_section(report, look),
        *_depot_section(report, look),
        *_fault_section(report, look),
        *_engineer_section(report, look),
        *_stock_section(report, look),
        *_overdue_section(report, look),
        *_notes_section(look),
    ]
    return build_pdf(
        story,
        title="Service levels",
        header_right=report.period.label,
        font=font,
        printed_at=report.generated_at,
    )
