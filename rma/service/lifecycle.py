"""The RMA state machine: open, approve, allocate, ship, deliver, get the defective
unit back, repair, close with the customer's verdict, or cancel.

Every step checks the transition is allowed (``Conflict`` with the allowed next
steps otherwise), records an event, and does its stock work through the
inventory services in the same transaction: an RMA never holds stock it should
not, and a refused step changes nothing.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, lock_for_update, read_only, transactional
from core.errors import Conflict, Invalid, NotFound
from depots.calendar import add_working_hours
from depots.service.calendars import get_calendar
from inventory.models import Reservation
from inventory.service import moves, reservations
from inventory.service.catalog import get_part_row
from inventory.service.stock import require_depot
from rma.models import (
    FAULT_LEVELS,
    OPEN_STATUSES,
    Customer,
    InstalledUnit,
    Kind,
    Rma,
    RmaEvent,
    Site,
    Status,
)
from rma.service import entitlement as entitlement_rules
from rma.service.customers import require_site
from rma.service.notifications import addresses_of_role, enqueue

REPLACEMENT_HOURS = 24
REPAIR_WORKING_HOURS = 72
DEFECTIVE_RETURN_DAYS = 15
MAX_SYMPTOM = 4000

NEXT_STEPS: dict[str, dict[str, tuple[str, ...]]] = {
    Kind.ADVANCE_REPLACEMENT: {
        Status.REQUESTED: (Status.APPROVED,),
        Status.APPROVED: (Status.ALLOCATED,),
        Status.ALLOCATED: (Status.SHIPPED,),
        Status.SHIPPED: (Status.DELIVERED,),
        Status.DELIVERED: (Status.DEFECTIVE_RECEIVED,),
        Status.DEFECTIVE_RECEIVED: (Status.CLOSED,),
    },
    Kind.REPAIR: {
        Status.REQUESTED: (Status.APPROVED,),
        Status.APPROVED: (Status.RECEIVED,),
        Status.RECEIVED: (Status.IN_REPAIR,),
        Status.IN_REPAIR: (Status.REPAIRED,),
        Status.REPAIRED: (Status.RETURNED,),
        Status.RETURNED: (Status.CLOSED,),
    },
    Kind.LOANER: {
        Status.REQUESTED: (Status.APPROVED,),
        Status.APPROVED: (Status.ALLOCATED,),
        Status.ALLOCATED: (Status.SHIPPED,),
        Status.SHIPPED: (Status.DELIVERED,),
        Status.DELIVERED: (Status.BACK,),
        Status.BACK: (Status.CLOSED,),
    },
}

# The API's verbs for each target status.
ACTIONS = {
    Status.APPROVED: "approve",
    Status.ALLOCATED: "allocate",
    Status.SHIPPED: "ship",
    Status.DELIVERED: "deliver",
    Status.DEFECTIVE_RECEIVED: "receive-defective",
    Status.RECEIVED: "receive-defective",
    Status.IN_REPAIR: "start-repair",
    Status.REPAIRED: "finish-repair",
    Status.RETURNED: "return-repaired",
    Status.BACK: "loaner-back",
    Status.CLOSED: "close",
    Status.CANCELLED: "cancel",
}


def allowed_actions(rma: Rma) -> list[str]:
    """The verbs that may be applied to ``rma`` now (``cancel`` while it is open)."""
    steps = NEXT_STEPS[Kind(rma.kind)].get(Status(rma.status), ())
    verbs = [ACTIONS[s] for s in steps]
    if rma.status in OPEN_STATUSES:
        verbs.append("cancel")
    return verbs


def _require_step(rma: Rma, target: Status) -> None:
    if target == Status.CANCELLED:
        ok = rma.status in OPEN_STATUSES
    else:
        ok = target in NEXT_STEPS[Kind(rma.kind)].get(Status(rma.status), ())
    if not ok:
        allowed = allowed_actions(rma)
        raise Conflict(
            f"{rma.number} is {rma.status}; cannot {ACTIONS[target]} "
            f"(allowed: {', '.join(allowed) or 'nothing, it is ' + rma.status})",
            status=rma.status,
            allowed=allowed,
        )


def record_event(
    uow: UnitOfWork,
    rma: Rma,
    actor: str,
    action: str,
    *,
    from_status: str | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    uow.session.add(
        RmaEvent(
            rma_id=rma.id,
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=rma.status,
            detail=json.dumps(detail or {}, default=str),
        )
    )


def move_to(
    uow: UnitOfWork,
    rma: Rma,
    target: Status,
    actor: Actor,
    action: str,
    detail: dict[str, object] | None = None,
) -> None:
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
        raise NotFound(f"unknown RMA {number!r}")
    return rma


def escalation_calendar_code(rma: Rma) -> str:
    """C-1 on a 7x24 contract counts calendar hours; everything else office hours."""
    return "7x24" if rma.fault_level == "C-1" and rma.coverage == "7x24" else "5x8"


def _number_for(rma_id: int, reported_at: datetime) -> str:
    return f"RMA-{clock.local(reported_at).year}-{rma_id:06d}"


@dataclass(frozen=True)
class OpenRequest:
    fault_level: str
    kind: str
    symptom: str
    serial: str | None = None
    part_number: str | None = None
    site_id: int | None = None
    reported_at: datetime | None = None


@transactional
def open_rma(uow: UnitOfWork, actor: Actor, request: OpenRequest) -> Rma:
    """Open an RMA for a faulty unit (by serial, or by part number and site).

    Entitled requests are approved at once and, for a replacement or loaner,
    allocated to a depot; billable ones wait for a supervisor's approval.
    """
    actor.require_role(Role.ENGINEER, Role.SUPERVISOR)
    if request.fault_level not in FAULT_LEVELS:
        raise Invalid(f"fault_level must be one of {', '.join(FAULT_LEVELS)}")
    try:
        kind = Kind(request.kind)
    except ValueError:
        raise Invalid(f"kind must be one of {', '.join(k.value for k in Kind)}") from None
    symptom = (request.symptom or "").strip()
    if not symptom:
        raise Invalid("symptom is required: what is the customer seeing?")
    if len(symptom) > MAX_SYMPTOM:
        raise Invalid(f"symptom must be at most {MAX_SYMPTOM} characters")
    now = clock.now()
    reported_at = clock.as_utc(request.reported_at) if request.reported_at else now
    if reported_at > now + timedelta(minutes=5):
        raise Invalid("reported_at cannot be in the future")
    unit: InstalledUnit | None = None
    if request.serial:
        # Locked, so two requests opening the same serial at once queue here and the
        # second sees the first's open case (PostgreSQL; SQLite holds the writer lock).
        query = select(InstalledUnit).where(InstalledUnit.serial == request.serial.strip().upper())
        unit = uow.session.scalars(
            lock_for_update(query.execution_options(populate_existing=True), uow)
        ).first()
        if unit is None:
            raise NotFound(
                f"serial {request.serial!r} is not in the installed base; "
                "give part_number and site_id instead"
            )
        if not unit.active:
            raise Conflict(f"serial {unit.serial} was already replaced and taken back")
        site = require_site(uow, unit.site_id)
        part_number = unit.part_number
    else:
        if not request.part_number or request.site_id is None:
            raise Invalid("give the unit's serial, or part_number and site_id")
        site = require_site(uow, request.site_id)
        part_number = get_part_row(uow, request.part_number).part_number
    open_already = (
        uow.session.scalar(
            select(Rma.number).where(Rma.serial == unit.serial, Rma.status.in_(OPEN_STATUSES))
        )
        if unit
        else None
    )
    if open_already:
        raise Conflict(f"{unit.serial} already has an open RMA: {open_already}")
    decision = entitlement_rules.decide(
        uow, site.customer_id, unit, kind, clock.local(reported_at).date()
    )
    rma = Rma(
        number=f"TMP-{uuid.uuid4().hex[:14]}",
        customer_id=site.customer_id,
        site_id=site.id,
        installed_unit_id=unit.id if unit else None,
        serial=unit.serial if unit else None,
        part_number=part_number,
        fault_level=request.fault_level,
        kind=kind,
        symptom=symptom,
        reported_by=actor.username,
        entitled=decision.entitled,
        billable=not decision.entitled,
        entitlement_reason=decision.reason,
        phase=decision.phase,
        warranty_end=decision.warranty_end,
        contract_id=decision.contract.id if decision.contract else None,
        coverage=decision.coverage,
        reported_at=reported_at,
    )
    uow.session.add(rma)
    uow.session.flush()
    assert rma.id is not None
    rma.number = _number_for(rma.id, reported_at)
    record_event(
        uow,
        rma,
        actor.username,
        "open",
        detail={"fault_level": rma.fault_level, "kind": rma.kind, "entitlement": decision.reason},
    )
    if decision.entitled:
        _approve(uow, rma, actor, automatic=True)
    else:
        customer = uow.session.get(Customer, rma.customer_id)
        enqueue(
            uow,
            "approval_needed",
            addresses_of_role(uow, Role.SUPERVISOR),
            f"{rma.number}: billable {rma.kind.replace('_', ' ')} needs approval",
            f"{customer.name if customer else ''}: {rma.part_number} "
            f"({rma.fault_level}). {decision.reason}.\n\nSymptom: {symptom}",
            rma=rma,
        )
    uow.session.flush()
    return rma


def _approve(uow: UnitOfWork, rma: Rma, actor: Actor, *, automatic: bool) -> None:
    _require_step(rma, Status.APPROVED)
    rma.approved_at, rma.approved_by = clock.now(), actor.username
    if rma.kind in (Kind.ADVANCE_REPLACEMENT, Kind.LOANER):
        rma.due_replacement = rma.approved_at + timedelta(hours=REPLACEMENT_HOURS)
    move_to(
        uow,
        rma,
        Status.APPROVED,
        actor,
        "approve",
        {"automatic": automatic, "billable": rma.billable},
    )
    if rma.kind in (Kind.ADVANCE_REPLACEMENT, Kind.LOANER):
        from rma.service.allocation import allocate

        allocate(uow, rma, actor)


@transactional
def approve(uow: UnitOfWork, actor: Actor, number: str) -> Rma:
    """A supervisor approves a billable RMA; replacements are then allocated."""
    actor.require_role(Role.SUPERVISOR)
    rma = lock_rma(uow, number)
    _approve(uow, rma, actor, automatic=False)
    return rma


@transactional
def allocate_again(uow: UnitOfWork, actor: Actor, number: str) -> Rma:
    """Try again to allocate an approved replacement that waits for stock (backorder)."""
    actor.require_role(Role.ENGINEER, Role.SUPERVISOR, Role.PLANNER)
    rma = lock_rma(uow, number)
    _require_step(rma, Status.ALLOCATED)
    from rma.service.allocation import allocate

    allocate(uow, rma, actor)
    return rma


def _require_allocated_depot_staff(actor: Actor, rma: Rma) -> str:
    if rma.depot_code is None:
        raise Conflict(f"{rma.number} has no depot allocated")
    actor.require_role(Role.DEPOT_STAFF)
    actor.require_depot(rma.depot_code)
    return rma.depot_code


@transactional
def ship(uow: UnitOfWork, actor: Actor, number: str, serial: str | None) -> Rma:
    """The allocated depot picks the reserved unit (scanned serial) and ships it."""
    rma = lock_rma(uow, number)
    _require_step(rma, Status.SHIPPED)
    _require_allocated_depot_staff(actor, rma)
    if rma.reservation_id is None:
        raise Conflict(f"{rma.number} holds no reservation to ship from")
    part = get_part_row(uow, rma.ship_part_number or rma.part_number)
    if part.serialized and not (serial or "").strip():
        raise Invalid("scan the serial of the unit being shipped")
    moves_ = reservations.pick(uow, actor, rma.reservation_id, [serial] if serial else None)
    rma.shipped_serial = serial.strip().upper() if serial else None
    rma.shipped_at = clock.now()
    move_to(
        uow,
        rma,
        Status.SHIPPED,
        actor,
        "ship",
        {"serial": rma.shipped_serial, "depot": rma.depot_code, "movement": moves_.id},
    )
    return rma


@transactional
def deliver(
    uow: UnitOfWork, actor: Actor, number: str, delivered_at: datetime | None = None
) -> Rma:
    """The replacement reached the customer's site (courier's proof of delivery)."""
    actor.require_role(Role.ENGINEER, Role.SUPERVISOR, Role.DEPOT_STAFF)
    rma = lock_rma(uow, number)
    _require_step(rma, Status.DELIVERED)
    if actor.role == Role.DEPOT_STAFF:
        _require_allocated_depot_staff(actor, rma)
    now = clock.now()
    at = clock.as_utc(delivered_at) if delivered_at else now
    if at > now + timedelta(minutes=5):
        raise Invalid("delivered_at cannot be in the future")
    if rma.shipped_at and at < rma.shipped_at:
        raise Invalid("delivered_at cannot be before the unit shipped")
    rma.delivered_at = at
    rma.due_defective_return = at + timedelta(days=DEFECTIVE_RETURN_DAYS)
    if rma.kind == Kind.ADVANCE_REPLACEMENT and rma.shipped_serial:
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
    original = (
        uow.session.get(InstalledUnit, rma.installed_unit_id) if rma.installed_unit_id else None
    )
    if uow.session.scalar(
        select(InstalledUnit.id).where(InstalledUnit.serial == rma.shipped_serial)
    ):
        return
    today = clock.local(clock.now()).date()
    uow.session.add(
        InstalledUnit(
            serial=rma.shipped_serial,
            part_number=rma.ship_part_number or rma.part_number,
            site_id=rma.site_id,
            contract_id=original.contract_id if original else rma.contract_id,
            shipped_on=today,
            warranty_end=max(
                original.warranty_end if original else today, today + timedelta(days=90)
            ),
            phase=original.phase if original else "in_warranty",
        )
    )


@transactional
def receive_defective(
    uow: UnitOfWork, actor: Actor, number: str, depot: str, serial: str | None
) -> Rma:
    """The customer's faulty unit arrives at ``depot``.

    Advance replacement: it becomes the depot's defective stock and the case can
    close. Repair: the 72-working-hour repair clock starts (the unit stays the
    customer's, outside our stock).
    """
    rma = lock_rma(uow, number)
    target = Status.RECEIVED if rma.kind == Kind.REPAIR else Status.DEFECTIVE_RECEIVED
    _require_step(rma, target)
    actor.require_role(Role.DEPOT_STAFF)
    depot = require_depot(uow, depot).code
    actor.require_depot(depot)
    serial = (serial or "").strip().upper() or None
    if rma.serial and serial and serial != rma.serial:
        raise Invalid(f"{rma.number} is for serial {rma.serial}, not {serial}")
    serial = serial or rma.serial
    now = clock.now()
    rma.return_depot, rma.returned_serial, rma.defective_received_at = depot, serial, now
    if rma.kind == Kind.REPAIR:
        calendar = get_calendar(uow, "7x24" if rma.coverage == "7x24" else "5x8")
        rma.due_repair_return = add_working_hours(calendar, now, REPAIR_WORKING_HOURS)
    else:
        # Taken out of the installed base before it enters stock: one serial, one place.
        if rma.installed_unit_id:
            original = uow.session.get(InstalledUnit, rma.installed_unit_id)
            if original is not None:
                original.active = False
                uow.session.add(original)
                uow.session.flush()
        moves.receive_return(
            uow,
            actor,
            depot,
            rma.part_number,
            serial,
            condition="defective",
            reference=rma.number,
            reason=f"defective unit of {rma.number}",
        )
    move_to(uow, rma, target, actor, "receive-defective", {"depot": depot, "serial": serial})
    return rma


def _repair_step(uow: UnitOfWork, actor: Actor, number: str, target: Status, action: str) -> Rma:
    rma = lock_rma(uow, number)
    _require_step(rma, target)
    actor.require_role(Role.DEPOT_STAFF)
    actor.require_depot(rma.return_depot or "")
    now = clock.now()
    if target == Status.IN_REPAIR:
        rma.repair_started_at = now
    elif target == Status.REPAIRED:
        rma.repaired_at = now
    else:
        rma.returned_at = now
    detail: dict[str, object] = {}
    if target == Status.RETURNED and rma.due_repair_return:
        detail["within_72_working_hours"] = now <= rma.due_repair_return
    move_to(uow, rma, target, actor, action, detail)
    return rma


@transactional
def start_repair(uow: UnitOfWork, actor: Actor, number: str) -> Rma:
    return _repair_step(uow, actor, number, Status.IN_REPAIR, "start-repair")


@transactional
def finish_repair(uow: UnitOfWork, actor: Actor, number: str) -> Rma:
    return _repair_step(uow, actor, number, Status.REPAIRED, "finish-repair")


@transactional
def return_repaired(uow: UnitOfWork, actor: Actor, number: str) -> Rma:
    return _repair_step(uow, actor, number, Status.RETURNED, "return-repaired")


@transactional
def loaner_back(uow: UnitOfWork, actor: Actor, number: str, depot: str, serial: str | None) -> Rma:
    """The loaner comes back to ``depot``, into quarantine until inspected."""
    rma = lock_rma(uow, number)
    _require_step(rma, Status.BACK)
    actor.require_role(Role.DEPOT_STAFF)
    depot = require_depot(uow, depot).code
    actor.require_depot(depot)
    serial = (serial or "").strip().upper() or rma.shipped_serial
    if rma.shipped_serial and serial != rma.shipped_serial:
        raise Invalid(f"the loaner of {rma.number} is {rma.shipped_serial}, not {serial}")
    moves.receive_return(
        uow,
        actor,
        depot,
        rma.ship_part_number or rma.part_number,
        serial,
        condition="quarantine",
        reference=rma.number,
        reason=f"loaner back from {rma.number}",
    )
    rma.back_at, rma.return_depot, rma.returned_serial = clock.now(), depot, serial
    move_to(uow, rma, Status.BACK, actor, "loaner-back", {"depot": depot, "serial": serial})
    return rma


@transactional
def confirm_cause(uow: UnitOfWork, actor: Actor, number: str, cause: str) -> Rma:
    """The cause is confirmed: the escalation clock stops."""
    actor.require_role(Role.ENGINEER, Role.SUPERVISOR)
    rma = lock_rma(uow, number)
    if rma.status not in OPEN_STATUSES:
        raise Conflict(f"{rma.number} is {rma.status}")
    if rma.cause_confirmed_at is not None:
        raise Conflict(f"the cause of {rma.number} was already confirmed")
    text = (cause or "").strip()
    if not text:
        raise Invalid("describe the confirmed cause")
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
    _require_step(rma, Status.CLOSED)
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise Invalid("rating must be a whole number from 1 to 5")
    signer = (signed_by or "").strip()
    if not signer:
        raise Invalid("signed_by: the customer's signer is required")
    if len(signer) > 120 or len(remarks or "") > 1000:
        raise Invalid("signed_by at most 120 and remarks at most 1000 characters")
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
    """Cancel an open RMA; stock it held is released."""
    actor.require_role(Role.ENGINEER, Role.SUPERVISOR)
    rma = lock_rma(uow, number)
    _require_step(rma, Status.CANCELLED)
    text = (reason or "").strip()
    if not text:
        raise Invalid("a reason is required to cancel")
    released = release_held_stock(uow, rma, actor, f"{rma.number} cancelled")
    rma.cancelled_at, rma.cancel_reason = clock.now(), text[:300]
    move_to(uow, rma, Status.CANCELLED, actor, "cancel", {"reason": text, "released": released})
    return rma


def release_held_stock(uow: UnitOfWork, rma: Rma, actor: Actor, reason: str) -> bool:
    """Release the RMA's active reservation, if any. Runs as the system: whoever may
    cancel the case may give its stock back, wherever it is held."""
    if rma.reservation_id is None:
        return False
    reservation = uow.session.get(Reservation, rma.reservation_id)
    if reservation is None or reservation.status != "active":
        return False
    system = Actor(id=actor.id, username=actor.username, role=Role.ADMIN)
    reservations.release(uow, system, rma.reservation_id, reason=reason)
    return True


@dataclass(frozen=True)
class RmaView:
    rma: Rma
    customer: Customer
    site: Site
    events: list[RmaEvent]


@read_only
def get_rma(uow: UnitOfWork, number: str) -> RmaView:
    rma = uow.session.scalar(select(Rma).where(Rma.number == (number or "").strip().upper()))
    if rma is None:
        raise NotFound(f"unknown RMA {number!r}")
    customer = uow.session.get(Customer, rma.customer_id)
    site = uow.session.get(Site, rma.site_id)
    events = list(
        uow.session.scalars(select(RmaEvent).where(RmaEvent.rma_id == rma.id).order_by(RmaEvent.id))
    )
    assert customer is not None and site is not None
    return RmaView(rma, customer, site, events)


@read_only
def list_rmas(
    uow: UnitOfWork,
    *,
    status: str | None = None,
    depot: str | None = None,
    fault_level: str | None = None,
    reported_by: str | None = None,
    open_only: bool = False,
    limit: int = 200,
    offset: int = 0,
) -> list[Rma]:
    query = select(Rma).order_by(Rma.id.desc()).limit(min(limit, 1000)).offset(offset)
    if status:
        if status not in {s.value for s in Status}:
            raise Invalid(f"status must be one of {', '.join(s.value for s in Status)}")
        query = query.where(Rma.status == status)
    if depot:
        query = query.where((Rma.depot_code == depot.upper()) | (Rma.return_depot == depot.upper()))
    if fault_level:
        if fault_level not in FAULT_LEVELS:
            raise Invalid(f"fault_level must be one of {', '.join(FAULT_LEVELS)}")
        query = query.where(Rma.fault_level == fault_level)
    if reported_by:
        query = query.where(Rma.reported_by == reported_by)
    if open_only:
        query = query.where(Rma.status.in_(OPEN_STATUSES))
    return list(uow.session.scalars(query))
