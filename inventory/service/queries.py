"""What depot staff and planners read: stock, the ledger, units and their history,
and what to pick next (``pick_suggestions``, ``units_to_ship``).

The functions other domains call (the planners' targets, the reports) answer
plain values or small frozen dataclasses: ``part_numbers`` and ``part_costs``
(the catalogue), ``stock_positions`` (good and incoming stock per depot and
part, for stock health).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, func, select

from core.db import UnitOfWork, read_only
from core.errors import Invalid, NotFound
from core.i18n import gettext
from inventory.models import (
    BUCKET_NAMES,
    LedgerEntry,
    Movement,
    Part,
    PartStock,
    StockBalance,
    Unit,
)
from inventory.service import bins as shelves
from inventory.service.lists import StockFilters, stock_conditions
from inventory.service.stock import PickCandidate, free_units_in_pick_order


@dataclass(frozen=True)
class StockRow:
    depot: str
    part_number: str
    description: str
    family: str
    good: int
    reserved: int
    available: int
    defective: int
    in_repair: int
    quarantine: int
    in_transit: int

    @property
    def on_hand(self) -> int:
        return self.good + self.defective + self.in_repair + self.quarantine


def _bucket_sum(bucket: str, column=StockBalance.on_hand):
    return func.coalesce(func.sum(case((StockBalance.bucket == bucket, column), else_=0)), 0)


@read_only
def stock(
    uow: UnitOfWork,
    *,
    depot: str | None = None,
    part_number: str | None = None,
    condition: str | None = None,
    search: str | None = None,
    family: str | None = None,
    nonzero: bool = True,
    limit: int = 1000,
    offset: int = 0,
) -> list[StockRow]:
    """Stock per (depot, part): each condition, reserved, available (= good - reserved)
    and in transit towards the depot. ``condition`` keeps rows that have some of it."""
    if condition is not None and condition not in BUCKET_NAMES:
        raise Invalid(gettext("condition must be one of %(names)s", names=", ".join(BUCKET_NAMES)))
    ps = PartStock
    query = (
        select(
            ps.depot_code,
            ps.part_number,
            Part.description,
            Part.family,
            ps.good,
            ps.reserved,
            ps.defective,
            ps.in_repair,
            ps.quarantine,
            ps.in_transit,
        )
        .join(Part, Part.part_number == ps.part_number)
        .where(
            *stock_conditions(
                StockFilters(
                    depot=depot,
                    search=search,
                    family=family,
                    condition=condition,
                    part_number=part_number,
                    nonzero=nonzero,
                )
            )
        )
        .order_by(ps.part_number, ps.depot_code)
    )
    rows = uow.session.execute(query.limit(limit).offset(offset)).all()
    return [
        StockRow(d, p, desc, fam, int(g), int(r), int(g) - int(r), int(df), int(ir), int(q), int(t))
        for d, p, desc, fam, g, r, df, ir, q, t in rows
    ]


@dataclass(frozen=True)
class LedgerLine:
    id: int
    at: datetime
    movement_id: int
    kind: str
    actor: str
    reason: str
    reference: str | None
    depot: str
    part_number: str
    bucket: str
    qty: int
    serial: str | None


@read_only
def ledger_lines(
    uow: UnitOfWork,
    *,
    depot: str | None = None,
    part_number: str | None = None,
    serial: str | None = None,
    reference: str | None = None,
    before_id: int | None = None,
    limit: int = 200,
) -> list[LedgerLine]:
    """Ledger entries, newest first, with their movement; page with ``before_id``."""
    query = (
        select(LedgerEntry, Movement)
        .join(Movement, Movement.id == LedgerEntry.movement_id)
        .order_by(LedgerEntry.id.desc())
        .limit(min(max(limit, 1), 5000))
    )
    if depot:
        query = query.where(LedgerEntry.depot_code == depot.strip().upper())
    if part_number:
        query = query.where(LedgerEntry.part_number == part_number.strip().upper())
    if serial:
        query = query.where(LedgerEntry.serial == serial.strip().upper())
    if reference:
        query = query.where(Movement.reference == reference)
    if before_id:
        query = query.where(LedgerEntry.id < before_id)
    return [
        LedgerLine(
            e.id,
            e.created_at,
            m.id,
            m.kind,
            m.actor,
            m.reason,
            m.reference,
            e.depot_code,
            e.part_number,
            e.bucket,
            e.qty,
            e.serial,
        )
        for e, m in uow.session.execute(query)
    ]


@read_only
def get_unit(uow: UnitOfWork, serial: str) -> tuple[Unit, list[LedgerLine]]:
    """A serialized unit and its full history, oldest first."""
    unit = uow.session.get(Unit, serial.strip().upper())
    if unit is None:
        raise NotFound(gettext("unknown serial %(serial)r", serial=serial))
    history = ledger_lines(uow, serial=unit.serial, limit=5000)
    return unit, list(reversed(history))


@read_only
def list_units(
    uow: UnitOfWork,
    *,
    depot: str | None = None,
    part_number: str | None = None,
    condition: str | None = None,
    location: str | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[Unit]:
    query = select(Unit).order_by(Unit.part_number, Unit.serial)
    if depot:
        query = query.where(Unit.depot_code == depot.strip().upper())
    if part_number:
        query = query.where(Unit.part_number == part_number.strip().upper())
    if condition:
        query = query.where(Unit.condition == condition)
    if location:
        query = query.where(Unit.location == location)
    return list(uow.session.scalars(query.limit(limit).offset(offset)))


# --- what the planners and the reports read: plain rows, one query each --------------------


@read_only
def part_numbers(uow: UnitOfWork) -> list[str]:
    """Every catalogue part number, in order."""
    return list(uow.session.scalars(select(Part.part_number).order_by(Part.part_number)))


@dataclass(frozen=True)
class PartCost:
    part_number: str
    description: str
    unit_cost: Decimal  # CNY per unit


@read_only
def part_costs(uow: UnitOfWork) -> list[PartCost]:
    """Every catalogue part's description and unit cost (CNY), by part number."""
    rows = uow.session.execute(
        select(Part.part_number, Part.description, Part.unit_cost).order_by(Part.part_number)
    )
    return [PartCost(number, description, cost) for number, description, cost in rows]


@dataclass(frozen=True)
class StockPosition:
    """Good and incoming stock of a part at a depot: good units on hand (reserved
    ones included), how many of them are reserved, and units in transit to it."""

    depot: str
    part_number: str
    good: int
    reserved: int
    in_transit: int


@read_only
def stock_positions(uow: UnitOfWork) -> list[StockPosition]:
    """Every (depot, part) with a good or in-transit balance, zero ones included, by
    depot and part. One query over the balances."""
    rows = uow.session.execute(
        select(
            StockBalance.depot_code,
            StockBalance.part_number,
            _bucket_sum("good"),
            _bucket_sum("good", StockBalance.reserved),
            _bucket_sum("in_transit"),
        )
        .where(StockBalance.bucket.in_(["good", "in_transit"]))
        .group_by(StockBalance.depot_code, StockBalance.part_number)
        .order_by(StockBalance.depot_code, StockBalance.part_number)
    )
    return [
        StockPosition(depot, part, int(good), int(reserved), int(in_transit))
        for depot, part, good, reserved, in_transit in rows
    ]


# --- what to pick: the picking order of ``inventory.service.stock`` -------------------------


@dataclass(frozen=True)
class PickSuggestion:
    """What to take off the shelf for one pick: the serial (None for a part without
    serials, or when no free unit is left) and the bin to find it in."""

    part_number: str
    serial: str | None
    bin: str | None
    serialized: bool

    @property
    def available(self) -> bool:
        """Whether a unit was found to suggest (always true for bulk parts)."""
        return self.serial is not None or not self.serialized


@read_only
def pick_suggestions(
    uow: UnitOfWork, depot: str, part_numbers: Sequence[str]
) -> list[PickSuggestion]:
    """For picks of one unit each of ``part_numbers`` at ``depot``, in that order
    (the first to leave first), the unit to take: the oldest free good unit not
    already suggested for an earlier pick, and its bin. Reads only."""
    wanted: dict[str, int] = defaultdict(int)
    for number in part_numbers:
        wanted[number.strip().upper()] += 1
    parts = {
        part.part_number: part
        for part in uow.session.scalars(select(Part).where(Part.part_number.in_(list(wanted))))
    }
    queues: dict[str, list[PickCandidate]] = {}
    for number, count in wanted.items():
        part = parts.get(number)
        if part is not None and part.serialized:
            queues[number] = free_units_in_pick_order(uow, depot, number, count)
    bins = shelves.default_bins(uow, [(depot, number) for number in wanted])
    suggestions = []
    for raw in part_numbers:
        number = raw.strip().upper()
        part = parts.get(number)
        serialized = part is not None and part.serialized
        queue = queues.get(number, [])
        if serialized and queue:
            candidate = queue.pop(0)
            suggestions.append(PickSuggestion(number, candidate.serial, candidate.bin, True))
        else:
            suggestions.append(PickSuggestion(number, None, bins.get((depot, number)), serialized))
    return suggestions


@read_only
def units_to_ship(uow: UnitOfWork, depot: str, part_number: str, qty: int) -> list[PickCandidate]:
    """The free good units a shipment of ``qty`` would take from ``depot`` when no
    serial is scanned (the picking order), with their bins."""
    return free_units_in_pick_order(uow, depot, part_number.strip().upper(), qty)
