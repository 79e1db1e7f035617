"""One process of the shelf race: counts, picks and transfers of the same parts at
one depot, as a gunicorn worker would run them.

Runs in a spawned process with an engine of its own, through the service layer
only. A racer plays one role for ``rounds`` steps (or until ``seconds`` have
passed); each step is one use case whose outcome is recorded: ``committed``, or
the class of the domain error that refused it. Anything else is recorded with
its traceback for the drill to report. At the end the report carries this
process's tally of retried conflicts by SQLSTATE (``core.db.retried_conflicts``).
"""

from __future__ import annotations

import random
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from core.auth import Actor
from core.db import UnitOfWork, make_engine, retried_conflicts
from core.errors import DomainError
from inventory.service import moves, queries, receipts, reservations, transfers
from inventory.service.transfers import LineIn

DEPOT, OTHER = "BJ", "SH"
ROLES = ("counter", "picker", "shipper")
# Everybody reaches for the same few units at the end of the shelf, so that the units a
# count must lock are often the very ones a pick or a ship holds.
HOT_UNITS = 3


@dataclass(frozen=True)
class ShelfParts:
    serialized: str
    bulk: str


@dataclass
class RacerReport:
    role: str
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (use case, result)
    retried: dict[str, int] = field(default_factory=dict)  # SQLSTATE -> retries
    errors: list[str] = field(default_factory=list)

    def committed(self, use_case: str) -> int:
        return self.outcomes[(use_case, "committed")]


def run_racer(
    database_url: str,
    role: str,
    staff: dict[str, Actor],
    planner: Actor,
    parts: ShelfParts,
    seed: int,
    rounds: int,
    seconds: float,
) -> RacerReport:
    """Play ``role`` (counter, picker or shipper) against the shelf at Beijing."""
    report = RacerReport(role)
    engine = make_engine(database_url)
    racer = _Racer(UnitOfWork(engine), staff, planner, parts, random.Random(seed), report)
    steps: dict[str, Callable[[], None]] = {
        "counter": racer.count,
        "picker": racer.pick,
        "shipper": racer.ship,
    }
    stop = time.monotonic() + seconds
    try:
        for _ in range(rounds):
            if time.monotonic() > stop:
                break
            steps[role]()
    finally:
        report.retried = dict(retried_conflicts())
        engine.dispose()
    return report


@dataclass
class _Racer:
    uow: UnitOfWork
    staff: dict[str, Actor]
    planner: Actor
    parts: ShelfParts
    rng: random.Random
    report: RacerReport

    def attempt(self, use_case: str, work: Callable[[], object]) -> bool:
        """Run one use case; True when it committed."""
        try:
            work()
        except DomainError as refusal:
            self.report.outcomes[(use_case, type(refusal).__name__)] += 1
            return False
        except Exception:
            self.report.errors.append(f"{use_case}: {traceback.format_exc()}")
            return False
        self.report.outcomes[(use_case, "committed")] += 1
        return True

    def shelf(self) -> list[str]:
        units = queries.list_units(
            self.uow, depot=DEPOT, part_number=self.parts.serialized, location="depot"
        )
        return sorted(u.serial for u in units if u.condition == "good")

    def hot(self, shelf: list[str], n: int) -> list[str]:
        """``n`` (or fewer) of the units everybody reaches for."""
        end = shelf[-HOT_UNITS:]
        return self.rng.sample(end, min(n, len(end)))

    def missing(self) -> list[str]:
        units = queries.list_units(self.uow, part_number=self.parts.serialized, location="missing")
        return sorted(u.serial for u in units)

    def count(self) -> None:
        """Count the shelf missing a unit or two (they must be locked), or finding
        units recorded missing (they come back); now and then count the bulk part."""
        staff = self.staff[DEPOT]
        if self.rng.random() < 0.25:
            on_hand = _good(self.uow, self.parts.bulk)
            counted = max(on_hand + self.rng.randint(-1, 1), 0)
            self.attempt(
                "count",
                lambda: moves.count(self.uow, staff, DEPOT, self.parts.bulk, counted),
            )
            return
        shelf = self.shelf()
        overlooked = self.hot(shelf, self.rng.choice((0, 1, 1, 2)))
        found = self.missing()
        seen = [s for s in shelf if s not in overlooked]
        seen += self.rng.sample(found, min(len(found), self.rng.randint(1, 2)))
        self.attempt(
            "count",
            lambda: moves.count(self.uow, staff, DEPOT, self.parts.serialized, serials=seen),
        )

    def pick(self) -> None:
        """Hold one unit for a case and pick a scanned unit off the shelf (release the
        hold when the pick is refused); now and then the same with the bulk part."""
        bulk = self.rng.random() < 0.25
        part = self.parts.bulk if bulk else self.parts.serialized
        qty = self.rng.randint(1, 3) if bulk else 1
        held: list[int] = []

        def hold() -> None:
            held.append(reservations.reserve(self.uow, self.planner, DEPOT, part, qty, "RACE").id)

        if not self.attempt("reserve", hold):
            return
        shelf = self.shelf()
        scanned = [] if bulk else self.hot(shelf, 1) or ["NO-UNIT-LEFT"]
        picked = self.attempt(
            "pick", lambda: reservations.pick(self.uow, self.staff[DEPOT], held[0], scanned)
        )
        if not picked:
            self.attempt("release", lambda: reservations.release(self.uow, self.planner, held[0]))

    def ship(self) -> None:
        """Ship units (scanned or the oldest free ones) and bulk to Shanghai, receive
        them there, ship them back and receive them at Beijing."""
        serialized = self.rng.randint(1, 2)
        lines = [LineIn(self.parts.serialized, serialized), LineIn(self.parts.bulk, 2)]
        outbound = transfers.create_transfer(self.uow, self.planner, DEPOT, OTHER, lines)
        shelf = self.shelf()
        scanned = None
        if self.rng.random() < 0.5 and len(shelf) >= HOT_UNITS:
            scanned = {self.parts.serialized: self.hot(shelf, serialized)}
        tid = outbound.transfer.id
        if not self.attempt(
            "ship", lambda: transfers.ship_transfer(self.uow, self.staff[DEPOT], tid, scanned)
        ):
            transfers.cancel_transfer(self.uow, self.planner, tid)
            return
        self.attempt(
            "receive",
            lambda: receipts.receive_transfer(self.uow, self.staff[OTHER], tid, as_shipped=True),
        )
        back = transfers.create_transfer(self.uow, self.planner, OTHER, DEPOT, lines)
        bid = back.transfer.id
        if not self.attempt(
            "ship", lambda: transfers.ship_transfer(self.uow, self.staff[OTHER], bid)
        ):
            transfers.cancel_transfer(self.uow, self.planner, bid)
            return
        self.attempt(
            "receive",
            lambda: receipts.receive_transfer(self.uow, self.staff[DEPOT], bid, as_shipped=True),
        )


def _good(uow: UnitOfWork, part_number: str) -> int:
    rows = queries.stock(uow, depot=DEPOT, part_number=part_number, nonzero=False)
    return rows[0].good if rows else 0
