"""The lists depot staff and planners page through: stock, units, the ledger,
reservations and transfers.

Each list is one read: filtered in SQL, counted as a whole, sorted on the column
asked for (always ending on a unique column, so pages never repeat or skip a
row) and cut to one page there (``core.pagination``). The stock list also sums
every bucket, and the value, over the *whole* selection - not just the rows on
the page. The columns each list sorts on are its ``*_SORTS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from core.db import UnitOfWork, read_only
from core.errors import Invalid
from core.i18n import gettext
from core.pagination import Page, PageRequest, count_of, paginate
from inventory.labels import MOVEMENT_LABELS
from inventory.models import (
    BUCKET_NAMES,
    FAMILIES,
    LedgerEntry,
    Location,
    Movement,
    Part,
    PartStock,
    Reservation,
    StockBin,
    Transfer,
    TransferLine,
    Unit,
)
from inventory.service.transfers import TransferView, require_status, views_of

# --- stock ----------------------------------------------------------------------------------

STOCK_SORTS = (
    "depot",
    "part",
    "description",
    "bin",
    "good",
    "reserved",
    "available",
    "defective",
    "in_repair",
    "quarantine",
    "in_transit",
    "value",
)


@dataclass(frozen=True)
class StockFilters:
    """What a stock list shows: one depot or all, a text in part number or
    description, a family, rows holding some of one condition (``condition``), and
    whether rows with nothing at all are left out."""

    depot: str | None = None
    search: str | None = None
    family: str | None = None
    condition: str | None = None
    part_number: str | None = None
    nonzero: bool = True

    def checked(self) -> StockFilters:
        if self.condition is not None and self.condition not in BUCKET_NAMES:
            raise Invalid(
                gettext("condition must be one of %(names)s", names=", ".join(BUCKET_NAMES))
            )
        if self.family is not None and self.family not in FAMILIES:
            raise Invalid(gettext("family must be one of %(names)s", names=", ".join(FAMILIES)))
        return self


@dataclass(frozen=True)
class StockLine:
    """One (depot, part) of the stock list: every bucket, the part's default bin at
    the depot and the value of what is there and on its way (catalogue cost)."""

    depot: str
    part_number: str
    description: str
    family: str
    bin: str | None
    good: int
    reserved: int
    available: int
    defective: int
    in_repair: int
    quarantine: int
    in_transit: int
    value: Decimal


@dataclass(frozen=True)
class StockTotals:
    """The sums of the whole selection (every page), and how many rows it has."""

    rows: int
    good: int
    reserved: int
    available: int
    defective: int
    in_repair: int
    quarantine: int
    in_transit: int
    value: Decimal


@dataclass(frozen=True)
class StockPage:
    page: Page[StockLine]
    totals: StockTotals


def _stock_selection(filters: StockFilters) -> Any:
    """The filtered (depot, part) rows of ``part_stock`` (every bucket side by side,
    kept by the ledger), with the part's catalogue text, bin and value."""
    ps = PartStock
    query = (
        select(
            ps.depot_code.label("depot"),
            ps.part_number.label("part"),
            Part.description,
            Part.family,
            StockBin.bin,
            ps.good,
            ps.reserved,
            (ps.good - ps.reserved).label("available"),
            ps.defective,
            ps.in_repair,
            ps.quarantine,
            ps.in_transit,
            (ps.units * Part.unit_cost).label("value"),
        )
        .join(Part, Part.part_number == ps.part_number)
        .outerjoin(
            StockBin,
            and_(StockBin.depot_code == ps.depot_code, StockBin.part_number == ps.part_number),
        )
    )
    return query.where(*stock_conditions(filters))


def stock_conditions(filters: StockFilters) -> list[Any]:
    """The WHERE conditions of a stock selection over ``part_stock`` and ``part`` (the
    stock list and ``queries.stock`` alike); ``filters`` as given, unchecked."""
    ps = PartStock
    conditions: list[Any] = []
    if filters.depot:
        conditions.append(ps.depot_code == filters.depot.strip().upper())
    if filters.part_number:
        conditions.append(ps.part_number == filters.part_number.strip().upper())
    if filters.condition:
        conditions.append(getattr(ps, filters.condition) > 0)
    elif filters.nonzero:
        conditions.append(ps.units > 0)
    if filters.family:
        conditions.append(Part.family == filters.family)
    if filters.search:
        term = filters.search.strip().lower()  # % and _ match themselves (autoescape)
        conditions.append(
            func.lower(Part.part_number).contains(term, autoescape=True)
            | func.lower(Part.description).contains(term, autoescape=True)
        )
    return conditions


@read_only
def stock_page(uow: UnitOfWork, filters: StockFilters, request: PageRequest) -> StockPage:
    """One page of stock per (depot, part), sorted on ``request.sort`` (``STOCK_SORTS``),
    and the totals of the whole selection (counted in the same pass)."""
    filters = filters.checked()
    ps = PartStock
    sums = uow.session.execute(
        select(
            func.count(),
            *(
                func.coalesce(func.sum(column), 0)
                for column in (
                    ps.good,
                    ps.reserved,
                    ps.good - ps.reserved,
                    ps.defective,
                    ps.in_repair,
                    ps.quarantine,
                    ps.in_transit,
                    ps.units * Part.unit_cost,
                )
            ),
        )
        .select_from(ps)
        .join(Part, Part.part_number == ps.part_number)
        .where(*stock_conditions(filters))
    ).one()
    totals = StockTotals(int(sums[0]), *(int(value) for value in sums[1:8]), _money(sums[8]))
    available = ps.good - ps.reserved
    sorts = {
        "depot": ps.depot_code,
        "part": ps.part_number,
        "description": Part.description,
        "bin": StockBin.bin,
        "good": ps.good,
        "reserved": ps.reserved,
        "available": available,
        "defective": ps.defective,
        "in_repair": ps.in_repair,
        "quarantine": ps.quarantine,
        "in_transit": ps.in_transit,
        "value": ps.units * Part.unit_cost,
    }
    found = paginate(
        uow.session,
        _stock_selection(filters),
        request,
        sorts,
        (ps.part_number, ps.depot_code),
        scalars=False,
        total=totals.rows,
    )
    items = [_stock_line(row) for row in found.items]
    return StockPage(Page(items, found.total, found.request), totals)


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _stock_line(row: Any) -> StockLine:
    (depot, part, description, family, place, good, reserved, available) = row[:8]
    defective, in_repair, quarantine, in_transit, value = row[8:]
    return StockLine(
        depot,
        part,
        description,
        family,
        place,
        int(good),
        int(reserved),
        int(available),
        int(defective),
        int(in_repair),
        int(quarantine),
        int(in_transit),
        _money(value),
    )


# --- units ----------------------------------------------------------------------------------

UNIT_SORTS = ("serial", "part", "condition", "location", "depot", "bin", "updated")


@dataclass(frozen=True)
class UnitFilters:
    """Which serialized units: at or on the way to a depot, of a part or family, in a
    condition or location, whose serial contains a text."""

    depot: str | None = None
    part_number: str | None = None
    family: str | None = None
    condition: str | None = None
    location: str | None = None
    serial: str | None = None


@dataclass(frozen=True)
class UnitLine:
    """A unit as the list shows it; ``bin`` is its own, else its part's default bin
    at its depot (only for a unit on a shelf)."""

    unit: Unit
    description: str
    bin: str | None


@read_only
def units_page(uow: UnitOfWork, filters: UnitFilters, request: PageRequest) -> Page[UnitLine]:
    """One page of serialized units, sorted on ``request.sort`` (``UNIT_SORTS``)."""
    place = case(
        (Unit.location == Location.DEPOT, func.coalesce(Unit.bin, StockBin.bin)), else_=None
    )
    query = (
        select(Unit, Part.description, place.label("bin"))
        .join(Part, Part.part_number == Unit.part_number)
        .outerjoin(
            StockBin,
            and_(StockBin.depot_code == Unit.depot_code, StockBin.part_number == Unit.part_number),
        )
    )
    if filters.depot:
        query = query.where(Unit.depot_code == filters.depot.strip().upper())
    if filters.part_number:
        query = query.where(Unit.part_number == filters.part_number.strip().upper())
    if filters.family:
        query = query.where(Part.family == filters.family)
    if filters.condition:
        query = query.where(Unit.condition == filters.condition)
    if filters.location:
        query = query.where(Unit.location == filters.location)
    if filters.serial:
        query = query.where(Unit.serial.contains(filters.serial.strip().upper(), autoescape=True))
    sorts = {
        "serial": Unit.serial,
        "part": Unit.part_number,
        "condition": Unit.condition,
        "location": Unit.location,
        "depot": Unit.depot_code,
        "bin": place,
        "updated": Unit.updated_at,
    }
    found = paginate(uow.session, query, request, sorts, Unit.serial, scalars=False)
    lines = [UnitLine(unit, description, bin_) for unit, description, bin_ in found.items]
    return Page(lines, found.total, found.request)


# --- the ledger -----------------------------------------------------------------------------

LEDGER_SORTS = ("at", "depot", "part", "kind", "bucket", "qty", "serial", "reference")


@dataclass(frozen=True)
class LedgerFilters:
    depot: str | None = None
    part_number: str | None = None
    serial: str | None = None
    reference: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class LedgerRow:
    """One ledger entry with its movement, as the ledger list shows it."""

    entry: LedgerEntry
    movement: Movement


@read_only
def ledger_page(uow: UnitOfWork, filters: LedgerFilters, request: PageRequest) -> Page[LedgerRow]:
    """One page of ledger entries with their movements (``LEDGER_SORTS``; newest
    first by default)."""
    of_entries: list[Any] = []
    if filters.depot:
        of_entries.append(LedgerEntry.depot_code == filters.depot.strip().upper())
    if filters.part_number:
        of_entries.append(LedgerEntry.part_number == filters.part_number.strip().upper())
    if filters.serial:
        of_entries.append(LedgerEntry.serial == filters.serial.strip().upper())
    of_movements: list[Any] = []
    if filters.reference:
        of_movements.append(Movement.reference == filters.reference.strip())
    if filters.kind:
        of_movements.append(Movement.kind == filters.kind)
    joined = select(LedgerEntry, Movement).join(Movement, Movement.id == LedgerEntry.movement_id)
    query = joined.where(*of_entries, *of_movements)
    # Counted on the entries alone, which an index answers, unless a movement's
    # column filters them: joining a million movements only to count them took seconds.
    counted = query if of_movements else select(LedgerEntry.id).where(*of_entries)
    sorts = {
        "at": LedgerEntry.id,
        "depot": LedgerEntry.depot_code,
        "part": LedgerEntry.part_number,
        "kind": Movement.kind,
        "bucket": LedgerEntry.bucket,
        "qty": LedgerEntry.qty,
        "serial": LedgerEntry.serial,
        "reference": Movement.reference,
    }
    found = paginate(
        uow.session,
        query,
        request,
        sorts,
        LedgerEntry.id,
        scalars=False,
        total=count_of(uow.session, counted),
    )
    return Page(
        [LedgerRow(entry, movement) for entry, movement in found.items], found.total, found.request
    )


def movement_kinds() -> list[str]:
    """The kinds of movement a ledger filter offers: every kind the ledger's posting
    knows (``inventory.labels``), not a DISTINCT over a million movements per page."""
    return sorted(MOVEMENT_LABELS)


# --- reservations ---------------------------------------------------------------------------

RESERVATION_SORTS = ("id", "depot", "part", "qty", "reference", "status", "created", "closed")


@dataclass(frozen=True)
class ReservationFilters:
    depot: str | None = None
    part_number: str | None = None
    status: str | None = None
    reference: str | None = None


@read_only
def reservations_page(
    uow: UnitOfWork, filters: ReservationFilters, request: PageRequest
) -> Page[Reservation]:
    """One page of reservations (``RESERVATION_SORTS``)."""
    query = select(Reservation)
    if filters.depot:
        query = query.where(Reservation.depot_code == filters.depot.strip().upper())
    if filters.part_number:
        query = query.where(Reservation.part_number == filters.part_number.strip().upper())
    if filters.status:
        query = query.where(Reservation.status == filters.status)
    if filters.reference:
        query = query.where(
            Reservation.reference.contains(filters.reference.strip(), autoescape=True)
        )
    sorts = {
        "id": Reservation.id,
        "depot": Reservation.depot_code,
        "part": Reservation.part_number,
        "qty": Reservation.qty,
        "reference": Reservation.reference,
        "status": Reservation.status,
        "created": Reservation.created_at,
        "closed": Reservation.closed_at,
    }
    return paginate(uow.session, query, request, sorts, Reservation.id)


# --- transfers ------------------------------------------------------------------------------

TRANSFER_SORTS = ("code", "from", "to", "status", "created", "shipped", "received")


@dataclass(frozen=True)
class TransferFilters:
    """Transfers from or to a depot, in a status, carrying a part."""

    depot: str | None = None
    status: str | None = None
    part_number: str | None = None


@read_only
def transfers_page(
    uow: UnitOfWork, filters: TransferFilters, request: PageRequest
) -> Page[TransferView]:
    """One page of transfers with their lines, serials and discrepancies
    (``TRANSFER_SORTS``; newest first by default)."""
    query = select(Transfer)
    if require_status(filters.status):
        query = query.where(Transfer.status == filters.status)
    if filters.depot:
        depot = filters.depot.strip().upper()
        query = query.where(or_(Transfer.from_depot == depot, Transfer.to_depot == depot))
    if filters.part_number:
        carrying = select(TransferLine.transfer_id).where(
            TransferLine.part_number == filters.part_number.strip().upper()
        )
        query = query.where(Transfer.id.in_(carrying))
    sorts = {
        "code": Transfer.id,
        "from": Transfer.from_depot,
        "to": Transfer.to_depot,
        "status": Transfer.status,
        "created": Transfer.created_at,
        "shipped": Transfer.shipped_at,
        "received": Transfer.received_at,
    }
    found = paginate(uow.session, query, request, sorts, Transfer.id)
    return Page(views_of(uow, found.items), found.total, found.request)
