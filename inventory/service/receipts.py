"""Receiving a transfer at its destination, and deciding the extras it brought.

On receipt every difference - fewer or more units, unexpected serials - is
recorded as a discrepancy; nothing disappears silently, and nothing nobody
shipped becomes stock by itself:

* ``short``: shipped, did not arrive; it leaves the books (a serial is missing).
* ``extra``: arrived, nobody shipped it on this transfer (a serial our books do
  not know, or more bulk units than shipped). It goes into the destination's
  quarantine and waits for the receiving depot's decision
  (``resolve_discrepancy``): accepted after inspection (into good stock) or sent
  back to its sender (out of our books). Until then it is not available, and
  scrap, adjustments and condition changes refuse to take it out of quarantine
  (a cycle count still records what it finds; see ``waiting_extra_serials`` and
  ``waiting_extra_qty``).
* ``wrong_serial``: one of our units that the books put on another depot's shelf.
  It is ours and its condition is known, so the books follow it here as it is;
  the discrepancy tells the other depot its shelf was wrong. Nothing to decide.

A serial our books hold anywhere else - in transit, missing, scrapped, or
installed at a customer (another domain's, see ``serials``) - cannot arrive in a
box: the receipt is refused (409) and nothing is received.

Drafting, shipping and reading transfers is ``inventory.service.transfers``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, lock_for_update, transactional
from core.errors import Conflict, Invalid, NotFound
from inventory.models import (
    MAX_REASON,
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
from inventory.service.serials import require_not_held_elsewhere
from inventory.service.stock import lock_units, normalize_serials, part_for_move, units_in_stock
from inventory.service.transfers import (
    TransferView,
    lock_transfer,
    transfer_code,
    transfer_lines,
    view,
)


@dataclass(frozen=True)
class ReceivedLine:
    part_number: str
    qty: int | None = None  # bulk parts: units that arrived (default: as shipped)
    serials: Sequence[str] | None = None  # serialized parts: serials that arrived


@transactional
def receive_transfer(
    uow: UnitOfWork,
    actor: Actor,
    transfer_id: int,
    received: Sequence[ReceivedLine] | None = None,
) -> TransferView:
    """Receive a shipped transfer at its destination.

    Without ``received`` everything arrived as shipped. Otherwise each line says
    what arrived, and every difference becomes a discrepancy: short units leave
    the books (serials become missing); extras - units nobody shipped, an unknown
    serial or more bulk units than shipped - go into the destination's
    quarantine and wait for ``resolve_discrepancy``; they are never available
    stock. A serial our books put on another depot's shelf is moved here as it
    is (``wrong_serial``). ``Conflict`` (409), and nothing is received, for a
    serial held elsewhere (installed at a customer, in transit, missing,
    scrapped, another part).
    """
    transfer = lock_transfer(uow, transfer_id)
    actor.require_role(Role.DEPOT_STAFF)
    actor.require_depot(transfer.to_depot)
    if transfer.status != TransferStatus.SHIPPED:
        raise Conflict(f"transfer {transfer_id} is {transfer.status}; only a shipped one arrives")
    lines = {line.part_number: line for line in transfer_lines(uow, transfer_id)}
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
    parts = {number: part_for_move(uow, number) for number in sorted(set(lines) | set(arrived))}
    seen: dict[str, list[str]] = {}
    for number, part in parts.items():
        if part.serialized:
            item = arrived.get(number) if received is not None else None
            seen[number] = _serials_seen(part, shipped_serials[number], item, received is None)
    # Every unit the receipt names, locked in one pass before any balance (the lock
    # order of ``inventory.service``), whichever line it was listed on.
    units = lock_units(
        uow,
        [row.serial for rows in shipped_serials.values() for row in rows]
        + [serial for serials in seen.values() for serial in serials],
    )
    receipt = _Receipt(uow, transfer, units, clock.now())
    for number, part in parts.items():
        if part.serialized:
            receipt.serials(part, lines.get(number), shipped_serials[number], seen[number])
        else:
            item = arrived.get(number) if received is not None else None
            receipt.bulk(part, lines.get(number), item, received is None)
    if receipt.deltas:
        ledger.post(
            uow,
            "transfer_receive",
            actor.username,
            receipt.deltas,
            reason=f"transfer {transfer.from_depot} -> {transfer.to_depot}",
            reference=transfer_code(transfer_id),
        )
    transfer.status, transfer.received_by, transfer.received_at = (
        TransferStatus.RECEIVED,
        actor.username,
        receipt.now,
    )
    uow.session.add(transfer)
    uow.session.flush()
    return view(uow, transfer)


def _serials_seen(
    part: Part, shipped_rows: list[TransferSerial], item: ReceivedLine | None, as_shipped: bool
) -> list[str]:
    """The serials of ``part`` that arrived, as the receipt lists them."""
    if as_shipped:
        return sorted(row.serial for row in shipped_rows)
    if item is None:
        return []  # a line left out of an itemised receipt did not arrive
    if item.qty is not None and item.serials is None:
        raise Invalid(f"{part.part_number} is serialized; list the serials that arrived")
    return normalize_serials(part, len(item.serials or []), item.serials)


@dataclass
class _Receipt:
    """One receipt being booked: the ledger lines and discrepancies it gathers."""

    uow: UnitOfWork
    transfer: Transfer
    units: dict[str, Unit]  # every unit the receipt names, already locked
    now: datetime
    deltas: list[Delta] = field(default_factory=list)

    @property
    def target(self) -> str:
        return self.transfer.to_depot

    def discrepancy(
        self, part: str, kind: str, qty: int, serial: str | None = None, note: str = ""
    ) -> None:
        assert self.transfer.id is not None
        self.uow.session.add(
            TransferDiscrepancy(
                transfer_id=self.transfer.id,
                part_number=part,
                kind=kind,
                qty=qty,
                serial=serial,
                note=note,
            )
        )

    def bulk(
        self, part: Part, line: TransferLine | None, item: ReceivedLine | None, as_shipped: bool
    ) -> None:
        number, target = part.part_number, self.target
        shipped = line.qty if line else 0
        if as_shipped:
            got = shipped
        elif item is None:
            got = 0  # a line left out of an itemised receipt did not arrive
        else:
            if item.serials:
                raise Invalid(f"{number} is not serialized; give qty, not serials")
            if item.qty is None or isinstance(item.qty, bool) or item.qty < 0:
                raise Invalid(f"{number}: give the whole number of units that arrived")
            got = item.qty
        if shipped:
            self.deltas.append(Delta(target, number, Bucket.IN_TRANSIT, -shipped))
        if min(got, shipped):
            self.deltas.append(Delta(target, number, Bucket.GOOD, min(got, shipped)))
        if got < shipped:
            self.discrepancy(number, "short", shipped - got)
        elif got > shipped:
            self.deltas.append(Delta(target, number, Bucket.QUARANTINE, got - shipped))
            self.discrepancy(number, "extra", got - shipped, note=EXTRA_NOTE)
        if line is not None:
            line.qty_received = got
            self.uow.session.add(line)

    def serials(
        self,
        part: Part,
        line: TransferLine | None,
        shipped_rows: list[TransferSerial],
        seen: list[str],
    ) -> None:
        number, target = part.part_number, self.target
        shipped = {row.serial for row in shipped_rows}
        for row in shipped_rows:
            unit = self.units[row.serial]
            self.deltas.append(Delta(target, number, Bucket.IN_TRANSIT, -1, row.serial))
            if row.serial in seen:
                self.deltas.append(Delta(target, number, Bucket.GOOD, +1, row.serial))
                unit.location, unit.depot_code = Location.DEPOT, target
                row.received = True
                self.uow.session.add(row)
            else:
                unit.location, unit.depot_code = Location.MISSING, None
                self.discrepancy(number, "short", 1, row.serial, "shipped but not received")
            unit.updated_at = self.now
            self.uow.session.add(unit)
        unexpected = [s for s in seen if s not in shipped]
        strangers = [s for s in unexpected if _not_ours(self.units.get(s), number)]
        # A serial installed at a customer cannot also arrive in a box: refuse the
        # receipt rather than book one serial in two places.
        require_not_held_elsewhere(self.uow, strangers)
        for serial in unexpected:
            if serial in strangers:
                self._extra_unit(number, serial)
            else:
                self._wrong_serial(number, self.units[serial])
        if line is not None:
            line.qty_received = sum(1 for s in seen if s in shipped)
            self.uow.session.add(line)

    def _extra_unit(self, part_number: str, serial: str) -> None:
        """A unit that is not ours arrived: into quarantine, waiting for a decision."""
        note = f"arrived unannounced on {transfer_code(self.transfer.id or 0)}"
        unit = self.units.get(serial)
        if unit is None:
            unit = Unit(serial=serial, part_number=part_number)
            self.uow.session.add(unit)
            self.units[serial] = unit
        unit.condition, unit.location, unit.depot_code = (
            Bucket.QUARANTINE,
            Location.DEPOT,
            self.target,
        )
        unit.reservation_id, unit.note, unit.updated_at = None, note, self.now
        self.uow.session.add(unit)
        self.deltas.append(Delta(self.target, part_number, Bucket.QUARANTINE, +1, serial))
        self.discrepancy(part_number, "extra", 1, serial, EXTRA_NOTE)

    def _wrong_serial(self, part_number: str, unit: Unit) -> None:
        """One of our units, recorded on another depot's shelf, arrived here.

        It is ours and its condition is on our books, so it needs no decision: the
        books follow the physical unit, in the condition they had it, and the
        discrepancy tells that depot its shelf was wrong. Anywhere else (in transit,
        missing, at a customer, another part), or still waiting as an extra for
        that depot's decision, it cannot be in this box: ``Conflict``.
        """
        serial = unit.serial
        if unit.location != Location.DEPOT or unit.part_number != part_number:
            raise Conflict(
                f"serial {serial} is recorded as {unit.part_number} {unit.location}; "
                "it cannot be received on this transfer"
            )
        waiting = waiting_extra_serials(self.uow, [serial]).get(serial)
        if waiting is not None:
            raise waiting.refusal(serial)
        source = unit.depot_code or ""
        moved = units_in_stock(self.uow, source, part_number, unit.condition, [serial])[0]
        self.deltas.append(Delta(source, part_number, moved.condition, -1, serial))
        self.deltas.append(Delta(self.target, part_number, moved.condition, +1, serial))
        self.discrepancy(
            part_number,
            "wrong_serial",
            1,
            serial,
            f"recorded at {source}, arrived on this transfer",
        )
        moved.depot_code, moved.updated_at = self.target, self.now
        self.uow.session.add(moved)


EXTRA_NOTE = "received but not shipped on this transfer: in quarantine until accepted or sent back"


def _not_ours(unit: Unit | None, part_number: str) -> bool:
    """Whether a serial that arrived unannounced belongs to nobody on our books: never
    seen, or a unit of this part we sent back to its sender once before."""
    return unit is None or (unit.location == Location.SENT_BACK and unit.part_number == part_number)


# --- extras: the decision after inspection ------------------------------------------------


class Decision(StrEnum):
    """What the receiving depot decides about an extra that waits in quarantine."""

    ACCEPT = "accept"  # ours now: quarantine -> good stock
    SEND_BACK = "send_back"  # not ours: quarantine -> out of our books, back to the sender


RESOLUTION_OF = {Decision.ACCEPT: "accepted", Decision.SEND_BACK: "sent_back"}
DECIDABLE_KIND = "extra"


def awaits_decision(item: TransferDiscrepancy) -> bool:
    """True for an extra still waiting in quarantine: the one kind of discrepancy that
    is decided (shortfalls and wrong serials are booked as they are found)."""
    return item.kind == DECIDABLE_KIND and item.resolution is None


def decision_from(text: str) -> Decision:
    """``accept``, ``send_back`` or ``send-back`` as a ``Decision``; ``Invalid`` otherwise."""
    value = (text or "").strip().lower().replace("-", "_")
    try:
        return Decision(value)
    except ValueError:
        raise Invalid("decision must be accept or send-back") from None


def _lock_discrepancy(uow: UnitOfWork, discrepancy_id: int) -> TransferDiscrepancy | None:
    query = select(TransferDiscrepancy).where(TransferDiscrepancy.id == discrepancy_id)
    return uow.session.scalars(
        lock_for_update(query.execution_options(populate_existing=True), uow)
    ).first()


@transactional
def resolve_discrepancy(
    uow: UnitOfWork,
    actor: Actor,
    discrepancy_id: int,
    decision: Decision | str,
    *,
    transfer_id: int | None = None,
    reason: str = "",
) -> TransferView:
    """Decide an extra that waits in the receiving depot's quarantine, once.

    ``accept`` (after inspection, it is ours): quarantine -> good stock.
    ``send_back`` (not ours): quarantine -> out of our books; a serialized unit's
    location becomes ``sent_back``. Either is one ledger movement referenced
    ``T<transfer id>`` with ``reason`` (a default says what was decided).

    Staff of the receiving depot decide (administrators too): ``Forbidden`` for
    anyone else. ``NotFound`` for an unknown discrepancy, or one not on
    ``transfer_id`` when it is given; ``Invalid`` for another decision;
    ``Conflict`` for a shortfall or wrong serial (nothing to decide), a decision
    already taken, or an extra no longer in quarantine there (e.g. counted
    missing). Returns the transfer.
    """
    choice = decision_from(decision)
    item = _lock_discrepancy(uow, discrepancy_id)
    if item is None or (transfer_id is not None and item.transfer_id != transfer_id):
        where = f" on transfer {transfer_id}" if transfer_id is not None else ""
        raise NotFound(f"unknown discrepancy {discrepancy_id}{where}")
    transfer = uow.session.get(Transfer, item.transfer_id)
    assert transfer is not None and transfer.id is not None
    actor.require_role(Role.DEPOT_STAFF)
    actor.require_depot(transfer.to_depot)
    code = transfer_code(transfer.id)
    if item.kind != DECIDABLE_KIND:
        raise Conflict(
            f"discrepancy {discrepancy_id} on {code} is {item.kind.replace('_', ' ')}: it was "
            "booked on receipt; only an extra (units nobody shipped) waits for a decision"
        )
    if item.resolution is not None:
        raise Conflict(
            f"the extra {discrepancy_id} on {code} was already "
            f"{item.resolution.replace('_', ' ')} by {item.resolved_by}"
        )
    depot, part = transfer.to_depot, item.part_number
    now = clock.now()
    what = item.serial or f"{item.qty} x {part}"
    if choice == Decision.ACCEPT:
        default = f"extra {what} on {code} accepted after inspection"
    else:
        default = f"extra {what} on {code} sent back to its sender ({transfer.from_depot})"
    text = " ".join((reason or "").split())[: MAX_REASON - len(default) - 2]
    deltas = [Delta(depot, part, Bucket.QUARANTINE, -item.qty, item.serial)]
    if choice == Decision.ACCEPT:
        deltas.append(Delta(depot, part, Bucket.GOOD, item.qty, item.serial))
    if item.serial:
        [unit] = units_in_stock(uow, depot, part, Bucket.QUARANTINE, [item.serial])
        if choice == Decision.ACCEPT:
            unit.condition = Bucket.GOOD
        else:
            unit.location, unit.depot_code = Location.SENT_BACK, None
            unit.note = f"arrived unannounced on {code}; sent back"
        unit.updated_at = now
        uow.session.add(unit)
    ledger.post(
        uow,
        "extra_accepted" if choice == Decision.ACCEPT else "extra_sent_back",
        actor.username,
        deltas,
        reason=f"{default}: {text}" if text else default,
        reference=code,
    )
    item.resolution, item.resolved_by, item.resolved_at = RESOLUTION_OF[choice], actor.username, now
    uow.session.add(item)
    uow.session.flush()
    return view(uow, transfer)


@dataclass(frozen=True)
class WaitingExtra:
    """A serialized extra that waits for a decision: on which transfer, at which depot."""

    transfer_id: int
    depot: str

    def refusal(self, serial: str) -> Conflict:
        """The answer to a move that would decide it behind the transfer's back."""
        return Conflict(
            f"serial {serial} arrived as an extra on {transfer_code(self.transfer_id)} and "
            f"waits in {self.depot}'s quarantine for a decision: accept it or send it back "
            "on the transfer first"
        )


def waiting_extra_serials(uow: UnitOfWork, serials: Sequence[str]) -> dict[str, WaitingExtra]:
    """Those of ``serials`` that arrived as extras and still wait for a decision."""
    if not serials:
        return {}
    rows = uow.session.execute(
        select(TransferDiscrepancy.serial, Transfer.id, Transfer.to_depot)
        .join(Transfer, Transfer.id == TransferDiscrepancy.transfer_id)
        .where(
            TransferDiscrepancy.serial.in_(list(serials)),
            TransferDiscrepancy.kind == DECIDABLE_KIND,
            TransferDiscrepancy.resolution.is_(None),
        )
    ).all()
    return {serial: WaitingExtra(transfer_id, depot) for serial, transfer_id, depot in rows}


def waiting_extra_qty(uow: UnitOfWork, depot: str, part_number: str) -> int:
    """Bulk units of ``part_number`` that arrived at ``depot`` as extras and wait in its
    quarantine for a decision."""
    total = uow.session.scalar(
        select(func.coalesce(func.sum(TransferDiscrepancy.qty), 0))
        .join(Transfer, Transfer.id == TransferDiscrepancy.transfer_id)
        .where(
            Transfer.to_depot == depot,
            TransferDiscrepancy.part_number == part_number,
            TransferDiscrepancy.serial.is_(None),
            TransferDiscrepancy.kind == DECIDABLE_KIND,
            TransferDiscrepancy.resolution.is_(None),
        )
    )
    return int(total or 0)
