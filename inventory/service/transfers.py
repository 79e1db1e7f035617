"""Transfers between depots: draft -> shipped (in transit) -> received, or
partially received until the missing units arrive late or are written off.

This module drafts, ships, cancels and reads transfers, and holds what every
step shares: the transfer as answered (``TransferView``), its code (``T`` and
its id: ``T2`` in pages, URLs, the ledger, CSV files and the transfer note) and
the row lock a step takes on it. While on the road, stock sits in the
destination depot's ``in_transit`` bucket. Receiving at the destination, with
the discrepancies it records and the decisions on extras, is
``inventory.service.receipts``; late parcels and written-off shortfalls are
``inventory.service.shortfalls``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import or_, select

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, lock_for_update, read_only, transactional
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.i18n import gettext
from inventory.labels import TRANSFER_STATUS_LABELS, label
from inventory.models import (
    Bucket,
    Location,
    Transfer,
    TransferDiscrepancy,
    TransferLine,
    TransferSerial,
    TransferStatus,
)
from inventory.service import ledger
from inventory.service.ledger import Delta
from inventory.service.stock import (
    normalize_serials,
    part_for_move,
    parts_for_move,
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


@dataclass
class TransferView:
    """A transfer with its lines, serials and discrepancies, ready to serialise."""

    transfer: Transfer
    lines: list[TransferLine]
    serials: list[TransferSerial] = field(default_factory=list)
    discrepancies: list[TransferDiscrepancy] = field(default_factory=list)


TRANSFER_CODE = re.compile(r"^[Tt]?(\d{1,18})$")


def transfer_code(transfer_id: int) -> str:
    """How people, pages, URLs, the ledger, CSV files and the transfer note name a
    transfer: ``T`` and its id (``T2``)."""
    return f"T{transfer_id}"


def transfer_id_from(text: str | int) -> int:
    """The id of a transfer named ``T2``, ``t2`` or ``2``; ``Invalid`` otherwise."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    match = TRANSFER_CODE.match(str(text or "").strip())
    if match is None or int(match.group(1)) < 1:
        raise Invalid(gettext("%(text)s is not a transfer (T and a number, e.g. T2)", text=text))
    return int(match.group(1))


def status_label(status: str) -> str:
    """A transfer status in the reader's language."""
    return label(TRANSFER_STATUS_LABELS, status)


def unknown_transfer(transfer_id: int) -> NotFound:
    return NotFound(gettext("unknown transfer %(code)s", code=transfer_code(transfer_id)))


def lock_transfer(uow: UnitOfWork, transfer_id: int) -> Transfer:
    """The transfer, locked for update (``NotFound`` if unknown)."""
    query = select(Transfer).where(Transfer.id == transfer_id)
    transfer = uow.session.scalars(
        lock_for_update(query.execution_options(populate_existing=True), uow)
    ).first()
    if transfer is None:
        raise unknown_transfer(transfer_id)
    return transfer


def transfer_lines(uow: UnitOfWork, transfer_id: int) -> list[TransferLine]:
    """The lines of a transfer, by part number."""
    return list(
        uow.session.scalars(
            select(TransferLine)
            .where(TransferLine.transfer_id == transfer_id)
            .order_by(TransferLine.part_number)
        )
    )


def view(
    uow: UnitOfWork,
    transfer: Transfer,
    *,
    lines: Sequence[TransferLine] | None = None,
    serials: Sequence[TransferSerial] | None = None,
    discrepancies: Sequence[TransferDiscrepancy] | None = None,
) -> TransferView:
    """The transfer with its lines (by part number), serials (by serial) and
    discrepancies (by id). A use case that already holds some of them, in that
    order and up to date, passes them in and spares the answer reading them again."""
    assert transfer.id is not None
    session = uow.session
    if lines is None:
        lines = transfer_lines(uow, transfer.id)
    if serials is None:
        serials = session.scalars(
            select(TransferSerial)
            .where(TransferSerial.transfer_id == transfer.id)
            .order_by(TransferSerial.serial)
        ).all()
    if discrepancies is None:
        discrepancies = discrepancies_of(uow, transfer.id)
    return TransferView(transfer, list(lines), list(serials), list(discrepancies))


def discrepancies_of(uow: UnitOfWork, transfer_id: int) -> list[TransferDiscrepancy]:
    """Every discrepancy of a transfer, by id."""
    return list(
        uow.session.scalars(
            select(TransferDiscrepancy)
            .where(TransferDiscrepancy.transfer_id == transfer_id)
            .order_by(TransferDiscrepancy.id)
        )
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
        raise Invalid(gettext("a transfer needs two different depots"))
    if actor.role == Role.DEPOT_STAFF and actor.depot_code not in (source, target):
        raise actor_forbidden(actor, source, target)
    if not lines:
        raise Invalid(gettext("a transfer needs at least one line"))
    if len(lines) > MAX_LINES:
        raise Invalid(gettext("a transfer has at most %(limit)s lines", limit=MAX_LINES))
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


def actor_forbidden(actor: Actor, source: str, target: str) -> Forbidden:
    return Forbidden(
        gettext(
            "%(user)s works at %(depot)s, not %(source)s or %(target)s",
            user=actor.username,
            depot=actor.depot_code,
            source=source,
            target=target,
        )
    )


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
    transfer = lock_transfer(uow, transfer_id)
    actor.require_role(Role.DEPOT_STAFF)
    actor.require_depot(transfer.from_depot)
    if transfer.status != TransferStatus.DRAFT:
        raise Conflict(
            gettext(
                "transfer %(code)s is %(status)s; only a draft can ship",
                code=transfer_code(transfer_id),
                status=status_label(transfer.status),
            )
        )
    scanned = {k.strip().upper(): v for k, v in (serials or {}).items()}
    lines = transfer_lines(uow, transfer_id)
    unknown = set(scanned) - {line.part_number for line in lines}
    if unknown:
        raise Invalid(
            gettext(
                "serials given for parts not on the transfer: %(parts)s",
                parts=", ".join(sorted(unknown)),
            )
        )
    source, target = transfer.from_depot, transfer.to_depot
    deltas: list[Delta] = []
    shipped: list[TransferSerial] = []
    now = clock.now()
    parts = parts_for_move(uow, [line.part_number for line in lines])
    # Lines come in part-number order, so the units are locked in the lock order.
    for line in lines:
        part = parts[line.part_number]
        if part.serialized:
            if line.part_number in scanned:
                chosen = normalize_serials(part, line.qty, scanned[line.part_number])
                units = units_in_stock(uow, source, part.part_number, Bucket.GOOD, chosen)
            else:
                units = pick_free_units(uow, source, part.part_number, line.qty)
            for unit in units:
                unit.location, unit.depot_code, unit.updated_at = Location.IN_TRANSIT, target, now
                unit.bin = None  # off the source's shelf; the receipt shelves it again
                uow.session.add(unit)
                row = TransferSerial(
                    transfer_id=transfer_id, serial=unit.serial, part_number=part.part_number
                )
                uow.session.add(row)
                shipped.append(row)
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
        reference=transfer_code(transfer_id),
    )
    transfer.status, transfer.shipped_by, transfer.shipped_at = (
        TransferStatus.SHIPPED,
        actor.username,
        now,
    )
    uow.session.add(transfer)
    uow.session.flush()
    # The answer is what this step holds: a draft has no serials but the ones it just
    # shipped, and no discrepancies (those are written when it is received).
    shipped.sort(key=lambda row: row.serial)
    return view(uow, transfer, lines=lines, serials=shipped, discrepancies=[])


@transactional
def cancel_transfer(uow: UnitOfWork, actor: Actor, transfer_id: int) -> TransferView:
    """Cancel a draft (nothing has moved yet)."""
    transfer = lock_transfer(uow, transfer_id)
    actor.require_role(*PLANNING_ROLES)
    if actor.role == Role.DEPOT_STAFF and actor.depot_code not in (
        transfer.from_depot,
        transfer.to_depot,
    ):
        raise actor_forbidden(actor, transfer.from_depot, transfer.to_depot)
    if transfer.status != TransferStatus.DRAFT:
        raise Conflict(
            gettext(
                "transfer %(code)s is %(status)s; only a draft can be cancelled",
                code=transfer_code(transfer_id),
                status=status_label(transfer.status),
            )
        )
    transfer.status = TransferStatus.CANCELLED
    uow.session.add(transfer)
    return view(uow, transfer)


@read_only
def get_transfer(uow: UnitOfWork, transfer_id: int) -> TransferView:
    transfer = uow.session.get(Transfer, transfer_id)
    if transfer is None:
        raise unknown_transfer(transfer_id)
    return view(uow, transfer)


def require_status(status: str | None) -> str | None:
    """A transfer status filter: one of the statuses, or None for any."""
    if status and status not in {s.value for s in TransferStatus}:
        raise Invalid(
            gettext(
                "status must be one of %(statuses)s",
                statuses=", ".join(s.value for s in TransferStatus),
            )
        )
    return status or None


@read_only
def list_transfers(
    uow: UnitOfWork, *, status: str | None = None, depot: str | None = None, limit: int = 200
) -> list[TransferView]:
    """Transfers, newest first, each with its lines, serials and discrepancies
    (four queries in all, however many transfers)."""
    query = select(Transfer).order_by(Transfer.id.desc()).limit(limit)
    if require_status(status):
        query = query.where(Transfer.status == status)
    if depot:
        depot = depot.upper()
        query = query.where(or_(Transfer.from_depot == depot, Transfer.to_depot == depot))
    return views_of(uow, list(uow.session.scalars(query)))


def views_of(uow: UnitOfWork, found: Sequence[Transfer]) -> list[TransferView]:
    """``found`` with their lines, serials and discrepancies, in the same order (three
    queries however many transfers)."""
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
