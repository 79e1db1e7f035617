"""A transfer storm in both directions: no deadlock left unretried, totals conserved.

Four processes, each with its own engine, draft and ship transfers of two bulk
parts and one serialized part between Beijing and Shanghai in both directions
at once, race each other to receive the shipped ones, and hold and release
units at the sources in between. Every ship either succeeds or is refused with
``InsufficientStock`` (409); nothing else may escape the unit of work, and no
deadlock (40P01) may have happened at all: every writer keeps the one lock
order (see ``inventory.service``), so there is none to retry. Afterwards
good + in transit over the two depots still equals what was received, every
transfer's state matches the stock it moved, and `spares check` is clean.
"""

from __future__ import annotations

import itertools
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from core import auth
from core.db import UnitOfWork
from inventory.models import PartIn, StockBalance, Transfer, TransferLine, Unit
from inventory.service import catalog, ledger, moves
from tests.drills.harness import Deployment, together
from tests.drills.storm import StormReport, run_storm

pytestmark = pytest.mark.slow

PROCESSES = 4
ROUNDS = 40
SECONDS = 30.0
OPENING = {"STORM-A": 40, "STORM-B": 40, "STORM-S": 15}  # per depot; STORM-S is serialized
DEPOTS = ("BJ", "SH")


def _stock_the_depots(engine: Engine) -> tuple[auth.Actor, dict[str, auth.Actor]]:
    uow = UnitOfWork(engine)
    planner = auth.create_user(uow, "storm-planner", "storm-password", "planner")
    staff = {
        depot: auth.create_user(
            uow, f"storm-{depot.lower()}", "storm-password", "depot_staff", depot_code=depot
        )
        for depot in DEPOTS
    }
    serials = (f"STS{n:06d}" for n in itertools.count(1))
    for part, qty in OPENING.items():
        serialized = part == "STORM-S"
        catalog.create_part(
            uow,
            planner,
            PartIn(
                part_number=part,
                description=f"storm part {part}",
                family="power",
                serialized=serialized,
                unit_cost=Decimal("80.00"),
            ),
        )
        for depot in DEPOTS:
            given = [next(serials) for _ in range(qty)] if serialized else []
            moves.receive(uow, staff[depot], depot, part, qty, given)
    return planner, staff


def test_transfer_storm_conserves_stock_and_never_deadlocks(
    any_engine: Engine, tmp_path: Path
) -> None:
    planner, staff = _stock_the_depots(any_engine)
    url = any_engine.url.render_as_string(hide_password=False)
    reference = "STORM"

    outcomes = together(
        run_storm,
        [
            (url, planner, staff, list(OPENING), reference, seed, ROUNDS, SECONDS)
            for seed in range(PROCESSES)
        ],
        timeout=SECONDS + 60,
    )

    assert [o.error for o in outcomes if o.error] == []
    reports: list[StormReport] = [o.value for o in outcomes]
    errors = [error for report in reports for error in report.errors]
    assert errors == [], "\n".join(errors[:3])
    assert sum(r.deadlocks for r in reports) == 0, "a deadlock was retried"
    shipped = sum(r.shipped for r in reports)
    short = sum(r.short for r in reports)
    assert shipped + short == sum(r.created for r in reports)
    assert shipped > PROCESSES and sum(r.received for r in reports) > 0  # a storm, not a drizzle

    with any_engine.connect() as connection:
        balances = {
            (d, p, b): (on_hand, reserved)
            for d, p, b, on_hand, reserved in connection.execute(
                select(
                    StockBalance.depot_code,
                    StockBalance.part_number,
                    StockBalance.bucket,
                    StockBalance.on_hand,
                    StockBalance.reserved,
                ).where(StockBalance.part_number.in_(list(OPENING)))
            )
        }
        storm = connection.execute(
            select(Transfer.status, Transfer.to_depot, TransferLine.part_number, TransferLine.qty)
            .join(TransferLine, TransferLine.transfer_id == Transfer.id)
            .where(Transfer.reference == reference)
        ).all()
        units = Counter(
            connection.execute(
                select(Unit.depot_code, Unit.location).where(Unit.part_number == "STORM-S")
            ).all()
        )

    on_the_road = Counter()
    for status, to_depot, part, qty in storm:
        if status == "shipped":
            on_the_road[(to_depot, part)] += qty
    assert sum(1 for s in storm if s.status == "received") > 0
    for part, opening in OPENING.items():
        good = sum(balances.get((d, part, "good"), (0, 0))[0] for d in DEPOTS)
        in_transit = sum(balances.get((d, part, "in_transit"), (0, 0))[0] for d in DEPOTS)
        assert good + in_transit == opening * len(DEPOTS), part
        for depot in DEPOTS:
            assert (
                balances.get((depot, part, "in_transit"), (0, 0))[0] == on_the_road[(depot, part)]
            )
    assert all(reserved == 0 for _, reserved in balances.values())
    assert {b for (_, _, b), (on_hand, _) in balances.items() if on_hand} <= {"good", "in_transit"}
    assert sum(units.values()) == OPENING["STORM-S"] * len(DEPOTS)
    assert {location for _, location in units} <= {"depot", "in_transit"}
    assert ledger.check_books(UnitOfWork(any_engine)) == []

    check = Deployment.create(url, tmp_path).cli("check")
    assert check.returncode == 0, check.stdout + check.stderr
    print(  # the drill's numbers, for `pytest -s`
        f"{any_engine.dialect.name}: {shipped} shipped, {short} refused short, "
        f"{sum(r.received for r in reports)} received, "
        f"{sum(r.already_received for r in reports)} receipts lost the race, "
        f"{sum(r.retried for r in reports)} transient conflicts retried"
    )
