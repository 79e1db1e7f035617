"""The stock-status report in the catalogue: stock by condition and value, shortage
and excess against target by depot and part family (with a heat map), and stock
not moved for 180 days. A snapshot now: it takes a depot and a part family, no
period and no fault level (those are refused, never ignored)."""

from __future__ import annotations

from core.db import UnitOfWork
from core.i18n import lazy_gettext
from reports.catalogue import ReportKind
from reports.service.filters import Filters
from reports.service.report import Report
from reports.service.stock_status import TABLES, stock_status
from reports.stock_status_pdf import charts, column_labels, sections


def build(uow: UnitOfWork, filters: Filters) -> Report:
    return stock_status(uow, filters)


KIND = ReportKind(
    name="stock-status",
    title=lazy_gettext("Stock status"),
    summary=lazy_gettext(
        "Stock by condition and value, shortage and excess against target by depot and part "
        "family, and stock not moved for 180 days"
    ),
    filters=("depot", "family"),
    tables=TABLES,
    build=build,
    sections=sections,
    charts=charts,
    columns=column_labels,
    notes=(
        lazy_gettext(
            "Units on hand are every condition on a depot's shelves (good, defective, in repair, "
            "quarantine); in transit are units on the road to the depot. Values are units times "
            "the catalogue's unit cost."
        ),
        lazy_gettext(
            "Shortage and excess follow the stock-health rule of the service-levels report: a "
            "depot's position in a part is its available good units (on hand less reserved) plus "
            "what is in transit to it; it is short by target less position when below target, "
            "and in excess by position less twice the target when above twice the target."
        ),
        lazy_gettext(
            "The heat map and its table show, per depot and part family, units in excess less "
            "units short: a family can be short in some parts and in excess in others."
        ),
        lazy_gettext(
            "Unmoved stock: a part with units on hand at a depot whose last ledger entry there "
            "(any movement, any condition) is more than 180 days old."
        ),
    ),
)
