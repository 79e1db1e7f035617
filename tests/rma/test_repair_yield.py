"""Repair yield and no-fault-found rate: the finding recorded on receipt of a defective
unit (service, API, page), its outcome when it leaves defective stock (repair to good,
scrap), the yield per part and family over a window, and migration 0013 up and down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect

from core import clock, schema
from core.db import UnitOfWork
from core.errors import Invalid
from inventory.service import moves, repair_yield
from rma.service import lifecycle, opening, returns, wording
from rma.service.opening import OpenRequest
from tests.conftest import csrf_token

MONDAY_10_SHANGHAI = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
T0 = MONDAY_10_SHANGHAI


def _back(uow, actor, depot, part, serial, finding, *, qty=1):
    return moves.receive_return(
        uow, actor, depot, part, serial, qty=qty, reference=None, finding=finding
    )


def test_yield_and_no_fault_found_rate_per_part_and_family(uow, staff, make_part):
    sh = staff("SH")
    psu = make_part(serialized=True, family="power")
    fan_tray = make_part(serialized=False, family="power")
    # Before the window: repaired, not counted.
    with clock.frozen(T0 - timedelta(days=40)):
        _back(uow, sh, "SH", psu, "OLD-0001", "fault_confirmed")
    with clock.frozen(T0 - timedelta(days=39)):
        moves.change_condition(uow, sh, "SH", psu, 1, "defective", "good", ["OLD-0001"])
    with clock.frozen(T0):
        _back(uow, sh, "SH", psu, "PSU-0001", "fault_confirmed")
        _back(uow, sh, "SH", psu, "PSU-0002", "no_fault_found")
        _back(uow, sh, "SH", psu, "PSU-0003", "fault_confirmed")
        _back(uow, sh, "SH", psu, "PSU-0004", None)  # still in defective stock
        _back(uow, sh, "SH", fan_tray, None, None, qty=2)
    with clock.frozen(T0 + timedelta(days=1)):
        moves.change_condition(uow, sh, "SH", psu, 1, "defective", "good", ["PSU-0002"])
        moves.change_condition(uow, sh, "SH", psu, 1, "defective", "in_repair", ["PSU-0001"])
        moves.scrap(uow, sh, "SH", psu, 1, "burnt board", ["PSU-0003"])
    with clock.frozen(T0 + timedelta(days=3)):
        # Out of repair (still defective stock until now) into good stock: repaired.
        moves.change_condition(uow, sh, "SH", psu, 1, "in_repair", "good", ["PSU-0001"])
        moves.change_condition(uow, sh, "SH", fan_tray, 1, "defective", "good")
        # Good stock moved to quarantine and back is no outcome of a receipt.
        moves.change_condition(uow, sh, "SH", psu, 1, "good", "quarantine", ["PSU-0001"])

    window = (T0 - timedelta(days=1), T0 + timedelta(days=30))
    by_part = {row.key: row for row in repair_yield.repair_yields(uow, *window)}
    p = by_part[psu]
    # PSU: 4 received, 3 decided (1 repaired, 1 no fault found, 1 scrapped).
    assert (p.received, p.decided, p.repaired, p.no_fault_found, p.scrapped) == (4, 3, 1, 1, 1)
    assert p.yield_share == pytest.approx(2 / 3)
    assert p.no_fault_found_share == pytest.approx(1 / 3)
    # Back to good after 3 days (repaired) and 1 day (no fault found): 2 days on average.
    assert p.turnaround_days == pytest.approx((3 + 1) / 2)
    f = by_part[fan_tray]
    assert (f.received, f.decided, f.repaired, f.scrapped) == (2, 1, 1, 0)
    assert (f.yield_share, f.no_fault_found_share, f.turnaround_days) == (1.0, 0.0, 3.0)

    (power,) = repair_yield.repair_yields(uow, *window, by="family")
    assert (power.key, power.received, power.decided) == ("power", 6, 4)
    assert power.yield_share == pytest.approx(3 / 4)
    assert power.no_fault_found_share == pytest.approx(1 / 4)
    # Open window: the old receipt counts too.
    (everything,) = repair_yield.repair_yields(uow, by="family")
    assert (everything.received, everything.repaired) == (7, 3)


def test_a_finding_is_one_of_two_words_and_only_for_defective_stock(uow, staff, make_part):
    sh = staff("SH")
    part = make_part(serialized=True)
    with pytest.raises(Invalid) as refused:
        _back(uow, sh, "SH", part, "PSU-0101", "broken")
    assert refused.value.fields[0].field == "finding"
    with pytest.raises(Invalid):
        moves.receive_return(
            uow, sh, "SH", part, "PSU-0102", condition="quarantine", finding="no_fault_found"
        )
    assert repair_yield.repair_yields(uow) == []


def _case_delivered(engine, engineer, staff, account, install, make_part, stock_up):
    part = make_part(serialized=True)
    serials = stock_up("SH", part, 1, serialized=True)
    unit = install(account("Shanghai"), part)
    uow = UnitOfWork(engine)
    with clock.frozen(T0):
        rma = opening.open_rma(
            uow,
            engineer,
            OpenRequest(
                fault_level="C-2", kind="advance_replacement", symptom="dead", serial=unit.serial
            ),
        )
    lifecycle.ship(uow, staff("SH"), rma.number, serials[0])
    lifecycle.deliver(uow, staff("SH"), rma.number)
    return rma, unit, part


def test_the_finding_on_the_api_answer_and_the_outcome_after_repair(
    client, engine, auth_for, engineer, staff, account, install, make_part, stock_up
):
    rma, unit, part = _case_delivered(
        engine, engineer, staff, account, install, make_part, stock_up
    )
    sh = auth_for("depot_staff", "SH")
    url = f"/api/v1/rmas/{rma.number}/receive-defective"
    wrong = client.post(url, json={"depot": "SH", "finding": "broken"}, headers=sh)
    assert wrong.status_code == 422
    answer = client.post(url, json={"depot": "SH", "finding": "no_fault_found"}, headers=sh)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert (body["finding"], body["repair_outcome"]) == ("no_fault_found", None)
    assert body["events"][-1]["detail"]["finding"] == "no_fault_found"

    moves.change_condition(
        UnitOfWork(engine), staff("SH"), "SH", part, 1, "defective", "good", [unit.serial]
    )
    again = client.get(f"/api/v1/rmas/{rma.number}", headers=sh).get_json()
    assert (again["finding"], again["repair_outcome"]) == ("no_fault_found", "no_fault_found")
    (row,) = repair_yield.repair_yields(UnitOfWork(engine))
    assert (row.no_fault_found, row.no_fault_found_share) == (1, 1.0)


def test_a_finding_on_a_repair_case_is_refused(client, auth_for, account, install, make_part):
    unit = install(account("Wuhan", coverage=None), make_part(serialized=True))
    opened = client.post(
        "/api/v1/rmas",
        json={"serial": unit.serial, "fault_level": "C-2", "kind": "repair", "symptom": "x"},
        headers=auth_for("engineer"),
    ).get_json()
    refused = client.post(
        f"/api/v1/rmas/{opened['number']}/receive-defective",
        json={"depot": "WH", "finding": "fault_confirmed"},
        headers=auth_for("depot_staff", "WH"),
    )
    assert refused.status_code == 422
    assert refused.get_json()["fields"][0]["field"] == "finding"


def test_the_receive_form_records_the_finding(
    client, login, engine, engineer, staff, account, install, make_part, stock_up
):
    rma, _, _ = _case_delivered(engine, engineer, staff, account, install, make_part, stock_up)
    login("depot_staff", depot="SH")
    page = client.get(f"/rmas/{rma.number}").get_data(as_text=True)
    assert 'data-testid="receive-finding"' in page
    chinese = client.get(f"/rmas/{rma.number}", headers={"Accept-Language": "zh-CN"})
    assert "未发现故障" in chinese.get_data(as_text=True)
    done = client.post(
        f"/rmas/{rma.number}/receive-defective",
        data={
            "csrf_token": csrf_token(client, "/rmas"),
            "depot": "SH",
            "finding": "fault_confirmed",
        },
    )
    assert done.status_code == 302, done.get_data(as_text=True)
    receipt = repair_yield.receipt_for(UnitOfWork(engine), rma.number)
    assert receipt is not None and receipt.finding == "fault_confirmed"


def test_receipts_are_kept_by_the_defective_return_of_a_case(
    uow, engineer, staff, account, install, make_part, stock_up, engine
):
    rma, unit, _ = _case_delivered(engine, engineer, staff, account, install, make_part, stock_up)
    returns.receive_defective(uow, staff("SH"), rma.number, "SH", unit.serial)
    receipt = repair_yield.receipt_for(uow, rma.number)
    assert receipt is not None
    assert (receipt.serial, receipt.depot_code, receipt.finding) == (unit.serial, "SH", None)


def test_migration_0013_goes_down_and_up(any_engine):
    schema.downgrade(any_engine, "0012")
    assert "defective_receipt" not in inspect(any_engine).get_table_names()
    schema.upgrade(any_engine)
    assert "defective_receipt" in inspect(any_engine).get_table_names()


def test_the_history_shows_the_finding_in_words():
    assert wording.detail_pairs("receive-defective", {"finding": "no_fault_found"}) == [
        ("finding", "no fault found")
    ]
