"""Work one benchmark process does through the inventory's service layer.

Spawned by ``bench.bench_inventory`` (several at once through
``tests.drills.harness.together``): each process builds its own engine, so
nothing is shared with the parent but the database.
"""

from __future__ import annotations

import time

from core.auth import Actor
from core.db import UnitOfWork, make_engine
from inventory.service import moves, reservations

WORKS = ("receive", "reserve_release")


def run_moves(
    database_url: str, actor: Actor, depot: str, part_number: str, work: str, count: int
) -> tuple[list[float], float, float]:
    """``count`` use cases of one kind; the latency of each, and the wall-clock start and end.

    ``receive`` books a receipt of 1 unit; ``reserve_release`` holds 1 unit and
    gives it back (two use cases, timed together).
    """
    if work not in WORKS:
        raise ValueError(f"work must be one of {WORKS}")
    engine = make_engine(database_url)
    uow = UnitOfWork(engine)
    latencies: list[float] = []
    began = time.time()
    try:
        for _ in range(count):
            start = time.perf_counter()
            if work == "receive":
                moves.receive(uow, actor, depot, part_number, 1, reference="bench")
            else:
                held = reservations.reserve(uow, actor, depot, part_number, 1, "bench")
                reservations.release(uow, actor, held.id)
            latencies.append(time.perf_counter() - start)
    finally:
        engine.dispose()
    return latencies, began, time.time()
