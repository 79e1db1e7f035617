"""Defect: two lock orders. A cycle count locked the balance row and then the units;
a pick and a transfer ship lock their units and then the balance. On PostgreSQL
the two deadlocked (SQLSTATE 40P01) and the unit of work's retry hid it.

The quick race (a few seconds, three threads a round): each round a count that
misses two units on the shelf - so it must lock both - is released at the same
moment as the pick of one of them and the ship of the other. Every use case must
commit or be refused with a domain error, no deadlock may have been retried
(``core.db.retried_conflicts``), and the books balance. ``tests/drills`` has the
long version with processes.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from functools import partial

from sqlalchemy.engine import Engine

from core import auth
from core.db import DEADLOCK, UnitOfWork, retried_conflicts
from core.errors import DomainError
from inventory.models import PartIn
from inventory.service import catalog, ledger, moves, queries, reservations, transfers
from inventory.service.transfers import LineIn
from tests.inventory.conftest import new_serials

ROUNDS = 6
UNITS_PER_ROUND = 4
PASSWORD = "lock-order-pw"
RACE_TIMEOUT_S = 120.0  # a round on a loaded machine; no assertion is made on time


def _race(work: dict[str, Callable[[], object]]) -> dict[str, str]:
    """Run every callable in a thread of its own, all released at once. Returns, per
    name, ``committed`` or the domain error's class name; anything else fails."""
    start = threading.Barrier(len(work), timeout=RACE_TIMEOUT_S)
    outcomes: dict[str, str] = {}

    def run(name: str, use_case: Callable[[], object]) -> None:
        start.wait()
        try:
            use_case()
        except DomainError as refusal:
            outcomes[name] = type(refusal).__name__
        except BaseException as error:  # reported below, never swallowed
            outcomes[name] = f"unexpected {type(error).__name__}: {error}"
        else:
            outcomes[name] = "committed"

    threads = [threading.Thread(target=run, args=item, daemon=True) for item in work.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=RACE_TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads), "a racer never finished"
    return outcomes


def test_counts_racing_picks_and_ships_of_one_part_never_deadlock(pg_engine: Engine) -> None:
    uow = UnitOfWork(pg_engine)
    planner = auth.create_user(uow, "lo-planner", PASSWORD, "planner")
    staff = auth.create_user(uow, "lo-staff-bj", PASSWORD, "depot_staff", depot_code="BJ")
    part = "LOCK-ORDER-1"
    catalog.create_part(
        uow,
        planner,
        PartIn(
            part_number=part,
            description="lock order drill part",
            family="module",
            serialized=True,
            unit_cost=Decimal("10.00"),
        ),
    )
    deadlocks_before = retried_conflicts()[DEADLOCK]
    outcomes: Counter[tuple[str, str]] = Counter()

    for round_number in range(ROUNDS):
        moves.receive(uow, staff, "BJ", part, UNITS_PER_ROUND, new_serials(UNITS_PER_ROUND))
        shelf = sorted(u.serial for u in queries.list_units(uow, depot="BJ", part_number=part))
        picked, shipped = shelf[-1], shelf[-2]  # the last ones the count would lock
        held = reservations.reserve(uow, planner, "BJ", part, 1, f"RMA-LO-{round_number}")
        draft = transfers.create_transfer(uow, planner, "BJ", "SH", [LineIn(part, 1)])
        seen = [s for s in shelf if s not in (picked, shipped)]

        # Each racer has a unit of work of its own: one session per thread.
        result = _race(
            {
                "count": partial(
                    moves.count, UnitOfWork(pg_engine), staff, "BJ", part, serials=seen
                ),
                "pick": partial(reservations.pick, UnitOfWork(pg_engine), staff, held.id, [picked]),
                "ship": partial(
                    transfers.ship_transfer,
                    UnitOfWork(pg_engine),
                    staff,
                    draft.transfer.id,
                    {part: [shipped]},
                ),
            }
        )

        assert not [o for o in result.values() if o.startswith("unexpected")], result
        assert "committed" in result.values(), result
        outcomes.update(result.items())
        if result["pick"] != "committed":
            reservations.release(uow, planner, held.id)
        if result["ship"] != "committed":
            transfers.cancel_transfer(uow, planner, draft.transfer.id)

    assert retried_conflicts()[DEADLOCK] == deadlocks_before, "a deadlock was retried"
    assert sum(outcomes.values()) == 3 * ROUNDS
    assert ledger.check_books(uow) == []
