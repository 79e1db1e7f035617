"""Bulk-load a large, consistent stock ledger for the inventory benchmarks.

The generator plays a plausible history for a catalogue of bulk parts over the
eight depots - receipts, picks, transfers (ship into the destination's in
transit, then receive), condition changes (good -> defective -> in repair ->
good) and scrap - keeping a running balance per (depot, part, bucket) so no
bucket ever goes below zero. The ledger rows and their movements are appended
(the ledger triggers forbid UPDATE and DELETE, not INSERT) with COPY on
PostgreSQL and executemany on SQLite, and the balances are written from the
running totals, so ``ledger.check_books`` still finds nothing.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Engine

from depots.models import Depot
from inventory.models import LedgerEntry, Movement, Part, StockBalance
from inventory.service.ledger import rebuild_part_stock

CHUNK_MOVEMENTS = 50_000
ACTOR = "bench-loader"
FAMILIES = ("chassis", "line_card", "supervisor", "power", "fan", "optic", "cable", "module")

Key = tuple[str, str, str]


@dataclass(frozen=True)
class LoadReport:
    parts: int
    movements: int
    entries: int
    balances: int


def part_numbers(count: int, prefix: str = "BLK") -> list[str]:
    return [f"{prefix}-{n:06d}" for n in range(1, count + 1)]


class History:
    """Movements as (kind, reason, [(depot, part, bucket, qty)...]), about ``entries``
    ledger lines in all; ``balances`` holds the running on-hand of every bucket."""

    def __init__(self, depots: list[str], parts: list[str], entries: int, seed: int) -> None:
        self.depots, self.parts, self.entries = depots, parts, entries
        self.rng = random.Random(seed)
        self.balances: dict[Key, int] = defaultdict(int)

    def __iter__(self) -> Iterator[tuple[str, str, list[tuple[str, str, str, int]]]]:
        rng, balances, written = self.rng, self.balances, 0
        while written < self.entries:
            depot, part = rng.choice(self.depots), rng.choice(self.parts)
            for kind, reason, lines in self._movements(depot, part):
                yield kind, reason, lines
                written += len(lines)
                for d, p, b, q in lines:
                    balances[(d, p, b)] += q

    def _movements(
        self, depot: str, part: str
    ) -> list[tuple[str, str, list[tuple[str, str, str, int]]]]:
        rng, balances = self.rng, self.balances
        good = balances[(depot, part, "good")]
        roll = rng.random()
        if good < 3 or roll < 0.30:
            return [
                ("receipt", "received from supplier", [(depot, part, "good", rng.randint(1, 20))])
            ]
        if roll < 0.55:
            return [
                (
                    "pick",
                    "picked for an RMA",
                    [(depot, part, "good", -rng.randint(1, min(good, 3)))],
                )
            ]
        if roll < 0.80:
            target = rng.choice([d for d in self.depots if d != depot])
            qty = rng.randint(1, min(good, 5))
            reason = f"transfer {depot} -> {target}"
            shipped = (
                "transfer_ship",
                reason,
                [(depot, part, "good", -qty), (target, part, "in_transit", qty)],
            )
            if rng.random() < 0.1:  # still on the road
                return [shipped]
            arrived = [(target, part, "in_transit", -qty), (target, part, "good", qty)]
            return [shipped, ("transfer_receive", reason, arrived)]
        if roll < 0.93:
            source, target = rng.choice(
                [("good", "defective"), ("defective", "in_repair"), ("in_repair", "good")]
            )
            if balances[(depot, part, source)] < 1:
                source, target = "good", "defective"
            return [
                (
                    "condition",
                    f"{source} -> {target}",
                    [(depot, part, source, -1), (depot, part, target, 1)],
                )
            ]
        if balances[(depot, part, "defective")] < 1:
            return []
        return [("scrap", "beyond repair", [(depot, part, "defective", -1)])]


def load_ledger(engine: Engine, *, entries: int, parts: int, seed: int = 2026) -> LoadReport:
    """Append about ``entries`` ledger rows over ``parts`` new bulk parts at every depot.

    The parts must not exist yet (they are created here); balances for them are
    inserted from the played history. Ids continue after the current maximum,
    and on PostgreSQL the id sequences are moved past the new rows. PostgreSQL
    statistics are refreshed afterwards (ANALYZE), as autovacuum would after a big load;
    SQLite is left unanalysed, as a deployment would be.
    """
    numbers = part_numbers(parts)
    with engine.connect() as connection:
        depots = sorted(connection.scalars(select(Depot.code)))
        next_movement = (connection.scalar(select(func.max(Movement.id))) or 0) + 1
        next_entry = (connection.scalar(select(func.max(LedgerEntry.id))) or 0) + 1
    now = datetime.now(UTC)
    created = now - timedelta(days=730)
    history = History(depots, numbers, entries, seed)
    played = iter(history)
    step = timedelta(days=730) / max(entries, 1)
    postgres = engine.dialect.name == "postgresql"
    movements = written = 0
    with engine.begin() as connection:
        connection.execute(
            insert(Part),
            [
                {
                    "part_number": number,
                    "description": f"bench part {number}",
                    "family": FAMILIES[i % len(FAMILIES)],
                    "serialized": False,
                    "unit_cost": Decimal(100 + i % 900),
                    "weight_kg": 1.0,
                    "criticality": "medium",
                    "superseded_by": None,
                    "created_at": created,
                }
                for i, number in enumerate(numbers)
            ],
        )
        while True:
            movement_rows: list[tuple] = []
            entry_rows: list[tuple] = []
            for kind, reason, lines in played:
                at = created + step * written
                movement_rows.append((next_movement, kind, ACTOR, reason, None, at))
                for depot, part, bucket, qty in lines:
                    entry_rows.append(
                        (next_entry, next_movement, depot, part, bucket, qty, None, at)
                    )
                    next_entry += 1
                    written += 1
                next_movement += 1
                if len(movement_rows) >= CHUNK_MOVEMENTS:
                    break
            if not movement_rows:
                break
            movements += len(movement_rows)
            if postgres:
                _copy_postgres(connection, movement_rows, entry_rows)
            else:
                _insert_sqlite(connection, movement_rows, entry_rows)
        balances = [
            {"depot_code": d, "part_number": p, "bucket": b, "on_hand": qty, "reserved": 0}
            for (d, p, b), qty in sorted(history.balances.items())
        ]
        connection.execute(insert(StockBalance), balances)
        rebuild_part_stock(connection)
        if postgres:
            for table in ("movement", "ledger_entry"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    if postgres:
        # Autovacuum would analyze after a load this size; do it now rather than later.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    return LoadReport(len(numbers), movements, written, len(balances))


MOVEMENT_COLUMNS = "id, kind, actor, reason, reference, created_at"
ENTRY_COLUMNS = "id, movement_id, depot_code, part_number, bucket, qty, serial, created_at"


def _copy_postgres(connection, movement_rows: list[tuple], entry_rows: list[tuple]) -> None:
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY movement ({MOVEMENT_COLUMNS}) FROM STDIN") as copy:
        for row in movement_rows:
            copy.write_row(row)
    with cursor.copy(f"COPY ledger_entry ({ENTRY_COLUMNS}) FROM STDIN") as copy:
        for row in entry_rows:
            copy.write_row(row)


def _insert_sqlite(connection, movement_rows: list[tuple], entry_rows: list[tuple]) -> None:
    # Through SQLAlchemy's executemany so instants are stored exactly as the app stores them.
    connection.execute(
        insert(Movement),
        [
            {"id": i, "kind": k, "actor": a, "reason": r, "reference": ref, "created_at": at}
            for i, k, a, r, ref, at in movement_rows
        ],
    )
    connection.execute(
        insert(LedgerEntry),
        [
            {
                "id": i,
                "movement_id": m,
                "depot_code": d,
                "part_number": p,
                "bucket": b,
                "qty": q,
                "serial": s,
                "created_at": at,
            }
            for i, m, d, p, b, q, s, at in entry_rows
        ],
    )
