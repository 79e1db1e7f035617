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
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from core import clock
from reports.pdf_blocks import is_missing
from reports.service.service_levels import ServiceLevels
from reports.service_levels_pdf import to_pdf

FORMATS = ("pdf", "xlsx", "csv", "json")

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


def plain(value: Any) -> Any:
    """A table cell as a JSON value: None for n/a, numpy numbers as Python numbers,
    instants as ISO 8601 in Asia/Shanghai, dates as ISO dates."""
    if is_missing(value):
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
