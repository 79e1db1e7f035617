"""Transfers between depots: draft -> shipped (in transit) -> received.

While on the road, stock sits in the destination depot's ``in_transit``
bucket. On receipt every difference - fewer or more units, unexpected serials -
is recorded as a discrepancy; nothing disappears silently.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import or_, select

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, lock_for_update, read_only, transactional
from core.errors import Conflict, Invalid, NotFound
from inventory.models import (
    Bucket,
    Location,
    Part,
    Transfer,
    TransferDiscrepancy,
    TransferLine,
    TransferSerial,
    TransferStatus,
    Unit,
)
from inventory.service import ledger
from inventory.service.ledger import Delta
from inventory.service.stock import (
    lock_units,
    normalize_serials,
    part_for_move,
    pick_free_units,
    require_depot,
    require_qty,
    units_in_stock,
)

PLANNING_ROLES = (Role.PLANNER, Role.DEPOT_STAFF)
MAX_LINES = 500


@dataclass(frozen=True)
class LineIn:
    part_number: str
    qty: int


@dataclass(frozen=True)
class ReceivedLine:
    part_number: str
    qty: int | None = None  # bulk parts: units that arrived (default: as shipped)
    serials: Sequence[str] | None = None  # serialized parts: serials that arrived


@dataclass
class TransferView:
    """A transfer with its lines, serials and discrepancies, ready to serialise."""

    transfer: Transfer
    lines: list[TransferLine]
    serials: list[TransferSerial] = field(default_factory=list)
    discrepancies: list[TransferDiscrepancy] = field(default_factory=list)


def _lock_transfer(uow: UnitOfWork, transfer_id: int) -> Transfer:
    query = select(Transfer).where(Transfer.id == transfer_id)
    transfer = uow.session.scalars(
        lock_for_update(query.execution_options(populate_existing=True), uow)
    ).first()
    if transfer is None:
        raise NotFound(f"unknown transfer {transfer_id}")
    return transfer


def _lines(uow: UnitOfWork, transfer_id: int) -> list[TransferLine]:
    return list(
        uow.session.scalars(
            select(TransferLine)
            .where(TransferLine.transfer_id == transfer_id)
            .order_by(TransferLine.part_number)
        )
    )


def view(uow: UnitOfWork, transfer: Transfer) -> TransferView:
    assert transfer.id is not None
    session = uow.session
    return TransferView(
        transfer,
        _lines(uow, transfer.id),
        list(
            session.scalars(
                select(TransferSerial)
                .where(TransferSerial.transfer_id == transfer.id)
                .order_by(TransferSerial.serial)
            )
        ),
        list(
            session.scalars(
                select(TransferDiscrepancy)
                .where(TransferDiscrepancy.transfer_id == transfer.id)
                .order_by(TransferDiscrepancy.id)
            )
        ),
    )


@transactional
def create_transfer(
    uow: UnitOfWork,
    actor: Actor,
    from_depot: str,
    to_depot: str,
    lines: Sequence[LineIn],
    *,
    note: str = "",
    reference: str | None = None,
) -> TransferView:
    """Draft a transfer. Lines for the same part are added together."""
    actor.require_role(*PLANNING_ROLES)
    source, target = require_depot(uow, from_depot).code, require_depot(uow, to_depot).code
    if source == target:
        raise Invalid("a transfer needs two different depots")
    if actor.role == Role.DEPOT_STAFF and actor.depot_code not in (source, target):
        raise actor_forbidden(actor, source, target)
    if not lines:
        raise Invalid("a transfer needs at least one line")
    if len(lines) > MAX_LINES:
        raise Invalid(f"a transfer has at most {MAX_LINES} lines")
    totals: dict[str, int] = defaultdict(int)
    for line in lines:
        totals[part_for_move(uow, line.part_number).part_number] += require_qty(line.qty)
    transfer = Transfer(
        from_depot=source,
        to_depot=target,
        note=(note or "").strip()[:300],
        reference=reference,
        created_by=actor.username,
    )
    uow.session.add(transfer)
    uow.session.flush()
    uow.session.add_all(
        TransferLine(transfer_id=transfer.id, part_number=part, qty=qty)
        for part, qty in sorted(totals.items())
    )
    uow.session.flush()
    return view(uow, transfer)


def actor_forbidden(actor: Actor, source: str, target: str) -> Exception:
    from core.errors import Forbidden

    return Forbidden(f"{actor.username} works at {actor.depot_code}, not {source} or {target}")


@transactional
def ship_transfer(
    uow: UnitOfWork,
    actor: Actor,
    transfer_id: int,
    serials: Mapping[str, Sequence[str]] | None = None,
) -> TransferView:
    """Ship a draft: stock leaves the source's good stock into in-transit to the
    destination. Serialized lines use the scanned serials, or the oldest free
    units when none are given. ``InsufficientStock`` (409) if any line is short:
    then nothing ships."""
    transfer = _lock_transfer(uow, transfer_id)
    actor.require_role(Role.DEPOT_STAFF)
    actor.require_depot(transfer.from_depot)
    if transfer.status != TransferStatus.DRAFT:
        raise Conflict(f"transfer {transfer_id} is {transfer.status}; only a draft can ship")
    scanned = {k.strip().upper(): v for k, v in (serials or {}).items()}
    lines = _lines(uow, transfer_id)
    unknown = set(scanned) - {line.part_number for line in lines}
    if unknown:
        raise Invalid(f"serials given for parts not on the transfer: {', '.join(sorted(unknown))}")
    source, target = transfer.from_depot, transfer.to_depot
    deltas: list[Delta] = []
    now = clock.now()
    for line in lines:
        part = part_for_move(uow, line.part_number)
        if part.serialized:
            if line.part_number in scanned:
                chosen = normalize_serials(part, line.qty, scanned[line.part_number])
                units = units_in_stock(uow, source, part.part_number, Bucket.GOOD, chosen)
            else:
                units = pick_free_units(uow, source, part.part_number, line.qty)
            for unit in units:
                unit.location, unit.depot_code, unit.updated_at = Location.IN_TRANSIT, target, now
                uow.session.add(unit)
                uow.session.add(
                    TransferSerial(
                        transfer_id=transfer_id, serial=unit.serial, part_number=part.part_number
                    )
                )
                deltas.append(Delta(source, part.part_number, Bucket.GOOD, -1, unit.serial))
                deltas.append(Delta(target, part.part_number, Bucket.IN_TRANSIT, +1, unit.serial))
        else:
            deltas.append(Delta(source, part.part_number, Bucket.GOOD, -line.qty))
            deltas.append(Delta(target, part.part_number, Bucket.IN_TRANSIT, +line.qty))
    ledger.post(
        uow,
        "transfer_ship",
        actor.username,
        deltas,
        reason=f"transfer {source} -> {target}",
        reference=f"T{transfer_id}",
    )
    transfer.status, transfer.shipped_by, transfer.shipped_at = (
        TransferStatus.SHIPPED,
        actor.username,
        now,
    )
    uow.session.add(transfer)
    uow.session.flush()
    return view(uow, transfer)


@transactional
def receive_transfer(
    uow: UnitOfWork,
    actor: Actor,
    transfer_id: int,
    received: Sequence[ReceivedLine] | None = None,
) -> TransferView:
    """Receive a shipped transfer at its destination.

    Without ``received`` everything arrived as shipped. Otherwise each line says
    what arrived; shortfalls, extras and unexpected serials become discrepancies
    (short units leave the books, extra units enter good stock).
    """
    transfer = _lock_transfer(uow, transfer_id)
    actor.require_role(Role.DEPOT_STAFF)
    actor.require_depot(transfer.to_depot)
    if transfer.status != TransferStatus.SHIPPED:
        raise Conflict(f"transfer {transfer_id} is {transfer.status}; only a shipped one arrives")
    lines = {line.part_number: line for line in _lines(uow, transfer_id)}
    arrived: dict[str, ReceivedLine] = {}
    for item in received or []:
        part_number = item.part_number.strip().upper()
        if part_number in arrived:
            raise Invalid(f"{part_number} is listed twice")
        arrived[part_number] = item
    shipped_serials: dict[str, list[TransferSerial]] = defaultdict(list)
    for row in uow.session.scalars(
        select(TransferSerial).where(TransferSerial.transfer_id == transfer_id)
    ):
        shipped_serials[row.part_number].append(row)
    target = transfer.to_depot
    deltas: list[Delta] = []
    now = clock.now()
    for part_number in sorted(set(lines) | set(arrived)):
        part = part_for_move(uow, part_number)
        line = lines.get(part_number)
        item = arrived.get(part_number) if received is not None else None
        if part.serialized:
            deltas += _receive_serials(
                uow,
                transfer_id,
                target,
                part,
                line,
                shipped_serials[part_number],
                item,
                received is None,
                now,
            )
        else:
            deltas += _receive_bulk(uow, transfer_id, target, part, line, item, received is None)
    if deltas:
        ledger.post(
            uow,
            "transfer_receive",
            actor.username,
            deltas,
            reason=f"transfer {transfer.from_depot} -> {target}",
            reference=f"T{transfer_id}",
        )
    transfer.status, transfer.received_by, transfer.received_at = (
        TransferStatus.RECEIVED,
        actor.username,
        now,
    )
    uow.session.add(transfer)
    uow.session.flush()
    return view(uow, transfer)


def _discrepancy(
    uow: UnitOfWork,
    transfer_id: int,
    part: str,
    kind: str,
    qty: int,
    serial: str | None = None,
    note: str = "",
) -> None:
    uow.session.add(
        TransferDiscrepancy(
            transfer_id=transfer_id, part_number=part, kind=kind, qty=qty, serial=serial, note=note
        )
    )


def _receive_bulk(
    uow: UnitOfWork,
    transfer_id: int,
    target: str,
    part: Part,
    line: TransferLine | None,
    item: ReceivedLine | None,
    as_shipped: bool,
) -> list[Delta]:
    shipped = line.qty if line else 0
    if as_shipped:
        got = shipped
    elif item is None:
        got = 0  # a line left out of an itemised receipt did not arrive
    else:
        if item.serials:
            raise Invalid(f"{part.part_number} is not serialized; give qty, not serials")
        if item.qty is None or isinstance(item.qty, bool) or item.qty < 0:
            raise Invalid(f"{part.part_number}: give the whole number of units that arrived")
        got = item.qty
    deltas = [Delta(target, part.part_number, Bucket.IN_TRANSIT, -shipped)] if shipped else []
    if got:
        deltas.append(Delta(target, part.part_number, Bucket.GOOD, got))
    if got < shipped:
        _discrepancy(uow, transfer_id, part.part_number, "short", shipped - got)
    elif got > shipped:
        _discrepancy(uow, transfer_id, part.part_number, "extra", got - shipped)
    if line is not None:
        line.qty_received = got
        uow.session.add(line)
    return deltas


def _receive_serials(
    uow: UnitOfWork,
    transfer_id: int,
    target: str,
    part: Part,
    line: TransferLine | None,
    shipped_rows: list[TransferSerial],
    item: ReceivedLine | None,
    as_shipped: bool,
    now,
) -> list[Delta]:
    shipped = {row.serial for row in shipped_rows}
    if as_shipped:
        seen = sorted(shipped)
    elif item is None:
        seen = []
    else:
        if item.qty is not None and item.serials is None:
            raise Invalid(f"{part.part_number} is serialized; list the serials that arrived")
        seen = normalize_serials(part, len(item.serials or []), item.serials)
    units = lock_units(uow, shipped | set(seen))
    deltas: list[Delta] = []
    for row in shipped_rows:
        unit = units[row.serial]
        deltas.append(Delta(target, part.part_number, Bucket.IN_TRANSIT, -1, row.serial))
        if row.serial in seen:
            deltas.append(Delta(target, part.part_number, Bucket.GOOD, +1, row.serial))
            unit.location, unit.depot_code = Location.DEPOT, target
            row.received = True
            uow.session.add(row)
        else:
            unit.location, unit.depot_code = Location.MISSING, None
            _discrepancy(
                uow,
                transfer_id,
                part.part_number,
                "short",
                1,
                row.serial,
                "shipped but not received",
            )
        unit.updated_at = now
        uow.session.add(unit)
    for serial in [s for s in seen if s not in shipped]:
        unit = units.get(serial)
        if unit is None:
            uow.session.add(
                Unit(
                    serial=serial,
                    part_number=part.part_number,
                    condition="good",
                    location=Location.DEPOT,
                    depot_code=target,
                    updated_at=now,
                )
            )
            deltas.append(Delta(target, part.part_number, Bucket.GOOD, +1, serial))
            _discrepancy(
                uow,
                transfer_id,
                part.part_number,
                "extra",
                1,
                serial,
                "received but not shipped on this transfer",
            )
            continue
        # A known unit that was not on this transfer: move it here from where the
        # books had it, so the books follow the physical unit.
        if unit.location != Location.DEPOT or unit.part_number != part.part_number:
            raise Conflict(
                f"serial {serial} is recorded as {unit.part_number} {unit.location}; "
                "it cannot be received on this transfer"
            )
        moved = units_in_stock(
            uow, unit.depot_code or "", part.part_number, unit.condition, [serial]
        )[0]
        deltas.append(Delta(moved.depot_code or "", part.part_number, moved.condition, -1, serial))
        deltas.append(Delta(target, part.part_number, moved.condition, +1, serial))
        _discrepancy(
            uow,
            transfer_id,
            part.part_number,
            "wrong_serial",
            1,
            serial,
            f"recorded at {moved.depot_code}, arrived on this transfer",
        )
        moved.depot_code, moved.updated_at = target, now
        uow.session.add(moved)
    if line is not None:
        line.qty_received = sum(1 for s in seen if s in shipped)
        uow.session.add(line)
    return deltas


@transactional
def cancel_transfer(uow: UnitOfWork, actor: Actor, transfer_id: int) -> TransferView:
    """Cancel a draft (nothing has moved yet)."""
    transfer = _lock_transfer(uow, transfer_id)
    actor.require_role(*PLANNING_ROLES)
    if actor.role == Role.DEPOT_STAFF and actor.depot_code not in (
        transfer.from_depot,
        transfer.to_depot,
    ):
        raise actor_forbidden(actor, transfer.from_depot, transfer.to_depot)
    if transfer.status != TransferStatus.DRAFT:
        raise Conflict(
            f"transfer {transfer_id} is {transfer.status}; only a draft can be cancelled"
        )
    transfer.status = TransferStatus.CANCELLED
    uow.session.add(transfer)
    return view(uow, transfer)


@read_only
def get_transfer(uow: UnitOfWork, transfer_id: int) -> TransferView:
    transfer = uow.session.get(Transfer, transfer_id)
    if transfer is None:
        raise NotFound(f"unknown transfer {transfer_id}")
    return view(uow, transfer)


@read_only
def list_transfers(
    uow: UnitOfWork, *, status: str | None = None, depot: str | None = None, limit: int = 200
) -> list[TransferView]:
    """Transfers, newest first, each with its lines, serials and discrepancies
    (four queries in all, however many transfers)."""
    query = select(Transfer).order_by(Transfer.id.desc()).limit(limit)
    if status:
        if status not in {s.value for s in TransferStatus}:
            raise Invalid(f"status must be one of {', '.join(s.value for s in TransferStatus)}")
        query = query.where(Transfer.status == status)
    if depot:
        depot = depot.upper()
        query = query.where(or_(Transfer.from_depot == depot, Transfer.to_depot == depot))
    found = list(uow.session.scalars(query))
    views = {t.id: TransferView(t, []) for t in found}
    if not views:
        return []
    ids = list(views)
    for line in uow.session.scalars(
        select(TransferLine)
        .where(TransferLine.transfer_id.in_(ids))
        .order_by(TransferLine.part_number)
    ):
        views[line.transfer_id].lines.append(line)
    for row in uow.session.scalars(
        select(TransferSerial)
        .where(TransferSerial.transfer_id.in_(ids))
        .order_by(TransferSerial.serial)
    ):
        views[row.transfer_id].serials.append(row)
    for item in uow.session.scalars(
        select(TransferDiscrepancy)
        .where(TransferDiscrepancy.transfer_id.in_(ids))
        .order_by(TransferDiscrepancy.id)
    ):
        views[item.transfer_id].discrepancies.append(item)
    return [views[t.id] for t in found]
