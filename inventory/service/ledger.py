"""Posting to the ledger: the only way stock changes."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.util import identity_key

from core.db import UnitOfWork, lock_for_update, read_only
from core.errors import InsufficientStock, Invalid
from core.i18n import gettext
from inventory.labels import BUCKET_LABELS, label
from inventory.models import (
    BUCKET_NAMES,
    Bucket,
    LedgerEntry,
    Movement,
    Part,
    PartStock,
    Reservation,
    StockBalance,
    Unit,
)
from inventory.service.serials import SerialInTwoPlaces, serials_in_two_places

BalanceKey = tuple[str, str, str]  # (depot, part number, bucket)
# The columns of ``part_stock`` a posting changes: each bucket's on hand, reserved
# good stock, and every bucket together.
PART_STOCK_COLUMNS = (*BUCKET_NAMES, "reserved", "units")
MAX_REFERENCE = 60


@dataclass(frozen=True)
class Delta:
    """A signed change of on-hand stock in one bucket (one serial for serialized parts)."""

    depot: str
    part_number: str
    bucket: str
    qty: int
    serial: str | None = None

    @property
    def key(self) -> BalanceKey:
        return (self.depot, self.part_number, self.bucket)


def lock_balances(uow: UnitOfWork, keys: Iterable[BalanceKey]) -> dict[BalanceKey, StockBalance]:
    """Lock (creating when missing) the balance rows for ``keys``, in sorted order.

    Every writer locks in the same order - depot, part number, bucket - so two
    moves touching the same rows queue instead of deadlocking. On SQLite the
    transaction already holds the writer lock (BEGIN IMMEDIATE).
    """
    ordered = sorted(set(keys))
    if not ordered:
        return {}
    if len(ordered) == 1:
        # One row (a hold, a release, most single moves): lock it if it exists. When
        # it does not, nothing is locked yet, so creating it below keeps the order;
        # with several rows, creating one after locking another could deadlock.
        found = _select_for_update(uow, ordered)
        if found:
            return found
    rows = [
        {"depot_code": d, "part_number": p, "bucket": b, "on_hand": 0, "reserved": 0}
        for d, p, b in ordered
    ]
    # Rows given as parameters, not baked into the statement, so it is compiled once
    # per process (a multi-VALUES statement is compiled again for every posting).
    uow.session.execute(_statements(uow.dialect).create_balances, rows)
    return _select_for_update(uow, ordered)


def _select_for_update(
    uow: UnitOfWork, ordered: list[BalanceKey]
) -> dict[BalanceKey, StockBalance]:
    """The balance rows of ``ordered`` (sorted keys) that exist, locked in that order."""
    dialect = uow.dialect
    query = select(StockBalance).order_by(
        StockBalance.depot_code, StockBalance.part_number, StockBalance.bucket
    )
    if dialect == "postgresql":
        key_column = tuple_(StockBalance.depot_code, StockBalance.part_number, StockBalance.bucket)
        query = query.where(key_column.in_(ordered))
    else:
        # SQLite plans a long row-value IN list as a scan; a superset by depot and
        # part uses the primary key, and the writer lock is already held anyway.
        query = query.where(
            StockBalance.depot_code.in_({k[0] for k in ordered}),
            StockBalance.part_number.in_({k[1] for k in ordered}),
        )
    query = query.execution_options(populate_existing=True)
    wanted = set(ordered)
    balances = [
        b
        for b in uow.session.scalars(lock_for_update(query, uow))
        if (b.depot_code, b.part_number, b.bucket) in wanted
    ]
    return {(b.depot_code, b.part_number, b.bucket): b for b in balances}


def post(
    uow: UnitOfWork,
    kind: str,
    actor: str,
    deltas: Sequence[Delta],
    *,
    reason: str = "",
    reference: str | None = None,
    reserved_changes: dict[BalanceKey, int] | None = None,
) -> Movement:
    """Record one movement: its entries, and the balances they change, atomically.

    Quantities for the same (depot, part, bucket) are added up before checking,
    so a move cannot pass the check line by line and oversell in total.
    ``reserved_changes`` adjusts reserved quantities on ``good`` rows in the
    same step (a pick consumes its reservation). Raises ``InsufficientStock``
    when a bucket would go negative or below what is reserved in it (nothing
    changed then). A movement without entries gets its id at the next flush.
    """
    if not deltas and not reserved_changes:
        raise Invalid(gettext("a movement needs at least one line"))
    if reference is not None and len(reference) > MAX_REFERENCE:
        # The column holds 60 characters; PostgreSQL would refuse longer with a 500.
        raise Invalid(
            gettext("reference must be at most %(limit)s characters", limit=MAX_REFERENCE)
        )
    for delta in deltas:
        if delta.bucket not in BUCKET_NAMES:
            raise Invalid(gettext("unknown stock bucket %(bucket)r", bucket=delta.bucket))
        if delta.qty == 0:
            raise Invalid(gettext("a ledger line cannot move zero units"))
    on_hand_change: dict[BalanceKey, int] = defaultdict(int)
    for delta in deltas:
        on_hand_change[delta.key] += delta.qty
    reserved_changes = reserved_changes or {}
    changed_in_place = (
        not deltas
        and len(reserved_changes) == 1
        and _change_reserved_in_place(uow, *next(iter(reserved_changes.items())))
    )
    if not changed_in_place:
        changed = _checked(uow, on_hand_change, reserved_changes)
        # Every line checked before anything changes: a refused posting leaves no
        # balance changed in the session (a case hold refused at one depot tries the
        # next one in the same transaction).
        _add_to_part_stock(uow, on_hand_change, reserved_changes)
        for balance, new_on_hand, new_reserved in changed:
            balance.on_hand, balance.reserved = new_on_hand, new_reserved
            uow.session.add(balance)
    movement = Movement(kind=kind, actor=actor, reason=reason, reference=reference)
    uow.session.add(movement)
    if deltas:
        # The entries need the movement's id; a posting without entries (a hold or
        # its release) leaves the movement and the balances to the use case's next
        # flush, one round of the session's bookkeeping instead of two.
        uow.session.flush()
        uow.session.execute(
            insert(LedgerEntry),
            [
                {
                    "movement_id": movement.id,
                    "depot_code": d.depot,
                    "part_number": d.part_number,
                    "bucket": d.bucket,
                    "qty": d.qty,
                    "serial": d.serial,
                    "created_at": movement.created_at,
                }
                for d in deltas
            ],
        )
    return movement


def reserved_within_on_hand(on_hand: Any, reserved: Any) -> Any:
    """The posting rule on reserved stock, as the table's CHECKs hold it too: never
    below zero, never above what is on hand. On numbers (a bool) and on columns (a
    SQL condition) alike, so the in-place change and the full check share it."""
    return (reserved >= 0) & (reserved <= on_hand)


_BALANCE = StockBalance.__table__.c  # type: ignore[attr-defined]
_NEW_RESERVED = _BALANCE.reserved + bindparam("change")
# Built once: every case hold and its release runs it.
_CHANGE_RESERVED = (
    update(StockBalance.__table__)  # type: ignore[arg-type]
    .where(
        _BALANCE.depot_code == bindparam("at_depot"),
        _BALANCE.part_number == bindparam("of_part"),
        _BALANCE.bucket == bindparam("in_bucket"),
        reserved_within_on_hand(_BALANCE.on_hand, _NEW_RESERVED),
    )
    .values(reserved=_NEW_RESERVED)
)


def _change_reserved_in_place(uow: UnitOfWork, key: BalanceKey, change: int) -> bool:
    """A posting that only moves one row's reserved quantity (a case hold, its
    release) as one conditional UPDATE: the row is locked, checked and changed in one
    round trip instead of a locking read and a write; ``part_stock`` follows (in the
    same statement on PostgreSQL). False, with nothing changed, when the row is
    missing, the change would break ``reserved_within_on_hand``, or the session holds
    unwritten changes to the row: the full check then decides, and says why it
    refuses."""
    held = uow.session.identity_map.get(identity_key(StockBalance, key))
    if held is not None and uow.session.is_modified(held):
        return False
    depot, part, bucket = key
    parameters = {"at_depot": depot, "of_part": part, "in_bucket": bucket, "change": change}
    # On the connection: the balance is neither audited nor a watched reference table.
    connection = uow.session.connection()
    combined = _statements(uow.dialect).change_reserved_and_part_stock
    if combined is not None:
        # PostgreSQL: the balance and its part_stock row in one round trip; the insert
        # counts one row exactly when the balance changed.
        if connection.execute(combined, parameters).rowcount != 1:
            return False
    else:
        if connection.execute(_CHANGE_RESERVED, parameters).rowcount != 1:
            return False
        _add_to_part_stock(uow, {}, {key: change})
    if held is not None:
        uow.session.expire(held)  # read afresh if it is asked again
    return True


def _checked(
    uow: UnitOfWork, on_hand_change: dict[BalanceKey, int], reserved_changes: dict[BalanceKey, int]
) -> list[tuple[StockBalance, int, int]]:
    """Lock the balances a posting changes and check every line: (balance, new on
    hand, new reserved) of each, or ``InsufficientStock`` for the first line refused."""
    balances = lock_balances(uow, [*on_hand_change, *reserved_changes])
    changed: list[tuple[StockBalance, int, int]] = []
    for key, balance in balances.items():
        new_on_hand = balance.on_hand + on_hand_change.get(key, 0)
        new_reserved = balance.reserved + reserved_changes.get(key, 0)
        if new_on_hand < 0:
            depot, part, bucket = key
            raise InsufficientStock(
                gettext(
                    "%(depot)s has %(on_hand)s %(bucket)s of %(part)s; %(needed)s needed",
                    depot=depot,
                    on_hand=balance.on_hand,
                    bucket=label(BUCKET_LABELS, bucket),
                    part=part,
                    needed=-on_hand_change[key],
                ),
                depot=depot,
                part_number=part,
                bucket=bucket,
                available=balance.on_hand - balance.reserved,
            )
        if not reserved_within_on_hand(new_on_hand, new_reserved):
            depot, part, bucket = key
            available = balance.on_hand - balance.reserved
            raise InsufficientStock(
                gettext(
                    "%(depot)s has %(available)s available %(bucket)s of %(part)s (%(on_hand)s "
                    "on hand, %(reserved)s reserved)",
                    depot=depot,
                    available=available,
                    bucket=label(BUCKET_LABELS, bucket),
                    part=part,
                    on_hand=balance.on_hand,
                    reserved=balance.reserved,
                ),
                depot=depot,
                part_number=part,
                bucket=bucket,
                available=available,
            )
        changed.append((balance, new_on_hand, new_reserved))
    return changed


def _add_to_part_stock(
    uow: UnitOfWork, on_hand_change: dict[BalanceKey, int], reserved_changes: dict[BalanceKey, int]
) -> None:
    """Carry a posting's balance changes into ``part_stock`` (one upsert), so the
    pivoted rows stay equal to the balances they mirror. Rows go in key order, the
    order the balances were locked in."""
    changes: dict[tuple[str, str], dict[str, int]] = {}
    for (depot, part, bucket), qty in on_hand_change.items():
        row = changes.setdefault((depot, part), dict.fromkeys(PART_STOCK_COLUMNS, 0))
        row[bucket] += qty
        row["units"] += qty
    for (depot, part, _bucket), qty in reserved_changes.items():
        row = changes.setdefault((depot, part), dict.fromkeys(PART_STOCK_COLUMNS, 0))
        row["reserved"] += qty
    rows = [
        {"depot_code": depot, "part_number": part, **columns}
        for (depot, part), columns in sorted(changes.items())
        if any(columns.values())
    ]
    if not rows:
        return
    # On the connection, as a plain statement: part_stock is neither audited nor a
    # watched reference table, and nothing in the session writes it, so the ORM's
    # bulk-insert path (and an autoflush) would cost for nothing.
    uow.session.connection().execute(_statements(uow.dialect).add_to_part_stock, rows)


@dataclass(frozen=True)
class _Upserts:
    """The posting's upserts for one database, built once: executed with their rows as
    parameters, SQLAlchemy compiles each once per process."""

    create_balances: Any  # missing balance rows, at zero
    add_to_part_stock: Any  # part_stock rows plus a posting's changes
    # PostgreSQL: ``_CHANGE_RESERVED`` and its part_stock change in one statement (a
    # data-modifying WITH, which SQLite lacks); None elsewhere.
    change_reserved_and_part_stock: Any


def _adding_to_part_stock(part_stock: Any) -> Any:
    """``part_stock``'s insert, adding to the row when it exists: every column plus the
    change (the rule both upserts follow)."""
    table = PartStock.__table__.c  # type: ignore[attr-defined]
    return part_stock.on_conflict_do_update(
        index_elements=[table.depot_code, table.part_number],
        set_={name: table[name] + part_stock.excluded[name] for name in PART_STOCK_COLUMNS},
    )


@functools.cache
def _statements(dialect: str) -> _Upserts:
    if dialect == "postgresql":
        insert_for: Any = postgresql.insert
    elif dialect == "sqlite":
        insert_for = sqlite.insert
    else:  # pragma: no cover - only the two supported databases
        raise RuntimeError(f"unsupported database {dialect}")
    combined = None
    if dialect == "postgresql":
        changed = _CHANGE_RESERVED.returning(_BALANCE.depot_code, _BALANCE.part_number).cte(
            "changed"
        )
        # The changed row's pivot: its reserved moves by the change, nothing else.
        pivot = [
            bindparam("change") if name == "reserved" else literal(0) for name in PART_STOCK_COLUMNS
        ]
        combined = _adding_to_part_stock(
            insert_for(PartStock).from_select(
                ["depot_code", "part_number", *PART_STOCK_COLUMNS],
                select(changed.c.depot_code, changed.c.part_number, *pivot),
            )
        ).execution_options(preserve_rowcount=True)  # an INSERT's count is not kept otherwise
    return _Upserts(
        create_balances=insert_for(StockBalance).on_conflict_do_nothing(),
        add_to_part_stock=_adding_to_part_stock(insert_for(PartStock)),
        change_reserved_and_part_stock=combined,
    )


def rebuild_part_stock(connection: Connection) -> int:
    """Fill ``part_stock`` anew from the balances: for bulk loads that write balance
    rows around ``post`` (benchmarks, tests of scale). Returns the rows written."""
    pivot = [
        func.coalesce(func.sum(case((StockBalance.bucket == bucket, StockBalance.on_hand))), 0)
        for bucket in BUCKET_NAMES
    ]
    held = func.coalesce(
        func.sum(case((StockBalance.bucket == Bucket.GOOD.value, StockBalance.reserved))), 0
    )
    connection.execute(delete(PartStock))
    result = connection.execute(
        insert(PartStock).from_select(
            ["depot_code", "part_number", *PART_STOCK_COLUMNS],
            select(
                StockBalance.depot_code,
                StockBalance.part_number,
                *pivot,
                held,
                func.coalesce(func.sum(StockBalance.on_hand), 0),
            ).group_by(StockBalance.depot_code, StockBalance.part_number),
        )
    )
    return result.rowcount


@dataclass(frozen=True)
class Discrepancy:
    depot: str
    part_number: str
    bucket: str
    what: str
    expected: int
    actual: int

    def __str__(self) -> str:
        return (
            f"{self.depot} {self.part_number} {self.bucket}: {self.what} "
            f"is {self.actual}, the ledger says {self.expected}"
        )


@read_only
def check_books(uow: UnitOfWork) -> list[Discrepancy | SerialInTwoPlaces]:
    """Every way the balances could disagree with the ledger, reservations and units.

    - on hand per (depot, part, bucket) must equal the sum of its ledger entries;
    - reserved on good stock must equal the sum of active reservations;
    - for serialized parts, on hand must equal the units recorded there;
    - no serial in stock may also be held elsewhere (e.g. installed at a customer).
    """
    session = uow.session
    ledger = {
        (d, p, b): int(total)
        for d, p, b, total in session.execute(
            select(
                LedgerEntry.depot_code,
                LedgerEntry.part_number,
                LedgerEntry.bucket,
                func.sum(LedgerEntry.qty),
            ).group_by(LedgerEntry.depot_code, LedgerEntry.part_number, LedgerEntry.bucket)
        )
    }
    # Plain rows, not ORM objects: building an object per balance row was most
    # of the check's time at a million ledger rows.
    balances = {
        (d, p, b): (on_hand, held)
        for d, p, b, on_hand, held in session.execute(
            select(
                StockBalance.depot_code,
                StockBalance.part_number,
                StockBalance.bucket,
                StockBalance.on_hand,
                StockBalance.reserved,
            )
        )
    }
    reserved = {
        (d, p, Bucket.GOOD.value): int(total)
        for d, p, total in session.execute(
            select(Reservation.depot_code, Reservation.part_number, func.sum(Reservation.qty))
            .where(Reservation.status == "active")
            .group_by(Reservation.depot_code, Reservation.part_number)
        )
    }
    unit_bucket = func.coalesce(
        func.nullif(Unit.location, "depot"),
        Unit.condition,  # in_transit, or the condition
    )
    units = {
        (d, p, b): int(n)
        for d, p, b, n in session.execute(
            select(Unit.depot_code, Unit.part_number, unit_bucket, func.count())
            .where(or_(Unit.location == "depot", Unit.location == "in_transit"))
            .group_by(Unit.depot_code, Unit.part_number, unit_bucket)
        )
    }
    serialized = set(session.scalars(select(Part.part_number).where(Part.serialized)))
    problems: list[Discrepancy | SerialInTwoPlaces] = []
    for key in sorted(set(ledger) | set(balances) | set(reserved)):
        on_hand, held = balances.get(key, (0, 0))
        if on_hand != ledger.get(key, 0):
            problems.append(Discrepancy(*key, "on hand", ledger.get(key, 0), on_hand))
        if held != reserved.get(key, 0):
            problems.append(Discrepancy(*key, "reserved", reserved.get(key, 0), held))
    for key in sorted(set(units) | {k for k in balances if k[1] in serialized}):
        if key[1] not in serialized:
            continue
        on_hand = balances.get(key, (0, 0))[0]
        if units.get(key, 0) != on_hand:
            problems.append(Discrepancy(*key, "serialized units", on_hand, units.get(key, 0)))
    problems.extend(_part_stock_differences(uow, ledger, reserved))
    problems.extend(serials_in_two_places(uow))
    return problems


def _part_stock_differences(
    uow: UnitOfWork, ledger: dict[BalanceKey, int], reserved: dict[BalanceKey, int]
) -> list[Discrepancy]:
    """Where ``part_stock`` disagrees with the ledger's sums and the active
    reservations, as the balances must (a row edited by hand, or written around
    ``post``)."""
    expected: dict[tuple[str, str], dict[str, int]] = {}
    for (depot, part, bucket), on_hand in ledger.items():
        row = expected.setdefault((depot, part), dict.fromkeys(PART_STOCK_COLUMNS, 0))
        row[bucket] += on_hand
        row["units"] += on_hand
    for (depot, part, _bucket), held in reserved.items():
        row = expected.setdefault((depot, part), dict.fromkeys(PART_STOCK_COLUMNS, 0))
        row["reserved"] += held
    columns = [getattr(PartStock, name) for name in PART_STOCK_COLUMNS]
    stored = {
        (depot, part): dict(zip(PART_STOCK_COLUMNS, values, strict=True))
        for depot, part, *values in uow.session.execute(
            select(PartStock.depot_code, PartStock.part_number, *columns)
        )
    }
    zero = dict.fromkeys(PART_STOCK_COLUMNS, 0)
    problems = []
    for key in sorted(set(expected) | set(stored)):
        want, have = expected.get(key, zero), stored.get(key, zero)
        for name in PART_STOCK_COLUMNS:
            if want[name] != have[name]:
                problems.append(Discrepancy(*key, name, "part stock", want[name], have[name]))
    return problems
