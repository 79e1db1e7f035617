"""Depot staff's desk: the pick list and the units expected back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import render_template, request

from core import auth, clock
from core.errors import DomainError
from core.web import uow
from inventory.service import catalog
from rma import kinds as kind_rules
from rma.models import Status
from rma.service import queries
from rma.service.promises import Commitment
from rma.views import views
from rma.views.common import (
    FAR_FUTURE,
    LIST_LIMIT,
    STAFF,
    CaseRow,
    SlaClock,
    case_rows,
    current_actor,
    depot_list,
    sla_clock,
    urgency,
)

# --- depot staff: pick list and returns -----------------------------------------------------


def staff_depot(actor: auth.Actor) -> str | None:
    """Staff see their own depot; administrators the one asked for (None: all)."""
    if actor.role == STAFF:
        return actor.depot_code
    return (request.args.get("depot") or "").strip().upper() or None


@dataclass(frozen=True)
class PickRow:
    case: CaseRow
    ship_by: SlaClock | None
    part_description: str


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
        **rows,
    )
    return page, error.status if error else 200


def _ship_by(ships_at: datetime, now: datetime) -> SlaClock:
    """The promised pick-up as a clock: staff see it run, and see it passed."""
    hours = round((ships_at - now).total_seconds() / 3600, 2)
    pickup = Commitment("ship", "Ship by", "ship by", True, ships_at, None, None, hours, False)
    return sla_clock(pickup, now)


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
            ship_by = _ship_by(rma.ships_at, now) if rma.ships_at else None
            part = catalog.get_part(unit, rma.ship_part_number or rma.part_number)
            rows.append(PickRow(case, ship_by, part.description))
    rows.sort(
        key=lambda r: (
            r.case.rma.ships_at or FAR_FUTURE,
            r.case.rma.due_replacement or FAR_FUTURE,
            r.case.rma.id or 0,
        )
    )
    return _desk_page("rma/pick_list.html", actor, depot, error, failed, form, rows=rows)


@views.route("/rmas/pick-list")
@auth.page_roles(STAFF)
def pick_list() -> Any:
    """Allocated cases of my depot, the one to leave first on top, each with a ship form."""
    return pick_page()


@dataclass(frozen=True)
class ReturnRow:
    case: CaseRow
    action: str  # the route that takes the unit in
    what: str
    expected_serial: str | None
    part_number: str
    mine: bool


def returns_page(
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
        waiting = [
            rma
            for status in (Status.DELIVERED, Status.RETURNING, Status.APPROVED)
            for rma in queries.list_rmas(unit, status=status.value, limit=LIST_LIMIT)
        ]
        expected = []
        for case in case_rows(unit, waiting, now):
            back = kind_rules.expected_back(case.rma)
            if back is None:
                continue
            mine = depot is not None and case.rma.depot_code == depot
            expected.append(
                ReturnRow(case, back.action, back.what, back.serial, back.part_number, mine)
            )
        in_repair = case_rows(
            unit,
            [
                r
                for status in (Status.RECEIVED, Status.IN_REPAIR, Status.REPAIRED)
                for r in queries.list_rmas(unit, status=status.value, depot=depot)
                if depot is None or r.return_depot == depot
            ],
            now,
        )
    expected.sort(
        key=lambda r: (
            not r.mine,
            r.case.rma.due_defective_return or FAR_FUTURE,
            r.case.rma.id or 0,
        )
    )
    in_repair.sort(key=urgency)
    next_step = {
        Status.RECEIVED.value: ("start-repair", "Start repair"),
        Status.IN_REPAIR.value: ("finish-repair", "Repaired"),
        Status.REPAIRED.value: ("return-repaired", "Sent back"),
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
    )


@views.route("/rmas/returns")
@auth.page_roles(STAFF)
def returns() -> Any:
    """Units expected back (defective, loaners, units for repair) and repairs under way."""
    return returns_page()
