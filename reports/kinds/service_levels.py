"""The service-levels report in the catalogue: promises kept, engineers'
evaluations, stock health and overdue returns of a period. It has its own page
(``reports.views.report_page``) and files (``reports.render``)."""

from __future__ import annotations

from core.db import UnitOfWork
from core.i18n import lazy_gettext
from reports.catalogue import ReportKind
from reports.render import render
from reports.service.filters import Filters
from reports.service.service_levels import TABLES, ServiceLevels, service_levels


def build(uow: UnitOfWork, filters: Filters) -> ServiceLevels:
    return service_levels(uow, filters.period)


KIND = ReportKind(
    name="service-levels",
    title=lazy_gettext("Service levels"),
    summary=lazy_gettext(
        "RMAs and promises kept, engineers' evaluations, stock health and overdue returns"
    ),
    filters=("period",),
    tables=TABLES,
    build=build,  # type: ignore[arg-type]
    render=render,
    page="reports.report_page",
)
