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
from core.pagination import Page, PageRequest
from core.web import uow
from inventory.service import catalog
from optimizer.depot_choice import DepotDecision
from rma import kinds as kind_rules
from rma.documents import render_service_record
from rma.models import FAULT_LEVELS, OPEN_STATUSES, Escalation, Rma, Status
from rma.service import (
    acknowledgements,
    allocation,
    approvals,
    customers,
    lifecycle,
    queries,
    wording,
)
from rma.service.approvals import ApprovalQuote
from rma.service.promises import ReplacementPromise, live_promises
from rma.service.queries import CASE_SORTS, AlternativeView, CaseFilter, ClockCounts, RmaView
from rma.views import views
from rma.views.common import (
    ADMIN,
    CASE_READERS,
    ENGINEER,
    KIND_LABELS,
    OPENERS,
    PLANNER,
    SCOPES,
    STAFF,
    SUPERVISOR,
    WARN_WITHIN,
    bool_arg,
    current_actor,
    depot_list,
    filter_args,
    rma_clocks,
    rows_of,
)

# --- the case lists ---------------------------------------------------------------------------

# The query arguments a case list keeps when it is sorted or paged (its filters).
LIST_FILTERS = ("scope", "status", "fault_level", "kind", "depot", "at_risk", "reporter", "q")


def _cases_page(default_scope: str) -> Any:
    """One page of cases: the scope, the filters, sorted and paged on the server, with
    the counts (cases, overdue, due soon) of the whole selection."""
    actor = current_actor()
    args = request.args
    scope = args.get("scope") if args.get("scope") in SCOPES else default_scope
    status = args.get("status") or None
    selected = CaseFilter(
        reported_by=actor.username if scope.startswith("mine") else None,
        open_only=scope in ("mine", "open") and status is None,
        status=status,
        fault_level=args.get("fault_level") or None,
        kind=args.get("kind") or None,
        depot=(args.get("depot") or "").strip().upper() or None,
        at_risk=bool_arg(args, "at_risk"),
        reporter=(args.get("reporter") or "").strip() or None,
        text=(args.get("q") or "").strip() or None,
    )
    running = scope in ("mine", "open")
    page_request = PageRequest.from_args(
        args, sorts=CASE_SORTS, default_sort="due" if running else "number", descending=not running
    )
    now = clock.now()
    error: DomainError | None = None
    unit = uow()
    with unit.transaction(write=False):
        try:
            found = queries.page_of_cases(unit, selected, page_request, now)
            counts = queries.case_clock_counts(unit, selected, now, WARN_WITHIN)
        except Invalid as refused:  # a hand-edited link: say what is wrong, show nothing
            error = refused
            found, counts = Page([], 0, page_request), ClockCounts(0, 0)
        page = Page(rows_of(unit, found.items, now), found.total, found.request)
        reporters = queries.reporters(unit)
    return render_template(
        "rma/cases.html",
        page=page,
        counts=counts,
        args=filter_args((*LIST_FILTERS, "per_page")),
        selected=selected,
        scope=scope,
        scopes=SCOPES,
        statuses=[s.value for s in Status],
        levels=FAULT_LEVELS,
        kinds=KIND_LABELS,
        depots=depot_list(),
        reporters=reporters,
        endpoint=request.endpoint,
        can_open=actor.role in (*OPENERS, ADMIN),
        error=error.detail if error else None,
        error_field=error.extra.get("field") if error else None,
    ), (error.status if error else 200)


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


@dataclass(frozen=True)
class HistoryLine:
    """One event of the case's history as the reader reads it."""

    at: datetime
    actor: str
    action: str
    change: str
    detail: list[tuple[str, str]]
    code: str  # the action as stored (``approve``), for the row's test id


def history(view: RmaView) -> list[HistoryLine]:
    """The case's events with labels, not codes, in the reader's language."""
    return [
        HistoryLine(
            event.at,
            wording.actor_name(event.actor),
            wording.action_label(event.action),
            wording.status_change(event.from_status, event.to_status),
            wording.detail_pairs(event.action, queries.event_detail(event.detail)),
            event.action,
        )
        for event in view.events
    ]


@dataclass(frozen=True)
class CourierSummary:
    """Whether a C-1 case's emergency courier was considered, used, or why not.

    ``state``: ``used`` (booked: ``depot``, ``arrival``, ``cost``, ``why``),
    ``declined`` (quoted, not booked: ``why``, and the quote of the chosen depot),
    ``unquoted`` (no depot could quote it), ``backorder`` (no depot holds the part),
    ``pending`` (not allocated yet).
    """

    state: str
    depot: str | None = None
    arrival: datetime | None = None
    cost: Any = None
    why: str = ""


def courier_summary(
    rma: Rma, rows: list[AlternativeView], promise: ReplacementPromise | None
) -> CourierSummary | None:
    """The emergency courier's story of a C-1 replacement or loaner (None otherwise),
    from the depots the allocation (or the preview) considered."""
    if rma.fault_level != "C-1" or not kind_rules.ships_unit(rma.kind):
        return None
    chosen = next((row for row in rows if row.chosen), None)
    # What was booked is the case's own service. The live promise of a case that missed
    # its pick-up carries a re-quote (the courier, after the cut-off), not a booking.
    service = rma.service
    quote = chosen.emergency if chosen is not None else None
    note = (
        wording.courier_reason(quote.note_code, quote.note_args, quote.note)
        if quote is not None
        else ""
    )
    if service == "emergency" or (chosen is not None and chosen.service == "emergency"):
        depot = rma.depot_code or (chosen.depot if chosen else None)
        arrival = promise.current if promise is not None and promise.current else None
        arrival = arrival or (quote.arrival if quote else rma.promised_delivery)
        cost = quote.cost if quote is not None else rma.shipping_cost
        return CourierSummary("used", depot, arrival, cost, note)
    if quote is not None:
        return CourierSummary("declined", chosen.depot, quote.arrival, quote.cost, note)
    if rma.backorder or (rows and chosen is None):
        return CourierSummary("backorder")
    if chosen is not None:
        return CourierSummary("unquoted", chosen.depot)
    return CourierSummary("pending")


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
    acknowledge: bool = False

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
        acknowledge=admin or role == SUPERVISOR,
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
        price: ApprovalQuote | None = (
            approvals.quote_for(unit, rma, now) if rma.status == Status.REQUESTED else None
        )
        raised: list[Escalation] = acknowledgements.escalations_of(unit, rma.id or 0)
    alternatives = queries.alternatives_of(rma.alternatives)
    courier = courier_summary(rma, preview[1] if preview else alternatives, promise)
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
            alternatives=alternatives,
            promise=promise,
            rules=kind_rules.policy(rma.kind),
            cancel_returns=kind_rules.cancel_outcome(rma).to == Status.RETURNING,
            preview=preview,
            price=price,
            courier=courier,
            escalations=raised,
            waiting=[
                e for e in raised if e.acknowledged_at is None and rma.status in OPEN_STATUSES
            ],
            history=history(view),
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
    # The reader's language decides the labels: the same URL differs by reader.
    response.headers["Vary"] = "Accept-Language, Cookie"
    response.headers["Content-Disposition"] = f'inline; filename="{rma.number}-service-record.pdf"'
    return response
