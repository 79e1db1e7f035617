"""The rebalancing report in the catalogue: one plan's moves, freight, shortages
covered and left, stock against target by depot, and a packing list per lane.

Filtered by plan only (``plan=N``; the newest plan when not given); a plan that
does not exist is ``NotFound`` (404 on the page and in the API, exit 3 on the
command line). Data in ``reports.service.rebalancing``, PDF sections and the
chart in ``reports.rebalancing_pdf``.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.i18n import gettext, lazy_gettext
from reports import rebalancing_pdf
from reports.catalogue import ReportKind, Section
from reports.files import labels_of
from reports.pdf_blocks import Look
from reports.service.rebalancing import TABLES, rebalancing_report
from reports.service.report import Report


def columns() -> Mapping[str, str]:
    """Headings in words of the report's own columns."""
    return {
        "lane": gettext("Lane reference"),
        "from_depot": gettext("From depot"),
        "to_depot": gettext("To depot"),
        "lines": gettext("Lines"),
        "units": gettext("Units"),
        "freight_cny": gettext("Freight (CNY)"),
        "qty": gettext("Quantity"),
        "target_units": gettext("Target units"),
        "position_before": gettext("Position before"),
        "position_after": gettext("Position after"),
        "short_before": gettext("Short before"),
        "short_after": gettext("Short after"),
        "excess_before": gettext("Excess before"),
        "excess_after": gettext("Excess after"),
        "target": gettext("Target"),
        "short": gettext("Short"),
    }


def _sections(report: Report, look: Look) -> list[Section]:
    return rebalancing_pdf.sections(report, look, labels_of(KIND))


KIND = ReportKind(
    name="rebalancing",
    title=lazy_gettext("Rebalancing plan"),
    summary=lazy_gettext(
        "Units moved, shortages covered and left, freight, stock against target by depot, "
        "and a packing list per lane"
    ),
    filters=("plan",),
    tables=TABLES,
    build=rebalancing_report,
    sections=_sections,
    charts=rebalancing_pdf.charts,
    columns=columns,
)
