"""Receiving a transfer at its destination, and deciding the extras it brought.

On receipt every difference - fewer or more units, unexpected serials - is
recorded as a discrepancy; nothing disappears silently, and nothing nobody
shipped becomes stock by itself:

* ``short``: shipped, did not arrive (yet). The units stay *in transit* to the
  destination - a missing serial stays ``in_transit``, a bulk shortfall stays in
  the destination's ``in_transit`` balance - and the transfer is
  ``partially_received`` until the rest arrives in a late parcel (in transit ->
  good, the shortfall resolved ``arrived``) or is written off with a reason (out
  of the books, serials ``missing``, the shortfall resolved ``written_off``, the
  transfer ``received``): ``inventory.service.shortfalls``. So ``spares check``
  stays clean throughout: the in-transit balance is exactly what is still on
  its way, unit by unit.
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

A receipt says what arrived, line by line, or confirms that everything arrived
as shipped (``as_shipped``): an empty receipt is refused, so an empty scan box
never means "everything arrived". Units that arrive are shelved in the part's
default bin at the destination.

A serial our books hold anywhere else - in transit, missing, scrapped, or
installed at a customer (another domain's, see ``serials``) - cannot arrive in a
box: the receipt is refused (409) and nothing is received.

Drafting, shipping and reading transfers is ``inventory.service.transfers``.
Transfers received before shortfalls waited (their short units left the books
at once) keep their ``short`` discrepancies unresolved on a ``received``
transfer: nothing waits for them.
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
from core.i18n import gettext
from inventory.labels import DISCREPANCY_LABELS, RESOLUTION_LABELS, label
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
from inventory.service import bins as shelves
from inventory.service import ledger
from inventory.service.ledger import Delta
from inventory.service.serials import require_not_held_elsewhere
from inventory.service.stock import (
    describe_location,
    lock_units,
    normalize_serials,
    parts_for_move,
    units_in_stock,
)
from inventory.service.transfers import (
    TransferView,
    discrepancies_of,
    lock_transfer,
    status_label,
    transfer_code,
    transfer_lines,
    view,
)

# Notes the system writes on discrepancies and units (stored in English, shown
# translated: see ``inventory.labels.note_text``).
SHORT_NOTE = "shipped but not received"
STILL_SHORT_NOTE = "still missing after a late parcel"
EXTRA_NOTE = "received but not shipped on this transfer: in quarantine until accepted or sent back"


@dataclass(frozen=True)
class ReceivedLine:
    part_number: str
    qty: int | None = None  # bulk parts: units that arrived
    serials: Sequence[str] | None = None  # serialized parts: serials that arrived


@transactional
def receive_transfer(
    uow: UnitOfWork,
    actor: Actor,
    transfer_id: int,
    received: Sequence[ReceivedLine] | None = None,
    *,
    as_shipped: bool = False,
) -> TransferView:
    """Receive a shipped transfer at its destination.

    ``received`` says what arrived, line by line; a line left out did not arrive.
    ``as_shipped=True`` (and no lines) confirms that everything arrived as shipped.
    Neither, or both, is ``Invalid``: an empty receipt never means "everything".

    Every difference becomes a discrepancy: short units stay in transit and the
    transfer is ``partially_received`` (see the module); extras - units nobody
    shipped, an unknown serial or more bulk units than shipped - go into the
    destination's quarantine and wait for ``resolve_discrepancy``; they are
    never available stock. A serial our books put on another depot's shelf is
    moved here as it is (``wrong_serial``). ``Conflict`` (409), and nothing is
    received, for a serial held elsewhere (installed at a customer, in transit,
    missing, scrapped, another part).
    """
    transfer = lock_transfer(uow, transfer_id)
    actor.require_role(Role.DEPOT_STAFF)
    actor.require_depot(transfer.to_depot)
    if received is None and not as_shipped:
        raise Invalid(
            gettext(
                "say what arrived - the serials or the quantity of each line - or confirm "
                "that everything arrived as shipped"
            )
        )
    if received is not None and as_shipped:
        raise Invalid(
            gettext("give either what arrived or the confirmation that all arrived, not both")
        )
    if transfer.status != TransferStatus.SHIPPED:
        raise Conflict(
            gettext(
                "transfer %(code)s is %(status)s; only a shipped one arrives",
                code=transfer_code(transfer_id),
                status=status_label(transfer.status),
            )
        )
    shipped_serials: dict[str, list[TransferSerial]] = defaultdict(list)
    shipped = shipped_rows(uow, transfer_id)
    for row in shipped:
        shipped_serials[row.part_number].append(row)
    lines = {line.part_number: line for line in transfer_lines(uow, transfer_id)}
    expected = Expected(
        serials=shipped_serials, bulk={number: line.qty for number, line in lines.items()}
    )
    now = clock.now()
    book_arrival(uow, actor, transfer, lines, expected, received, late=False, now=now)
    found = settle_status(uow, transfer, received=(actor.username, now))
    # The lines and serials read above are the ones the arrival updated (a receipt adds
    # neither), so the answer does not read them again.
    return view(uow, transfer, lines=list(lines.values()), serials=shipped, discrepancies=found)


def shipped_rows(uow: UnitOfWork, transfer_id: int) -> list[TransferSerial]:
    """The serials shipped on a transfer, by serial."""
    return list(
        uow.session.scalars(
            select(TransferSerial)
            .where(TransferSerial.transfer_id == transfer_id)
            .order_by(TransferSerial.serial)
        )
    )


def open_shortfalls(uow: UnitOfWork, transfer_id: int) -> list[TransferDiscrepancy]:
    """The shortfalls of a transfer still waiting to arrive or be written off, by id
    (meaningful on a ``partially_received`` transfer, see the module)."""
    return list(
        uow.session.scalars(
            select(TransferDiscrepancy)
            .where(
                TransferDiscrepancy.transfer_id == transfer_id,
                TransferDiscrepancy.kind == "short",
                TransferDiscrepancy.resolution.is_(None),
            )
            .order_by(TransferDiscrepancy.id)
        )
    )


def awaits_arrival(item: TransferDiscrepancy, transfer: Transfer) -> bool:
    """True for a shortfall of a partially received transfer: it may still arrive in
    a late parcel, or be written off."""
    return is_open_shortfall(item) and transfer.status == TransferStatus.PARTIALLY_RECEIVED


def settle_status(
    uow: UnitOfWork, transfer: Transfer, *, received: tuple[str, datetime] | None = None
) -> list[TransferDiscrepancy]:
    """``partially_received`` while a shortfall waits, else ``received``; ``received``
    (who, when) stamps a first arrival. Returns every discrepancy of the transfer, by id.

    The arrival's discrepancies are flushed before they are read; the transfer's own
    changes (stamp and status) are written after, in one UPDATE."""
    uow.session.flush()
    assert transfer.id is not None
    found = discrepancies_of(uow, transfer.id)
    waiting = any(is_open_shortfall(item) for item in found)
    transfer.status = TransferStatus.PARTIALLY_RECEIVED if waiting else TransferStatus.RECEIVED
    if received is not None:
        transfer.received_by, transfer.received_at = received
    uow.session.add(transfer)
    uow.session.flush()
    return found


def is_open_shortfall(item: TransferDiscrepancy) -> bool:
    """A shortfall not yet resolved: it keeps its transfer partially received (what
    ``open_shortfalls`` selects)."""
    return item.kind == "short" and item.resolution is None


@dataclass
class Expected:
    """What a parcel may bring against a transfer: per part, the shipped serials not
    yet received, and the bulk units not yet received."""

    serials: dict[str, list[TransferSerial]]
    bulk: dict[str, int]

    def parts(self) -> set[str]:
        return {p for p, rows in self.serials.items() if rows} | {
            p for p, qty in self.bulk.items() if qty
        }


def book_arrival(
    uow: UnitOfWork,
    actor: Actor,
    transfer: Transfer,
    lines: dict[str, TransferLine],
    expected: Expected,
    received: Sequence[ReceivedLine] | None,
    *,
    late: bool,
    now: datetime,
) -> None:
    """Book one parcel of a transfer - its first receipt, or a late parcel - against
    what it may bring. ``received`` None: everything expected arrived. Units are
    locked before any balance, in one pass (the lock order of ``inventory.service``)."""
    assert transfer.id is not None
    arrived: dict[str, ReceivedLine] = {}
    for item in received or []:
        part_number = item.part_number.strip().upper()
        if part_number in arrived:
            raise Invalid(gettext("%(part)s is listed twice", part=part_number))
        arrived[part_number] = item
    if received is not None and not arrived:
        # An empty list is no receipt: list the lines (a line that did not arrive at
        # all with 0, or no serials), or confirm that everything arrived.
        raise Invalid(gettext("list what arrived, line by line"))
    numbers = (set(lines) if not late else expected.parts()) | set(arrived)
    parts = parts_for_move(uow, numbers)
    seen: dict[str, list[str]] = {}
    for number, part in parts.items():
        if part.serialized:
            item = arrived.get(number) if received is not None else None
            seen[number] = _serials_seen(
                part, expected.serials.get(number, []), item, received is None
            )
    already = (
        {row.serial: row for row in shipped_rows(uow, transfer.id) if row.received} if late else {}
    )
    # Every unit the receipt names, locked in one pass before any balance (the lock
    # order of ``inventory.service``), whichever line it was listed on.
    units = lock_units(
        uow,
        [row.serial for rows in expected.serials.values() for row in rows]
        + [serial for serials in seen.values() for serial in serials],
    )
    receipt = _Receipt(uow, transfer, units, now, late=late, by=actor.username)
    for number, part in parts.items():
        if part.serialized:
            for serial in seen[number]:
                if serial in already:
                    raise Conflict(
                        gettext(
                            "serial %(serial)s already arrived on %(code)s",
                            serial=serial,
                            code=transfer_code(transfer.id),
                        )
                    )
            receipt.serials(part, lines.get(number), expected.serials.get(number, []), seen[number])
        else:
            item = arrived.get(number) if received is not None else None
            expected_qty = expected.bulk.get(number, 0)
            receipt.bulk(part, lines.get(number), expected_qty, item, received is None)
    if receipt.deltas:
        ledger.post(
            uow,
            "transfer_late_receipt" if late else "transfer_receive",
            actor.username,
            receipt.deltas,
            reason=f"transfer {transfer.from_depot} -> {transfer.to_depot}",
            reference=transfer_code(transfer.id),
        )
    elif late:
        raise Invalid(gettext("nothing in the late parcel: say what arrived"))


def _serials_seen(
    part: Part, expected_rows: list[TransferSerial], item: ReceivedLine | None, everything: bool
) -> list[str]:
    """The serials of ``part`` that arrived, as the receipt lists them."""
    if everything:
        return sorted(row.serial for row in expected_rows)
    if item is None:
        return []  # a line left out of an itemised receipt did not arrive
    if item.qty is not None and item.serials is None:
        raise Invalid(
            gettext("%(part)s is serialized; list the serials that arrived", part=part.part_number)
        )
    return normalize_serials(part, len(item.serials or []), item.serials)


@dataclass
class _Receipt:
    """One parcel being booked: the ledger lines and discrepancies it gathers. A late
    parcel resolves the shortfalls its units fill instead of recording new ones."""

    uow: UnitOfWork
    transfer: Transfer
    units: dict[str, Unit]  # every unit the receipt names, already locked
    now: datetime
    late: bool = False
    by: str = ""
    deltas: list[Delta] = field(default_factory=list)

    @property
    def target(self) -> str:
        return self.transfer.to_depot

    def discrepancy(
        self, part: str, kind: str, qty: int, serial: str | None = None, note: str = ""
    ) -> TransferDiscrepancy:
        assert self.transfer.id is not None
        item = TransferDiscrepancy(
            transfer_id=self.transfer.id,
            part_number=part,
            kind=kind,
            qty=qty,
            serial=serial,
            note=note,
        )
        self.uow.session.add(item)
        return item

    def _arrived(self, item: TransferDiscrepancy) -> None:
        item.resolution, item.resolved_by, item.resolved_at = "arrived", self.by, self.now
        self.uow.session.add(item)

    def bulk(
        self,
        part: Part,
        line: TransferLine | None,
        expected: int,
        item: ReceivedLine | None,
        everything: bool,
    ) -> None:
        number, target = part.part_number, self.target
        if everything:
            got = expected
        elif item is None:
            got = 0  # a line left out of an itemised receipt did not arrive
        else:
            if item.serials:
                raise Invalid(
                    gettext("%(part)s is not serialized; give qty, not serials", part=number)
                )
            if item.qty is None or isinstance(item.qty, bool) or item.qty < 0:
                raise Invalid(
                    gettext("%(part)s: give the whole number of units that arrived", part=number)
                )
            got = item.qty
        filled = min(got, expected)
        if filled:
            self.deltas.append(Delta(target, number, Bucket.IN_TRANSIT, -filled))
            self.deltas.append(Delta(target, number, Bucket.GOOD, filled))
        if self.late:
            self._fill_bulk_shortfalls(number, filled)
        elif got < expected:
            self.discrepancy(number, "short", expected - got, note=SHORT_NOTE)
        if got > expected:
            self.deltas.append(Delta(target, number, Bucket.QUARANTINE, got - expected))
            self.discrepancy(number, "extra", got - expected, note=EXTRA_NOTE)
        if line is not None:
            line.qty_received = (line.qty_received or 0) + got if self.late else got
            self.uow.session.add(line)

    def _fill_bulk_shortfalls(self, part_number: str, filled: int) -> None:
        """A late parcel brought ``filled`` bulk units: resolve the open shortfalls
        they cover, oldest first; a shortfall covered in part is split into what
        arrived (resolved) and what is still missing (a new open shortfall)."""
        assert self.transfer.id is not None
        for item in open_shortfalls(self.uow, self.transfer.id):
            if filled <= 0:
                break
            if item.part_number != part_number or item.serial is not None:
                continue
            if filled < item.qty:
                self.discrepancy(part_number, "short", item.qty - filled, note=STILL_SHORT_NOTE)
                item.qty = filled
            filled -= item.qty
            self._arrived(item)

    def serials(
        self,
        part: Part,
        line: TransferLine | None,
        expected_rows: list[TransferSerial],
        seen: list[str],
    ) -> None:
        number, target = part.part_number, self.target
        expected = {row.serial for row in expected_rows}
        shortfalls = (
            {
                item.serial: item
                for item in open_shortfalls(self.uow, self.transfer.id or 0)
                if item.serial is not None
            }
            if self.late
            else {}
        )
        arrived_units: list[Unit] = []
        for row in expected_rows:
            if row.serial not in seen:
                if not self.late:  # it stays in transit until it arrives or is written off
                    self.discrepancy(number, "short", 1, row.serial, SHORT_NOTE)
                continue
            unit = self.units[row.serial]
            self.deltas.append(Delta(target, number, Bucket.IN_TRANSIT, -1, row.serial))
            self.deltas.append(Delta(target, number, Bucket.GOOD, +1, row.serial))
            unit.location, unit.depot_code, unit.updated_at = Location.DEPOT, target, self.now
            arrived_units.append(unit)
            row.received = True
            self.uow.session.add(row)
            if row.serial in shortfalls:
                self._arrived(shortfalls[row.serial])
        shelves.shelve(self.uow, arrived_units, target, number, by=self.by)
        unexpected = [s for s in seen if s not in expected]
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
            count = sum(1 for s in seen if s in expected)
            line.qty_received = (line.qty_received or 0) + count if self.late else count
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
        unit.bin = shelves.default_bin(self.uow, self.target, part_number)
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
                gettext(
                    "serial %(serial)s is recorded as %(part)s, %(where)s; it cannot be "
                    "received on this transfer",
                    serial=serial,
                    part=unit.part_number,
                    where=describe_location(unit),
                )
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
        moved.bin = shelves.default_bin(self.uow, self.target, part_number)
        self.uow.session.add(moved)


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
    """True for an extra still waiting in quarantine for the accept / send back
    decision (shortfalls wait for a late parcel or a write-off instead, see
    ``awaits_arrival``; wrong serials are booked as they are found)."""
    return item.kind == DECIDABLE_KIND and item.resolution is None


def decision_from(text: str) -> Decision:
    """``accept``, ``send_back`` or ``send-back`` as a ``Decision``; ``Invalid`` otherwise."""
    value = (text or "").strip().lower().replace("-", "_")
    try:
        return Decision(value)
    except ValueError:
        raise Invalid(gettext("decision must be accept or send-back")) from None


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
        if transfer_id is not None:
            raise NotFound(
                gettext(
                    "unknown discrepancy %(id)s on %(code)s",
                    id=discrepancy_id,
                    code=transfer_code(transfer_id),
                )
            )
        raise NotFound(gettext("unknown discrepancy %(id)s", id=discrepancy_id))
    transfer = uow.session.get(Transfer, item.transfer_id)
    assert transfer is not None and transfer.id is not None
    actor.require_role(Role.DEPOT_STAFF)
    actor.require_depot(transfer.to_depot)
    code = transfer_code(transfer.id)
    if item.kind != DECIDABLE_KIND:
        raise Conflict(
            gettext(
                "discrepancy %(id)s on %(code)s is %(kind)s: only an extra (units nobody "
                "shipped) waits for a decision",
                id=discrepancy_id,
                code=code,
                kind=label(DISCREPANCY_LABELS, item.kind),
            )
        )
    if item.resolution is not None:
        raise Conflict(
            gettext(
                "the extra %(id)s on %(code)s was already %(resolution)s by %(user)s",
                id=discrepancy_id,
                code=code,
                resolution=label(RESOLUTION_LABELS, item.resolution),
                user=item.resolved_by,
            )
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
            unit.location, unit.depot_code, unit.bin = Location.SENT_BACK, None, None
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
            gettext(
                "serial %(serial)s arrived as an extra on %(code)s and waits in %(depot)s's "
                "quarantine for a decision: accept it or send it back on the transfer first",
                serial=serial,
                code=transfer_code(self.transfer_id),
                depot=self.depot,
            )
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
