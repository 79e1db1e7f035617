"""Any report of the catalogue as a file: PDF, XLSX, CSV (one table, or a ZIP of
all) and JSON, written the same way for every report.

* PDF: A4; a cover (what the report holds, its filters, when and by whom it was
  made, the headline figures, the contents), one numbered section per subject
  (the kind's ``sections``, by default each table in full), then how the numbers
  are counted; "page x of y" and the print time in every footer.
* XLSX: one sheet per table, named by the table's key as the CSV files are;
  headings in words, bold and frozen; percentages, money and times formatted.
* CSV: one table per file, columns named by their keys, UTF-8 with a byte-order
  mark, instants ISO 8601 with the +08:00 offset, n/a empty, formula-like text
  quoted; without a table a ZIP holds one CSV per table.
* JSON: the filters, generation time, headline figures and tables as records.

Labels follow the reader's language (``core.i18n``): Chinese on a zh-CN page,
English on the terminal and in the API.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, PageBreak, Paragraph, Spacer, Table, TableStyle

from core import clock
from core.csv_files import csv_text
from core.errors import Invalid
from core.i18n import gettext
from core.pdf import MUTED, build_pdf, fonts, local_time, text
from inventory.labels import (
    BUCKET_LABELS,
    CRITICALITY_LABELS,
    FAMILY_LABELS,
    LOCATION_LABELS,
    PLAN_STATUS_LABELS,
)
from reports.catalogue import ReportKind, Section
from reports.labels import column_labels
from reports.pdf_blocks import (
    Column,
    Look,
    data_table,
    facts_table,
    fmt_decimal,
    fmt_int,
    fmt_money,
    fmt_pct,
    is_missing,
    kpi_tiles,
    look_for,
    section,
)
from reports.service.report import Report
from rma.kinds import EXPECTED_BACK_LABELS, STATUS_LABELS
from rma.kinds import LABELS as KIND_LABELS

FORMATS = ("pdf", "xlsx", "csv", "json")

MEDIA_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "zip": "application/zip",
    "json": "application/json",
}

# Columns are formatted by what their key ends with, in every report.
PCT_SUFFIXES = ("_pct", "_share")
MONEY_SUFFIXES = ("_cny",)
DECIMAL_SUFFIXES = ("_hours", "_days_avg", "average_rating", "_rating_avg")
INSTANT_SUFFIXES = ("_at", "_due")
# Instants named by a word alone ("due"); "days_overdue" is a number, not an instant.
INSTANT_NAMES = ("due",)
DATE_SUFFIXES = ("_date", "week_start", "month_start")


@dataclass(frozen=True)
class Rendered:
    """A finished file: its bytes, media type and download name."""

    content: bytes
    media_type: str
    filename: str


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


def kind_of_column(column: str) -> str:
    """How a column's values are shown: ``pct``, ``money``, ``decimal``, ``instant``,
    ``date`` or ``plain`` (by the end of its key)."""
    if column.endswith(PCT_SUFFIXES):
        return "pct"
    if column.endswith(MONEY_SUFFIXES):
        return "money"
    if column.endswith(DECIMAL_SUFFIXES):
        return "decimal"
    if column.endswith(DATE_SUFFIXES):
        return "date"
    if column.endswith(INSTANT_SUFFIXES) or column in INSTANT_NAMES:
        return "instant"
    return "plain"


def value_labels() -> dict[str, Mapping[str, Any]]:
    """Codes that a page or PDF shows in words, by the column holding them (CSV,
    XLSX and JSON keep the codes): part families, conditions, case statuses and
    kinds, criticality, where a unit is."""
    return {
        "family": FAMILY_LABELS,
        "condition": BUCKET_LABELS,
        "status": STATUS_LABELS,
        "kind": KIND_LABELS,
        "criticality": CRITICALITY_LABELS,
        "location": LOCATION_LABELS,
        "plan_status": PLAN_STATUS_LABELS,
        "what": EXPECTED_BACK_LABELS,
    }


def shown(column: str, value: Any) -> str:
    """A cell as printed on a page or in a PDF: thousands separated, percentages
    with one decimal and a %, money without fen, instants in Asia/Shanghai, codes
    of ``value_labels`` in words."""
    if is_missing(value):
        return "–"
    if isinstance(value, str):
        words = value_labels().get(column)
        return str(words[value]) if words and value in words else value
    kind = kind_of_column(column)
    if kind == "pct":
        return fmt_pct(value)
    if kind == "money":
        return fmt_money(value)
    if kind == "decimal":
        return fmt_decimal(value)
    if isinstance(value, datetime):
        return local_time(value)
    if isinstance(value, pd.Timestamp):
        return local_time(value.to_pydatetime())
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, int) or (hasattr(value, "dtype") and "int" in str(value.dtype)):
        return fmt_int(value)
    if isinstance(value, float):
        return fmt_decimal(value)
    return str(value)


def labels_of(kind: ReportKind) -> dict[str, str]:
    """Column headings in the reader's language: the shared ones, then the kind's."""
    return {**column_labels(), **{key: str(value) for key, value in kind.columns().items()}}


def filename(kind: ReportKind, report: Report, extension: str, table: str | None = None) -> str:
    """``spares-ageing-2026-11-01_2026-11-30-SHA.pdf`` (``-<table>`` before the
    extension for one CSV table)."""
    slug = report.filters.slug
    middle = f"-{slug}" if slug else f"-{clock.local(report.generated_at):%Y-%m-%d}"
    suffix = f"-{table}" if table else ""
    return f"spares-{kind.name}{middle}{suffix}.{extension}"


def render(
    kind: ReportKind,
    report: Report,
    fmt: str,
    table: str | None = None,
    *,
    generated_by: str | None = None,
) -> Rendered:
    """``report`` as a file of format ``fmt``: for csv one ``table`` or else a ZIP of
    every table; for json only ``table`` when given. ``Invalid`` for an unknown
    format or table, or a table asked of a PDF or XLSX."""
    if fmt not in FORMATS:
        raise Invalid(
            gettext("format must be one of %(formats)s", formats=", ".join(FORMATS)),
            field="format",
        )
    if table is not None:
        if fmt in ("pdf", "xlsx"):
            raise Invalid(gettext("a table can be chosen for CSV or JSON only"), field="table")
        report.table(table)  # refuses an unknown table
    if fmt == "pdf":
        content = to_pdf(kind, report, generated_by=generated_by)
        return Rendered(content, MEDIA_TYPES["pdf"], filename(kind, report, "pdf"))
    if fmt == "xlsx":
        return Rendered(to_xlsx(kind, report), MEDIA_TYPES["xlsx"], filename(kind, report, "xlsx"))
    if fmt == "csv":
        if table:
            return Rendered(
                csv_bytes(report.table(table)),
                MEDIA_TYPES["csv"],
                filename(kind, report, "csv", table),
            )
        return Rendered(csv_zip(kind, report), MEDIA_TYPES["zip"], filename(kind, report, "zip"))
    body = json.dumps(to_json(kind, report, table), ensure_ascii=False, indent=2) + "\n"
    return Rendered(
        body.encode("utf-8"), MEDIA_TYPES["json"], filename(kind, report, "json", table)
    )


# --- JSON -----------------------------------------------------------------------------------


def to_json(kind: ReportKind, report: Report, table: str | None = None) -> dict[str, Any]:
    """The report as plain values: name, filters, generation time, headline figures
    and tables (or one ``table``) as records."""
    filters = report.filters
    names = [table] if table else list(report.tables)
    return {
        "report": kind.name,
        "filters": {
            "from": filters.period.start.isoformat() if "period" in filters.applies else None,
            "to": filters.period.end.isoformat() if "period" in filters.applies else None,
            "depot": filters.depot,
            "fault_level": filters.fault_level,
            "family": filters.family,
            "plan": filters.plan,
            "time_zone": "Asia/Shanghai",
        },
        "generated_at": plain(report.generated_at),
        "headline": {figure.key: plain(figure.value) for figure in report.figures},
        "tables": {name: records(report.table(name)) for name in names},
    }


# --- CSV ------------------------------------------------------------------------------------


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """One table as CSV (UTF-8 with BOM, header row of keys, n/a empty, formula-like
    text quoted with an apostrophe)."""
    rows = (list(row.values()) for row in records(frame))
    return csv_text(list(frame.columns), rows, lineterminator="\r\n").encode("utf-8-sig")


def zip_of(files: Mapping[str, bytes]) -> bytes:
    """Files by name in one ZIP archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def csv_zip(kind: ReportKind, report: Report) -> bytes:
    """Every table as its own CSV in one ZIP archive."""
    return zip_of(
        {
            filename(kind, report, "csv", name): csv_bytes(frame)
            for name, frame in report.tables.items()
        }
    )


# --- XLSX -----------------------------------------------------------------------------------

_XLSX_FORMATS = {
    "pct": "0.0",
    "money": "#,##0.00",
    "decimal": "0.0#",
    "instant": "yyyy-mm-dd hh:mm",
    "date": "yyyy-mm-dd",
}


def _display_width(value: str) -> int:
    """Columns a text takes in a spreadsheet: a Chinese character is about two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in value)


def for_excel(frame: pd.DataFrame, labels: Mapping[str, str]) -> pd.DataFrame:
    """Excel has no time zones: instants become Asia/Shanghai wall-clock times;
    columns get their headings in words."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            out[column] = series.dt.tz_convert(clock.SHANGHAI).dt.tz_localize(None)
        elif series.dtype == object:
            out[column] = series.map(
                lambda v: clock.local(v).replace(tzinfo=None) if isinstance(v, datetime) else v
            )
    return out.rename(columns=lambda c: labels.get(c, c))


def xlsx_of(
    sheets: Mapping[str, pd.DataFrame],
    labels: Mapping[str, str],
    number_format: Any = None,
) -> bytes:
    """One sheet per frame (by sheet name): header row bold on a tinted fill and
    frozen, columns sized to their content, numbers formatted by column
    (``number_format(column)``, default by the key's ending)."""
    number_format = number_format or (lambda column: _XLSX_FORMATS.get(kind_of_column(column)))
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for sheet_name, frame in sheets.items():
            for_excel(frame, labels).to_excel(
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
                column_format = number_format(column)
                longest = _display_width(labels.get(column, column))
                # Only the rows the frame has: formatting a cell below an empty table
                # would write a blank row into the sheet.
                for cell in sheet[letter][1 : len(frame) + 1]:
                    if column_format:
                        cell.number_format = column_format
                    if isinstance(cell.value, str) and cell.value.startswith("="):
                        # Text typed by people (remarks) must never become a formula.
                        cell.data_type = "s"
                    longest = max(longest, min(60, _display_width(str(cell.value or ""))))
                sheet.column_dimensions[letter].width = max(8, min(62, longest + 2))
            sheet.sheet_view.zoomScale = 110
    return buffer.getvalue()


def to_xlsx(kind: ReportKind, report: Report) -> bytes:
    """One sheet per table, named by the table's key (as its CSV file is)."""
    return xlsx_of({name[:31]: frame for name, frame in report.tables.items()}, labels_of(kind))


# --- PDF ------------------------------------------------------------------------------------


def columns_of(frame: pd.DataFrame, labels: Mapping[str, str]) -> list[Column]:
    """Every column of ``frame`` for ``data_table``: widths by the length of the
    heading and the values, numbers right-aligned and formatted by their key."""
    weights: list[float] = []
    for column in frame.columns:
        heading = len(labels.get(column, column))
        longest = max((len(shown(column, v)) for v in frame[column].head(50)), default=0)
        weights.append(max(4.0, min(28.0, max(heading * 0.6, float(longest)))))
    total = sum(weights) or 1.0
    columns = []
    for column, weight in zip(frame.columns, weights, strict=True):
        numeric = pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(
            frame[column]
        )
        columns.append(
            Column(
                column,
                labels.get(column, column),
                weight / total,
                fmt=lambda value, c=column: shown(c, value),
                right=numeric,
            )
        )
    return columns


def table_sections(kind: ReportKind, report: Report, look: Look) -> list[Section]:
    """The default PDF body: each table of the report in full under its title."""
    labels = labels_of(kind)
    out = []
    for name, frame in report.tables.items():
        info = kind.tables.get(name)
        title = str(info.title) if info else name
        intro = str(info.description) if info else ""
        out.append(Section(title, intro, [data_table(look, frame, columns_of(frame, labels))]))
    return out


def cover(
    kind: ReportKind,
    report: Report,
    look: Look,
    contents: list[str],
    generated_by: str | None,
) -> list[Flowable]:
    """The first page: the report's name and what it holds, its filters, when and by
    whom it was made, its headline figures and the contents."""
    facts = report.filters.described()
    facts.append(
        (
            gettext("Generated"),
            gettext("%(time)s Asia/Shanghai", time=local_time(report.generated_at)),
        )
    )
    if generated_by:
        facts.append((gettext("Generated by"), generated_by))
    parts: list[Flowable] = [
        Spacer(1, 24 * mm),
        Paragraph(text(gettext("SPARES · AFTER-SALES SERVICE")), look.cover_kicker),
        Paragraph(text(str(kind.title)), look.cover_title),
        Paragraph(text(str(kind.summary)), look.cover_subtitle),
        Spacer(1, 8 * mm),
        facts_table(look, facts),
        Spacer(1, 8 * mm),
    ]
    if report.figures:
        parts.append(
            kpi_tiles(look, [(f.shown, f.label, f.note) for f in report.figures[:8]], per_row=4)
        )
        parts.append(Spacer(1, 8 * mm))
    rows = [
        [Paragraph(str(number), look.body), Paragraph(text(title), look.body)]
        for number, title in enumerate(contents, start=1)
    ]
    if rows:
        parts.append(Paragraph(text(gettext("Contents")), look.subheading))
        table = Table(rows, colWidths=(8 * mm, 120 * mm), hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                    ("TEXTCOLOR", (0, 0), (0, -1), MUTED),
                ]
            )
        )
        parts.append(table)
    parts.append(PageBreak())
    return parts


def to_pdf(kind: ReportKind, report: Report, *, generated_by: str | None = None) -> bytes:
    """The report as an A4 PDF: cover, numbered sections, how the numbers are
    counted; page x of y and the print time in the footer."""
    font = fonts()
    look = look_for(font)
    sections = (kind.sections or (lambda r, lk: table_sections(kind, r, lk)))(report, look)
    notes = [str(note) for note in (*kind.notes, *report.notes)]
    contents = [s.title for s in sections] + (
        [gettext("How the numbers are counted")] if notes else []
    )
    story = cover(kind, report, look, contents, generated_by)
    for number, part in enumerate(sections, start=1):
        story += section(look, number, part.title, part.intro)
        story += part.body
    if notes:
        story += section(look, len(sections) + 1, gettext("How the numbers are counted"))
        story += [Paragraph("• " + text(note), look.note) for note in notes]
    # A bare number (the plan's) says nothing in a page header: name what it counts.
    header = " · ".join(
        f"{label} {value}" if value.isdigit() else value
        for label, value in report.filters.described()[:2]
    )
    return build_pdf(
        story,
        title=str(kind.title),
        header_right=header,
        font=font,
        printed_at=report.generated_at,
    )
