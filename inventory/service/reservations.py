"""Good stock held for an RMA: reserve, release, pick."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, lock_for_update, read_only, transactional
from core.errors import Conflict, NotFound
from inventory.models import Bucket, Location, Movement, Reservation
from inventory.service import ledger
from inventory.service.ledger import Delta
from inventory.service.stock import (
    normalize_serials,
    part_for_move,
    require_depot,
    require_qty,
    units_in_stock,
)

RESERVING_ROLES = (Role.ENGINEER, Role.PLANNER, Role.SUPERVISOR, Role.DEPOT_STAFF)


def _lock_reservation(uow: UnitOfWork, reservation_id: int) -> Reservation:
    query = select(Reservation).where(Reservation.id == reservation_id)
    reservation = uow.session.scalars(
        lock_for_update(query.execution_options(populate_existing=True), uow)
    ).first()
    if reservation is None:
        raise NotFound(f"unknown reservation {reservation_id}")
    return reservation


@transactional
def reserve(
    uow: UnitOfWork, actor: Actor, depot: str, part_number: str, qty: int, reference: str
) -> Reservation:
    """Hold ``qty`` available good units at ``depot`` for ``reference`` (e.g. an RMA).

    Raises ``InsufficientStock`` (409) when fewer are available; nothing is held then.
    """
    actor.require_role(*RESERVING_ROLES)
    depot = require_depot(uow, depot).code
    actor.require_depot(depot)
    part = part_for_move(uow, part_number)
    qty = require_qty(qty)
    reference = (reference or "").strip()[:60] or f"manual by {actor.username}"
    ledger.post(
        uow,
        "reserve",
        actor.username,
        [],
        reference=reference,
        reserved_changes={(depot, part.part_number, Bucket.GOOD.value): qty},
    )
    reservation = Reservation(
        depot_code=depot,
        part_number=part.part_number,
        qty=qty,
        reference=reference,
        created_by=actor.username,
    )
    uow.session.add(reservation)
    uow.session.flush()
    return reservation


@transactional
def release(uow: UnitOfWork, actor: Actor, reservation_id: int, *, reason: str = "") -> Reservation:
    """Give held stock back to available. Releasing twice is harmless."""
    actor.require_role(*RESERVING_ROLES)
    reservation = _lock_reservation(uow, reservation_id)
    actor.require_depot(reservation.depot_code)
    if reservation.status != "active":
        return reservation
    ledger.post(
        uow,
        "release",
        actor.username,
        [],
        reason=reason,
        reference=reservation.reference,
        reserved_changes={
            (reservation.depot_code, reservation.part_number, Bucket.GOOD.value): -reservation.qty
        },
    )
    reservation.status, reservation.closed_at = "released", clock.now()
    uow.session.add(reservation)
    return reservation


@transactional
def pick(
    uow: UnitOfWork,
    actor: Actor,
    reservation_id: int,
    serials: Sequence[str] | None = None,
    *,
    destination: str = Location.CUSTOMER,
) -> Movement:
    """Take reserved units off the shelf and out of stock (shipped to a customer).

    Serialized parts name the picked serials (scanned at the shelf); each must be
    a free good unit of the part at the reservation's depot.
    """
    reservation = _lock_reservation(uow, reservation_id)
    actor.require_role(Role.DEPOT_STAFF)
    actor.require_depot(reservation.depot_code)
    if reservation.status != "active":
        raise Conflict(f"reservation {reservation_id} is {reservation.status}, not active")
    part = part_for_move(uow, reservation.part_number)
    serials = normalize_serials(part, reservation.qty, serials)
    depot = reservation.depot_code
    for unit in units_in_stock(uow, depot, part.part_number, Bucket.GOOD, serials):
        unit.location, unit.depot_code, unit.updated_at = destination, None, clock.now()
        uow.session.add(unit)
    deltas = (
        [Delta(depot, part.part_number, Bucket.GOOD, -1, s) for s in serials]
        if serials
        else [Delta(depot, part.part_number, Bucket.GOOD, -reservation.qty)]
    )
    movement = ledger.post(
        uow,
        "pick",
        actor.username,
        deltas,
        reference=reservation.reference,
        reserved_changes={(depot, part.part_number, Bucket.GOOD.value): -reservation.qty},
    )
    reservation.status, reservation.closed_at = "picked", clock.now()
    uow.session.add(reservation)
    return movement


@read_only
def get_reservation(uow: UnitOfWork, reservation_id: int) -> Reservation:
    reservation = uow.session.get(Reservation, reservation_id)
    if reservation is None:
        raise NotFound(f"unknown reservation {reservation_id}")
    return reservation


@read_only
def list_reservations(
    uow: UnitOfWork,
    *,
    depot: str | None = None,
    reference: str | None = None,
    status: str | None = "active",
) -> list[Reservation]:
    query = select(Reservation).order_by(Reservation.id)
    if depot:
        query = query.where(Reservation.depot_code == depot.upper())
    if reference:
        query = query.where(Reservation.reference == reference)
    if status:
        query = query.where(Reservation.status == status)
    return list(uow.session.scalars(query))
