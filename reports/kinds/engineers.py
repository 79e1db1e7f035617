"""The engineers' report in the catalogue: cases handled, promises kept on time,
customers' ratings and remarks from the signed service records, and escalations
on their cases, by engineer and month."""

from __future__ import annotations

from collections.abc import Mapping

from core.i18n import lazy_gettext
from reports import engineers_pdf
from reports.catalogue import ReportKind, Section
from reports.files import labels_of
from reports.pdf_blocks import Look
from reports.service.engineers_report import NOTES, TABLES, engineers_report
from reports.service.report import Report


def _columns() -> Mapping[str, str]:
    return engineers_pdf.column_labels()


def _sections(report: Report, look: Look) -> list[Section]:
    return engineers_pdf.sections(report, look, labels_of(KIND))


KIND = ReportKind(
    name="engineers",
    title=lazy_gettext("Engineers"),
    summary=engineers_pdf.SUMMARY,
    filters=("period", "depot", "fault_level", "family"),
    tables=TABLES,
    build=engineers_report,
    sections=_sections,
    charts=engineers_pdf.charts,
    columns=_columns,
    notes=NOTES,
)
