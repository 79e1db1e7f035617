"""Pages of the RMA desk: engineers open and follow cases and close them with the
customer's sign-off, depot staff pick, ship and receive, supervisors approve
billable cases and take escalations.

The pages are a thin layer over ``rma.service``: they read form fields, call the
same use cases as the API, and show what came back. The services decide who may
do what; pages only hide the forms a user could not use. Every action posts to
its own route and, when it succeeds, redirects back with a message; when it is
refused the page is shown again with the error and the error's status (4xx),
and nothing has changed.

Service-level clocks ("due in 5 h 20 min", "overdue by 2 h") are computed here,
on the server, at the moment the page is rendered; every time is shown in
Asia/Shanghai time.

Barcode scanners type a code and press Enter: the serial search and each ship
or receive form have one text field, so Enter submits that form (no JavaScript
needed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from core import auth, clock
from core.auth import Role
from core.db import UnitOfWork
from core.errors import DomainError, Invalid, NotFound
from core.web import add_nav, uow
from depots.models import City
from depots.service import network
from inventory.service import catalog
from optimizer.depot_choice import DepotDecision
from rma import kinds as kind_rules
from rma.documents import render_service_record
from rma.models import FAULT_LEVELS, OPEN_STATUSES, Customer, Escalation, Kind, Rma, Site, Status
from rma.service import allocation, customers, entitlement, lifecycle, queries
from rma.service import escalations as escalation_service
from rma.service import returns as return_steps
from rma.service.lifecycle import OpenRequest
from rma.service.promises import Commitment, ReplacementPromise, commitments, live_promises
from rma.service.queries import AlternativeView, RmaView

views = Blueprint("rma", __name__, template_folder="templates")

ENGINEER = Role.ENGINEER.value
SUPERVISOR = Role.SUPERVISOR.value
STAFF = Role.DEPOT_STAFF.value
PLANNER = Role.PLANNER.value
ADMIN = Role.ADMIN.value
# Who may read cases (admins pass every check); the services guard every action.
CASE_READERS = (ENGINEER, SUPERVISOR, PLANNER, STAFF)
OPENERS = (ENGINEER, SUPERVISOR)

add_nav("Escalations", "rma.escalations", SUPERVISOR, order=3)
add_nav("New RMA", "rma.new_rma", ENGINEER, order=4)
add_nav("My cases", "rma.cases", ENGINEER, order=5)
add_nav("Cases", "rma.open_cases", SUPERVISOR, PLANNER, order=6)
add_nav("Pick list", "rma.pick_list", STAFF, order=7)
add_nav("Returns", "rma.returns", STAFF, order=8)

KINDS = tuple(k.value for k in Kind)
KIND_LABELS = {
    Kind.ADVANCE_REPLACEMENT.value: "Advance replacement",
    Kind.REPAIR.value: "Repair",
    Kind.LOANER.value: "Loaner",
}
LEVEL_HINTS = {
    "C-1": "whole network down or severe problem; major impact",
    "C-2": "part of the network misbehaves; severe local impact",
    "C-3": "performance degraded, most business still runs",
}
UNKNOWN_SERIAL = "unknown"
SEARCH_LIMIT = 20
LIST_LIMIT = 500
PART_SUGGESTIONS = 300
MAX_FIELD = 1000
# The pages an action form may return to, by the name the form sends in ``back``.
BACK_PAGES = ("rma", "pick-list", "returns", "escalations")
SCOPES = {
    "mine": "My open cases",
    "mine-all": "All my cases",
    "open": "All open cases",
    "all": "All cases",
}
# A clock turns amber when less than this is left.
WARN_WITHIN = {
    "replacement_delivery": timedelta(hours=4),
    "repair_return": timedelta(hours=8),
    "defective_return": timedelta(days=2),
    "ship": timedelta(hours=1),
}


def _actor() -> auth.Actor:
    """The signed-in actor itself (services are given values, not request proxies)."""
    return current_user._get_current_object()  # type: ignore[attr-defined, no-any-return]


def _today() -> date:
    return clock.local(clock.now()).date()


# --- service-level clocks -------------------------------------------------------------------


def format_duration(delta: timedelta) -> str:
    """A length of time as people read it: "45 min", "5 h 20 min", "2 h", "3 d 4 h"."""
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days >= 2:
        return f"{days} d {hours} h" if hours else f"{days} d"
    hours += days * 24
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


@dataclass(frozen=True)
class SlaClock:
    """One promise of a case: when it is due, whether it was kept, and how it looks now.

    ``tone`` is the badge colour: ``ok`` (green), ``warn`` (amber: little time
    left), ``bad`` (red: overdue or missed), ``muted`` (no longer running).
    """

    label: str
    due: datetime
    done_at: datetime | None
    text: str
    tone: str
    short: str = ""  # what lists call it: "delivery", "repair return", ...


def sla_clock(commitment: Commitment, now: datetime) -> SlaClock:
    """How a commitment looks at ``now``: kept or broken once done; otherwise time
    left or overdue, unless the case went on without it."""
    assert commitment.due is not None
    due, done_at = commitment.due, commitment.done_at
    if commitment.met is not None and done_at is not None:
        if commitment.met:
            text, tone = f"met, {format_duration(due - done_at)} early", "ok"
        else:
            text, tone = f"missed by {format_duration(done_at - due)}", "bad"
    elif commitment.stopped:
        text, tone = "not needed any more", "muted"
    elif due >= now:
        left = due - now
        warn = left <= WARN_WITHIN.get(commitment.key, timedelta(hours=4))
        text, tone = f"due in {format_duration(left)}", "warn" if warn else "ok"
    else:
        text, tone = f"overdue by {format_duration(now - due)}", "bad"
    return SlaClock(commitment.label, due, done_at, text, tone, commitment.short)


def rma_clocks(rma: Rma, now: datetime) -> list[SlaClock]:
    """Every commitment of the case that has a due time, in the order they arise."""
    return [
        sla_clock(item, now)
        for item in commitments(rma, now)
        if item.applicable and item.due is not None
    ]


def current_clock(rma: Rma, now: datetime) -> SlaClock | None:
    """The promise the case is working towards now, if any (lists show this one)."""
    item = next(
        (c for c in commitments(rma, now) if c.due is not None and c.hours_left is not None),
        None,
    )
    return sla_clock(item, now) if item is not None and rma.status in OPEN_STATUSES else None


# --- what lists show ------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseRow:
    rma: Rma
    customer: Customer
    site: Site
    city: City
    clock: SlaClock | None
    promise: ReplacementPromise | None = None  # live delivery promise (replacements, loaners)

    @property
    def at_risk(self) -> bool:
        return self.promise.at_risk if self.promise else self.rma.at_risk


def _case_rows(unit: UnitOfWork, rmas: Iterable[Rma], now: datetime) -> list[CaseRow]:
    """Each RMA with its customer, site, city and live promise (inside the page's read
    transaction)."""
    rmas = list(rmas)
    promises = live_promises(unit, rmas, now) if rmas else {}
    rows = []
    for rma in rmas:
        customer = customers.require_customer(unit, rma.customer_id)
        site = customers.require_site(unit, rma.site_id)
        city = customers.require_city(unit, site.city_id)
        promise = promises.get(rma.id or 0)
        rows.append(CaseRow(rma, customer, site, city, current_clock(rma, now), promise))
    return rows


FAR_FUTURE = datetime.max.replace(tzinfo=clock.SHANGHAI)


def _urgency(row: CaseRow) -> tuple[int, datetime, int]:
    """Running clocks first, the soonest due (or longest overdue) first; then the rest."""
    if row.clock is not None:
        return (0, row.clock.due, -(row.rma.id or 0))
    return (1 if row.rma.status in OPEN_STATUSES else 2, FAR_FUTURE, -(row.rma.id or 0))


def _depots() -> list[network.DepotInfo]:
    return network.list_depots(uow())


# --- new RMA --------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitMatch:
    """An installed unit found by the search, with what each kind of service would cost."""

    found: customers.InstalledUnitView
    entitlements: dict[str, entitlement.Entitlement]


@dataclass(frozen=True)
class SiteChoice:
    customer: Customer
    sites: list[tuple[Site, City]]


def _search(unit: UnitOfWork, text: str) -> list[UnitMatch]:
    today = _today()
    return [
        UnitMatch(
            found,
            {
                kind: entitlement.decide(unit, found.customer.id or 0, found.unit, kind, today)
                for kind in KINDS
            },
        )
        for found in customers.search_installed_units(unit, text, limit=SEARCH_LIMIT)
    ]


def _site_choices(unit: UnitOfWork, text: str) -> tuple[list[SiteChoice], bool]:
    """Sites for "serial unknown": of the customers the search names (True), else of
    everyone (False)."""
    found = customers.list_customers(unit, search=text) if text else []
    filtered = bool(found)
    if not found:
        found = customers.list_customers(unit)
    choices = []
    for customer in found:
        sites = [
            (site, customers.require_city(unit, site.city_id))
            for site in customers.list_sites(unit, customer_id=customer.id)
        ]
        if sites:
            choices.append(SiteChoice(customer, sites))
    return choices, filtered


def _new_page(
    text: str, form: Mapping[str, str], error: DomainError | None = None
) -> tuple[str, int]:
    unit = uow()
    with unit.transaction(write=False):  # one read transaction for the whole page
        matches = _search(unit, text) if text else []
        site_choices, sites_filtered = _site_choices(unit, text)
        part_numbers = [p.part_number for p in catalog.list_parts(unit, limit=PART_SUGGESTIONS)]
    selected = form.get("unit")
    if selected is None and len(matches) == 1 and matches[0].found.unit.active:
        selected = matches[0].found.unit.serial  # a scanned serial: one match, ready to go
    return (
        render_template(
            "rma/new.html",
            q=text,
            matches=matches,
            site_choices=site_choices,
            sites_filtered=sites_filtered,
            part_numbers=part_numbers,
            form=form,
            selected=selected,
            kinds=KIND_LABELS,
            levels=LEVEL_HINTS,
            unknown=UNKNOWN_SERIAL,
            error=error.detail if error else None,
            error_field=error.extra.get("field") if error else None,
        ),
        error.status if error else 200,
    )


def _open_request(form: Mapping[str, str]) -> OpenRequest:
    """The request typed into the form; ``Invalid`` naming the field that is wrong."""
    choice = (form.get("unit") or "").strip()
    if not choice:
        raise Invalid(
            "Unit: search the serial and pick the faulty unit, or choose 'serial unknown'",
            field="unit",
        )
    level = form.get("fault_level") or ""
    if level not in FAULT_LEVELS:
        raise Invalid("Fault level: choose C-1, C-2 or C-3", field="fault_level")
    kind = form.get("kind") or ""
    if kind not in KINDS:
        raise Invalid("Kind: choose advance replacement, repair or loaner", field="kind")
    symptom = (form.get("symptom") or "").strip()
    if not symptom:
        raise Invalid("Symptom: describe what the customer is seeing", field="symptom")
    if choice != UNKNOWN_SERIAL:
        return OpenRequest(fault_level=level, kind=kind, symptom=symptom, serial=choice)
    site = (form.get("site_id") or "").strip()
    if not site.isdigit():
        raise Invalid("Site: choose the customer's site", field="site_id")
    part_number = (form.get("part_number") or "").strip()
    if not part_number:
        raise Invalid("Part number: which part is faulty?", field="part_number")
    return OpenRequest(
        fault_level=level, kind=kind, symptom=symptom, part_number=part_number, site_id=int(site)
    )


@views.route("/rmas/new", methods=["GET"])
@auth.page_roles(*OPENERS)
def new_rma() -> Any:
    """Search the installed base (``?q=`` serial or customer) and fill in the request."""
    return _new_page((request.args.get("q") or "").strip(), {})


@views.route("/rmas/new", methods=["POST"])
@auth.page_roles(*OPENERS)
def open_rma() -> Any:
    form = request.form
    try:
        opened = lifecycle.open_rma(uow(), _actor(), _open_request(form))
    except DomainError as error:
        return _new_page((form.get("q") or "").strip(), form, error)
    flash(_opened_message(opened), "ok")
    return redirect(url_for(".rma", number=opened.number))


def _opened_message(rma: Rma) -> str:
    if rma.status == Status.REQUESTED:
        return (
            f"{rma.number} opened. It is billable ({rma.entitlement_reason}) and waits for a "
            "supervisor's approval."
        )
    if rma.status == Status.ALLOCATED:
        promised = clock.local(rma.promised_delivery) if rma.promised_delivery else None
        return (
            f"{rma.number} opened and allocated to {rma.depot_code}"
            + (f", promised delivery {promised:%Y-%m-%d %H:%M}" if promised else "")
            + (" — at risk: no depot can deliver in time." if rma.at_risk else ".")
        )
    if rma.backorder:
        return (
            f"{rma.number} opened; no depot has the part in stock (backorder), planners are told."
        )
    return f"{rma.number} opened ({rma.status})."


# --- my cases -------------------------------------------------------------------------------


def _cases_page(default_scope: str) -> Any:
    actor = _actor()
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
        rows = sorted(_case_rows(unit, found, now), key=_urgency)
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
        depots=_depots(),
        truncated=len(found) >= LIST_LIMIT,
        endpoint=request.endpoint,
        kinds=KIND_LABELS,
        can_open=actor.role in (*OPENERS, ADMIN),
    )


@views.route("/rmas")
@auth.page_roles(*CASE_READERS)
def cases() -> Any:
    """Engineers start with their own open cases; everyone else with all open cases."""
    return _cases_page("mine" if _actor().role == ENGINEER else "open")


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


def _rma_page(
    number: str,
    *,
    status: int = 200,
    error: DomainError | None = None,
    error_action: str | None = None,
    form: Mapping[str, str] | None = None,
) -> tuple[str, int]:
    actor = _actor()
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
            cancel_returns=kind_rules.cancel_outcome(rma).to == Status.RETURNING,
            preview=preview,
            events=[(event, _event_detail(event.detail)) for event in view.events],
            can=permissions(actor, rma),
            kinds=KIND_LABELS,
            depots=_depots(),
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
    return _rma_page(number)


# --- actions --------------------------------------------------------------------------------


def _text(form: Mapping[str, str], name: str, label: str) -> str:
    value = (form.get(name) or "").strip()
    if len(value) > MAX_FIELD:
        raise Invalid(f"{label}: at most {MAX_FIELD} characters", field=name)
    return value


def _local_instant(raw: str | None, label: str, field: str) -> datetime | None:
    """A ``datetime-local`` field (Shanghai wall-clock time) as an aware instant."""
    value = (raw or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{label}: {value!r} is not a date and time", field=field) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=clock.SHANGHAI)
    return clock.as_utc(parsed)


def _rating(raw: str | None) -> int:
    value = (raw or "").strip()
    if value not in ("1", "2", "3", "4", "5"):
        raise Invalid("Rating: the customer's rating of the service, 1 to 5", field="rating")
    return int(value)


def _depot_of(actor: auth.Actor, form: Mapping[str, str]) -> str:
    """Staff receive into their own depot; administrators name one."""
    depot = (form.get("depot") or actor.depot_code or "").strip().upper()
    if not depot:
        raise Invalid("Depot: where did the unit arrive?", field="depot")
    return depot


def _do_allocate(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    done = lifecycle.allocate_again(uow(), actor, number)
    if done.status == "allocated":
        return f"{done.number} allocated to {done.depot_code}."
    return f"{done.number}: still no depot has the part in stock (backorder)."


def _do_approve(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    done = lifecycle.approve(uow(), actor, number)
    if done.status == Status.ALLOCATED:
        return f"{done.number} approved and allocated to {done.depot_code}."
    if done.backorder:
        return f"{done.number} approved; no depot has the part in stock (backorder)."
    return f"{done.number} approved."


def _do_ship(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    serial = (form.get("serial") or "").strip()
    done = lifecycle.ship(uow(), actor, number, serial or None)
    unit_text = f" unit {done.shipped_serial}" if done.shipped_serial else ""
    return (
        f"{done.number} shipped from {done.depot_code}:{unit_text} is on its way to the customer."
    )


def _do_deliver(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    at = _local_instant(form.get("delivered_at"), "Delivered at", "delivered_at")
    done = lifecycle.deliver(uow(), actor, number, at)
    assert done.delivered_at is not None
    met = done.due_replacement is None or done.delivered_at <= done.due_replacement
    return f"{done.number} delivered {clock.local(done.delivered_at):%Y-%m-%d %H:%M}" + (
        " — within the 24-hour promise." if met else " — after the 24-hour promise."
    )


def _do_receive(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    depot = _depot_of(actor, form)
    done = return_steps.receive_defective(
        uow(), actor, number, depot, (form.get("serial") or "").strip() or None
    )
    if done.kind == Kind.REPAIR:
        return f"{done.number}: the customer's unit arrived at {depot} for repair."
    return f"{done.number}: defective unit {done.returned_serial or ''} received at {depot}."


def _repair_step(
    step: Callable[[UnitOfWork, auth.Actor, str], Rma], message: str
) -> Callable[[auth.Actor, str, Mapping[str, str]], str]:
    def run(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
        done = step(uow(), actor, number)
        return f"{done.number}: {message}."

    return run


def _do_loaner_back(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    depot = _depot_of(actor, form)
    done = return_steps.loaner_back(
        uow(), actor, number, depot, (form.get("serial") or "").strip() or None
    )
    return f"{done.number}: loaner {done.returned_serial or ''} back at {depot} (quarantine)."


def _do_receive_back(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    depot = _depot_of(actor, form)
    done = return_steps.receive_replacement_back(
        uow(), actor, number, depot, (form.get("serial") or "").strip() or None
    )
    return (
        f"{done.number}: unit {done.returned_serial or ''} back at {depot} (quarantine); "
        "the case is cancelled."
    )


def _do_confirm_cause(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    cause = _text(form, "cause", "Cause")
    if not cause:
        raise Invalid("Cause: describe the confirmed cause", field="cause")
    done = lifecycle.confirm_cause(uow(), actor, number, cause)
    return f"{done.number}: cause confirmed; the escalation clock has stopped."


def _do_cancel(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    reason = _text(form, "reason", "Reason")
    if not reason:
        raise Invalid("Reason: why is the case cancelled?", field="reason")
    done = lifecycle.cancel(uow(), actor, number, reason)
    if done.status == Status.RETURNING:
        assert done.due_defective_return is not None
        return (
            f"{done.number} is cancelled and returning: unit {done.shipped_serial or ''} is "
            f"expected back by {clock.local(done.due_defective_return):%Y-%m-%d}."
        )
    return f"{done.number} cancelled; anything it held was released."


def _do_close(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    rating = _rating(form.get("rating"))
    signed_by = _text(form, "signed_by", "Signed by")
    if not signed_by:
        raise Invalid("Signed by: the name of the customer's signer", field="signed_by")
    done = lifecycle.close(
        uow(), actor, number, rating, _text(form, "remarks", "Remarks"), signed_by
    )
    return f"{done.number} closed with {done.signed_by}'s sign-off (rating {done.rating}/5)."


ACTIONS: dict[str, Callable[[auth.Actor, str, Mapping[str, str]], str]] = {
    "approve": _do_approve,
    "allocate": _do_allocate,
    "ship": _do_ship,
    "deliver": _do_deliver,
    "receive-defective": _do_receive,
    "start-repair": _repair_step(return_steps.start_repair, "repair started"),
    "finish-repair": _repair_step(return_steps.finish_repair, "repaired"),
    "return-repaired": _repair_step(
        return_steps.return_repaired, "repaired unit sent back to the customer"
    ),
    "loaner-back": _do_loaner_back,
    kind_rules.RECEIVE_REPLACEMENT_BACK: _do_receive_back,
    "confirm-cause": _do_confirm_cause,
    "cancel": _do_cancel,
    "close": _do_close,
}


def _back(form: Mapping[str, str]) -> str:
    back = form.get("back") or "rma"
    return back if back in BACK_PAGES else "rma"


def _back_url(back: str, number: str) -> str:
    if back == "pick-list":
        return url_for(".pick_list")
    if back == "returns":
        return url_for(".returns")
    if back == "escalations":
        return url_for(".escalations")
    return url_for(".rma", number=number)


@views.route("/rmas/<number>/<action>", methods=["POST"])
@auth.page_roles(*CASE_READERS)
def act(number: str, action: str) -> Any:
    """Apply one step to a case; refused steps show the page again with the error."""
    handler = ACTIONS.get(action)
    if handler is None:
        raise NotFound(f"unknown action {action!r}")
    form = request.form
    back = _back(form)
    try:
        message = handler(_actor(), number, form)
    except DomainError as error:
        failed = {"number": number.strip().upper(), "action": action}
        if back == "pick-list":
            return _pick_page(error=error, failed=failed, form=form)
        if back == "returns":
            return _returns_page(error=error, failed=failed, form=form)
        if back == "escalations":
            return _escalations_page(error=error, failed=failed)
        return _rma_page(number, status=error.status, error=error, error_action=action, form=form)
    flash(message, "ok")
    return redirect(_back_url(back, number))


# --- depot staff: pick list and returns -----------------------------------------------------


def _staff_depot(actor: auth.Actor) -> str | None:
    """Staff see their own depot; administrators the one asked for (None: all)."""
    if actor.role == STAFF:
        return actor.depot_code
    return (request.args.get("depot") or "").strip().upper() or None


@dataclass(frozen=True)
class PickRow:
    case: CaseRow
    ship_by: SlaClock | None
    part_description: str


def _ship_by(ships_at: datetime, now: datetime) -> SlaClock:
    """The promised pick-up as a clock: staff see it run, and see it passed."""
    hours = round((ships_at - now).total_seconds() / 3600, 2)
    pickup = Commitment("ship", "Ship by", "ship by", True, ships_at, None, None, hours, False)
    return sla_clock(pickup, now)


def _pick_page(
    *,
    error: DomainError | None = None,
    failed: Mapping[str, str] | None = None,
    form: Mapping[str, str] | None = None,
) -> tuple[str, int]:
    actor = _actor()
    depot = _staff_depot(actor)
    now = clock.now()
    unit = uow()
    with unit.transaction(write=False):
        found = queries.list_rmas(
            unit, status=Status.ALLOCATED.value, depot=depot, limit=LIST_LIMIT
        )
        rows = []
        for case in _case_rows(unit, found, now):
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
    return (
        render_template(
            "rma/pick_list.html",
            rows=rows,
            depot=depot,
            depots=_depots(),
            can_pick_depot=actor.role != STAFF,
            error=error.detail if error else None,
            failed=failed or {},
            form=form or {},
        ),
        error.status if error else 200,
    )


@views.route("/rmas/pick-list")
@auth.page_roles(STAFF)
def pick_list() -> Any:
    """Allocated cases of my depot, the one to leave first on top, each with a ship form."""
    return _pick_page()


@dataclass(frozen=True)
class ReturnRow:
    case: CaseRow
    action: str  # the route that takes the unit in
    what: str
    expected_serial: str | None
    part_number: str
    mine: bool


def _returns_page(
    *,
    error: DomainError | None = None,
    failed: Mapping[str, str] | None = None,
    form: Mapping[str, str] | None = None,
) -> tuple[str, int]:
    actor = _actor()
    depot = _staff_depot(actor)
    now = clock.now()
    unit = uow()
    with unit.transaction(write=False):
        waiting = [
            rma
            for status in (Status.DELIVERED, Status.RETURNING, Status.APPROVED)
            for rma in queries.list_rmas(unit, status=status.value, limit=LIST_LIMIT)
        ]
        expected = []
        for case in _case_rows(unit, waiting, now):
            back = kind_rules.expected_back(case.rma)
            if back is None:
                continue
            mine = depot is not None and case.rma.depot_code == depot
            expected.append(
                ReturnRow(case, back.action, back.what, back.serial, back.part_number, mine)
            )
        in_repair = _case_rows(
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
    in_repair.sort(key=_urgency)
    next_step = {
        Status.RECEIVED.value: ("start-repair", "Start repair"),
        Status.IN_REPAIR.value: ("finish-repair", "Repaired"),
        Status.REPAIRED.value: ("return-repaired", "Sent back"),
    }
    return (
        render_template(
            "rma/returns.html",
            expected=expected,
            in_repair=in_repair,
            next_step=next_step,
            depot=depot,
            depots=_depots(),
            can_pick_depot=actor.role != STAFF,
            error=error.detail if error else None,
            failed=failed or {},
            form=form or {},
        ),
        error.status if error else 200,
    )


@views.route("/rmas/returns")
@auth.page_roles(STAFF)
def returns() -> Any:
    """Units expected back (defective, loaners, units for repair) and repairs under way."""
    return _returns_page()


# --- supervisors: escalations and approvals --------------------------------------------------

LEVEL_ORDER = {level: index for index, level in enumerate(FAULT_LEVELS)}


def _severity(escalation: Escalation) -> int:
    """Higher is more severe: step 3 above 2 above 1; "at risk" (step 0) above them all."""
    return escalation.step if escalation.step else 4


@dataclass(frozen=True)
class EscalatedCase:
    """A case with the rungs of its ladder raised and not yet taken on, most severe first."""

    case: CaseRow
    raised: list[Escalation]

    @property
    def sort_key(self) -> tuple[int, int, datetime, int]:
        top = self.raised[0]
        return (
            LEVEL_ORDER.get(top.fault_level, 9),
            -_severity(top),
            min(e.raised_at for e in self.raised),
            self.case.rma.id or 0,
        )


def _escalations_page(
    *, error: DomainError | None = None, failed: Mapping[str, str] | None = None
) -> tuple[str, int]:
    level = request.args.get("fault_level") or None
    now = clock.now()
    unit = uow()
    with unit.transaction(write=False):
        raised = escalation_service.list_escalations(unit, open_only=True, fault_level=level)
        by_case: dict[int, list[Escalation]] = {}
        rmas: dict[int, Rma] = {}
        for escalation, rma in raised:
            by_case.setdefault(rma.id or 0, []).append(escalation)
            rmas[rma.id or 0] = rma
        groups = [
            EscalatedCase(
                case,
                sorted(by_case[case.rma.id or 0], key=lambda e: (-_severity(e), e.raised_at)),
            )
            for case in _case_rows(unit, rmas.values(), now)
        ]
        waiting = _case_rows(
            unit,
            queries.list_rmas(
                unit, status=Status.REQUESTED.value, fault_level=level, limit=LIST_LIMIT
            ),
            now,
        )
    groups.sort(key=lambda g: g.sort_key)
    waiting.sort(key=lambda r: (LEVEL_ORDER.get(r.rma.fault_level, 9), r.rma.reported_at))
    per_level = {
        name: sum(len(g.raised) for g in groups if g.case.rma.fault_level == name)
        for name in FAULT_LEVELS
    }
    return (
        render_template(
            "rma/escalations.html",
            groups=groups,
            count=len(raised),
            per_level=per_level,
            waiting=waiting,
            level=level,
            levels=FAULT_LEVELS,
            kinds=KIND_LABELS,
            now=now,
            format_duration=format_duration,
            error=error.detail if error else None,
            failed=failed or {},
        ),
        error.status if error else 200,
    )


@views.route("/escalations")
@auth.page_roles(SUPERVISOR)
def escalations() -> Any:
    """Raised escalations nobody has taken yet, most severe first; billable cases to approve."""
    return _escalations_page()


@views.route("/escalations/<int:escalation_id>/acknowledge", methods=["POST"])
@auth.page_roles(SUPERVISOR)
def acknowledge(escalation_id: int) -> Any:
    try:
        done = escalation_service.acknowledge(uow(), _actor(), escalation_id)
    except DomainError as error:
        return _escalations_page(error=error, failed={"escalation": str(escalation_id)})
    flash(f"Escalation {done.id} acknowledged: you have taken it on.", "ok")
    return redirect(url_for(".escalations"))


@views.route("/escalations/ladder", methods=["GET", "POST"])
@auth.page_roles(SUPERVISOR)
def ladder() -> Any:
    """The escalation ladder; administrators change a rung with the form on its row."""
    error: DomainError | None = None
    failed: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        level, step = request.form.get("fault_level", ""), request.form.get("step", "")
        failed = {"fault_level": level, "step": step}
        try:
            hours_text = request.form.get("after_hours", "").strip()
            try:
                hours = float(hours_text) if hours_text else None
            except ValueError:
                raise Invalid("after_hours must be a number of hours") from None
            if not step.isdigit():
                raise Invalid("step must be 1, 2 or 3")
            changed = escalation_service.update_step(
                uow(),
                _actor(),
                level,
                int(step),
                after_hours=hours,
                notify_title=request.form.get("notify_title") or None,
                notify_email=request.form.get("notify_email") or None,
            )
        except DomainError as caught:
            error, status = caught, caught.status
        else:
            flash(f"{changed.fault_level} step {changed.step} saved.", "ok")
            return redirect(url_for(".ladder"))
    steps = escalation_service.list_ladder(uow())
    return render_template(
        "rma/ladder.html",
        steps=steps,
        error=error,
        failed=failed,
        can_edit=_actor().role == ADMIN,
    ), status


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
