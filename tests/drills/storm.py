"""One process of a transfer storm: create and ship transfers both ways, race on receipts.

Runs in a spawned process with an engine of its own, through the service layer
only, exactly as a gunicorn worker would. Every refusal must be a domain
error; anything else (an unretried deadlock, a constraint violation, a lost
row) is recorded with its traceback for the drill to report.
"""

from __future__ import annotations

import random
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from core.auth import Actor
from core.db import DEADLOCK, UnitOfWork, make_engine, retried_conflicts
from core.errors import Conflict, InsufficientStock
from inventory.service import receipts, reservations, transfers
from inventory.service.transfers import LineIn

ROUTES = (("BJ", "SH"), ("SH", "BJ"))


@dataclass
class StormReport:
    created: int = 0
    shipped: int = 0
    short: int = 0  # ships refused with InsufficientStock (409)
    received: int = 0
    already_received: int = 0  # receipts that lost the race to another process (409)
    reserved: int = 0
    retried: int = 0  # transient conflicts (deadlock, serialization, busy) re-run by the UoW
    deadlocks: int = 0  # of which deadlocks (40P01): a writer out of the lock order
    errors: list[str] = field(default_factory=list)


def run_storm(
    database_url: str,
    planner: Actor,
    staff: dict[str, Actor],
    parts: list[str],
    reference: str,
    seed: int,
    rounds: int,
    seconds: float,
) -> StormReport:
    """``rounds`` rounds (or until ``seconds`` have passed) of: draft a transfer of 1-3
    lines in a random direction and ship it; now and then receive a shipped transfer
    of this storm (any process's) or hold and release a unit at the source."""
    report = StormReport()
    engine = make_engine(database_url)
    uow = UnitOfWork(engine)
    rng = random.Random(seed)
    stop = time.monotonic() + seconds
    try:
        for _ in range(rounds):
            if time.monotonic() > stop:
                break
            source, target = rng.choice(ROUTES)
            chosen = rng.sample(parts, rng.randint(1, len(parts)))
            lines = [LineIn(part, rng.randint(1, 4)) for part in chosen]
            ship = partial(
                _create_and_ship, uow, planner, staff, source, target, lines, reference, report
            )
            _step(report, "ship", ship)
            if rng.random() < 0.5:
                _step(report, "receive", partial(_receive_one, uow, staff, reference, rng, report))
            if rng.random() < 0.2:
                hold = partial(_hold_and_release, uow, planner, source, rng.choice(parts), report)
                _step(report, "reserve", hold)
    finally:
        retried = retried_conflicts()  # this process's own tally: it ran nothing else
        report.retried, report.deadlocks = sum(retried.values()), retried[DEADLOCK]
        engine.dispose()
    return report


def _step(report: StormReport, what: str, work: Callable[[], None]) -> None:
    try:
        work()
    except Exception:
        report.errors.append(f"{what}: {traceback.format_exc()}")


def _create_and_ship(
    uow: UnitOfWork,
    planner: Actor,
    staff: dict[str, Actor],
    source: str,
    target: str,
    lines: list[LineIn],
    reference: str,
    report: StormReport,
) -> None:
    view = transfers.create_transfer(uow, planner, source, target, lines, reference=reference)
    report.created += 1
    try:
        transfers.ship_transfer(uow, staff[source], view.transfer.id)
    except InsufficientStock:
        report.short += 1
        return
    report.shipped += 1


def _receive_one(
    uow: UnitOfWork,
    staff: dict[str, Actor],
    reference: str,
    rng: random.Random,
    report: StormReport,
) -> None:
    candidates = [
        v.transfer
        for v in transfers.list_transfers(uow, status="shipped", limit=50)
        if v.transfer.reference == reference
    ]
    if not candidates:
        return
    transfer = rng.choice(candidates)
    try:
        receipts.receive_transfer(uow, staff[transfer.to_depot], transfer.id, as_shipped=True)
    except Conflict:  # another process received it first
        report.already_received += 1
        return
    report.received += 1


def _hold_and_release(
    uow: UnitOfWork, planner: Actor, depot: str, part: str, report: StormReport
) -> None:
    try:
        held = reservations.reserve(uow, planner, depot, part, 1, "storm")
    except InsufficientStock:
        return
    report.reserved += 1
    reservations.release(uow, planner, held.id)
