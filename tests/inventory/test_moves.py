"""Stock moves through the service layer: the books always balance."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from core.db import UnitOfWork
from core.errors import Conflict, Forbidden, InsufficientStock, Invalid, NotFound
from inventory.service import ledger, moves, queries, receipts, reservations, transfers
from inventory.service.receipts import ReceivedLine
from inventory.service.transfers import LineIn
from tests.inventory.conftest import new_serials


def _row(uow, depot, part):
    rows = queries.stock(uow, depot=depot, part_number=part, nonzero=False)
    return rows[0] if rows else None


def test_receipt_adds_good_stock_and_a_ledger_line(uow, make_part, staff):
    part = make_part()
    movement = moves.receive(uow, staff("BJ"), "BJ", part, 5, reference="PO-1")
    row = _row(uow, "BJ", part)
    assert (row.good, row.available, row.reserved) == (5, 5, 0)
    lines = queries.ledger_lines(uow, depot="BJ", part_number=part)
    assert [(line.kind, line.qty, line.reference) for line in lines] == [("receipt", 5, "PO-1")]
    assert lines[0].movement_id == movement.id
    assert ledger.check_books(uow) == []


def test_serialized_receipt_needs_one_new_serial_per_unit(uow, make_part, staff):
    part = make_part(serialized=True)
    with pytest.raises(Invalid, match="give 2 serial"):
        moves.receive(uow, staff("SH"), "SH", part, 2, ["A1B2C3"])
    serials = new_serials(2)
    moves.receive(uow, staff("SH"), "SH", part, 2, serials)
    with pytest.raises(Conflict, match="already exists"):
        moves.receive(uow, staff("SH"), "SH", part, 1, [serials[0]])
    unit, history = queries.get_unit(uow, serials[0])
    assert (unit.location, unit.depot_code, unit.condition) == ("depot", "SH", "good")
    assert [h.kind for h in history] == ["receipt"]
    assert ledger.check_books(uow) == []


def test_staff_cannot_receive_at_another_depot(uow, make_part, staff):
    part = make_part()
    with pytest.raises(Forbidden):
        moves.receive(uow, staff("BJ"), "SH", part, 1)
    assert _row(uow, "SH", part) is None


def test_unknown_depot_and_part_are_not_found(uow, make_part, make_user):
    admin = make_user("admin")
    with pytest.raises(NotFound):
        moves.receive(uow, admin, "XX", make_part(), 1)
    with pytest.raises(NotFound):
        moves.receive(uow, admin, "BJ", "NO-SUCH-PART", 1)


def test_transfer_leaves_source_in_transit_then_arrives(uow, make_part, staff, planner, stock_up):
    part = make_part()
    stock_up("BJ", part, 10)
    draft = transfers.create_transfer(uow, planner, "BJ", "SH", [LineIn(part, 4)])
    assert draft.transfer.status == "draft"
    transfers.ship_transfer(uow, staff("BJ"), draft.transfer.id)
    assert _row(uow, "BJ", part).good == 6
    assert _row(uow, "SH", part).in_transit == 4
    with pytest.raises(Invalid, match="confirm that everything arrived"):
        receipts.receive_transfer(uow, staff("SH"), draft.transfer.id)  # an empty receipt
    assert _row(uow, "SH", part).in_transit == 4
    done = receipts.receive_transfer(uow, staff("SH"), draft.transfer.id, as_shipped=True)
    assert done.transfer.status == "received"
    assert _row(uow, "SH", part).good == 4
    assert _row(uow, "SH", part).in_transit == 0
    assert ledger.check_books(uow) == []


def test_shipping_more_than_available_is_409_and_changes_nothing(
    uow, make_part, staff, planner, stock_up
):
    ok, short = make_part(), make_part()
    stock_up("BJ", ok, 5)
    stock_up("BJ", short, 1)
    draft = transfers.create_transfer(
        uow, planner, "BJ", "SH", [LineIn(ok, 2), LineIn(short, 1), LineIn(short, 1)]
    )
    with pytest.raises(InsufficientStock):
        transfers.ship_transfer(uow, staff("BJ"), draft.transfer.id)
    assert _row(uow, "BJ", ok).good == 5
    assert transfers.get_transfer(uow, draft.transfer.id).transfer.status == "draft"
    assert ledger.check_books(uow) == []


def test_reserved_stock_cannot_be_shipped(uow, make_part, staff, planner, stock_up):
    part = make_part()
    stock_up("GZ", part, 3)
    reservations.reserve(uow, planner, "GZ", part, 2, "RMA-1")
    draft = transfers.create_transfer(uow, planner, "GZ", "WH", [LineIn(part, 2)])
    with pytest.raises(InsufficientStock, match="1 available"):
        transfers.ship_transfer(uow, staff("GZ"), draft.transfer.id)


def test_short_extra_and_wrong_serials_are_recorded_as_discrepancies(
    uow, make_part, staff, planner, stock_up
):
    part = make_part(serialized=True)
    shipped = stock_up("CD", part, 3, serialized=True)
    elsewhere = stock_up("XA", part, 1, serialized=True)
    draft = transfers.create_transfer(uow, planner, "CD", "WH", [LineIn(part, 2)])
    transfers.ship_transfer(uow, staff("CD"), draft.transfer.id, {part: shipped[:2]})
    stranger = new_serials(1)[0]
    result = receipts.receive_transfer(
        uow,
        staff("WH"),
        draft.transfer.id,
        [ReceivedLine(part, serials=[shipped[0], stranger, elsewhere[0]])],
    )
    kinds = sorted((d.kind, d.serial) for d in result.discrepancies)
    assert kinds == sorted(
        [("short", shipped[1]), ("extra", stranger), ("wrong_serial", elsewhere[0])]
    )
    assert result.transfer.status == "partially_received"
    row = _row(uow, "WH", part)
    # The unit that was shipped and the one moved from XA's shelf are good stock; the
    # stranger waits in quarantine for a decision, never available; the missing unit is
    # still on its way.
    assert (row.good, row.available, row.quarantine, row.in_transit) == (2, 2, 1, 1)
    unit = queries.get_unit(uow, stranger)[0]
    assert (unit.condition, unit.location, unit.depot_code) == ("quarantine", "depot", "WH")
    missing = queries.get_unit(uow, shipped[1])[0]
    assert (missing.location, missing.depot_code) == ("in_transit", "WH")
    assert queries.get_unit(uow, elsewhere[0])[0].depot_code == "WH"
    assert _row(uow, "XA", part).good == 0
    assert ledger.check_books(uow) == []


def test_bulk_short_receipt_records_the_shortfall(uow, make_part, staff, planner, stock_up):
    part = make_part()
    stock_up("SY", part, 10)
    draft = transfers.create_transfer(uow, planner, "SY", "JN", [LineIn(part, 10)])
    transfers.ship_transfer(uow, staff("SY"), draft.transfer.id)
    result = receipts.receive_transfer(
        uow, staff("JN"), draft.transfer.id, [ReceivedLine(part, qty=7)]
    )
    assert [(d.kind, d.qty) for d in result.discrepancies] == [("short", 3)]
    assert result.transfer.status == "partially_received"
    assert (_row(uow, "JN", part).good, _row(uow, "JN", part).in_transit) == (7, 3)
    assert ledger.check_books(uow) == []


def test_only_destination_staff_receive(uow, make_part, staff, planner, stock_up):
    part = make_part()
    stock_up("BJ", part, 1)
    draft = transfers.create_transfer(uow, planner, "BJ", "SH", [LineIn(part, 1)])
    with pytest.raises(Forbidden):
        transfers.ship_transfer(uow, staff("SH"), draft.transfer.id)
    transfers.ship_transfer(uow, staff("BJ"), draft.transfer.id)
    with pytest.raises(Forbidden):
        receipts.receive_transfer(uow, staff("BJ"), draft.transfer.id, as_shipped=True)
    with pytest.raises(Conflict):
        transfers.ship_transfer(uow, staff("BJ"), draft.transfer.id)


def test_reserve_release_and_pick(uow, make_part, staff, planner, stock_up):
    part = make_part(serialized=True)
    serials = stock_up("WH", part, 2, serialized=True)
    held = reservations.reserve(uow, planner, "WH", part, 1, "RMA-7")
    assert _row(uow, "WH", part).available == 1
    with pytest.raises(InsufficientStock):
        reservations.reserve(uow, planner, "WH", part, 2, "RMA-8")
    reservations.pick(uow, staff("WH"), held.id, [serials[1]])
    row = _row(uow, "WH", part)
    assert (row.good, row.reserved, row.available) == (1, 0, 1)
    assert queries.get_unit(uow, serials[1])[0].location == "customer"
    other = reservations.reserve(uow, planner, "WH", part, 1, "RMA-9")
    reservations.release(uow, planner, other.id)
    reservations.release(uow, planner, other.id)  # twice is harmless
    assert _row(uow, "WH", part).available == 1
    assert ledger.check_books(uow) == []


def test_repair_cycle_refurbishes_a_unit(uow, make_part, staff):
    part = make_part(serialized=True)
    serial = new_serials(1)[0]
    moves.adjust(
        uow, staff("JN"), "JN", part, 1, "returned by customer", [serial], condition="defective"
    )
    moves.change_condition(uow, staff("JN"), "JN", part, 1, "defective", "in_repair", [serial])
    moves.change_condition(uow, staff("JN"), "JN", part, 1, "in_repair", "good", [serial])
    unit, history = queries.get_unit(uow, serial)
    assert unit.condition == "good" and unit.refurbished
    assert len(history) == 5
    assert ledger.check_books(uow) == []


def test_scrap_needs_a_reason_and_removes_the_unit(uow, make_part, staff):
    part = make_part()
    moves.adjust(uow, staff("XA"), "XA", part, 3, "found in returns", condition="defective")
    with pytest.raises(Invalid, match="reason"):
        moves.scrap(uow, staff("XA"), "XA", part, 1, "  ")
    moves.scrap(uow, staff("XA"), "XA", part, 2, "beyond repair")
    assert _row(uow, "XA", part).defective == 1
    assert ledger.check_books(uow) == []


def test_cycle_count_turns_the_difference_into_entries(uow, make_part, staff, stock_up):
    bulk, serialized = make_part(), make_part(serialized=True)
    stock_up("GZ", bulk, 10)
    on_shelf = stock_up("GZ", serialized, 3, serialized=True)
    result = moves.count(uow, staff("GZ"), "GZ", bulk, 8)
    assert (result.expected, result.counted) == (10, 8)
    assert _row(uow, "GZ", bulk).good == 8
    found = new_serials(1)[0]
    result = moves.count(uow, staff("GZ"), "GZ", serialized, serials=[on_shelf[0], found])
    assert result.missing == sorted(on_shelf[1:]) and result.found == [found]
    assert _row(uow, "GZ", serialized).good == 2
    assert ledger.check_books(uow) == []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entry SET qty = qty + 1",
        "DELETE FROM ledger_entry",
        "UPDATE movement SET actor = 'someone else'",
        "DELETE FROM movement",
    ],
)
def test_ledger_rows_cannot_be_updated_or_deleted(any_engine, statement):
    from decimal import Decimal

    from core import auth
    from inventory.models import PartIn
    from inventory.service import catalog

    uow = UnitOfWork(any_engine)
    planner = auth.create_user(uow, "p1", "a-long-password", "planner")
    staff = auth.create_user(uow, "s1", "a-long-password", "depot_staff", depot_code="BJ")
    catalog.create_part(
        uow,
        planner,
        PartIn(
            part_number="LEDGER-1",
            description="x",
            family="fan",
            serialized=False,
            unit_cost=Decimal(1),
        ),
    )
    moves.receive(uow, staff, "BJ", "LEDGER-1", 3)
    with pytest.raises(Exception, match="append-only"), any_engine.begin() as connection:
        connection.execute(text(statement))
    assert ledger.check_books(uow) == []
    assert [line.qty for line in queries.ledger_lines(uow)] == [3]


@pytest.mark.tampers_with_books
def test_check_books_finds_a_tampered_balance(uow, engine, make_part, stock_up):
    part = make_part()
    stock_up("BJ", part, 4)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE stock_balance SET on_hand = 5 WHERE part_number = :p"), {"p": part}
        )
    problems = ledger.check_books(uow)
    assert len(problems) == 1 and problems[0].actual == 5 and problems[0].expected == 4


def test_check_books_finds_a_tampered_part_stock_row(uow, engine, make_part, stock_up):
    """The stock list's pivoted rows are checked against the ledger like the balances."""
    part = make_part()
    stock_up("BJ", part, 4)
    assert ledger.check_books(uow) == []
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE part_stock SET good = 7, units = 7 WHERE part_number = :p"), {"p": part}
        )
    problems = ledger.check_books(uow)
    assert sorted((p.bucket, p.expected, p.actual) for p in problems) == [
        ("good", 4, 7),
        ("units", 4, 7),
    ]
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE part_stock SET good = 4, units = 4 WHERE part_number = :p"), {"p": part}
        )
