"""Opening an RMA: the faulty unit (by serial, or by part and site), its
entitlement, the case number; an entitled case is approved (and a replacement
allocated) in the same transaction, a billable one waits for a supervisor."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, select

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, lock_for_update, transactional
from core.errors import Conflict, Invalid, NotFound
from core.generations import generations_column, remember_generations
from core.i18n import gettext
from inventory.models import Part
from inventory.service.catalog import part_key, unknown_part
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
from rma.service.customers import unknown_site
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


@dataclass(frozen=True)
class _SiteAndPart:
    site: Site
    customer: Customer
    contracts: tuple[Contract, ...]  # the customer's, in force on the day (decide's order)
    part: Part


@functools.cache
def _site_and_part_query(dialect: str) -> Any:
    """The site, its customer, the customer's contracts in force on the day and the
    part: what entitlement and depot choice start from, in one query (a row per
    contract; the part joins every row, or none when unknown). It also reads the
    reference generations, which depot choice asks next (``core.generations``)."""
    return (
        select(Site, Customer, Contract, Part, generations_column(dialect))
        .join(Customer, Customer.id == Site.customer_id)
        .outerjoin(
            Contract,
            and_(Contract.customer_id == Site.customer_id, entitlement_rules.ACTIVE_ON_DAY),
        )
        .outerjoin(Part, Part.part_number == bindparam("part_number"))
        .where(Site.id == bindparam("site_id"))
        .order_by(*entitlement_rules.CONTRACT_ORDER)
    )


def _site_and_part(uow: UnitOfWork, site_id: int, part_number: str, today: date) -> _SiteAndPart:
    """What a case opens with; ``NotFound`` for an unknown site, then an unknown part."""
    rows = uow.session.execute(
        _site_and_part_query(uow.dialect),
        {"site_id": site_id, "part_number": part_key(part_number), "today": today},
    ).all()
    if not rows:
        raise unknown_site(site_id)
    site, customer, _contract, part, read_generations = rows[0]
    remember_generations(uow, read_generations)
    if part is None:
        raise unknown_part(part_number)
    contracts = tuple(row[2] for row in rows if row[2] is not None)
    return _SiteAndPart(site, customer, contracts, part)


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
    today = clock.local(reported_at).date()
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
        found = _site_and_part(uow, unit.site_id, unit.part_number, today)
    else:
        if not request.part_number or request.site_id is None:
            raise Invalid(gettext("give the unit's serial, or part_number and site_id"))
        found = _site_and_part(uow, request.site_id, request.part_number, today)
    site, customer = found.site, found.customer
    # Held until the case is allocated: the session keeps rows only while someone
    # refers to them, and depot choice and the hold read the part again.
    part_row = found.part
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
    decision = entitlement_rules.decide_among(found.contracts, unit, kind, today)
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
        # What the approval and the depot choice read (stock, targets, the network) is
        # not what the case's own pending rows change (the case, its events): they go
        # to the database with the hold, in one flush, not one flush per query.
        with uow.session.no_autoflush:
            apply_approval(uow, rma, actor, automatic=True)
    else:
        case_mail.ask_approval(uow, rma, customer, now)
    return OpenedCase(rma, site, customer, decision.contract, recorded_events(uow, rma))
