"""The depot desk: the pick list (with the unit to pick and its bin) and the units
expected back (with the overdue ones marked), and who else a unit has to do with.

* The pick list is depot staff's: allocated cases of their depot, the first to
  leave on top, each with the serial to pick - the oldest free good unit first,
  distinct per case (``inventory.service.queries.pick_suggestions``) - and its
  bin, and a ship form.
* The returns page is open to depot staff, service engineers and supervisors (the
  last two receive the reminder mails): units expected back
  (``rma.kinds.expected_back``) with those overdue marked by the reminders' own
  rule (``rma.service.queries.overdue_returns``), and repairs under way. Depot
  staff keep their receive forms; the others read.
* A unit's page in inventory links the customer where the serial is installed:
  this module registers that link provider (``register_unit_links``), since
  inventory knows no customers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, render_template, request, url_for

from core import auth, clock
from core.errors import DomainError, NotFound
from core.i18n import gettext, lazy_gettext, zh_first
from core.web import uow
from inventory.service import catalog
from inventory.service import queries as stock_queries
from inventory.service.queries import PickSuggestion
from inventory.views.units import UnitLink, register_unit_links
from rma import kinds as kind_rules
from rma.models import Status
from rma.service import customers, queries
from rma.service.promises import Commitment
from rma.views import views
from rma.views.common import (
    ADMIN,
    ENGINEER,
    FAR_FUTURE,
    LIST_LIMIT,
    STAFF,
    SUPERVISOR,
    CaseRow,
    SlaClock,
    case_rows,
    current_actor,
    depot_list,
    sla_clock,
    urgency,
)

# Who reads the returns page (admins pass every check); only staff receive there.
RETURNS_READERS = (STAFF, ENGINEER, SUPERVISOR)
RECEIVERS = (STAFF, ADMIN)

# --- depot staff: pick list and returns -----------------------------------------------------


def staff_depot(actor: auth.Actor) -> str | None:
    """Staff see their own depot; everyone else the one asked for (None: all)."""
    if actor.role == STAFF:
        return actor.depot_code
    return (request.args.get("depot") or "").strip().upper() or None


@dataclass(frozen=True)
class PickRow:
    case: CaseRow
    ship_by: SlaClock | None
    part_description: str
    pick: PickSuggestion | None = None  # the unit to take, and its bin


def _desk_page(
    template: str,
    actor: auth.Actor,
    depot: str | None,
    error: DomainError | None,
    failed: Mapping[str, str] | None,
    form: Mapping[str, str] | None,
    **rows: Any,
) -> tuple[str, int]:
    """A page of the depot desk: its rows, the depot shown, and a refused form's error
    (the answer's status is the error's)."""
    page = render_template(
        template,
        depot=depot,
        depots=depot_list(),
        can_pick_depot=actor.role != STAFF,
        error=error.detail if error else None,
        failed=failed or {},
        form=form or {},
        depot_label=lambda d: zh_first(d.city_zh, d.name),
        **rows,
    )
    return page, error.status if error else 200


def _ship_by(ships_at: datetime, now: datetime) -> SlaClock:
    """The promised pick-up as a clock: staff see it run, and see it passed."""
    hours = round((ships_at - now).total_seconds() / 3600, 2)
    pickup = Commitment(
        "ship",
        lazy_gettext("Ship by"),
        lazy_gettext("ship by"),
        True,
        ships_at,
        None,
        None,
        hours,
        False,
    )
    return sla_clock(pickup, now)


def _with_picks(unit: Any, rows: list[PickRow]) -> list[PickRow]:
    """The rows with the unit each should pick: per depot, in the rows' order (the
    first to leave gets the oldest free unit), each case a unit of its own."""
    by_depot: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        if row.case.rma.depot_code:
            by_depot[row.case.rma.depot_code].append(index)
    picks: dict[int, PickSuggestion] = {}
    for depot, indexes in by_depot.items():
        wanted = [
            rows[i].case.rma.ship_part_number or rows[i].case.rma.part_number for i in indexes
        ]
        for index, suggestion in zip(
            indexes, stock_queries.pick_suggestions(unit, depot, wanted), strict=True
        ):
            picks[index] = suggestion
    return [
        PickRow(row.case, row.ship_by, row.part_description, picks.get(index))
        for index, row in enumerate(rows)
    ]


def pick_page(
    *,
    error: DomainError | None = None,
    failed: Mapping[str, str] | None = None,
    form: Mapping[str, str] | None = None,
) -> tuple[str, int]:
    actor = current_actor()
    depot = staff_depot(actor)
    now = clock.now()
    unit = uow()
    with unit.transaction(write=False):
        found = queries.list_rmas(
            unit, status=Status.ALLOCATED.value, depot=depot, limit=LIST_LIMIT
        )
        rows = []
        for case in case_rows(unit, found, now):
            rma = case.rma
            deadline = rma.ship_by or rma.ships_at
            ship_by = _ship_by(deadline, now) if deadline else None
            part = catalog.get_part(unit, rma.ship_part_number or rma.part_number)
            rows.append(PickRow(case, ship_by, part.description))
        rows.sort(
            key=lambda r: (
                r.case.rma.ships_at or FAR_FUTURE,
                r.case.rma.due_replacement or FAR_FUTURE,
                r.case.rma.id or 0,
            )
        )
        rows = _with_picks(unit, rows)
    return _desk_page("rma/pick_list.html", actor, depot, error, failed, form, rows=rows)


@views.route("/rmas/pick-list")
@auth.page_roles(STAFF)
def pick_list() -> Any:
    """Allocated cases of my depot, the one to leave first on top, each with the unit
    to pick, its bin and a ship form."""
    return pick_page()


@dataclass(frozen=True)
class ReturnRow:
    case: CaseRow
    action: str  # the route that takes the unit in
    what: str
    expected_serial: str | None
    part_number: str
    mine: bool
    overdue: bool = False  # past its due time: the reminders chase it


def returns_page(
    *,
    error: DomainError | None = None,
    failed: Mapping[str, str] | None = None,
    form: Mapping[str, str] | None = None,
) -> tuple[str, int]:
    actor = current_actor()
    depot = staff_depot(actor)
    only_overdue = request.args.get("overdue") == "1"
    mine_only = request.args.get("mine") == "1" and actor.role != STAFF
    now = clock.now()
    unit = uow()
    with unit.transaction(write=False):
        overdue = {item.number for item in queries.overdue_returns(unit, now)}
        waiting = [
            rma
            for status in (Status.DELIVERED, Status.RETURNING, Status.APPROVED)
            for rma in queries.list_rmas(unit, status=status.value, limit=LIST_LIMIT)
            if not mine_only or rma.reported_by == actor.username
        ]
        expected = []
        for case in case_rows(unit, waiting, now):
            back = kind_rules.expected_back(case.rma)
            if back is None:
                continue
            late = case.rma.number in overdue
            if only_overdue and not late:
                continue
            mine = depot is not None and case.rma.depot_code == depot
            expected.append(
                ReturnRow(case, back.action, back.what, back.serial, back.part_number, mine, late)
            )
        in_repair = case_rows(
            unit,
            [
                r
                for status in (Status.RECEIVED, Status.IN_REPAIR, Status.REPAIRED)
                for r in queries.list_rmas(unit, status=status.value, depot=depot)
                if (depot is None or r.return_depot == depot)
                and (not mine_only or r.reported_by == actor.username)
            ],
            now,
        )
    expected.sort(
        key=lambda r: (
            not r.mine,
            not r.overdue,
            r.case.rma.due_defective_return or FAR_FUTURE,
            r.case.rma.id or 0,
        )
    )
    in_repair.sort(key=urgency)
    next_step = {
        Status.RECEIVED.value: ("start-repair", lazy_gettext("Start repair")),
        Status.IN_REPAIR.value: ("finish-repair", lazy_gettext("Repaired")),
        Status.REPAIRED.value: ("return-repaired", lazy_gettext("Sent back")),
    }
    return _desk_page(
        "rma/returns.html",
        actor,
        depot,
        error,
        failed,
        form,
        expected=expected,
        in_repair=in_repair,
        next_step=next_step,
        can_receive=actor.role in RECEIVERS,
        only_overdue=only_overdue,
        mine_only=mine_only,
        can_filter_mine=actor.role in (ENGINEER, SUPERVISOR),
        overdue_count=len(overdue),
        what_label=lambda what: str(BACK_WHAT.get(what, what)),
    )


# What comes back, as ``rma.kinds.expected_back`` names it, in the reader's language.
BACK_WHAT: dict[str, Any] = {
    "defective unit": lazy_gettext("defective unit"),
    "loaner": lazy_gettext("loaner"),
    "replacement": lazy_gettext("replacement"),
    "unit for repair": lazy_gettext("unit for repair"),
}


@views.route("/rmas/returns")
@auth.page_roles(*RETURNS_READERS)
def returns() -> Any:
    """Units expected back (defective, loaners, units for repair, the overdue ones
    marked) and repairs under way; depot staff receive them here."""
    return returns_page()


# --- the unit page's customer link ------------------------------------------------------------


def installed_links(serial: str) -> list[UnitLink]:
    """Where a serial is installed: the customer (linked to its page) and the site."""
    try:
        found = customers.find_installed_unit(uow(), serial)
    except NotFound:
        return []
    if not getattr(found.unit, "active", True):
        return []
    customer = zh_first(found.customer.name_zh, found.customer.name)
    link = (
        url_for("rma.customer", customer_id=found.customer.id)
        if "rma.customer" in current_app.view_functions
        else None
    )
    city = zh_first(found.city.name_zh, found.city.name)
    return [
        UnitLink(gettext("Customer"), customer, link),
        UnitLink(gettext("Installed at"), f"{found.site.name} · {city}"),
    ]


register_unit_links(installed_links)
