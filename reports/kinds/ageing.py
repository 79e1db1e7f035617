"""The ageing report in the catalogue: open cases by state and age, and the units
overdue for return by customer, engineer and depot with their chasing history.

Data: ``reports.service.ageing``; charts and PDF sections: ``reports.ageing_pdf``.
"""

from __future__ import annotations

from core.db import UnitOfWork
from core.i18n import lazy_gettext
from reports.ageing_pdf import charts, column_labels, sections
from reports.catalogue import ReportKind
from reports.service.ageing import TABLES, ageing
from reports.service.filters import Filters
from reports.service.report import Report


def build(uow: UnitOfWork, filters: Filters) -> Report:
    return ageing(uow, filters)


KIND = ReportKind(
    name="ageing",
    title=lazy_gettext("Ageing"),
    summary=lazy_gettext(
        "Open cases by state and age; overdue returns by customer, engineer and depot, "
        "with their chasing"
    ),
    filters=("period", "depot", "fault_level", "family"),
    tables=TABLES,
    build=build,
    sections=sections,
    charts=charts,
    columns=column_labels,
    notes=(
        lazy_gettext(
            "Open cases are those neither closed nor cancelled now, whenever they were "
            "reported: the period does not select them, so the oldest cases always show. "
            "The period selects the reminders of the chasing history and the figure of "
            "cases reported in it that are still open."
        ),
        lazy_gettext(
            "Age is the time since the case was reported, in whole days (a case reported "
            "23 hours ago is 0 days old, under 1 day); the buckets include their lower "
            "bound and exclude their upper one (3-7 days: 3, 4, 5 or 6 whole days)."
        ),
        lazy_gettext(
            "At risk: a replacement or loaner not yet delivered whose promise is at risk by "
            "the promise rule (no depot in time, a backorder, or the promised pick-up or "
            "delivery passed unmet). Past due: the commitment the case works towards now "
            "(delivery within 24 hours of approval, repair back within 72 working hours, "
            "unit back within 15 days) is past its due time."
        ),
        lazy_gettext(
            "Overdue returns: units that should be back by now and are not, by the rule the "
            "daily reminders chase: the customer's defective unit of a delivered advance "
            "replacement, a delivered loaner, or the unit shipped on a case cancelled after "
            "shipping, past its due time (15 days after delivery or cancellation). Days "
            "overdue are whole days past the due time; value is the part's unit cost (CNY)."
        ),
        lazy_gettext(
            "Depot: an open case counts at the depot that ships its unit or took the "
            "customer's unit in; an overdue unit at the depot that shipped it, where it goes "
            "back. Fault level and part family are the case's (the part asked for)."
        ),
        lazy_gettext(
            "Reminders: one a day per overdue case, to the engineer who opened it and the "
            "site's contact, recorded in the case's history; a reminder counts once however "
            "many addresses it went to."
        ),
    ),
)
