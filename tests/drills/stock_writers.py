"""Writers that keep the books busy while a backup reads them.

Each writer works through the inventory service, one transaction per step, as a
depot would: receive bulk and serialized stock at its home depot, correct a unit
away, and send a transfer to the next depot that the staff there receive. Every
step touches several tables at once (movement, ledger entries, balances, units,
transfers), so a backup that is not one snapshot restores books that do not
balance. The same writer runs in threads (the quick test) or in processes of
their own (the drill).
"""

from __future__ import annotations

import itertools
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.engine import Engine

from core import auth
from core.db import UnitOfWork, make_engine
from core.errors import InsufficientStock
from inventory.models import PartIn
from inventory.service import catalog, moves, receipts, transfers
from inventory.service.transfers import LineIn

PASSWORD = "writer-password"
BULK = "BKW-BULK"
SERIALIZED = "BKW-SER"
DEPOTS = ("BJ", "SH", "GZ", "CD")


@dataclass(frozen=True)
class WriterPlan:
    """What one writer works on: its home depot, where it sends transfers, and the
    people doing it (picklable, for writers in processes of their own)."""

    index: int
    home: auth.Actor
    away: auth.Actor
    planner: auth.Actor


@dataclass
class WriterReport:
    steps: int = 0
    commits: int = 0
    refused: int = 0  # InsufficientStock: the home shelf was empty for a moment
    errors: list[str] = field(default_factory=list)


def stock_up(engine: Engine, writers: int) -> list[WriterPlan]:
    """The people and parts for ``writers`` writers (at most one per depot)."""
    uow = UnitOfWork(engine)
    planner = auth.create_user(uow, "bkw-planner", PASSWORD, "planner")
    depots = DEPOTS[: max(writers, 2)]
    staff = {
        depot: auth.create_user(
            uow, f"bkw-{depot.lower()}", PASSWORD, "depot_staff", depot_code=depot
        )
        for depot in depots
    }
    for number, serialized in ((BULK, False), (SERIALIZED, True)):
        catalog.create_part(
            uow,
            planner,
            PartIn(
                part_number=number,
                description=f"backup writer part {number}",
                family="power",
                serialized=serialized,
                unit_cost=Decimal("12.50"),
            ),
        )
    return [
        WriterPlan(
            index,
            staff[depots[index % len(depots)]],
            staff[depots[(index + 1) % len(depots)]],
            planner,
        )
        for index in range(writers)
    ]


def write(
    engine: Engine,
    plan: WriterPlan,
    keep_going: Callable[[], bool],
    committed: Callable[[], None] = lambda: None,
) -> WriterReport:
    """Run steps until ``keep_going()`` is false; ``committed()`` after each commit.
    Anything but a domain refusal is recorded with its traceback, and ends the run."""
    uow = UnitOfWork(engine)
    report = WriterReport()
    home, away = plan.home.depot_code or "", plan.away.depot_code or ""
    serials = (f"BKW{plan.index}N{n:06d}" for n in itertools.count(1))

    def done(count: int = 1) -> None:
        report.commits += count
        for _ in range(count):
            committed()

    try:
        for step in itertools.count():
            if not keep_going():
                break
            report.steps += 1
            kind = step % 4
            if kind == 0:
                moves.receive(uow, plan.home, home, BULK, 3)
                done()
            elif kind == 1:
                moves.receive(uow, plan.home, home, SERIALIZED, 1, [next(serials)])
                done()
            elif kind == 2:
                try:
                    moves.adjust(uow, plan.home, home, BULK, -1, "counted one short")
                    done()
                except InsufficientStock:
                    report.refused += 1
            else:
                draft = transfers.create_transfer(
                    uow, plan.planner, home, away, [LineIn(BULK, 1), LineIn(SERIALIZED, 1)]
                )
                done()
                try:
                    transfers.ship_transfer(uow, plan.home, draft.transfer.id)
                except InsufficientStock:
                    report.refused += 1
                    transfers.cancel_transfer(uow, plan.planner, draft.transfer.id)
                    done()
                    continue
                done()
                receipts.receive_transfer(uow, plan.away, draft.transfer.id, as_shipped=True)
                done()
    except Exception:  # the drill reports it; a writer never dies silently
        report.errors.append(traceback.format_exc())
    return report


def write_for(database_url: str, plan: WriterPlan, seconds: float) -> WriterReport:
    """A writer in a process of its own, with its own engine, for ``seconds``."""
    engine = make_engine(database_url)
    stop = time.monotonic() + seconds
    try:
        return write(engine, plan, lambda: time.monotonic() < stop)
    finally:
        engine.dispose()
