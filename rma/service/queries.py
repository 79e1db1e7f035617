"""What the API, the pages, the reports and the escalations read about RMAs: one
query per question, so every surface shows the same cases.

* ``get_rma``: one case with its customer, site and history.
* ``list_rmas``: cases by status, depot, fault level, reporter.
* ``page_of_cases``: one page of the case lists, filtered (``CaseFilter``),
  sorted in SQL, with the size of the whole selection; ``case_clock_counts``
  how many of the whole selection are overdue or due soon.
* ``open_replacements``: replacements and loaners not shipped yet (allocated, or
  waiting on a backorder): what batch dispatch re-plans and its page lists.
* ``overdue_returns``: units of ours (or the customer's faulty unit) that should
  be back by now and are not: what the daily reminders chase and the reports list
  (the rule is ``overdue_returns_query``'s; ``count_overdue_returns`` counts them).
* ``case_figures``, ``escalation_counts``, ``escalations_raised``, ``count_open``:
  what the service-level and engineers' reports count over a period, as plain rows.
* ``cases_by_part_and_city``, ``installed_by_part_and_city``: the RMA history and
  the installed base per part and city, that the planners' targets are worked out
  from.

The functions other domains call answer plain values or small frozen
dataclasses, never ORM rows of this domain's tables.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import case, func, literal, or_, select

from core import clock
from core.db import UnitOfWork, UTCDateTime, read_only
from core.errors import Invalid, NotFound
from core.i18n import gettext
from core.pagination import Page, PageRequest, paginate
from depots.models import City
from inventory.models import Part
from rma import kinds
from rma.models import (
    FAULT_LEVELS,
    OPEN_STATUSES,
    Contract,
    Customer,
    Escalation,
    InstalledUnit,
    Rma,
    RmaEvent,
    Site,
    Status,
)
from rma.service.promises import at_risk_condition, current_due_column, running_commitments


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
        raise NotFound(gettext("unknown RMA %(number)s", number=repr(number)))
    customer = uow.session.get(Customer, rma.customer_id)
    site = uow.session.get(Site, rma.site_id)
    events = list(
        uow.session.scalars(select(RmaEvent).where(RmaEvent.rma_id == rma.id).order_by(RmaEvent.id))
    )
    assert customer is not None and site is not None
    return RmaView(rma, customer, site, events)


@read_only
def number_of(uow: UnitOfWork, rma_id: int) -> str:
    """The number of the case with id ``rma_id`` (what messages name it by)."""
    number = uow.session.scalar(select(Rma.number).where(Rma.id == rma_id))
    if number is None:
        raise NotFound(gettext("unknown RMA %(number)s", number=rma_id))
    return number


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
        query = query.where(Rma.status == _known_status(status))
    if depot:
        query = query.where((Rma.depot_code == depot.upper()) | (Rma.return_depot == depot.upper()))
    if fault_level:
        query = query.where(Rma.fault_level == _known_level(fault_level))
    if reported_by:
        query = query.where(Rma.reported_by == reported_by)
    if open_only:
        query = query.where(Rma.status.in_(OPEN_STATUSES))
    return list(uow.session.scalars(query))


def _known_status(status: str) -> str:
    if status not in {s.value for s in Status}:
        raise Invalid(
            gettext(
                "status must be one of %(choices)s", choices=", ".join(s.value for s in Status)
            ),
            field="status",
        )
    return status


def _known_level(level: str) -> str:
    if level not in FAULT_LEVELS:
        raise Invalid(
            gettext("fault_level must be one of %(choices)s", choices=", ".join(FAULT_LEVELS)),
            field="fault_level",
        )
    return level


# --- the case lists: filtered, sorted and counted in SQL ----------------------------------------

# Sorted last when ascending: cases without a running clock.
_NO_DUE = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class CaseFilter:
    """What a case list shows: ``reported_by`` one engineer's cases; ``open_only``
    neither closed nor cancelled; one ``status``, ``fault_level``, ``kind``; ``depot``
    shipping or receiving; ``at_risk`` only cases whose promise is at risk now;
    ``reporter`` part of the reporting engineer's user name; ``text`` part of the
    customer's name (English or Chinese) or code, the site's name, the RMA number or
    the serial."""

    reported_by: str | None = None
    open_only: bool = False
    status: str | None = None
    fault_level: str | None = None
    kind: str | None = None
    depot: str | None = None
    at_risk: bool = False
    reporter: str | None = None
    text: str | None = None


def _contains(column: Any, text: str) -> Any:
    return func.lower(column).contains(text.lower(), autoescape=True)


def case_selection(selected: CaseFilter, now: datetime) -> Any:
    """(Rma, Customer, Site, City) of the cases ``selected`` picks, unordered;
    ``Invalid`` for an unknown status, fault level or kind."""
    query = (
        select(Rma, Customer, Site, City)
        .join(Customer, Customer.id == Rma.customer_id)
        .join(Site, Site.id == Rma.site_id)
        .join(City, City.id == Site.city_id)
    )
    if selected.reported_by:
        query = query.where(Rma.reported_by == selected.reported_by)
    if selected.open_only:
        query = query.where(Rma.status.in_(OPEN_STATUSES))
    if selected.status:
        query = query.where(Rma.status == _known_status(selected.status))
    if selected.fault_level:
        query = query.where(Rma.fault_level == _known_level(selected.fault_level))
    if selected.kind:
        if selected.kind not in kinds.LABELS:
            raise Invalid(
                gettext("kind must be one of %(choices)s", choices=", ".join(kinds.LABELS)),
                field="kind",
            )
        query = query.where(Rma.kind == selected.kind)
    if selected.depot:
        depot = selected.depot.strip().upper()
        query = query.where((Rma.depot_code == depot) | (Rma.return_depot == depot))
    if selected.at_risk:
        query = query.where(at_risk_condition(now))
    if selected.reporter:
        query = query.where(_contains(Rma.reported_by, selected.reporter.strip()))
    if selected.text and selected.text.strip():
        text = selected.text.strip()
        query = query.where(
            or_(
                _contains(Customer.name, text),
                _contains(Customer.name_zh, text),
                _contains(Customer.code, text),
                _contains(Site.name, text),
                _contains(Rma.number, text),
                _contains(Rma.serial, text),
            )
        )
    return query


# The columns a case list sorts on, by the key its headers send.
CASE_SORTS: tuple[str, ...] = ("number", "customer", "city", "part", "level", "status", "due")


def _case_sort_columns() -> dict[str, Any]:
    return {
        "number": Rma.id,
        "customer": Customer.name,
        "city": City.name,
        "part": Rma.part_number,
        "level": Rma.fault_level,
        "status": Rma.status,
        # Running clocks by due time, soonest (or longest overdue) first; the rest after.
        "due": func.coalesce(current_due_column(), literal(_NO_DUE, UTCDateTime)),
    }


@read_only
def page_of_cases(
    uow: UnitOfWork, selected: CaseFilter, request: PageRequest, now: datetime
) -> Page[Any]:
    """One page of (Rma, Customer, Site, City) rows of the cases ``selected`` picks,
    sorted on ``request.sort`` (one of ``CASE_SORTS``), with the selection's size."""
    return paginate(
        uow.session,
        case_selection(selected, now),
        request,
        _case_sort_columns(),
        Rma.id,
        scalars=False,
    )


@read_only
def count_cases(uow: UnitOfWork, selected: CaseFilter, now: datetime) -> int:
    """How many cases ``selected`` picks."""
    query = select(func.count()).select_from(case_selection(selected, now).subquery())
    return int(uow.session.scalar(query) or 0)


@dataclass(frozen=True)
class ClockCounts:
    """Of a whole selection: cases whose running clock is overdue, and due soon."""

    overdue: int
    due_soon: int


@read_only
def case_clock_counts(
    uow: UnitOfWork, selected: CaseFilter, now: datetime, warn_within: dict[str, Any]
) -> ClockCounts:
    """How many cases of the whole selection are overdue at ``now``, and how many are
    due within ``warn_within[commitment key]`` (a timedelta) of it."""
    base = case_selection(selected, now)
    due = current_due_column()
    soon = or_(
        *(
            condition & (column >= now) & (column <= now + warn_within[key])
            for key, column, condition in running_commitments()
        )
    )

    def count(condition: Any) -> int:
        query = select(func.count()).select_from(base.where(condition).subquery())
        return int(uow.session.scalar(query) or 0)

    return ClockCounts(overdue=count(due < now), due_soon=count(soon))


@read_only
def parties_of(uow: UnitOfWork, rmas: Iterable[Rma]) -> dict[int, tuple[Customer, Site, City]]:
    """{site id: (customer, site, city)} for the sites of ``rmas``, read in one query
    (a list of cases shows who and where each one is)."""
    site_ids = {rma.site_id for rma in rmas}
    if not site_ids:
        return {}
    rows = uow.session.execute(
        select(Customer, Site, City)
        .join(Site, Site.customer_id == Customer.id)
        .join(City, City.id == Site.city_id)
        .where(Site.id.in_(site_ids))  # type: ignore[union-attr]
    )
    return {site.id: (customer, site, city) for customer, site, city in rows}


@read_only
def reporters(uow: UnitOfWork) -> list[str]:
    """The user names that reported cases, for a list's filter."""
    return list(uow.session.scalars(select(Rma.reported_by).distinct().order_by(Rma.reported_by)))


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


@dataclass(frozen=True)
class OverdueReturn:
    """A unit that should be back and is not: the case, its customer and the site's
    city, the depot it went out from, the part and serial expected back
    (``rma.kinds.expected_back``; the serial None when unknown), the due time
    (aware UTC) and the engineer who opened the case."""

    number: str
    customer: str
    customer_zh: str
    city: str
    city_zh: str
    depot_code: str | None
    kind: str
    part_number: str
    serial: str | None
    due: datetime
    reported_by: str


@read_only
def overdue_returns(uow: UnitOfWork, now: datetime) -> list[OverdueReturn]:
    """Every unit that should be back by ``now`` and is not, by the one rule of
    ``overdue_returns_query`` (the daily reminders chase the same cases); oldest
    due first."""
    found = []
    for rma, customer, _site, city in uow.session.execute(overdue_returns_query(now)):
        expected = kinds.expected_back(rma)
        found.append(
            OverdueReturn(
                number=rma.number,
                customer=customer.name,
                customer_zh=customer.name_zh,
                city=city.name,
                city_zh=city.name_zh,
                depot_code=rma.depot_code,
                kind=rma.kind,
                part_number=expected.part_number if expected else rma.part_number,
                serial=expected.serial if expected else None,
                due=clock.as_utc(rma.due_defective_return),
                reported_by=rma.reported_by,
            )
        )
    return found


@read_only
def count_overdue_returns(uow: UnitOfWork, now: datetime) -> int:
    """How many units should be back by ``now`` and are not (``overdue_returns``)."""
    query = select(func.count()).select_from(overdue_returns_query(now).subquery())
    return int(uow.session.scalar(query) or 0)


# --- what the service-level report counts: plain rows, one query each ----------------------


@dataclass(frozen=True)
class CaseFigures:
    """One case as the service-level report counts it: what it is, who opened it,
    the depot that served it (``service``: standard or emergency), the shipping cost
    (CNY, as quoted at allocation), the customer's rating, remarks and signature, the
    instant of each step and due time (aware UTC; None until it happens), and the part
    asked for with its catalogue family, and the depot the unit comes back to
    (``return_depot``; a case is a depot's when it ships or receives there, as
    ``CaseFilter.depot`` says)."""

    number: str
    fault_level: str
    kind: str
    status: str
    reported_by: str
    depot_code: str | None
    service: str | None
    shipping_cost: Decimal | None
    rating: int | None
    remarks: str
    signed_by: str | None
    reported_at: datetime
    approved_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    due_replacement: datetime | None
    returned_at: datetime | None
    due_repair_return: datetime | None
    closed_at: datetime | None
    cancelled_at: datetime | None
    part_number: str
    family: str
    return_depot: str | None


# The field names of ``CaseFigures``, in order: the columns of a table of them.
CASE_FIGURES: tuple[str, ...] = tuple(field.name for field in fields(CaseFigures))


@read_only
def case_figures(uow: UnitOfWork, start: datetime, end: datetime) -> list[CaseFigures]:
    """Every case that can have a step from ``start`` (included) to ``end``
    (excluded): reported before ``end``, and neither closed nor cancelled before
    ``start``. One query; in no particular order."""
    columns = (Part.family if name == "family" else getattr(Rma, name) for name in CASE_FIGURES)
    query = (
        select(*columns)
        .join(Part, Part.part_number == Rma.part_number)
        .where(
            Rma.reported_at < end,
            (Rma.closed_at.is_(None)) | (Rma.closed_at >= start),
            (Rma.cancelled_at.is_(None)) | (Rma.cancelled_at >= start),
        )
    )
    return [CaseFigures(*row) for row in uow.session.execute(query)]


@dataclass(frozen=True)
class RaisedEscalation:
    """One escalation raised on a case: the RMA's number, its fault level, the rung
    (0: at risk; 1-3: the ladder) and when it was raised (aware UTC)."""

    number: str
    fault_level: str
    step: int
    raised_at: datetime


@read_only
def escalations_raised(uow: UnitOfWork, start: datetime, end: datetime) -> list[RaisedEscalation]:
    """Each escalation raised from ``start`` (included) to ``end`` (excluded), with its
    case's number; by time raised, then case and step. One query."""
    rows = uow.session.execute(
        select(Rma.number, Escalation.fault_level, Escalation.step, Escalation.raised_at)
        .join(Rma, Rma.id == Escalation.rma_id)
        .where(Escalation.raised_at >= start, Escalation.raised_at < end)
        .order_by(Escalation.raised_at, Rma.number, Escalation.step)
    )
    return [RaisedEscalation(*row) for row in rows]


@dataclass(frozen=True)
class EscalationCount:
    """Escalations raised at one fault level and rung (step 0: the case was at risk
    at allocation; 1-3: the ladder)."""

    fault_level: str
    step: int
    count: int


@read_only
def escalation_counts(uow: UnitOfWork, start: datetime, end: datetime) -> list[EscalationCount]:
    """Escalations raised from ``start`` (included) to ``end`` (excluded), counted by
    fault level and step; pairs without any are left out."""
    rows = uow.session.execute(
        select(Escalation.fault_level, Escalation.step, func.count())
        .where(Escalation.raised_at >= start, Escalation.raised_at < end)
        .group_by(Escalation.fault_level, Escalation.step)
    )
    return [EscalationCount(level, step, count) for level, step, count in rows]


@read_only
def count_open(uow: UnitOfWork) -> int:
    """How many cases are open now (neither closed nor cancelled)."""
    query = select(func.count(Rma.id)).where(Rma.status.in_(OPEN_STATUSES))
    return int(uow.session.scalar(query) or 0)


# --- what the planners' targets are worked out from ----------------------------------------


@dataclass(frozen=True)
class PartCityCount:
    """How many cases (or installed units) of a part at sites in one city."""

    part_number: str
    city_id: int
    count: int


@read_only
def cases_by_part_and_city(
    uow: UnitOfWork, *, since: datetime, of_kinds: Iterable[str]
) -> list[PartCityCount]:
    """Cases of ``of_kinds`` reported at or after ``since``, counted by the part asked
    for and the city of the case's site; pairs without any are left out."""
    rows = uow.session.execute(
        select(Rma.part_number, Site.city_id, func.count())
        .join(Site, Site.id == Rma.site_id)
        .where(Rma.reported_at >= since, Rma.kind.in_(list(of_kinds)))
        .group_by(Rma.part_number, Site.city_id)
    )
    return [PartCityCount(part, city_id, count) for part, city_id, count in rows]


@dataclass(frozen=True)
class PartLevelCount:
    """How many cases of a part were raised at one fault level."""

    part_number: str
    fault_level: str
    count: int


@read_only
def cases_by_part_and_level(
    uow: UnitOfWork, *, since: datetime, of_kinds: Iterable[str]
) -> list[PartLevelCount]:
    """Cases of ``of_kinds`` reported at or after ``since``, counted by the part asked
    for and the fault level; pairs without any are left out."""
    rows = uow.session.execute(
        select(Rma.part_number, Rma.fault_level, func.count())
        .where(Rma.reported_at >= since, Rma.kind.in_(list(of_kinds)))
        .group_by(Rma.part_number, Rma.fault_level)
    )
    return [PartLevelCount(part, level, count) for part, level, count in rows]


@read_only
def approval_instants(
    uow: UnitOfWork, *, since: datetime, of_kinds: Iterable[str]
) -> list[datetime]:
    """When each case of ``of_kinds`` reported at or after ``since`` was approved
    (aware UTC), for the cases approved."""
    return [
        clock.as_utc(instant)
        for instant in uow.session.scalars(
            select(Rma.approved_at).where(
                Rma.approved_at.is_not(None),
                Rma.reported_at >= since,
                Rma.kind.in_(list(of_kinds)),
            )
        )
    ]


@read_only
def installed_by_part_and_city(uow: UnitOfWork) -> list[PartCityCount]:
    """Active installed units (not replaced and taken back), counted by part and the
    city of their site; pairs without any are left out."""
    rows = uow.session.execute(
        select(InstalledUnit.part_number, Site.city_id, func.count())
        .join(Site, Site.id == InstalledUnit.site_id)
        .where(InstalledUnit.active)
        .group_by(InstalledUnit.part_number, Site.city_id)
    )
    return [PartCityCount(part, city_id, count) for part, city_id, count in rows]


@dataclass(frozen=True)
class PartCityCoverageCount:
    """How many cases (or installed units) of a part in one city under one contract
    coverage class (``rma.models.COVERAGES``)."""

    part_number: str
    city_id: int
    coverage: str
    count: int


@read_only
def cases_by_part_city_and_coverage(
    uow: UnitOfWork, *, since: datetime, of_kinds: Iterable[str]
) -> list[PartCityCoverageCount]:
    """Cases of ``of_kinds`` reported at or after ``since``, counted by the part asked
    for, the city of the case's site and the coverage the case was opened under."""
    rows = uow.session.execute(
        select(Rma.part_number, Site.city_id, Rma.coverage, func.count())
        .join(Site, Site.id == Rma.site_id)
        .where(Rma.reported_at >= since, Rma.kind.in_(list(of_kinds)))
        .group_by(Rma.part_number, Site.city_id, Rma.coverage)
    )
    return [PartCityCoverageCount(*row) for row in rows]


@read_only
def installed_by_part_city_and_coverage(uow: UnitOfWork) -> list[PartCityCoverageCount]:
    """Active installed units counted by part, city and their contract's coverage (a
    unit without a contract counts under the default coverage, as a case opened for
    it would be)."""
    default = Rma.model_fields["coverage"].default
    rows = uow.session.execute(
        select(InstalledUnit.part_number, Site.city_id, Contract.coverage, func.count())
        .join(Site, Site.id == InstalledUnit.site_id)
        .outerjoin(Contract, Contract.id == InstalledUnit.contract_id)
        .where(InstalledUnit.active)
        .group_by(InstalledUnit.part_number, Site.city_id, Contract.coverage)
    )
    return [
        PartCityCoverageCount(part, city_id, coverage or default, count)
        for part, city_id, coverage, count in rows
    ]


# --- what a case keeps as JSON text: its depot alternatives and its events' details ----------

ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


@dataclass(frozen=True)
class EmergencyView:
    """A depot's emergency-courier option for the case, booked or not, and why (the
    English note, and as a code with arguments: ``optimizer.depot_choice``)."""

    ships_at: datetime | None
    arrival: datetime | None
    cost: Decimal | None
    booked: bool
    note: str
    note_code: str = ""
    note_args: dict[str, Any] = field(default_factory=dict)


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
    reason_code: str = ""  # "" for alternatives stored before reasons had codes
    reason_args: dict[str, Any] = field(default_factory=dict)


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
            reason_code=str(item.get("reason_code") or ""),
            reason_args=_args(item.get("reason_args")),
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
        note_code=str(item.get("note_code") or ""),
        note_args=_args(item.get("note_args")),
    )


def _args(item: object) -> dict[str, Any]:
    return dict(item) if isinstance(item, dict) else {}


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


# --- what the ageing report reads: the open cases now, and the chasing of overdue returns ---


@dataclass(frozen=True)
class OpenCase:
    """An open case as the ageing report counts it: what it is, whose, where, the
    part and its family, when it was reported, whether its promise is at risk at
    the moment asked about (``promises.at_risk_condition``), the due time of the
    commitment it works towards (``promises.current_due_column``; None when no
    clock runs) and what it waits to get back (``kinds.expected_back``' ``what``,
    "" when nothing)."""

    number: str
    status: str
    kind: str
    fault_level: str
    customer: str
    customer_zh: str
    city: str
    city_zh: str
    depot_code: str | None
    return_depot: str | None
    reported_by: str
    part_number: str
    family: str
    reported_at: datetime
    at_risk: bool
    due: datetime | None
    expected_back: str


@read_only
def open_cases(uow: UnitOfWork, now: datetime) -> list[OpenCase]:
    """Every case open at ``now`` (neither closed nor cancelled), oldest first. One
    query."""
    at_risk = case((at_risk_condition(now), True), else_=False)
    rows = uow.session.execute(
        select(
            Rma,
            Customer.name,
            Customer.name_zh,
            City.name,
            City.name_zh,
            Part.family,
            at_risk,
            current_due_column(),
        )
        .join(Customer, Customer.id == Rma.customer_id)
        .join(Site, Site.id == Rma.site_id)
        .join(City, City.id == Site.city_id)
        .join(Part, Part.part_number == Rma.part_number)
        .where(Rma.status.in_(OPEN_STATUSES))
        .order_by(Rma.reported_at, Rma.id)
    )
    found = []
    for rma, customer, customer_zh, city, city_zh, family, risky, due in rows:
        expected = kinds.expected_back(rma)
        found.append(
            OpenCase(
                number=rma.number,
                status=rma.status,
                kind=rma.kind,
                fault_level=rma.fault_level,
                customer=customer,
                customer_zh=customer_zh,
                city=city,
                city_zh=city_zh,
                depot_code=rma.depot_code,
                return_depot=rma.return_depot,
                reported_by=rma.reported_by,
                part_number=rma.part_number,
                family=family,
                reported_at=clock.as_utc(rma.reported_at),
                at_risk=bool(risky),
                due=clock.as_utc(due) if due is not None else None,
                expected_back=expected.what if expected else "",
            )
        )
    return found


# The action of the history event that records a reminder about an overdue return.
CHASE_RETURN = "chase-return"


@dataclass(frozen=True)
class ReturnChase:
    """One reminder about a unit overdue for return: the case, when it was sent and
    to whom."""

    number: str
    at: datetime
    to: tuple[str, ...]


@read_only
def overdue_return_chases(uow: UnitOfWork, now: datetime) -> list[ReturnChase]:
    """Every reminder ever recorded on the cases whose unit is overdue at ``now``
    (``overdue_returns_query``' rule), by case and time. One query."""
    overdue = overdue_returns_query(now).with_only_columns(Rma.id).order_by(None)
    rows = uow.session.execute(
        select(Rma.number, RmaEvent.at, RmaEvent.detail)
        .join(Rma, Rma.id == RmaEvent.rma_id)
        .where(RmaEvent.action == CHASE_RETURN, RmaEvent.rma_id.in_(overdue))
        .order_by(Rma.number, RmaEvent.at, RmaEvent.id)
    )
    found = []
    for number, at, detail in rows:
        recipients = event_detail(detail).get("to") or []
        found.append(
            ReturnChase(
                number,
                clock.as_utc(at),
                tuple(str(r) for r in recipients) if isinstance(recipients, list) else (),
            )
        )
    return found
