"""Stock moves inside one depot: receipts, adjustments, scrap, condition changes, counts.

Every move locks the units it names before the balances it posts to (the lock
order of ``inventory.service``). Units coming onto the shelf are put in their
bins (``inventory.service.bins``); units leaving it leave their bin. Extras that
arrived on a transfer wait in quarantine for the receiving depot's decision
(``receipts.resolve_discrepancy``): scrap, negative adjustments and condition
changes out of quarantine must leave them there, so none of these becomes a way
round that decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, or_, select

from core import clock
from core.auth import Actor
from core.db import UnitOfWork, lock_for_update, transactional
from core.errors import Conflict, Invalid
from core.i18n import gettext
from inventory.models import (
    MAX_REASON,
    Bucket,
    Location,
    Movement,
    Part,
    StockBalance,
    StockCount,
    Unit,
)
from inventory.service import bins as shelves
from inventory.service import ledger, receipts, repair_yield
from inventory.service.ledger import Delta
from inventory.service.serials import require_not_held_elsewhere
from inventory.service.stock import (
    describe_location,
    lock_units,
    normalize_serials,
    part_for_move,
    require_condition,
    require_depot,
    require_qty,
    require_staff_of,
    units_in_stock,
)


def _reason(reason: str | None, *, required: bool) -> str:
    text = (reason or "").strip()
    if required and not text:
        raise Invalid(gettext("a reason is required"))
    if len(text) > MAX_REASON:
        raise Invalid(gettext("reason must be at most %(limit)s characters", limit=MAX_REASON))
    return text


def _new_units(
    uow: UnitOfWork,
    serials: Sequence[str],
    part_number: str,
    depot: str,
    condition: str,
    *,
    bin: str | None = None,
    bins: Mapping[str, str] | None = None,
    by: str = "",
) -> None:
    """Create units for serials never seen before, shelved in their bins (``Conflict``
    if any is known, in stock or held by another domain, e.g. installed at a
    customer)."""
    if not serials:
        # Nothing to create or shelve (bulk stock, or every serial already known); a
        # bulk receipt shelves the part itself, so this spares a second read of its bin.
        return
    known = lock_units(uow, serials)
    if known:
        first = next(iter(known.values()))
        raise Conflict(
            gettext(
                "serial %(serial)s already exists (%(part)s, %(where)s)",
                serial=first.serial,
                part=first.part_number,
                where=describe_location(first),
            )
        )
    require_not_held_elsewhere(uow, serials)
    now = clock.now()
    units = [
        Unit(
            serial=s,
            part_number=part_number,
            condition=condition,
            location=Location.DEPOT,
            depot_code=depot,
            updated_at=now,
        )
        for s in serials
    ]
    uow.session.add_all(units)
    shelves.shelve(uow, units, depot, part_number, bin=bin, bins=bins, by=by)


def _deltas(
    depot: str, part_number: str, bucket: str, qty: int, serials: Sequence[str], sign: int
) -> list[Delta]:
    if serials:
        return [Delta(depot, part_number, bucket, sign, s) for s in serials]
    return [Delta(depot, part_number, bucket, sign * abs(qty))]


@transactional
def receive(
    uow: UnitOfWork,
    actor: Actor,
    depot: str,
    part_number: str,
    qty: int,
    serials: Sequence[str] | None = None,
    *,
    reference: str | None = None,
    reason: str = "",
    bin: str | None = None,
    bins: Mapping[str, str] | None = None,
) -> Movement:
    """Receive new good stock from the factory or a supplier into ``depot``.

    Serialized units are shelved in ``bins[serial]``, else ``bin``, else the
    part's default bin at the depot; a ``bin`` given for a part with no default
    bin there becomes its default (bulk stock has no bin per unit: its bin is
    the default one, so ``bin`` sets it when none is set)."""
    depot = require_depot(uow, depot).code
    require_staff_of(actor, depot)
    part = part_for_move(uow, part_number)
    qty = require_qty(qty)
    serials = normalize_serials(part, qty, serials)
    per_serial = shelves.check_bins_given(serials, bins)
    _new_units(
        uow,
        serials,
        part.part_number,
        depot,
        Bucket.GOOD,
        bin=bin,
        bins=per_serial,
        by=actor.username,
    )
    if not serials:
        shelves.shelve(uow, [], depot, part.part_number, bin=bin, by=actor.username)
    return ledger.post(
        uow,
        "receipt",
        actor.username,
        _deltas(depot, part.part_number, Bucket.GOOD, qty, serials, +1),
        reason=_reason(reason, required=False) or "received from supplier",
        reference=reference,
    )


@transactional
def adjust(
    uow: UnitOfWork,
    actor: Actor,
    depot: str,
    part_number: str,
    qty: int,
    reason: str,
    serials: Sequence[str] | None = None,
    *,
    condition: str = "good",
) -> Movement:
    """Correct stock by a signed quantity, with a reason. Serialized parts name the
    units: new serials when adding, units on the shelf when removing (they become
    missing)."""
    depot = require_depot(uow, depot).code
    require_staff_of(actor, depot)
    part = part_for_move(uow, part_number)
    qty = require_qty(qty, allow_negative=True)
    condition = require_condition(condition)
    reason = _reason(reason, required=True)
    serials = normalize_serials(part, qty, serials)
    if qty > 0:
        _new_units(uow, serials, part.part_number, depot, condition, by=actor.username)
    else:
        for unit in units_in_stock(uow, depot, part.part_number, condition, serials):
            unit.location, unit.depot_code, unit.updated_at = Location.MISSING, None, clock.now()
            unit.bin = None
            uow.session.add(unit)
    movement = ledger.post(
        uow,
        "adjustment",
        actor.username,
        _deltas(depot, part.part_number, condition, qty, serials, 1 if qty > 0 else -1),
        reason=reason,
    )
    if qty < 0:
        _leave_waiting_extras(uow, depot, part, condition, serials)
    return movement


@transactional
def scrap(
    uow: UnitOfWork,
    actor: Actor,
    depot: str,
    part_number: str,
    qty: int,
    reason: str,
    serials: Sequence[str] | None = None,
    *,
    condition: str = "defective",
) -> Movement:
    """Write off units that cannot be repaired (from defective stock by default)."""
    depot = require_depot(uow, depot).code
    require_staff_of(actor, depot)
    part = part_for_move(uow, part_number)
    qty = require_qty(qty)
    condition = require_condition(condition)
    serials = normalize_serials(part, qty, serials)
    for unit in units_in_stock(uow, depot, part.part_number, condition, serials):
        unit.location, unit.depot_code, unit.updated_at = Location.SCRAPPED, None, clock.now()
        unit.bin = None
        uow.session.add(unit)
    movement = ledger.post(
        uow,
        "scrap",
        actor.username,
        _deltas(depot, part.part_number, condition, qty, serials, -1),
        reason=_reason(reason, required=True),
    )
    _leave_waiting_extras(uow, depot, part, condition, serials)
    repair_yield.record_outcomes(
        uow, depot, part.part_number, serials, qty, from_bucket=condition, to_good=False
    )
    return movement


@transactional
def change_condition(
    uow: UnitOfWork,
    actor: Actor,
    depot: str,
    part_number: str,
    qty: int,
    from_condition: str,
    to_condition: str,
    serials: Sequence[str] | None = None,
    *,
    reason: str = "",
    reference: str | None = None,
) -> Movement:
    """Move units between conditions at one depot: defective -> in repair -> good
    (refurbished), or into and out of quarantine."""
    depot = require_depot(uow, depot).code
    require_staff_of(actor, depot)
    part = part_for_move(uow, part_number)
    qty = require_qty(qty)
    source, target = require_condition(from_condition), require_condition(to_condition)
    if source == target:
        raise Invalid(gettext("from and to condition are the same"))
    serials = normalize_serials(part, qty, serials)
    for unit in units_in_stock(uow, depot, part.part_number, source, serials):
        unit.condition, unit.updated_at = target, clock.now()
        if target == Bucket.GOOD and source in (Bucket.DEFECTIVE, Bucket.IN_REPAIR):
            unit.refurbished = True
        uow.session.add(unit)
    deltas = _deltas(depot, part.part_number, source, qty, serials, -1) + _deltas(
        depot, part.part_number, target, qty, serials, +1
    )
    movement = ledger.post(
        uow,
        "condition",
        actor.username,
        deltas,
        reason=_reason(reason, required=False) or f"{source} -> {target}",
        reference=reference,
    )
    _leave_waiting_extras(uow, depot, part, source, serials)
    if target == Bucket.GOOD:
        repair_yield.record_outcomes(
            uow, depot, part.part_number, serials, qty, from_bucket=source, to_good=True
        )
    return movement


def _leave_waiting_extras(
    uow: UnitOfWork, depot: str, part: Part, bucket: str, serials: Sequence[str]
) -> None:
    """``Conflict`` when a move out of ``bucket`` took extras that wait in quarantine
    for a decision: a named serial that is one, or (bulk) fewer units left in
    quarantine than wait there. Called after posting, so the balance read is the
    locked one the move leaves behind; raising rolls the move back."""
    if bucket != Bucket.QUARANTINE:
        return
    waiting = receipts.waiting_extra_serials(uow, serials)
    if waiting:
        serial = min(waiting)
        raise waiting[serial].refusal(serial)
    waiting_qty = 0 if part.serialized else receipts.waiting_extra_qty(uow, depot, part.part_number)
    if not waiting_qty:
        return
    balance = uow.session.get(StockBalance, (depot, part.part_number, Bucket.QUARANTINE.value))
    left = balance.on_hand if balance is not None else 0
    if left < waiting_qty:
        raise Conflict(
            gettext(
                "%(waiting)s %(part)s in quarantine at %(depot)s arrived as extras on "
                "transfers and wait for a decision; this would leave %(left)s: accept them or "
                "send them back on the transfer first",
                waiting=waiting_qty,
                part=part.part_number,
                depot=depot,
                left=left,
            )
        )


@dataclass(frozen=True)
class CountResult:
    count_id: int
    expected: int
    counted: int
    movement_id: int | None
    missing: list[str]
    found: list[str]


@transactional
def count(
    uow: UnitOfWork,
    actor: Actor,
    depot: str,
    part_number: str,
    counted: int | None = None,
    serials: Sequence[str] | None = None,
    *,
    condition: str = "good",
) -> CountResult:
    """Record a cycle count; the difference to the books becomes adjustment entries.

    Serialized parts are counted by serial: units on the books but not seen
    become missing, serials seen but never recorded are added. The units on the
    shelf and those seen are locked before the balance, like every other writer
    (a pick locks its unit, then the balance: the other way round, the two could
    deadlock).
    """
    depot = require_depot(uow, depot).code
    require_staff_of(actor, depot)
    part = part_for_move(uow, part_number)
    condition = require_condition(condition)
    missing: list[str] = []
    found: list[str] = []
    deltas: list[Delta] = []
    if part.serialized:
        seen = normalize_serials(part, len(serials or []), serials) if serials else []
        if counted is not None and counted != len(seen):
            raise Invalid(
                gettext(
                    "counted %(counted)s but %(given)s serials given",
                    counted=counted,
                    given=len(seen),
                )
            )
        on_books = {
            unit.serial
            for unit in _lock_shelf_and_seen(uow, depot, part.part_number, condition, seen)
            if (unit.location, unit.depot_code, unit.part_number, unit.condition)
            == (Location.DEPOT, depot, part.part_number, condition)
        }
        missing = sorted(on_books - set(seen))
        found = sorted(set(seen) - on_books)
        deltas += [Delta(depot, part.part_number, condition, -1, s) for s in missing]
        deltas += [Delta(depot, part.part_number, condition, +1, s) for s in found]
        counted_qty = len(seen)
    else:
        if serials:
            raise Invalid(
                gettext("%(part)s is not serialized; give no serials", part=part.part_number)
            )
        if counted is None or isinstance(counted, bool) or counted < 0:
            raise Invalid(gettext("counted must be a whole number >= 0"))
        counted_qty = counted
    balances = ledger.lock_balances(uow, [(depot, part.part_number, condition)])
    balance: StockBalance = balances[(depot, part.part_number, condition)]
    expected = balance.on_hand
    if not part.serialized and counted_qty != expected:
        deltas.append(Delta(depot, part.part_number, condition, counted_qty - expected))
    if counted_qty < balance.reserved:
        raise Conflict(
            gettext(
                "%(reserved)s units are reserved at %(depot)s; release them before counting "
                "%(counted)s",
                reserved=balance.reserved,
                depot=depot,
                counted=counted_qty,
            )
        )
    if part.serialized:
        for unit in units_in_stock(uow, depot, part.part_number, condition, missing):
            unit.location, unit.depot_code, unit.updated_at = Location.MISSING, None, clock.now()
            unit.bin = None
            uow.session.add(unit)
        _revive_or_create(uow, found, part.part_number, depot, condition, actor.username)
    movement = (
        ledger.post(
            uow,
            "count",
            actor.username,
            deltas,
            reason=f"cycle count: expected {expected}, counted {counted_qty}",
        )
        if deltas
        else None
    )
    record = StockCount(
        depot_code=depot,
        part_number=part.part_number,
        bucket=condition,
        expected=expected,
        counted=counted_qty,
        movement_id=movement.id if movement else None,
        counted_by=actor.username,
    )
    uow.session.add(record)
    uow.session.flush()
    assert record.id is not None
    return CountResult(record.id, expected, counted_qty, record.movement_id, missing, found)


def _lock_shelf_and_seen(
    uow: UnitOfWork, depot: str, part_number: str, condition: str, seen: Sequence[str]
) -> list[Unit]:
    """Lock, in one statement and in the units' lock order, the units the books put
    in (depot, part, condition) and the units with the serials seen (wherever the
    books have them)."""
    on_shelf = and_(
        Unit.depot_code == depot,
        Unit.part_number == part_number,
        Unit.location == Location.DEPOT,
        Unit.condition == condition,
    )
    query = (
        select(Unit)
        .where(or_(on_shelf, Unit.serial.in_(list(seen))) if seen else on_shelf)
        .order_by(Unit.part_number, Unit.serial)
        .execution_options(populate_existing=True)
    )
    return list(uow.session.scalars(lock_for_update(query, uow)))


def _revive_or_create(
    uow: UnitOfWork,
    serials: Sequence[str],
    part_number: str,
    depot: str,
    condition: str,
    by: str,
) -> None:
    """Serials found on the shelf: a unit recorded missing comes back; an unknown one is new.
    A serial recorded anywhere else is refused: it must be moved, not counted in; so is
    an extra that waits for a decision, anywhere but in its depot's quarantine."""
    known = lock_units(uow, serials)
    waiting = receipts.waiting_extra_serials(uow, list(known))
    for serial in serials:
        unit = known.get(serial)
        if unit is None:
            continue
        if unit.location != Location.MISSING or unit.part_number != part_number:
            raise Conflict(
                gettext(
                    "serial %(serial)s is recorded as %(part)s, %(where)s; move it instead",
                    serial=serial,
                    part=unit.part_number,
                    where=describe_location(unit),
                )
            )
        # An extra counted missing may turn up again, but only where it waits.
        extra = waiting.get(serial)
        if extra is not None and (depot, condition) != (extra.depot, Bucket.QUARANTINE):
            raise extra.refusal(serial)
        unit.location, unit.depot_code, unit.condition = Location.DEPOT, depot, condition
        unit.updated_at = clock.now()
        uow.session.add(unit)
    revived = [known[s] for s in serials if s in known]
    shelves.shelve(uow, revived, depot, part_number, by=by)
    _new_units(uow, [s for s in serials if s not in known], part_number, depot, condition, by=by)


@transactional
def receive_return(
    uow: UnitOfWork,
    actor: Actor,
    depot: str,
    part_number: str,
    serial: str | None,
    *,
    condition: str = "defective",
    qty: int = 1,
    reference: str | None = None,
    reason: str = "",
    finding: str | None = None,
) -> Movement:
    """A unit coming back from a customer into ``depot``: the defective unit of an
    advance replacement (defective stock) or a loaner (quarantine for inspection).

    A serial the books know (a spare shipped earlier, now at the customer) is
    brought back; an unknown one (the customer's own unit) becomes ours.
    ``Conflict`` if the serial is recorded in stock somewhere. A unit into defective
    stock gets its receipt with ``finding`` (``repair_yield``); a finding on a unit
    into any other condition is ``Invalid``.
    """
    depot = require_depot(uow, depot).code
    require_staff_of(actor, depot)
    part = part_for_move(uow, part_number)
    condition = require_condition(condition)
    qty = require_qty(qty)
    finding = repair_yield.require_finding(finding)
    if finding is not None and condition != Bucket.DEFECTIVE:
        raise Invalid(
            gettext("a finding is recorded only for a unit into defective stock"),
            field="finding",
        )
    serials = normalize_serials(part, qty, [serial] if serial else [])
    known = lock_units(uow, serials)
    for unit in known.values():
        if unit.location in (Location.DEPOT, Location.IN_TRANSIT):
            raise Conflict(
                gettext(
                    "serial %(serial)s is recorded in stock (%(where)s); it cannot come back "
                    "from a customer",
                    serial=unit.serial,
                    where=describe_location(unit),
                )
            )
        if unit.part_number != part.part_number:
            raise Conflict(
                gettext(
                    "serial %(serial)s is a %(actual)s, not %(part)s",
                    serial=unit.serial,
                    actual=unit.part_number,
                    part=part.part_number,
                )
            )
        unit.location, unit.depot_code, unit.condition = Location.DEPOT, depot, condition
        unit.updated_at = clock.now()
        uow.session.add(unit)
    shelves.shelve(uow, list(known.values()), depot, part.part_number, by=actor.username)
    _new_units(
        uow,
        [s for s in serials if s not in known],
        part.part_number,
        depot,
        condition,
        by=actor.username,
    )
    movement = ledger.post(
        uow,
        "return",
        actor.username,
        _deltas(depot, part.part_number, condition, qty, serials, +1),
        reason=_reason(reason, required=False) or "returned by customer",
        reference=reference,
    )
    if condition == Bucket.DEFECTIVE:
        repair_yield.record_receipt(
            uow, depot, part.part_number, serials, qty, finding=finding, reference=reference
        )
    return movement
