"""Cases: the lists, one case with its promises, alternatives, history and the
forms of what the signed-in user may do now, and its printable service record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Response, render_template, request

from core import auth, clock
from core.errors import DomainError, Invalid
from core.web import uow
from inventory.service import catalog
from optimizer.depot_choice import DepotDecision
from rma import kinds as kind_rules
from rma.documents import render_service_record
from rma.models import FAULT_LEVELS, OPEN_STATUSES, Rma, Status
from rma.service import allocation, customers, lifecycle, queries
from rma.service.promises import live_promises
from rma.service.queries import AlternativeView, RmaView
from rma.views import views
from rma.views.common import (
    ADMIN,
    CASE_READERS,
    ENGINEER,
    KIND_LABELS,
    LIST_LIMIT,
    OPENERS,
    PLANNER,
    SCOPES,
    STAFF,
    SUPERVISOR,
    case_rows,
    current_actor,
    depot_list,
    rma_clocks,
    urgency,
)

# --- my cases -------------------------------------------------------------------------------


def _cases_page(default_scope: str) -> Any:
    actor = current_actor()
    args = request.args
    scope = args.get("scope") or default_scope
    if scope not in SCOPES:
        raise Invalid(f"show must be one of {', '.join(SCOPES)}")
    status = args.get("status") or None
    level = args.get("fault_level") or None
    depot = (args.get("depot") or "").strip().upper() or None
    now = clock.now()
    unit = uow()
    with unit.transaction(write=False):
        found = queries.list_rmas(
            unit,
            status=status,
            depot=depot,
            fault_level=level,
            reported_by=actor.username if scope.startswith("mine") else None,
            open_only=scope in ("mine", "open") and status is None,
            limit=LIST_LIMIT,
        )
        rows = sorted(case_rows(unit, found, now), key=urgency)
    return render_template(
        "rma/cases.html",
        rows=rows,
        scope=scope,
        scopes=SCOPES,
        status=status,
        statuses=[s.value for s in Status],
        level=level,
        levels=FAULT_LEVELS,
        depot=depot,
        depots=depot_list(),
        truncated=len(found) >= LIST_LIMIT,
        endpoint=request.endpoint,
        kinds=KIND_LABELS,
        can_open=actor.role in (*OPENERS, ADMIN),
    )


@views.route("/rmas")
@auth.page_roles(*CASE_READERS)
def cases() -> Any:
    """Engineers start with their own open cases; everyone else with all open cases."""
    return _cases_page("mine" if current_actor().role == ENGINEER else "open")


@views.route("/rmas/open")
@auth.page_roles(*CASE_READERS)
def open_cases() -> Any:
    return _cases_page("open")


# --- one RMA --------------------------------------------------------------------------------


def _decision_rows(decision: DepotDecision, part_at: Mapping[str, str]) -> list[AlternativeView]:
    """A preview's alternatives, read as if stored on the case."""
    return queries.alternatives_of(allocation.alternatives_json(decision, dict(part_at)))


def _event_detail(raw: str) -> list[tuple[str, str]]:
    """An event's detail as (name, text) pairs; instants in Shanghai time."""
    pairs = []
    for key, value in queries.event_detail(raw).items():
        if value is None or value == "" or key == "movement":
            continue
        if isinstance(value, datetime):
            text = f"{clock.local(value):%Y-%m-%d %H:%M}"
        elif isinstance(value, bool):
            text = "yes" if value else "no"
        elif isinstance(value, list):
            text = ", ".join(str(item) for item in value)
        elif isinstance(value, dict):
            text = ", ".join(
                f"{k.replace('_', ' ')} {v}" for k, v in value.items() if v not in (None, "")
            )
        else:
            text = str(value)
        pairs.append((key.replace("_", " "), text))
    return pairs


@dataclass(frozen=True)
class Permissions:
    """Which action forms the signed-in user sees on a case (the services still decide)."""

    allowed: list[str]
    approve: bool
    allocate: bool
    ship: bool
    deliver: bool
    receive: bool
    repair_step: str | None
    loaner_back: bool
    receive_back: bool
    confirm_cause: bool
    cancel: bool
    close: bool

    @property
    def any(self) -> bool:
        return any(
            (
                self.approve,
                self.allocate,
                self.ship,
                self.deliver,
                self.receive,
                self.repair_step,
                self.loaner_back,
                self.receive_back,
                self.confirm_cause,
                self.cancel,
                self.close,
            )
        )


REPAIR_STEPS = ("start-repair", "finish-repair", "return-repaired")


def permissions(actor: auth.Actor, rma: Rma) -> Permissions:
    allowed = lifecycle.allowed_actions(rma)
    role = actor.role
    admin = role == ADMIN
    desk = admin or role in OPENERS
    staff = admin or role == STAFF

    def at(depot: str | None) -> bool:
        return staff and depot is not None and actor.can_act_for_depot(depot)

    repair_step = next((step for step in REPAIR_STEPS if step in allowed), None)
    return Permissions(
        allowed=allowed,
        approve="approve" in allowed and (admin or role == SUPERVISOR),
        allocate="allocate" in allowed and (admin or role in (*OPENERS, PLANNER)),
        ship="ship" in allowed and at(rma.depot_code),
        deliver="deliver" in allowed and (desk or at(rma.depot_code)),
        receive="receive-defective" in allowed and staff,
        repair_step=repair_step if repair_step and at(rma.return_depot) else None,
        loaner_back="loaner-back" in allowed and staff,
        receive_back=kind_rules.RECEIVE_REPLACEMENT_BACK in allowed and staff,
        confirm_cause=rma.status in OPEN_STATUSES and rma.cause_confirmed_at is None and desk,
        cancel="cancel" in allowed and desk,
        close="close" in allowed and desk,
    )


def rma_page(
    number: str,
    *,
    status: int = 200,
    error: DomainError | None = None,
    error_action: str | None = None,
    form: Mapping[str, str] | None = None,
) -> tuple[str, int]:
    actor = current_actor()
    now = clock.now()
    unit = uow()
    with unit.transaction(write=False):
        view: RmaView = queries.get_rma(unit, number)
        rma = view.rma
        promise = live_promises(unit, [rma], now).get(rma.id or 0)
        city = customers.require_city(unit, view.site.city_id)
        contract = next(
            (
                c
                for c in customers.list_contracts(unit, customer_id=rma.customer_id)
                if c.id == rma.contract_id
            ),
            None,
        )
        part = catalog.get_part(unit, rma.part_number)
        preview = None
        if rma.status == Status.REQUESTED and kind_rules.ships_unit(rma.kind):
            decision, options = allocation.preview(
                unit, rma.part_number, city.name, rma.fault_level
            )
            preview = (decision, _decision_rows(decision, options.part_at))
    allowed_now = error.extra.get("allowed") if error is not None else None
    return (
        render_template(
            "rma/rma.html",
            view=view,
            rma=rma,
            city=city,
            contract=contract,
            part=part,
            clocks=rma_clocks(rma, now),
            alternatives=queries.alternatives_of(rma.alternatives),
            promise=promise,
            rules=kind_rules.policy(rma.kind),
            cancel_returns=kind_rules.cancel_outcome(rma).to == Status.RETURNING,
            preview=preview,
            events=[(event, _event_detail(event.detail)) for event in view.events],
            can=permissions(actor, rma),
            kinds=KIND_LABELS,
            depots=depot_list(),
            error=error.detail if error else None,
            error_field=error.extra.get("field") if error else None,
            error_action=error_action,
            allowed_now=allowed_now,
            form=form or {},
            is_staff=actor.role == STAFF,
        ),
        status,
    )


@views.route("/rmas/<number>")
@auth.page_roles(*CASE_READERS)
def rma(number: str) -> Any:
    return rma_page(number)


# --- the printable service record -----------------------------------------------------------


@views.route("/rmas/<number>/service-record.pdf")
@auth.page_roles(*CASE_READERS)
def service_record(number: str) -> Response:
    """The case's service record with the customer's signature block, to print
    (marked "not yet signed" until the case is closed)."""
    unit = uow()
    with unit.transaction(write=False):
        view = queries.get_rma(unit, number)
        rma = view.rma
        contract = next(
            (
                c.number
                for c in customers.list_contracts(unit, customer_id=rma.customer_id)
                if c.id == rma.contract_id
            ),
            None,
        )
        pdf = render_service_record(
            view,
            city=customers.require_city(unit, view.site.city_id),
            contract=contract,
            part_description=catalog.get_part(unit, rma.part_number).description,
        )
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{rma.number}-service-record.pdf"'
    return response
