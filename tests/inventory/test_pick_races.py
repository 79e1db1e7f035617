"""Two moves picking the same free units at once (PostgreSQL: row locks).

A pick reads the free units in the picking order, then locks them in the lock
order. When another move ships one of them in between, the pick must not lock a
replacement while it holds the others: that could deadlock with a writer that
locks in order (the transfer storm found it under load). It starts its use case
again instead, and then picks the next free units.
"""

from __future__ import annotations

import threading
from decimal import Decimal

from core import auth
from core.db import CONTENDED, DEADLOCK, UnitOfWork, retried_conflicts
from inventory.models import PartIn
from inventory.service import catalog, moves, transfers
from inventory.service.transfers import LineIn
from tests.conftest import TEST_PASSWORD
from tests.pg_locks import WAIT_FOR_LOCK_S, wait_until_someone_waits_for_a_lock


def test_a_pick_whose_unit_was_shipped_meanwhile_starts_again_and_takes_the_next(pg_engine):
    uow = UnitOfWork(pg_engine)
    planner = auth.create_user(uow, "pick-planner", TEST_PASSWORD, "planner")
    staff = auth.create_user(uow, "pick-bj", TEST_PASSWORD, "depot_staff", depot_code="BJ")
    catalog.create_part(
        uow,
        planner,
        PartIn(
            part_number="PICK-S",
            description="picked",
            family="optic",
            serialized=True,
            unit_cost=Decimal("50.00"),
        ),
    )
    serials = ["PK0001", "PK0002", "PK0003", "PK0004"]
    moves.receive(uow, staff, "BJ", "PICK-S", 4, serials)
    first = transfers.create_transfer(uow, planner, "BJ", "SH", [LineIn("PICK-S", 1)]).transfer
    second = transfers.create_transfer(uow, planner, "BJ", "GZ", [LineIn("PICK-S", 2)]).transfer
    before = retried_conflicts()
    outcome: dict[str, object] = {}

    def ship_second() -> None:
        try:
            outcome["view"] = transfers.ship_transfer(UnitOfWork(pg_engine), staff, second.id)
        except Exception as error:  # reported by the assertions below
            outcome["error"] = error

    holder = UnitOfWork(pg_engine)
    with holder.transaction():
        shipped_first = transfers.ship_transfer(holder, staff, first.id)
        racer = threading.Thread(target=ship_second)
        racer.start()
        # The second shipment read PK0001 as free (the first is not committed) and
        # now waits for its lock; the first commits when this block ends.
        wait_until_someone_waits_for_a_lock(pg_engine, "the second shipment")
    racer.join(timeout=WAIT_FOR_LOCK_S)
    assert not racer.is_alive()

    assert "error" not in outcome, outcome.get("error")
    assert [s.serial for s in shipped_first.serials] == ["PK0001"]
    assert [s.serial for s in outcome["view"].serials] == ["PK0002", "PK0003"]
    retried = retried_conflicts() - before
    assert retried[CONTENDED] >= 1 and retried[DEADLOCK] == 0
    assert [s.serial for s in transfers.get_transfer(uow, second.id).serials] == [
        "PK0002",
        "PK0003",
    ]
