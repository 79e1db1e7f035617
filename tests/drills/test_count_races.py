"""Cycle counts racing picks and ships of the same parts at one depot, on PostgreSQL:
one lock order, so no deadlock at all.

A count used to lock the balance row and then the units, while a pick or a ship
locks its units and then the balance: PostgreSQL killed one of each such pair
with SQLSTATE 40P01 and the unit of work quietly ran it again. Now every writer
locks units (by part, then serial) before balances (see ``inventory.service``).

Four processes with engines of their own - two counters, a picker, a shipper -
work the same serialized and bulk part at Beijing for a few dozen steps each.
Every step must commit or be refused with a domain error; no process may have
retried a deadlock (``core.db.retried_conflicts``); afterwards the books balance
and `spares check` is clean.
"""

from __future__ import annotations

import itertools
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from core import auth
from core.db import DEADLOCK, UnitOfWork
from inventory.models import PartIn
from inventory.service import catalog, ledger, moves
from tests.drills.harness import Deployment, together
from tests.drills.shelf_race import DEPOT, OTHER, RacerReport, ShelfParts, run_racer

pytestmark = pytest.mark.slow

RACERS = ("counter", "counter", "picker", "shipper")
ROUNDS = 30
SECONDS = 60.0
UNITS = 40
BULK = 200
PASSWORD = "race-password"


def _stock_the_shelf(engine: Engine) -> tuple[auth.Actor, dict[str, auth.Actor], ShelfParts]:
    uow = UnitOfWork(engine)
    planner = auth.create_user(uow, "race-planner", PASSWORD, "planner")
    staff = {
        depot: auth.create_user(
            uow, f"race-{depot.lower()}", PASSWORD, "depot_staff", depot_code=depot
        )
        for depot in (DEPOT, OTHER)
    }
    parts = ShelfParts(serialized="RACE-S", bulk="RACE-B")
    for number, serialized in ((parts.serialized, True), (parts.bulk, False)):
        catalog.create_part(
            uow,
            planner,
            PartIn(
                part_number=number,
                description=f"shelf race part {number}",
                family="line_card",
                serialized=serialized,
                unit_cost=Decimal("50.00"),
            ),
        )
    serials = [f"RCS{n:06d}" for n in itertools.islice(itertools.count(1), UNITS)]
    moves.receive(uow, staff[DEPOT], DEPOT, parts.serialized, UNITS, serials)
    moves.receive(uow, staff[DEPOT], DEPOT, parts.bulk, BULK)
    return planner, staff, parts


def test_counts_picks_and_ships_of_one_shelf_never_deadlock(
    pg_engine: Engine, tmp_path: Path
) -> None:
    planner, staff, parts = _stock_the_shelf(pg_engine)
    url = pg_engine.url.render_as_string(hide_password=False)

    outcomes = together(
        run_racer,
        [
            (url, role, staff, planner, parts, seed, ROUNDS, SECONDS)
            for seed, role in enumerate(RACERS)
        ],
        timeout=SECONDS + 120,
    )

    assert [o.error for o in outcomes if o.error] == []
    reports: list[RacerReport] = [o.value for o in outcomes]
    errors = [error for report in reports for error in report.errors]
    assert errors == [], "\n".join(errors[:3])
    retried = sum((Counter(report.retried) for report in reports), Counter())
    assert retried[DEADLOCK] == 0, f"deadlocks were retried: {dict(retried)}"
    results = sum((report.outcomes for report in reports), Counter())
    for use_case in ("count", "pick", "ship"):  # a race, not a drizzle
        assert results[(use_case, "committed")] > 0, dict(results)
    assert ledger.check_books(UnitOfWork(pg_engine)) == []
    check = Deployment.create(url, tmp_path).cli("check")
    assert check.returncode == 0, check.stdout + check.stderr
    print(  # the drill's numbers, for `pytest -s`
        "outcomes:", dict(sorted(results.items())), "retried conflicts:", dict(retried)
    )
