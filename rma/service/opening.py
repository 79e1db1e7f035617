"""Opening an RMA: the faulty unit (by serial, or by part and site), its
entitlement, the case number; an entitled case is approved (and a replacement
allocated) in the same transaction, a billable one waits for a supervisor."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, lock_for_update, transactional
from core.errors import Conflict, Invalid, NotFound
from core.i18n import gettext
from inventory.service.catalog import get_part_row
from rma.models import (
    FAULT_LEVELS,
    OPEN_STATUSES,
    Contract,
    Customer,
    InstalledUnit,
    Kind,
    Rma,
    RmaEvent,
    Site,
)
from rma.service import case_mail
from rma.service import entitlement as entitlement_rules
from rma.service.customers import require_site_and_customer
from rma.service.lifecycle import apply_approval, record_event, recorded_events

MAX_SYMPTOM = 4000


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


@dataclass(frozen=True)
class OpenedCase:
    """A case just opened, with the rows its transaction holds for answering it."""

    rma: Rma
    site: Site
    customer: Customer
    contract: Contract | None
    events: tuple[RmaEvent, ...]  # its whole history so far


@transactional
def open_rma(uow: UnitOfWork, actor: Actor, request: OpenRequest) -> Rma:
    """Open an RMA for a faulty unit (by serial, or by part number and site).

    Entitled requests are approved at once and, for a replacement or loaner,
    allocated to a depot; billable ones wait for a supervisor's approval.
    """
    return open_case(uow, actor, request).rma


@transactional
def open_case(uow: UnitOfWork, actor: Actor, request: OpenRequest) -> OpenedCase:
    """``open_rma``, answering the rows an answer in the same transaction is made of."""
    actor.require_role(Role.ENGINEER, Role.SUPERVISOR)
    if request.fault_level not in FAULT_LEVELS:
        raise Invalid(
            gettext("fault_level must be one of %(choices)s", choices=", ".join(FAULT_LEVELS)),
            field="fault_level",
        )
    try:
        kind = Kind(request.kind)
    except ValueError:
        raise Invalid(
            gettext("kind must be one of %(choices)s", choices=", ".join(k.value for k in Kind)),
            field="kind",
        ) from None
    symptom = (request.symptom or "").strip()
    if not symptom:
        raise Invalid(gettext("symptom is required: what is the customer seeing?"), field="symptom")
    if len(symptom) > MAX_SYMPTOM:
        raise Invalid(
            gettext("symptom must be at most %(count)s characters", count=MAX_SYMPTOM),
            field="symptom",
        )
    now = clock.now()
    reported_at = clock.as_utc(request.reported_at) if request.reported_at else now
    if reported_at > now + clock.FUTURE_LEEWAY:
        raise Invalid(gettext("reported_at cannot be in the future"), field="reported_at")
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
                gettext(
                    "serial %(serial)s is not in the installed base; give part_number and "
                    "site_id instead",
                    serial=repr(request.serial),
                )
            )
        if not unit.active:
            raise Conflict(
                gettext("serial %(serial)s was already replaced and taken back", serial=unit.serial)
            )
        site, customer = require_site_and_customer(uow, unit.site_id)
        part_row = get_part_row(uow, unit.part_number)
    else:
        if not request.part_number or request.site_id is None:
            raise Invalid(gettext("give the unit's serial, or part_number and site_id"))
        site, customer = require_site_and_customer(uow, request.site_id)
        part_row = get_part_row(uow, request.part_number)
    # Held until the case is allocated: the session keeps rows only while someone
    # refers to them, and depot choice and the hold read the part again.
    part_number = part_row.part_number
    open_already = (
        uow.session.scalar(
            select(Rma.number).where(Rma.serial == unit.serial, Rma.status.in_(OPEN_STATUSES))
        )
        if unit
        else None
    )
    if open_already:
        raise Conflict(
            gettext(
                "%(serial)s already has an open RMA: %(rma)s", serial=unit.serial, rma=open_already
            )
        )
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
        apply_approval(uow, rma, actor, automatic=True)
    else:
        case_mail.ask_approval(uow, rma, customer, now)
    return OpenedCase(rma, site, customer, decision.contract, recorded_events(uow, rma))
