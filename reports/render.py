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

import json
from typing import Any

from flask_babel import pgettext

from reports.files import (
    MEDIA_TYPES,
    Rendered,
    csv_bytes,
    plain,
    records,
    xlsx_of,
    zip_of,
)
from reports.labels import column_labels
from reports.service.service_levels import ServiceLevels
from reports.service_levels_pdf import to_pdf


def sheet_names() -> dict[str, str]:
    """The sheets' names in the reader's language (at most 31 characters each, as
    Excel allows). Words of the report carry the context ``report``: the catalogues
    of every package are merged, and a short word may mean another thing elsewhere."""
    return {
        "summary": pgettext("report", "Summary"),
        "weekly": pgettext("report", "Weekly"),
        "depots": pgettext("report", "Depots"),
        "fault_levels": pgettext("report", "Fault levels"),
        "escalations": pgettext("report", "Escalations"),
        "engineers": pgettext("report", "Engineers"),
        "remarks": pgettext("report", "Remarks"),
        "ratings": pgettext("report", "Ratings"),
        "stock": pgettext("report", "Stock"),
        "shortages": pgettext("report", "Shortages"),
        "overdue_returns": pgettext("report", "Overdue returns"),
    }


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
        "at_risk_now": h.at_risk_now,
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


def csv_table(report: ServiceLevels, table: str) -> bytes:
    """One table as CSV (UTF-8 with BOM, header row of keys, n/a empty, formula-like
    text quoted with an apostrophe)."""
    return csv_bytes(report.table(table))


def csv_zip(report: ServiceLevels) -> bytes:
    """Every table as its own CSV in one ZIP archive."""
    return zip_of(
        {filename(report, "csv", name): csv_table(report, name) for name in report.tables}
    )


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


def column_label(column: str) -> str:
    """A column's heading in the reader's language (its key when it has none)."""
    return column_labels().get(column, column)


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


def to_xlsx(report: ServiceLevels) -> bytes:
    """One sheet per table (named in the reader's language), header row bold on a
    tinted fill and frozen, columns sized to their content, numbers formatted."""
    sheets = sheet_names()
    return xlsx_of(
        {sheets[name]: frame for name, frame in report.tables.items()},
        column_labels(),
        _number_format,
    )
