"""What the API, the pages, the reports and the escalations read about RMAs: one
query per question, so every surface shows the same cases.

* ``get_rma``: one case with its customer, site and history.
* ``list_rmas``: cases by status, depot, fault level, reporter.
* ``open_replacements``: replacements and loaners not shipped yet (allocated, or
  waiting on a backorder): what batch dispatch re-plans and its page lists.
* ``overdue_returns``: units of ours (or the customer's faulty unit) that should
  be back by now and are not: what the daily reminders chase and the reports list.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from core import clock
from core.db import UnitOfWork, read_only
from core.errors import Invalid, NotFound
from depots.models import City
from rma import kinds
from rma.models import FAULT_LEVELS, OPEN_STATUSES, Customer, Rma, RmaEvent, Site, Status


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


def open_replacements_query() -> Any:
    """Replacements and loaners not shipped yet: allocated, or approved and waiting
    on a backorder; oldest first."""
    return (
        select(Rma)
        .where(
            Rma.kind.in_(kinds.SHIPPING_KINDS),
            (Rma.status == Status.ALLOCATED) | ((Rma.status == Status.APPROVED) & Rma.backorder),
        )
        .order_by(Rma.id)
    )


@read_only
def open_replacements(uow: UnitOfWork) -> list[Rma]:
    return list(uow.session.scalars(open_replacements_query()))


def overdue_returns_query(now: datetime) -> Any:
    """(Rma, Customer, Site, City) of every case whose unit should be back by ``now``
    and is not: delivered replacements and loaners, and cases cancelled after
    shipping (``returning``), past their ``due_defective_return``; oldest due first."""
    return (
        select(Rma, Customer, Site, City)
        .join(Customer, Customer.id == Rma.customer_id)
        .join(Site, Site.id == Rma.site_id)
        .join(City, City.id == Site.city_id)
        .where(
            Rma.kind.in_(kinds.SHIPPING_KINDS),
            Rma.status.in_([status.value for status in kinds.AWAITING_RETURN]),
            Rma.due_defective_return.is_not(None),
            Rma.due_defective_return <= now,
        )
        .order_by(Rma.due_defective_return, Rma.id)
    )


# --- what a case keeps as JSON text: its depot alternatives and its events' details ----------

ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


@dataclass(frozen=True)
class EmergencyView:
    """A depot's emergency-courier option for the case, booked or not, and why."""

    ships_at: datetime | None
    arrival: datetime | None
    cost: Decimal | None
    booked: bool
    note: str


@dataclass(frozen=True)
class AlternativeView:
    """One depot considered for the case (as the allocation or dispatch stored it)."""

    depot: str
    part_number: str | None
    service: str | None
    ships_at: datetime | None
    arrival: datetime | None
    cost: Decimal | None
    meets_due: bool
    chosen: bool
    reason: str
    emergency: EmergencyView | None


def instant(value: object) -> datetime | None:
    """An ISO 8601 text as an aware UTC instant; None when it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return clock.as_utc(parsed) if parsed.tzinfo is not None else None


def money(value: object) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def alternatives_of(raw: str) -> list[AlternativeView]:
    """The depots a case's allocation considered, from its stored JSON (the chosen
    one first). Unreadable text gives an empty list, never an error."""
    try:
        items = json.loads(raw or "[]")
    except ValueError:
        return []
    if not isinstance(items, list):
        return []
    return [
        AlternativeView(
            depot=str(item.get("depot", "")),
            part_number=item.get("part_number"),
            service=item.get("service"),
            ships_at=instant(item.get("ships_at")),
            arrival=instant(item.get("arrival")),
            cost=money(item.get("cost")),
            meets_due=bool(item.get("meets_due")),
            chosen=bool(item.get("chosen")),
            reason=str(item.get("reason", "")),
            emergency=_emergency(item.get("emergency")),
        )
        for item in items
        if isinstance(item, dict)
    ]


def _emergency(item: object) -> EmergencyView | None:
    if not isinstance(item, dict):
        return None
    return EmergencyView(
        ships_at=instant(item.get("ships_at")),
        arrival=instant(item.get("arrival")),
        cost=money(item.get("cost")),
        booked=bool(item.get("booked")),
        note=str(item.get("note", "")),
    )


def event_detail(raw: str) -> dict[str, Any]:
    """An event's stored detail with its instants typed again (they are stored as
    ISO 8601 text); a detail that is not a JSON object comes back under one key."""
    try:
        detail = json.loads(raw) if raw else {}
    except ValueError:
        return {"text": raw}
    if not isinstance(detail, dict):
        return {"value": detail}
    return {
        key: (instant(value) or value)
        if isinstance(value, str) and ISO_INSTANT.match(value)
        else value
        for key, value in detail.items()
    }
