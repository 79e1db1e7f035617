"""Supervisors take escalations on: one rung, or every rung of a case at once, with
a note; what is still waiting, case by case; what was taken on, by whom, when and
with which note.

An acknowledgement is recorded on the escalation (``acknowledged_by``,
``acknowledged_at``, ``acknowledge_note``) and in the case's history (an
``acknowledge-escalation`` event per rung, with the step and the note). A rung is
acknowledged once: a second attempt is refused (409) naming the case, the rung,
who took it and when, and changes nothing.

The lists of the escalations page are read here too, filtered and sorted in SQL
with the size of the whole selection (``core.pagination``): open escalations
grouped by case (most severe first: C-1 before C-2 before C-3, "at risk" above
step 3 above 2 above 1), and the history of acknowledgements, newest first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, lock_for_update, read_only, transactional
from core.errors import Conflict, Invalid, NotFound
from core.i18n import gettext
from core.pagination import Page, PageRequest, paginate
from depots.models import City
from rma.models import FAULT_LEVELS, OPEN_STATUSES, Customer, Escalation, Rma, RmaEvent, Site
from rma.service.ladder import fault_level_of
from rma.service.lifecycle import lock_rma
from rma.service.wording import escalation_step, local_time

MAX_NOTE = 500
MAX_LIST = 1000
AT_RISK_STEP = 0


# --- taking escalations on ------------------------------------------------------------------


def _note(note: str | None) -> str:
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise Invalid(gettext("Note: at most %(count)s characters", count=MAX_NOTE), field="note")
    return text


def _record(uow: UnitOfWork, actor: Actor, escalation: Escalation, rma: Rma, note: str) -> None:
    escalation.acknowledged_by, escalation.acknowledged_at = actor.username, clock.now()
    escalation.acknowledge_note = note
    uow.session.add(escalation)
    uow.session.add(
        RmaEvent(
            rma_id=rma.id,
            actor=actor.username,
            action="acknowledge-escalation",
            from_status=rma.status,
            to_status=rma.status,
            detail=json.dumps({"escalation": escalation.id, "step": escalation.step, "note": note}),
        )
    )


@transactional
def acknowledge(
    uow: UnitOfWork, actor: Actor, escalation_id: int, note: str | None = None
) -> Escalation:
    """A supervisor (or administrator) takes one escalation on, with an optional note
    (at most 500 characters); recorded in the case's history.

    Raises ``Forbidden``, ``NotFound`` (unknown id), ``Conflict`` (already
    acknowledged, naming the case and rung), ``Invalid`` (note too long).
    """
    actor.require_role(Role.SUPERVISOR)
    text = _note(note)
    escalation = uow.session.scalar(
        lock_for_update(
            select(Escalation)
            .where(Escalation.id == escalation_id)
            .execution_options(populate_existing=True),
            uow,
        )
    )
    if escalation is None:
        raise NotFound(gettext("unknown escalation %(id)s", id=escalation_id))
    rma = uow.session.get(Rma, escalation.rma_id)
    assert rma is not None  # an escalation always belongs to a case
    if escalation.acknowledged_at is not None:
        raise Conflict(
            gettext(
                "%(rma)s %(step)s was already acknowledged by %(user)s at %(when)s",
                rma=rma.number,
                step=escalation_step(escalation.step),
                user=escalation.acknowledged_by,
                when=local_time(escalation.acknowledged_at),
            )
        )
    _record(uow, actor, escalation, rma, text)
    uow.session.flush()
    return escalation


@transactional
def acknowledge_case(
    uow: UnitOfWork, actor: Actor, number: str, note: str | None = None
) -> list[Escalation]:
    """A supervisor takes on every rung of case ``number`` not yet acknowledged, with
    one note for all; returns them, most severe first.

    Raises ``Forbidden``, ``NotFound`` (unknown case), ``Conflict`` (nothing is
    waiting), ``Invalid`` (note too long).
    """
    actor.require_role(Role.SUPERVISOR)
    text = _note(note)
    rma = lock_rma(uow, number)
    waiting = list(
        uow.session.scalars(
            lock_for_update(
                select(Escalation)
                .where(Escalation.rma_id == rma.id, Escalation.acknowledged_at.is_(None))
                .order_by(Escalation.id)
                .execution_options(populate_existing=True),
                uow,
            )
        )
    )
    if not waiting:
        raise Conflict(gettext("%(rma)s has no escalation waiting to be taken on", rma=rma.number))
    for escalation in waiting:
        _record(uow, actor, escalation, rma, text)
    uow.session.flush()
    return sorted(waiting, key=lambda e: -severity(e.step))


# --- what is waiting -------------------------------------------------------------------------


def severity(step: int) -> int:
    """Higher is more severe: step 3 above 2 above 1; "at risk" (step 0) above them all."""
    return step if step else 4


def _severity_column() -> Any:
    return case((Escalation.step == AT_RISK_STEP, 4), else_=Escalation.step)


def _level_rank() -> Any:
    return case(*((Rma.fault_level == level, rank) for rank, level in enumerate(FAULT_LEVELS)))


@read_only
def list_escalations(
    uow: UnitOfWork,
    *,
    open_only: bool = True,
    fault_level: str | None = None,
    limit: int = 200,
) -> list[tuple[Escalation, Rma]]:
    """Escalations with their RMA, the longest-standing first (by ``due_at``).

    ``open_only``: not yet acknowledged, and the RMA is still open. Raises
    ``Invalid`` for an unknown fault level or a limit outside 1-1000.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
        raise Invalid(gettext("limit must be a whole number from 1 to %(max)s", max=MAX_LIST))
    query = (
        select(Escalation, Rma)
        .join(Rma, Rma.id == Escalation.rma_id)
        .order_by(Escalation.due_at, Escalation.id)
        .limit(limit)
    )
    if open_only:
        query = query.where(Escalation.acknowledged_at.is_(None), Rma.status.in_(OPEN_STATUSES))
    if fault_level is not None:
        query = query.where(Escalation.fault_level == fault_level_of(fault_level))
    return [(escalation, rma) for escalation, rma in uow.session.execute(query)]


@dataclass(frozen=True)
class EscalationFilter:
    """Which escalations a list shows: one ``fault_level``; ``at_risk_only`` the "at
    risk" rung only; ``text`` part of the customer's name (English or Chinese) or
    code, or of the RMA number."""

    fault_level: str | None = None
    at_risk_only: bool = False
    text: str | None = None


def _contains(column: Any, text: str) -> Any:
    return func.lower(column).contains(text.lower(), autoescape=True)


def _open_escalations(selected: EscalationFilter) -> Any:
    """The escalations ``selected`` picks among those waiting (case still open)."""
    query = (
        select(Escalation.id)
        .join(Rma, Rma.id == Escalation.rma_id)
        .join(Customer, Customer.id == Rma.customer_id)
        .where(Escalation.acknowledged_at.is_(None), Rma.status.in_(OPEN_STATUSES))
    )
    if selected.fault_level:
        query = query.where(Escalation.fault_level == fault_level_of(selected.fault_level))
    if selected.at_risk_only:
        query = query.where(Escalation.step == AT_RISK_STEP)
    if selected.text and selected.text.strip():
        text = selected.text.strip()
        query = query.where(
            or_(
                _contains(Customer.name, text),
                _contains(Customer.name_zh, text),
                _contains(Customer.code, text),
                _contains(Rma.number, text),
            )
        )
    return query


# The columns the open escalations list sorts on, by the key its headers send.
ESCALATION_SORTS: tuple[str, ...] = ("priority", "case", "customer", "raised", "rungs")


@dataclass(frozen=True)
class EscalatedCase:
    """A case with its waiting rungs, most severe first."""

    rma: Rma
    customer: Customer
    site: Site
    city: City
    raised: list[Escalation]


@read_only
def page_of_escalated_cases(
    uow: UnitOfWork, selected: EscalationFilter, request: PageRequest
) -> Page[EscalatedCase]:
    """One page of the cases with escalations waiting (those ``selected`` picks),
    sorted on ``request.sort`` (``ESCALATION_SORTS``; ``priority``: the most severe
    first), counted as a whole."""
    picked = _open_escalations(selected).subquery()
    per_case = (
        select(
            Escalation.rma_id.label("rma_id"),
            func.max(_severity_column()).label("severity"),
            func.min(Escalation.raised_at).label("first_raised"),
            func.count().label("rungs"),
        )
        .where(Escalation.id.in_(select(picked.c.id)))
        .group_by(Escalation.rma_id)
        .subquery()
    )
    query = (
        select(Rma, Customer, Site, City)
        .join(per_case, per_case.c.rma_id == Rma.id)
        .join(Customer, Customer.id == Rma.customer_id)
        .join(Site, Site.id == Rma.site_id)
        .join(City, City.id == Site.city_id)
    )
    sorts = {
        "priority": _level_rank() * 10 - per_case.c.severity,
        "case": Rma.id,
        "customer": Customer.name,
        "raised": per_case.c.first_raised,
        "rungs": per_case.c.rungs,
    }
    page = paginate(uow.session, query, request, sorts, Rma.id, scalars=False)
    ids = [row[0].id for row in page.items]
    raised: dict[int, list[Escalation]] = {}
    if ids:
        rows = uow.session.scalars(
            select(Escalation).where(
                Escalation.rma_id.in_(ids),
                Escalation.id.in_(select(picked.c.id)),
            )
        )
        for escalation in rows:
            raised.setdefault(escalation.rma_id, []).append(escalation)
    cases = [
        EscalatedCase(
            rma,
            customer,
            site,
            city,
            sorted(raised.get(rma.id, []), key=lambda e: (-severity(e.step), e.raised_at)),
        )
        for rma, customer, site, city in page.items
    ]
    return Page(cases, page.total, page.request)


@read_only
def waiting_by_level(uow: UnitOfWork, selected: EscalationFilter) -> dict[str, int]:
    """How many escalations of the whole selection wait, per fault level (every level
    named, zero when none)."""
    picked = _open_escalations(selected).subquery()
    rows = uow.session.execute(
        select(Escalation.fault_level, func.count())
        .where(Escalation.id.in_(select(picked.c.id)))
        .group_by(Escalation.fault_level)
    )
    counts = dict.fromkeys(FAULT_LEVELS, 0)
    counts.update({level: count for level, count in rows})
    return counts


# --- what was taken on ------------------------------------------------------------------------


@dataclass(frozen=True)
class Acknowledged:
    """An acknowledged escalation with its case and customer."""

    escalation: Escalation
    rma: Rma
    customer: Customer


ACKNOWLEDGED_SORTS: tuple[str, ...] = ("acknowledged", "case", "raised", "by")


def _acknowledged(selected: EscalationFilter, by: str | None = None) -> Any:
    query = (
        select(Escalation, Rma, Customer)
        .join(Rma, Rma.id == Escalation.rma_id)
        .join(Customer, Customer.id == Rma.customer_id)
        .where(Escalation.acknowledged_at.is_not(None))
    )
    if selected.fault_level:
        query = query.where(Escalation.fault_level == fault_level_of(selected.fault_level))
    if selected.at_risk_only:
        query = query.where(Escalation.step == AT_RISK_STEP)
    if selected.text and selected.text.strip():
        text = selected.text.strip()
        query = query.where(
            or_(
                _contains(Customer.name, text),
                _contains(Customer.name_zh, text),
                _contains(Customer.code, text),
                _contains(Rma.number, text),
                _contains(Escalation.acknowledge_note, text),
            )
        )
    if by:
        query = query.where(Escalation.acknowledged_by == by)
    return query


@read_only
def page_of_acknowledged(
    uow: UnitOfWork, selected: EscalationFilter, request: PageRequest, *, by: str | None = None
) -> Page[Acknowledged]:
    """One page of the acknowledged escalations ``selected`` picks (``by``: one
    supervisor's), sorted on ``request.sort`` (``ACKNOWLEDGED_SORTS``)."""
    sorts = {
        "acknowledged": Escalation.acknowledged_at,
        "case": Rma.id,
        "raised": Escalation.raised_at,
        "by": Escalation.acknowledged_by,
    }
    page = paginate(
        uow.session, _acknowledged(selected, by), request, sorts, Escalation.id, scalars=False
    )
    return Page([Acknowledged(*row) for row in page.items], page.total, page.request)


@read_only
def list_acknowledged(
    uow: UnitOfWork,
    *,
    fault_level: str | None = None,
    by: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[Acknowledged]:
    """Acknowledged escalations, the latest acknowledgement first (``since``: at or
    after that instant)."""
    query = _acknowledged(EscalationFilter(fault_level=fault_level), by)
    if since is not None:
        query = query.where(Escalation.acknowledged_at >= since)
    query = query.order_by(Escalation.acknowledged_at.desc(), Escalation.id.desc())
    rows = uow.session.execute(query.limit(min(limit, MAX_LIST)).offset(offset))
    return [Acknowledged(*row) for row in rows]


@read_only
def escalations_of(uow: UnitOfWork, rma_id: int) -> list[Escalation]:
    """Every escalation raised on a case, in ladder order ("at risk" first)."""
    return list(
        uow.session.scalars(
            select(Escalation).where(Escalation.rma_id == rma_id).order_by(Escalation.step)
        )
    )
