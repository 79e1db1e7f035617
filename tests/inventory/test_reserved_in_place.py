"""A posting that only moves one row's reserved quantity (a case hold, its release)
is one conditional UPDATE (``ledger._change_reserved_in_place``); these are the cases
where it must give way to the full check, or leave the session right, on both
databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import UnitOfWork
from core.errors import InsufficientStock
from inventory.models import Bucket, PartStock, Reservation, StockBalance
from inventory.service import ledger, reservations

KEY_GOOD = Bucket.GOOD.value


@pytest.fixture
def engine(any_engine):
    return any_engine


def _reserved(engine, depot: str, part: str) -> tuple[int, int]:
    """(reserved on the balance row, reserved on the part_stock row), as committed."""
    with UnitOfWork(engine).transaction(write=False) as session:
        balance = session.scalar(
            select(StockBalance.reserved).where(
                StockBalance.depot_code == depot,
                StockBalance.part_number == part,
                StockBalance.bucket == KEY_GOOD,
            )
        )
        mirrored = session.scalar(
            select(PartStock.reserved).where(
                PartStock.depot_code == depot, PartStock.part_number == part
            )
        )
    return balance, mirrored


def _reserve_together(uow: UnitOfWork, depot: str, parts: list[str]) -> None:
    """One unit of each part held by one posting (one row: in place; several: the full
    check), with its reservations, as a use case holding for several lines would."""
    changes = {(depot, part, KEY_GOOD): 1 for part in parts}
    ledger.post(uow, "reserve", "tester", [], reference="CASE-1", reserved_changes=changes)
    for part in parts:
        uow.session.add(
            Reservation(
                depot_code=depot, part_number=part, qty=1, reference="CASE-1", created_by="tester"
            )
        )


def test_a_hold_refused_in_place_says_why_and_changes_nothing(engine, make_part, stock_up, planner):
    part = make_part()
    stock_up("WH", part, 2)
    uow = UnitOfWork(engine)
    reservations.reserve(uow, planner, "WH", part, 1, "CASE-1")
    with pytest.raises(InsufficientStock, match=r"WH has 1 available .* \(2 on hand, 1 reserved\)"):
        reservations.reserve(uow, planner, "WH", part, 2, "CASE-2")
    with pytest.raises(InsufficientStock, match="WH has 0 available"):
        # A part never stocked there: refused by the full check.
        reservations.hold_for_case(uow, "WH", make_part(), "CASE-3", by="tester")
    assert _reserved(engine, "WH", part) == (1, 1)


def test_a_balance_read_earlier_in_the_transaction_shows_the_hold(
    engine, make_part, stock_up, planner
):
    part = make_part()
    stock_up("SH", part, 3)
    uow = UnitOfWork(engine)
    with uow.transaction() as session:
        balance = session.get(StockBalance, ("SH", part, KEY_GOOD))
        assert balance.reserved == 0
        held = reservations.reserve(uow, planner, "SH", part, 2, "CASE-1")
        assert balance.reserved == 2  # read afresh, not the value loaded before
        reservations.hold_for_case(uow, "SH", part, "CASE-2", by="tester")
        assert balance.reserved == 3
        session.flush()
        reservations.release(uow, planner, held.id)
        assert balance.reserved == 1
    assert _reserved(engine, "SH", part) == (1, 1)


def test_a_hold_after_unwritten_changes_to_the_same_row_counts_them(engine, make_part, stock_up):
    """A posting of two rows leaves its balances changed in the session, unwritten; a
    hold on one of them in the same transaction must add to that, not overwrite it."""
    part, other = make_part(), make_part()
    stock_up("GZ", part, 5)
    stock_up("GZ", other, 5)
    uow = UnitOfWork(engine)
    with uow.transaction():
        _reserve_together(uow, "GZ", [part, other])
        # Straight after, with no query in between to flush them.
        _reserve_together(uow, "GZ", [part])
    assert _reserved(engine, "GZ", part) == (2, 2)
    assert _reserved(engine, "GZ", other) == (1, 1)
