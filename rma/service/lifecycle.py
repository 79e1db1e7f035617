"""The RMA state machine: open, approve, allocate, ship, deliver, close with the
customer's verdict, or cancel; and re-planning an unshipped case (batch dispatch).

What each kind allows is ``rma.kinds``' policy; this module applies it. Every step
checks the transition is allowed (``Conflict`` with the allowed next steps
otherwise), records an event with the status before and after, and does its
stock work through inventory's entry points in the same transaction: an RMA
never holds stock it should not, and a refused step changes nothing. The steps
that take a unit back in (defective unit, repair, loaner, a cancelled case's
replacement) are in ``rma.service.returns``.

Allocation is decided by ``rma.service.allocation`` (which only reads) and
applied here: the unit is held for the case with ``hold_for_case`` and the
promise, its alternatives and the at-risk flag are stored on the case.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, lock_for_update, transactional
from core.errors import Conflict, InsufficientStock, Invalid, NotFound
from core.i18n import gettext
from depots.service.queries import lane_terms_by_id
from inventory.models import Reservation
from inventory.service import reservations
from inventory.service.catalog import get_part_row
from rma import kinds
from rma.kinds import ACTIONS, REPLACEMENT_HOURS, RETURN_AFTER_CANCEL_DAYS
from rma.models import (
    OPEN_STATUSES,
    InstalledUnit,
    Rma,
    RmaEvent,
    Status,
)
from rma.service import allocation, approvals, case_mail
from rma.service.promises import AT_RISK_BACKORDER, AT_RISK_NO_DEPOT, ship_by

# The session's info key listing the events recorded in its transaction.
RECORDED_EVENTS_KEY = "rma_events_recorded"
# Tries to hold a unit when concurrent cases keep taking the chosen depot's last one.
MAX_ALLOCATION_ATTEMPTS = 8
# Re-planning (batch dispatch) may move an unshipped case between these states.
REPLAN_STEPS: dict[Status, tuple[Status, ...]] = {
    Status.ALLOCATED: (Status.ALLOCATED, Status.APPROVED),
    Status.APPROVED: (Status.ALLOCATED,),
}


def allowed_actions(rma: Rma) -> list[str]:
    """The verbs that may be applied to ``rma`` now (see ``rma.kinds``)."""
    return kinds.allowed_actions(rma)


def require_cancel(rma: Rma) -> Status:
    """The status cancelling ``rma`` now leads to; ``Conflict`` saying why when it
    cannot be cancelled."""
    outcome = kinds.cancel_outcome(rma)
    if outcome.to is None:
        raise Conflict(
            gettext("%(rma)s cannot be cancelled: %(why)s", rma=rma.number, why=outcome.refusal),
            status=rma.status,
            allowed=allowed_actions(rma),
        )
    return outcome.to


def require_step(rma: Rma, target: Status) -> None:
    """``Conflict`` naming the allowed verbs unless ``target`` is a step ``rma`` may take."""
    if target in kinds.next_steps(rma):
        return
    allowed = allowed_actions(rma)
    status = kinds.status_label(rma.status)
    if allowed:
        detail = gettext(
            "%(rma)s is %(status)s; cannot %(action)s (allowed: %(allowed)s)",
            rma=rma.number,
            status=status,
            action=ACTIONS[target],
            allowed=", ".join(allowed),
        )
    else:
        detail = gettext(
            "%(rma)s is %(status)s; cannot %(action)s (allowed: nothing, it is %(status)s)",
            rma=rma.number,
            status=status,
            action=ACTIONS[target],
        )
    raise Conflict(detail, status=rma.status, allowed=allowed)


def record_event(
    uow: UnitOfWork,
    rma: Rma,
    actor: str,
    action: str,
    *,
    from_status: str | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    """Append to the case's history; ``from_status`` None for an event that is not a step."""
    event = RmaEvent(
        rma_id=rma.id,
        actor=actor,
        action=action,
        from_status=from_status if from_status is not None else rma.status,
        to_status=rma.status,
        detail=json.dumps(detail or {}, default=str),
    )
    uow.session.add(event)
    # Kept for the transaction (the session holds flushed rows only weakly), so an
    # answer given in it needs not read the history back: ``recorded_events``.
    uow.session.info.setdefault(RECORDED_EVENTS_KEY, []).append(event)


def recorded_events(uow: UnitOfWork, rma: Rma) -> tuple[RmaEvent, ...]:
    """The events this transaction recorded for ``rma``, in order (flushed: with
    their ids); for a case opened in it, its whole history."""
    uow.session.flush()
    recorded = uow.session.info.get(RECORDED_EVENTS_KEY, ())
    return tuple(event for event in recorded if event.rma_id == rma.id)


def move_to(
    uow: UnitOfWork,
    rma: Rma,
    target: Status,
    actor: Actor,
    action: str,
    detail: dict[str, object] | None = None,
) -> None:
    """Change the case's status and record the step."""
    before = rma.status
    rma.status = target
    uow.session.add(rma)
    record_event(uow, rma, actor.username, action, from_status=before, detail=detail)


def lock_rma(uow: UnitOfWork, number: str) -> Rma:
    query = select(Rma).where(Rma.number == (number or "").strip().upper())
    rma = uow.session.scalars(
        lock_for_update(query.execution_options(populate_existing=True), uow)
    ).first()
    if rma is None:
        raise NotFound(gettext("unknown RMA %(number)s", number=repr(number)))
    return rma


def escalation_calendar_code(rma: Rma) -> str:
    """C-1 on a 7x24 contract counts calendar hours; everything else office hours."""
    return "7x24" if rma.fault_level == "C-1" and rma.coverage == "7x24" else "5x8"


def apply_approval(
    uow: UnitOfWork,
    rma: Rma,
    actor: Actor,
    *,
    automatic: bool,
    recorded: dict[str, object] | None = None,
) -> None:
    """Approve ``rma`` in the caller's transaction (automatically when entitled): its
    24-hour clock starts and a replacement or loaner is allocated at once.
    ``recorded``: more detail for the history (a billable case's price, a comment)."""
    require_step(rma, Status.APPROVED)
    rma.approved_at, rma.approved_by = clock.now(), actor.username
    ships = kinds.ships_unit(rma.kind)
    if ships:
        rma.due_replacement = rma.approved_at + timedelta(hours=REPLACEMENT_HOURS)
    move_to(
        uow,
        rma,
        Status.APPROVED,
        actor,
        "approve",
        {"automatic": automatic, "billable": rma.billable, **(recorded or {})},
    )
    if ships:
        _allocate(uow, rma, actor)


MAX_COMMENT = 500


@transactional
def approve(
    uow: UnitOfWork,
    actor: Actor,
    number: str,
    *,
    comment: str | None = None,
    confirmed_charge: Decimal | None = None,
) -> Rma:
    """A supervisor approves a billable RMA; replacements are then allocated.

    The price (``approvals.quote_for``: what the customer will be charged) and the
    supervisor's ``comment`` are recorded in the history. ``confirmed_charge`` is
    the charge the supervisor saw and confirmed: when the price has changed since
    (stock moved, a lane changed), the approval is refused (``Conflict`` with the
    new ``charge``) and nothing changes, so a price nobody confirmed is never
    approved. ``Invalid`` for a comment over 500 characters.
    """
    actor.require_role(Role.SUPERVISOR)
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT:
        raise Invalid(
            gettext("Comment: at most %(count)s characters", count=MAX_COMMENT), field="comment"
        )
    rma = lock_rma(uow, number)
    require_step(rma, Status.APPROVED)
    price = approvals.quote_for(uow, rma, clock.now())
    if confirmed_charge is not None and price.charge != confirmed_charge.quantize(price.charge):
        shown, now_charged = f"{confirmed_charge:,.2f}", f"{price.charge:,.2f}"
        raise Conflict(
            gettext(
                "the price of %(rma)s is now %(charge)s CNY, not %(confirmed)s CNY: check it "
                "with the customer and confirm again",
                rma=rma.number,
                charge=now_charged,
                confirmed=shown,
            ),
            charge=str(price.charge),
        )
    recorded: dict[str, object] = {**price.as_detail()}
    if text:
        recorded["comment"] = text
    apply_approval(uow, rma, actor, automatic=False, recorded=recorded)
    return rma


@transactional
def allocate_again(uow: UnitOfWork, actor: Actor, number: str) -> Rma:
    """Try again to allocate an approved replacement that waits for stock (backorder)."""
    actor.require_role(Role.ENGINEER, Role.SUPERVISOR, Role.PLANNER)
    rma = lock_rma(uow, number)
    require_step(rma, Status.ALLOCATED)
    _allocate(uow, rma, actor)
    return rma


def _allocate(uow: UnitOfWork, rma: Rma, actor: Actor) -> None:
    """Choose the depot for an approved replacement or loaner and hold the unit there.

    If the chosen depot's last unit is taken by a concurrent case, the next
    decision is made without that depot. With no stock anywhere the case stays
    approved, flagged backorder, and planners are told.
    """
    now = clock.now()
    excluded: list[str] = []
    for _ in range(MAX_ALLOCATION_ATTEMPTS):
        choice = allocation.decide(uow, rma, now, exclude=excluded)
        decision = choice.decision
        if decision.backorder or decision.depot is None:
            _record_backorder(
                uow, rma, allocation.alternatives_json(decision, choice.options.part_at)
            )
            return
        try:
            held = reservations.hold_for_case(
                uow,
                decision.depot,
                choice.part_number or rma.part_number,
                rma.number,
                by=actor.username,
            )
        except InsufficientStock:
            excluded.append(decision.depot)
            continue
        _record_allocation(uow, rma, actor, choice, held)
        return
    _record_backorder(uow, rma, "[]")


def _record_allocation(
    uow: UnitOfWork, rma: Rma, actor: Actor, choice: allocation.Allocation, held: Reservation
) -> None:
    decision = choice.decision
    assert decision.depot is not None and decision.promised_delivery is not None
    rma.depot_code = decision.depot
    rma.ship_part_number = choice.part_number
    rma.service = decision.service
    rma.ships_at = decision.ships_at
    rma.ship_by = (
        ship_by(
            uow, decision.depot, decision.ships_at, decision.promised_delivery, rma.due_replacement
        )
        if decision.ships_at is not None and rma.due_replacement is not None
        else None
    )
    rma.promised_delivery = decision.promised_delivery
    if rma.original_promised_delivery is None:
        rma.original_promised_delivery = decision.promised_delivery
    rma.shipping_cost = decision.cost
    rma.lane_id = choice.lane_id
    rma.alternatives = allocation.alternatives_json(decision, choice.options.part_at)
    rma.reservation = held
    rma.at_risk, rma.backorder = decision.at_risk, False
    rma.at_risk_reason = AT_RISK_NO_DEPOT if decision.at_risk else ""
    rma.allocated_at = clock.now()
    move_to(
        uow,
        rma,
        Status.ALLOCATED,
        actor,
        "allocate",
        {
            "depot": decision.depot,
            "part_number": rma.ship_part_number,
            "service": decision.service,
            "promised_delivery": decision.promised_delivery,
            "cost": decision.cost,
            "at_risk": decision.at_risk,
        },
    )
    if decision.at_risk:
        case_mail.tell_at_risk(uow, rma)


def _record_backorder(uow: UnitOfWork, rma: Rma, alternatives: str) -> None:
    rma.backorder, rma.at_risk, rma.at_risk_reason = True, True, AT_RISK_BACKORDER
    rma.alternatives = alternatives
    uow.session.add(rma)
    record_event(uow, rma, "system", "backorder", detail={"part_number": rma.part_number})
    case_mail.tell_backorder(uow, rma)


@dataclass(frozen=True)
class CasePlan:
    """Where batch dispatch wants an unshipped case's unit to come from: ``depot``
    None is a backorder. ``service``/``ships_at``/``arrives_at``/``cost`` are the
    quote; ``alternatives`` the JSON shown on the case."""

    depot: str | None
    part_number: str | None
    lane_id: int | None
    service: str | None
    ships_at: datetime | None
    arrives_at: datetime | None
    cost: Decimal | None
    meets_due: bool
    alternatives: str

    def changes(self, rma: Rma) -> bool:
        """Would applying it change where the case's unit comes from?"""
        if self.depot is None:
            return not (rma.status == Status.APPROVED and rma.backorder)
        return (rma.status, rma.depot_code, rma.ship_part_number) != (
            Status.ALLOCATED,
            self.depot,
            self.part_number,
        )


def replan(uow: UnitOfWork, actor: Actor, rma: Rma, plan: CasePlan, why: str) -> bool:
    """Apply a re-planning decision to an unshipped case (batch dispatch): release its
    hold and hold the unit at the planned depot, or put it on backorder. Runs in the
    caller's transaction; returns False (and records nothing) when the plan changes
    nothing. ``Conflict`` when the case is not an unshipped replacement."""
    if not plan.changes(rma):
        return False
    target = Status.APPROVED if plan.depot is None else Status.ALLOCATED
    if target not in REPLAN_STEPS.get(Status(rma.status), ()) or not kinds.ships_unit(rma.kind):
        raise Conflict(
            gettext(
                "%(rma)s is %(status)s; only an unshipped replacement is re-planned",
                rma=rma.number,
                status=kinds.status_label(rma.status),
            )
        )
    if rma.status == Status.APPROVED and not rma.backorder:
        raise Conflict(
            gettext("%(rma)s is being allocated; it is not waiting for stock", rma=rma.number)
        )
    before = rma.depot_code
    release_held_stock(uow, rma, actor, f"{rma.number} re-planned by {why}")
    rma.alternatives = plan.alternatives
    if plan.depot is None:
        rma.depot_code = rma.ship_part_number = rma.service = None
        rma.ships_at = rma.promised_delivery = rma.shipping_cost = rma.lane_id = None
        rma.ship_by = None
        rma.backorder, rma.at_risk, rma.at_risk_reason = True, True, AT_RISK_BACKORDER
    else:
        assert plan.part_number is not None
        held = reservations.hold_for_case(
            uow, plan.depot, plan.part_number, rma.number, by=actor.username
        )
        rma.reservation = held
        rma.depot_code, rma.ship_part_number, rma.lane_id = (
            plan.depot,
            plan.part_number,
            plan.lane_id,
        )
        rma.service, rma.ships_at, rma.shipping_cost = plan.service, plan.ships_at, plan.cost
        rma.ship_by = (
            ship_by(uow, plan.depot, plan.ships_at, plan.arrives_at, rma.due_replacement)
            if plan.ships_at and plan.arrives_at and rma.due_replacement
            else None
        )
        rma.promised_delivery = plan.arrives_at
        if rma.original_promised_delivery is None:
            rma.original_promised_delivery = plan.arrives_at
        rma.backorder, rma.at_risk = False, not plan.meets_due
        rma.at_risk_reason = "" if plan.meets_due else AT_RISK_NO_DEPOT
        rma.allocated_at = clock.now()
    move_to(
        uow,
        rma,
        target,
        actor,
        "reallocate",
        {
            "from": before,
            "to": rma.depot_code,
            "by": why,
            "promised_delivery": rma.promised_delivery,
            "at_risk": rma.at_risk,
        },
    )
    if rma.at_risk and plan.depot is not None:
        case_mail.tell_at_risk(uow, rma)
    return True


def _require_allocated_depot_staff(actor: Actor, rma: Rma) -> str:
    if rma.depot_code is None:
        raise Conflict(gettext("%(rma)s has no depot allocated", rma=rma.number))
    actor.require_role(Role.DEPOT_STAFF)
    actor.require_depot(rma.depot_code)
    return rma.depot_code


@transactional
def ship(uow: UnitOfWork, actor: Actor, number: str, serial: str | None) -> Rma:
    """The allocated depot picks the reserved unit (scanned serial) and ships it."""
    rma = lock_rma(uow, number)
    require_step(rma, Status.SHIPPED)
    _require_allocated_depot_staff(actor, rma)
    if rma.reservation_id is None:
        raise Conflict(gettext("%(rma)s holds no reservation to ship from", rma=rma.number))
    part = get_part_row(uow, rma.ship_part_number or rma.part_number)
    if part.serialized and not (serial or "").strip():
        raise Invalid(gettext("scan the serial of the unit being shipped"), field="serial")
    moves_ = reservations.pick(uow, actor, rma.reservation_id, [serial] if serial else None)
    rma.shipped_serial = serial.strip().upper() if serial else None
    rma.shipped_at = clock.now()
    _promise_from_departure(uow, rma)
    move_to(
        uow,
        rma,
        Status.SHIPPED,
        actor,
        "ship",
        {"serial": rma.shipped_serial, "depot": rma.depot_code, "movement": moves_.id},
    )
    return rma


def _promise_from_departure(uow: UnitOfWork, rma: Rma) -> None:
    """Once the unit leaves, the delivery promise is the carrier's: departure plus the
    lane's hours, when that is later than the promise made at allocation (a unit ready
    at 13:02 and handed over at 16:00, before its ship-by, arrives three hours later).
    The first promise stays in ``original_promised_delivery``."""
    if rma.lane_id is None or rma.promised_delivery is None or rma.shipped_at is None:
        return
    with uow.session.no_autoflush:  # the step's changes are recorded as one (audit)
        terms = lane_terms_by_id(uow, [rma.lane_id]).get(rma.lane_id)
    if terms is None:
        return
    arrives = clock.as_utc(rma.shipped_at) + timedelta(seconds=int(terms.hours * 3600))
    if arrives > clock.as_utc(rma.promised_delivery):
        rma.promised_delivery = arrives
    deadline = rma.ship_by or rma.ships_at
    late = rma.due_replacement is not None and arrives > clock.as_utc(rma.due_replacement)
    if late and deadline is not None and not rma.at_risk:
        # Shipped after its ship-by, before the escalation run recorded the lapse.
        rma.at_risk = True
        rma.at_risk_reason = (
            f"not shipped by {clock.local(deadline):%Y-%m-%d %H:%M}, the promised pick-up"
        )


@transactional
def deliver(
    uow: UnitOfWork, actor: Actor, number: str, delivered_at: datetime | None = None
) -> Rma:
    """The replacement reached the customer's site (courier's proof of delivery)."""
    actor.require_role(Role.ENGINEER, Role.SUPERVISOR, Role.DEPOT_STAFF)
    rma = lock_rma(uow, number)
    require_step(rma, Status.DELIVERED)
    if actor.role == Role.DEPOT_STAFF:
        _require_allocated_depot_staff(actor, rma)
    now = clock.now()
    at = clock.as_utc(delivered_at) if delivered_at else now
    if at > now + clock.FUTURE_LEEWAY:
        raise Invalid(gettext("delivered_at cannot be in the future"), field="delivered_at")
    if rma.shipped_at and at < rma.shipped_at:
        raise Invalid(
            gettext("delivered_at cannot be before the unit shipped"), field="delivered_at"
        )
    rma.delivered_at = at
    back_within = kinds.return_due_after_delivery(rma)
    rma.due_defective_return = at + back_within if back_within else None
    if kinds.policy(rma.kind).installs_shipped_unit and rma.shipped_serial:
        _install_replacement(uow, rma)
    met = rma.due_replacement is None or at <= rma.due_replacement
    move_to(
        uow,
        rma,
        Status.DELIVERED,
        actor,
        "deliver",
        {"delivered_at": at.isoformat(), "within_24h": met},
    )
    return rma


def _install_replacement(uow: UnitOfWork, rma: Rma) -> None:
    """The delivered replacement joins the customer's installed base (the unit it
    replaces stays until the defective one comes back). A serial installed before,
    replaced and refurbished since, is installed again at its new site."""
    original = (
        uow.session.get(InstalledUnit, rma.installed_unit_id) if rma.installed_unit_id else None
    )
    today = clock.local(clock.now()).date()
    unit = uow.session.scalar(
        select(InstalledUnit).where(InstalledUnit.serial == rma.shipped_serial)
    ) or InstalledUnit(serial=rma.shipped_serial)
    unit.part_number = rma.ship_part_number or rma.part_number
    unit.site_id = rma.site_id
    unit.contract_id = original.contract_id if original else rma.contract_id
    unit.shipped_on = today
    unit.warranty_end = max(
        original.warranty_end if original else today, today + timedelta(days=90)
    )
    unit.phase = original.phase if original else "in_warranty"
    unit.active = True
    uow.session.add(unit)


@transactional
def confirm_cause(uow: UnitOfWork, actor: Actor, number: str, cause: str) -> Rma:
    """The cause is confirmed: the escalation clock stops."""
    actor.require_role(Role.ENGINEER, Role.SUPERVISOR)
    rma = lock_rma(uow, number)
    if rma.status not in OPEN_STATUSES:
        raise Conflict(
            gettext("%(rma)s is %(status)s", rma=rma.number, status=kinds.status_label(rma.status))
        )
    if rma.cause_confirmed_at is not None:
        raise Conflict(gettext("the cause of %(rma)s was already confirmed", rma=rma.number))
    text = (cause or "").strip()
    if not text:
        raise Invalid(gettext("describe the confirmed cause"), field="cause")
    rma.cause_confirmed_at = clock.now()
    uow.session.add(rma)
    record_event(uow, rma, actor.username, "confirm-cause", detail={"cause": text[:1000]})
    return rma


@transactional
def close(
    uow: UnitOfWork, actor: Actor, number: str, rating: int, remarks: str, signed_by: str
) -> Rma:
    """Close with the customer's signed verdict: rating 1-5, remarks, signer's name."""
    actor.require_role(Role.ENGINEER, Role.SUPERVISOR)
    rma = lock_rma(uow, number)
    require_step(rma, Status.CLOSED)
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise Invalid(gettext("rating must be a whole number from 1 to 5"), field="rating")
    signer = (signed_by or "").strip()
    if not signer:
        raise Invalid(gettext("signed_by: the customer's signer is required"), field="signed_by")
    if len(signer) > 120 or len(remarks or "") > 1000:
        raise Invalid(gettext("signed_by at most 120 and remarks at most 1000 characters"))
    now = clock.now()
    rma.rating, rma.remarks, rma.signed_by, rma.signed_at = (
        rating,
        (remarks or "").strip(),
        signer,
        now,
    )
    rma.closed_at = now
    if rma.cause_confirmed_at is None:
        rma.cause_confirmed_at = now
    move_to(uow, rma, Status.CLOSED, actor, "close", {"rating": rating, "signed_by": signer})
    return rma


@transactional
def cancel(uow: UnitOfWork, actor: Actor, number: str, reason: str) -> Rma:
    """Cancel an open RMA (see ``rma.kinds`` for what that means at each step).

    Before anything ships, stock it held is released and the case is cancelled.
    After its unit shipped, the case turns ``returning``: the shipped serial is
    expected back within 15 days (chased like any return) and the case ends
    cancelled when it is received back (``returns.receive_replacement_back``).
    """
    actor.require_role(Role.ENGINEER, Role.SUPERVISOR)
    rma = lock_rma(uow, number)
    target = require_cancel(rma)
    text = (reason or "").strip()
    if not text:
        raise Invalid(gettext("a reason is required to cancel"), field="reason")
    released = release_held_stock(uow, rma, actor, f"{rma.number} cancelled")
    now = clock.now()
    rma.cancel_reason = text[:300]
    if target == Status.RETURNING:
        rma.due_defective_return = now + timedelta(days=RETURN_AFTER_CANCEL_DAYS)
        move_to(
            uow,
            rma,
            Status.RETURNING,
            actor,
            "cancel",
            {"reason": text, "expected_back": rma.shipped_serial, "due": rma.due_defective_return},
        )
        return rma
    rma.cancelled_at = now
    move_to(uow, rma, Status.CANCELLED, actor, "cancel", {"reason": text, "released": released})
    return rma


def release_held_stock(uow: UnitOfWork, rma: Rma, actor: Actor, reason: str) -> bool:
    """Give the case's held unit back to available stock, wherever it is held (the
    case's own right, not the actor's). False when it held nothing."""
    if rma.reservation_id is None:
        return False
    return reservations.release_case_hold(uow, rma.reservation_id, by=actor.username, reason=reason)
