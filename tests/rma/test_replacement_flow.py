"""Advance replacement: allocation by the optimizer, ship, deliver, defective back, close."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from core import clock
from core.errors import Conflict, Forbidden, InsufficientStock
from inventory.service import ledger, queries
from rma.service import lifecycle, opening, returns
from rma.service import queries as rma_queries
from rma.service.opening import OpenRequest

MONDAY_10_SHANGHAI = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def _open(uow, engineer, unit, level="C-2", kind="advance_replacement"):
    return opening.open_rma(
        uow,
        engineer,
        OpenRequest(fault_level=level, kind=kind, symptom="no power", serial=unit.serial),
    )


def _available(uow, depot, part):
    rows = queries.stock(uow, depot=depot, part_number=part, nonzero=False)
    return rows[0].available if rows else 0


def test_entitled_replacement_is_allocated_from_the_cheapest_depot_in_time(
    uow, engineer, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("SH", part, 2, serialized=True)
    stock_up("BJ", part, 2, serialized=True)
    unit = install(account("Suzhou"), part)
    with clock.frozen(MONDAY_10_SHANGHAI):
        rma = _open(uow, engineer, unit)
    assert rma.status == "allocated"
    assert rma.depot_code == "SH"  # road from Shanghai to Suzhou beats air from Beijing
    assert rma.due_replacement == MONDAY_10_SHANGHAI + timedelta(hours=24)
    assert rma.promised_delivery <= rma.due_replacement and not rma.at_risk
    alternatives = json.loads(rma.alternatives)
    assert alternatives[0]["depot"] == "SH" and alternatives[0]["chosen"]
    assert {a["depot"] for a in alternatives} == {"BJ", "SH", "GZ", "CD", "WH", "XA", "SY", "JN"}
    assert _available(uow, "SH", part) == 1
    assert ledger.check_books(uow) == []


def test_whole_journey_to_close(uow, engineer, staff, account, install, make_part, stock_up):
    part = make_part(serialized=True)
    serials = stock_up("GZ", part, 1, serialized=True)
    unit = install(account("Shenzhen"), part)
    with clock.frozen(MONDAY_10_SHANGHAI):
        rma = _open(uow, engineer, unit, level="C-1")
    assert rma.depot_code == "GZ"
    with pytest.raises(Forbidden):
        lifecycle.ship(uow, staff("SH"), rma.number, serials[0])
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(hours=1)):
        rma = lifecycle.ship(uow, staff("GZ"), rma.number, serials[0])
    assert rma.status == "shipped" and rma.shipped_serial == serials[0]
    assert queries.get_unit(uow, serials[0])[0].location == "customer"
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(hours=8)):
        rma = lifecycle.deliver(uow, engineer, rma.number)
    assert rma.due_defective_return == MONDAY_10_SHANGHAI + timedelta(hours=8, days=15)
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(days=3)):
        rma = returns.receive_defective(uow, staff("GZ"), rma.number, "GZ", unit.serial)
    assert queries.stock(uow, depot="GZ", part_number=part)[0].defective == 1
    rma = lifecycle.close(uow, engineer, rma.number, 4, "good", "Mr. Li")
    assert rma.status == "closed"
    assert ledger.check_books(uow) == []


def test_no_stock_anywhere_is_a_backorder_and_planners_are_told(
    uow, engineer, account, install, make_part, make_user
):
    make_user("planner")
    unit = install(account("Chengdu"), make_part(serialized=True))
    rma = _open(uow, engineer, unit)
    assert (rma.status, rma.backorder, rma.depot_code) == ("approved", True, None)


def test_superseding_part_is_shipped_when_the_old_one_is_gone(
    uow, engineer, account, install, make_part, stock_up
):
    new = make_part(serialized=True)
    old = make_part(serialized=True, superseded_by=new)
    stock_up("WH", new, 1, serialized=True)
    rma = _open(uow, engineer, install(account("Wuhan"), old))
    assert (rma.depot_code, rma.ship_part_number, rma.part_number) == ("WH", new, old)


def test_cancel_releases_the_reservation(uow, engineer, account, install, make_part, stock_up):
    part = make_part(serialized=True)
    stock_up("XA", part, 1, serialized=True)
    rma = _open(uow, engineer, install(account("Xi'an"), part))
    assert _available(uow, "XA", part) == 0
    rma = lifecycle.cancel(uow, engineer, rma.number, "customer fixed it")
    assert rma.status == "cancelled"
    assert _available(uow, "XA", part) == 1
    with pytest.raises(Conflict):
        lifecycle.cancel(uow, engineer, rma.number, "again")
    assert ledger.check_books(uow) == []


def test_remote_site_far_from_stock_is_at_risk(
    uow, engineer, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("SY", part, 1, serialized=True)
    # Friday 17:30 in Shenyang, C-3 to Lhasa: air + 12 h last mile, next morning's pickup.
    with clock.frozen(datetime(2026, 3, 6, 9, 30, tzinfo=UTC)):
        rma = _open(uow, engineer, install(account("Lhasa"), part), level="C-3")
    assert rma.status == "allocated" and rma.at_risk
    assert rma.promised_delivery > rma.due_replacement


def test_shipping_needs_the_reserved_depots_stock(
    uow, engineer, staff, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("JN", part, 1, serialized=True)
    elsewhere = stock_up("BJ", part, 1, serialized=True)
    with clock.frozen(MONDAY_10_SHANGHAI):
        rma = _open(uow, engineer, install(account("Jinan"), part))
    assert rma.depot_code == "JN"
    with pytest.raises((Conflict, InsufficientStock)):
        lifecycle.ship(uow, staff("JN"), rma.number, elsewhere[0])
    assert rma_queries.get_rma(uow, rma.number).rma.status == "allocated"


def test_backordered_case_is_allocated_once_stock_arrives(
    uow, engineer, account, install, make_part, stock_up, make_user, client, login
):
    make_user("planner")
    part = make_part(serialized=True)
    rma = _open(uow, engineer, install(account("Nanjing"), part))
    assert rma.backorder and lifecycle.allowed_actions(rma) == ["allocate", "cancel"]
    again = lifecycle.allocate_again(uow, engineer, rma.number)
    assert (again.status, again.backorder) == ("approved", True)
    stock_up("SH", part, 1, serialized=True)
    login("engineer")
    page = client.get(f"/rmas/{rma.number}").get_data(as_text=True)
    assert 'data-testid="allocate"' in page
    from tests.conftest import csrf_token

    token = csrf_token(client, f"/rmas/{rma.number}")
    answer = client.post(f"/rmas/{rma.number}/allocate", data={"csrf_token": token})
    assert answer.status_code == 302
    done = rma_queries.get_rma(uow, rma.number).rma
    assert (done.status, done.depot_code, done.backorder) == ("allocated", "SH", False)
