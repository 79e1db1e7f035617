"""Good stock held for a reference: reserve, release, pick.

Two doors lead in. People (planners, engineers, depot staff) ``reserve`` and
``release`` by hand, with the role and depot checks of a person. Other domains
hold stock for a service case through ``hold_for_case`` and
``release_case_hold``: the case, not a person, needs the unit, so the rules are
the case's (one unit, from any depot's available good stock, recorded as done
for the person who moved the case on), not a disguise as an administrator.
Both doors share one posting rule: reserved never exceeds on hand.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, lock_for_update, read_only, transactional
from core.errors import Conflict, Invalid, NotFound
from core.i18n import gettext
from depots.service.snapshot import network
from inventory.labels import RESERVATION_STATUS_LABELS, label
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
        raise NotFound(gettext("unknown reservation %(id)s", id=reservation_id))
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
    reference = (reference or "").strip()[:60] or f"manual by {actor.username}"
    return _hold(uow, depot, part_number, require_qty(qty), reference, actor.username)


@transactional
def hold_for_case(
    uow: UnitOfWork, depot: str, part_number: str, case: str, *, by: str
) -> Reservation:
    """Hold one available good unit of ``part_number`` at ``depot`` for the service
    case ``case`` (e.g. an RMA number), on behalf of ``by`` (the user whose step
    asked for it, or ``system``).

    Any depot may be asked: the case's own rules chose it. Raises ``NotFound`` for
    an unknown depot or part and ``InsufficientStock`` (nothing held) when the depot
    has no available unit. Inside the caller's transaction the reservation gets its
    id at the next flush: link it by object (``Rma.reservation``).
    """
    case = (case or "").strip()
    if not case:
        raise Invalid(gettext("a case hold needs the case's reference"))
    # The depot from the network kept in memory (current: ``core.generations``) rather
    # than its row; an unknown code goes to ``require_depot`` to be refused.
    known = network(uow).depot_by_code.get((depot or "").strip().upper())
    code = known.code if known is not None else require_depot(uow, depot).code
    return _hold(uow, code, part_number, 1, case[:60], by)


def _hold(
    uow: UnitOfWork, depot: str, part_number: str, qty: int, reference: str, by: str
) -> Reservation:
    part = part_for_move(uow, part_number)
    ledger.post(
        uow,
        "reserve",
        by,
        [],
        reference=reference,
        reserved_changes={(depot, part.part_number, Bucket.GOOD.value): qty},
    )
    reservation = Reservation(
        depot_code=depot,
        part_number=part.part_number,
        qty=qty,
        reference=reference,
        created_by=by,
    )
    # Flushed with the rest of the caller's changes: a case links its hold through
    # ``Rma.reservation``, so the id is filled in by the same flush, not one more.
    uow.session.add(reservation)
    return reservation


@transactional
def release(uow: UnitOfWork, actor: Actor, reservation_id: int, *, reason: str = "") -> Reservation:
    """Give held stock back to available. Releasing twice is harmless."""
    actor.require_role(*RESERVING_ROLES)
    reservation = _lock_reservation(uow, reservation_id)
    actor.require_depot(reservation.depot_code)
    _release(uow, reservation, actor.username, reason)
    return reservation


@transactional
def release_case_hold(uow: UnitOfWork, reservation_id: int, *, by: str, reason: str) -> bool:
    """Give a case's held unit back to available stock (the case moved on, was
    re-planned or cancelled). False when the hold was already picked or released."""
    return _release(uow, _lock_reservation(uow, reservation_id), by, reason)


def _release(uow: UnitOfWork, reservation: Reservation, by: str, reason: str) -> bool:
    if reservation.status != "active":
        return False
    ledger.post(
        uow,
        "release",
        by,
        [],
        reason=reason,
        reference=reservation.reference,
        reserved_changes={
            (reservation.depot_code, reservation.part_number, Bucket.GOOD.value): -reservation.qty
        },
    )
    reservation.status, reservation.closed_at = "released", clock.now()
    uow.session.add(reservation)
    return True


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
        raise Conflict(
            gettext(
                "reservation %(id)s is %(status)s, not active",
                id=reservation_id,
                status=label(RESERVATION_STATUS_LABELS, reservation.status),
            )
        )
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
        raise NotFound(gettext("unknown reservation %(id)s", id=reservation_id))
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
