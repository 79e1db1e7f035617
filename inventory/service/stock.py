"""Checks and unit look-ups shared by every stock use case.

Messages of refused steps are translated when raised (``gettext``): a page shows
them in the reader's language, the API and the CLI in English.

Picking order: of a part's free good units at a depot, the one that has waited
longest on that shelf goes first (by the movement that last brought it into the
depot's good stock, oldest first; units that came in together by serial). The
pick list suggests units in this order, and a transfer shipped without scanned
serials takes them in this order, so what the page suggests is what leaves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, select

from core.auth import Actor, Role
from core.db import UnitOfWork, lock_for_update
from core.errors import Conflict, Contended, InsufficientStock, Invalid, NotFound
from core.i18n import gettext
from depots.models import Depot
from inventory.labels import BUCKET_LABELS, LOCATION_LABELS, label
from inventory.models import CONDITIONS, LedgerEntry, Location, Part, StockBin, Unit
from inventory.service.catalog import get_part_row, get_part_rows

SERIAL_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._/-]{2,63}$")
CONDITION_NAMES = tuple(c.value for c in CONDITIONS)
MAX_QTY = 100_000


def require_depot(uow: UnitOfWork, code: str) -> Depot:
    depot = uow.session.get(Depot, (code or "").strip().upper())
    if depot is None:
        raise NotFound(gettext("unknown depot %(code)r", code=code))
    return depot


def require_staff_of(actor: Actor, depot_code: str) -> None:
    """Stock moves are depot staff's work, at their own depot (admins may act anywhere)."""
    actor.require_role(Role.DEPOT_STAFF)
    actor.require_depot(depot_code)


def require_condition(bucket: str) -> str:
    if bucket not in CONDITION_NAMES:
        raise Invalid(
            gettext("condition must be one of %(names)s", names=", ".join(CONDITION_NAMES))
        )
    return bucket


def require_qty(qty: int, *, allow_negative: bool = False) -> int:
    if isinstance(qty, bool) or not isinstance(qty, int):
        raise Invalid(gettext("qty must be a whole number"))
    if qty == 0 or (qty < 0 and not allow_negative):
        raise Invalid(gettext("qty must be a positive whole number"))
    if abs(qty) > MAX_QTY:
        raise Invalid(gettext("qty must be at most %(limit)s", limit=MAX_QTY))
    return qty


def normalize_serials(part: Part, qty: int, serials: Sequence[str] | None) -> list[str]:
    """Serials for a move of ``qty`` units of ``part``: exactly one per unit of a
    serialized part, none for a bulk part, no duplicates, well formed."""
    cleaned = [s.strip().upper() for s in (serials or []) if s and s.strip()]
    if not part.serialized:
        if cleaned:
            raise Invalid(
                gettext("%(part)s is not serialized; give no serials", part=part.part_number)
            )
        return []
    if len(cleaned) != abs(qty):
        raise Invalid(
            gettext(
                "%(part)s is serialized: give %(wanted)s serial(s), got %(got)s",
                part=part.part_number,
                wanted=abs(qty),
                got=len(cleaned),
            )
        )
    duplicates = sorted({s for s in cleaned if cleaned.count(s) > 1})
    if duplicates:
        raise Invalid(gettext("serial given twice: %(serials)s", serials=", ".join(duplicates)))
    bad = [s for s in cleaned if not SERIAL_PATTERN.match(s)]
    if bad:
        raise Invalid(
            gettext(
                "malformed serial: %(serials)s (3-64 letters, digits, . _ / -)",
                serials=", ".join(bad[:5]),
            )
        )
    return cleaned


def lock_units(uow: UnitOfWork, serials: Iterable[str]) -> dict[str, Unit]:
    """The units with these serials that exist, locked in the units' lock order
    (part number, then serial: see ``inventory.service``) in one statement."""
    ordered = sorted(set(serials))
    if not ordered:
        return {}
    query = select(Unit).where(Unit.serial.in_(ordered)).order_by(Unit.part_number, Unit.serial)
    query = query.execution_options(populate_existing=True)
    return {u.serial: u for u in uow.session.scalars(lock_for_update(query, uow))}


def units_in_stock(
    uow: UnitOfWork,
    depot: str,
    part_number: str,
    bucket: str,
    serials: Sequence[str],
    *,
    allow_reserved: bool = False,
) -> list[Unit]:
    """Lock and return the named units, each of which must sit in (depot, part, bucket)."""
    units = lock_units(uow, serials)
    result = []
    for serial in serials:
        unit = units.get(serial)
        if unit is None:
            raise NotFound(gettext("unknown serial %(serial)s", serial=serial))
        where = (unit.location, unit.depot_code, unit.part_number, unit.condition)
        if where != (Location.DEPOT, depot, part_number, bucket):
            raise Conflict(
                gettext(
                    "serial %(serial)s is not %(bucket)s %(part)s at %(depot)s (it is "
                    "%(condition)s %(unit_part)s, %(where)s)",
                    serial=serial,
                    bucket=label(BUCKET_LABELS, bucket),
                    part=part_number,
                    depot=depot,
                    condition=label(BUCKET_LABELS, unit.condition),
                    unit_part=unit.part_number,
                    where=describe_location(unit),
                )
            )
        if unit.reservation_id is not None and not allow_reserved:
            raise Conflict(
                gettext(
                    "serial %(serial)s is reserved (%(reservation)s); release it first",
                    serial=serial,
                    reservation=unit.reservation_id,
                )
            )
        result.append(unit)
    return result


@dataclass(frozen=True)
class PickCandidate:
    """A free good unit as the picking order offers it: its serial and where it sits
    (its own bin, else the part's default bin at the depot; None when neither is set)."""

    serial: str
    bin: str | None


def free_units_in_pick_order(
    uow: UnitOfWork, depot: str, part_number: str, limit: int
) -> list[PickCandidate]:
    """Up to ``limit`` unreserved good units of a serialized part at ``depot`` in the
    picking order (longest on this depot's good shelf first, then by serial), with
    their bins. Reads only: nothing is locked. (One grouped read of the part's
    ledger entries at the depot, on the ledger's depot and part index.)"""
    arrived = (
        select(LedgerEntry.serial, func.max(LedgerEntry.movement_id).label("movement"))
        .where(
            LedgerEntry.depot_code == depot,
            LedgerEntry.part_number == part_number,
            LedgerEntry.bucket == "good",
            LedgerEntry.qty > 0,
            LedgerEntry.serial.is_not(None),
        )
        .group_by(LedgerEntry.serial)
        .subquery()
    )
    query = (
        select(Unit.serial, func.coalesce(Unit.bin, StockBin.bin))
        .outerjoin(arrived, arrived.c.serial == Unit.serial)
        .outerjoin(
            StockBin,
            and_(StockBin.depot_code == Unit.depot_code, StockBin.part_number == Unit.part_number),
        )
        .where(
            Unit.depot_code == depot,
            Unit.part_number == part_number,
            Unit.location == Location.DEPOT,
            Unit.condition == "good",
            Unit.reservation_id.is_(None),
        )
        .order_by(func.coalesce(arrived.c.movement, 0), Unit.serial)
        .limit(max(limit, 0))
    )
    return [PickCandidate(serial, place) for serial, place in uow.session.execute(query)]


def pick_free_units(uow: UnitOfWork, depot: str, part_number: str, qty: int) -> list[Unit]:
    """Lock ``qty`` unreserved good units of a serialized part at ``depot``, chosen in
    the picking order (see the module). The candidates are read first and then
    locked together in the units' lock order (part number, serial).

    A candidate another writer took meanwhile (PostgreSQL only: SQLite's writer lock
    is held from the start) cannot be replaced here: the others are locked already,
    and locking a replacement after them could break the lock order and deadlock
    with a writer that locks in it. ``Contended`` makes the unit of work run the use
    case again from the start, with no lock held."""
    candidates = free_units_in_pick_order(uow, depot, part_number, qty)
    if len(candidates) == qty:
        locked = lock_units(uow, [c.serial for c in candidates])
        units = [locked[c.serial] for c in candidates if c.serial in locked]
        if len(units) == qty and all(
            (u.location, u.depot_code, u.part_number, u.condition, u.reservation_id)
            == (Location.DEPOT, depot, part_number, "good", None)
            for u in units
        ):
            return units
        raise Contended(
            gettext(
                "%(part)s units at %(depot)s were taken by another move meanwhile; try again",
                part=part_number,
                depot=depot,
            )
        )
    free = len(candidates)
    raise InsufficientStock(
        gettext(
            "%(depot)s has %(free)s free good units of %(part)s; %(needed)s needed",
            depot=depot,
            free=free,
            part=part_number,
            needed=qty,
        ),
        depot=depot,
        part_number=part_number,
        bucket="good",
        available=free,
    )


def describe_location(unit: Unit) -> str:
    """Where a unit is, in the reader's language ("at SH", "in transit to SH", "missing")."""
    if unit.location == Location.DEPOT:
        return gettext("at %(depot)s", depot=unit.depot_code)
    if unit.location == Location.IN_TRANSIT:
        return gettext("in transit to %(depot)s", depot=unit.depot_code)
    return label(LOCATION_LABELS, unit.location)


def part_for_move(uow: UnitOfWork, part_number: str) -> Part:
    return get_part_row(uow, part_number)


def parts_for_move(uow: UnitOfWork, part_numbers: Iterable[str]) -> dict[str, Part]:
    """The parts of a move of several lines, by part number, in one query."""
    return get_part_rows(uow, part_numbers)
