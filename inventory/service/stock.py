"""Checks and unit look-ups shared by every stock use case."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from sqlalchemy import select

from core.auth import Actor, Role
from core.db import UnitOfWork, lock_for_update
from core.errors import Conflict, InsufficientStock, Invalid, NotFound
from depots.models import Depot
from inventory.models import CONDITIONS, Location, Part, Unit
from inventory.service.catalog import get_part_row

SERIAL_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._/-]{2,63}$")
CONDITION_NAMES = tuple(c.value for c in CONDITIONS)
MAX_QTY = 100_000


def require_depot(uow: UnitOfWork, code: str) -> Depot:
    depot = uow.session.get(Depot, (code or "").strip().upper())
    if depot is None:
        raise NotFound(f"unknown depot {code!r}")
    return depot


def require_staff_of(actor: Actor, depot_code: str) -> None:
    """Stock moves are depot staff's work, at their own depot (admins may act anywhere)."""
    actor.require_role(Role.DEPOT_STAFF)
    actor.require_depot(depot_code)


def require_condition(bucket: str) -> str:
    if bucket not in CONDITION_NAMES:
        raise Invalid(f"condition must be one of {', '.join(CONDITION_NAMES)}")
    return bucket


def require_qty(qty: int, *, allow_negative: bool = False) -> int:
    if isinstance(qty, bool) or not isinstance(qty, int):
        raise Invalid("qty must be a whole number")
    if qty == 0 or (qty < 0 and not allow_negative):
        raise Invalid("qty must be a positive whole number")
    if abs(qty) > MAX_QTY:
        raise Invalid(f"qty must be at most {MAX_QTY}")
    return qty


def normalize_serials(part: Part, qty: int, serials: Sequence[str] | None) -> list[str]:
    """Serials for a move of ``qty`` units of ``part``: exactly one per unit of a
    serialized part, none for a bulk part, no duplicates, well formed."""
    cleaned = [s.strip().upper() for s in (serials or []) if s and s.strip()]
    if not part.serialized:
        if cleaned:
            raise Invalid(f"{part.part_number} is not serialized; give no serials")
        return []
    if len(cleaned) != abs(qty):
        raise Invalid(
            f"{part.part_number} is serialized: give {abs(qty)} serial(s), got {len(cleaned)}"
        )
    duplicates = sorted({s for s in cleaned if cleaned.count(s) > 1})
    if duplicates:
        raise Invalid(f"serial given twice: {', '.join(duplicates)}")
    bad = [s for s in cleaned if not SERIAL_PATTERN.match(s)]
    if bad:
        raise Invalid(f"malformed serial: {', '.join(bad[:5])} (3-64 letters, digits, . _ / -)")
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
            raise NotFound(f"unknown serial {serial}")
        where = (unit.location, unit.depot_code, unit.part_number, unit.condition)
        if where != (Location.DEPOT, depot, part_number, bucket):
            raise Conflict(
                f"serial {serial} is not {bucket} {part_number} at {depot} "
                f"(it is {unit.condition} {unit.part_number}, {describe_location(unit)})"
            )
        if unit.reservation_id is not None and not allow_reserved:
            raise Conflict(f"serial {serial} is reserved ({unit.reservation_id}); release it first")
        result.append(unit)
    return result


def pick_free_units(uow: UnitOfWork, depot: str, part_number: str, qty: int) -> list[Unit]:
    """Lock ``qty`` unreserved good units of a serialized part at ``depot``, oldest serial
    first (the units' lock order within one part)."""
    query = (
        select(Unit)
        .where(
            Unit.depot_code == depot,
            Unit.part_number == part_number,
            Unit.location == Location.DEPOT,
            Unit.condition == "good",
            Unit.reservation_id.is_(None),
        )
        .order_by(Unit.serial)
        .limit(qty)
        .execution_options(populate_existing=True)
    )
    units = list(uow.session.scalars(lock_for_update(query, uow)))
    if len(units) < qty:
        raise InsufficientStock(
            f"{depot} has {len(units)} free good units of {part_number}; {qty} needed",
            depot=depot,
            part_number=part_number,
            bucket="good",
            available=len(units),
        )
    return units


def describe_location(unit: Unit) -> str:
    if unit.location == Location.DEPOT:
        return f"at {unit.depot_code}"
    if unit.location == Location.IN_TRANSIT:
        return f"in transit to {unit.depot_code}"
    return str(unit.location).replace("_", " ")


def part_for_move(uow: UnitOfWork, part_number: str) -> Part:
    return get_part_row(uow, part_number)
