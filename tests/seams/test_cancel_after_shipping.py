"""Defect 2: cancelling after the replacement shipped no longer strands the unit.

The case turns ``returning``: the shipped serial is expected back (due date,
chasing, the returns page), and receiving it back puts it into the depot's
quarantine and ends the case ``cancelled``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from core import clock
from core.db import UnitOfWork
from inventory.service import queries as stock_queries
from rma.models import Notification, Rma, Site
from tests.conftest import csrf_token
from tests.seams.conftest import call

MONDAY_10 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Shanghai 10:00


def _shipped_case(client, auth_for, account, install, make_part, stock_up):
    part = make_part(serialized=True)
    [serial] = stock_up("SH", part, 1, serialized=True)
    unit = install(account("Shanghai"), part)
    body = {"serial": unit.serial, "fault_level": "C-2", "kind": "advance_replacement"}
    opened = call(
        client, "POST", "/api/v1/rmas", auth_for("engineer"), 201, json={**body, "symptom": "x"}
    )
    number = opened["number"]
    call(
        client,
        "POST",
        f"/api/v1/rmas/{number}/ship",
        auth_for("depot_staff", "SH"),
        200,
        json={"serial": serial},
    )
    return number, serial, unit, part


def _stock(engine, depot, part):
    rows = stock_queries.stock(UnitOfWork(engine), depot=depot, part_number=part, nonzero=False)
    return rows[0] if rows else None


def test_cancel_after_shipping_expects_the_unit_back_and_receiving_it_ends_the_case(
    client, auth_for, account, install, make_part, stock_up, engine
):
    number, serial, _, part = _shipped_case(client, auth_for, account, install, make_part, stock_up)
    with clock.frozen(MONDAY_10):
        cancelled = call(
            client,
            "POST",
            f"/api/v1/rmas/{number}/cancel",
            auth_for("engineer"),
            200,
            json={"reason": "customer fixed it themselves"},
        )
    assert cancelled["status"] == "returning"
    assert cancelled["allowed_actions"] == ["receive-replacement-back"]
    assert cancelled["cancelled_at"] is None and cancelled["cancel_reason"]
    assert datetime.fromisoformat(cancelled["due"]["defective_return"]) == MONDAY_10 + timedelta(
        days=15
    )
    assert cancelled["at_risk"] is False
    unit = call(client, "GET", f"/api/v1/units/{serial}", auth_for("planner"), 200)
    assert unit["location"] == "customer"

    again = call(
        client,
        "POST",
        f"/api/v1/rmas/{number}/cancel",
        auth_for("engineer"),
        409,
        json={"reason": "twice"},
    )
    assert "already cancelled" in again["detail"]
    path = f"/api/v1/rmas/{number}/receive-replacement-back"
    call(client, "POST", path, auth_for("depot_staff", "BJ"), 403, json={"depot": "SH"})
    wrong = call(
        client,
        "POST",
        path,
        auth_for("depot_staff", "SH"),
        422,
        json={"depot": "SH", "serial": "NOT-THIS-ONE"},
    )
    assert serial in wrong["detail"]
    assert _stock(engine, "SH", part).quarantine == 0

    with clock.frozen(MONDAY_10 + timedelta(days=2)):
        done = call(
            client,
            "POST",
            path,
            auth_for("depot_staff", "SH"),
            200,
            json={"depot": "SH", "serial": serial.lower()},
        )
    assert done["status"] == "cancelled" and done["cancelled_at"]
    assert (done["return_depot"], done["returned_serial"]) == ("SH", serial)
    assert done["due_met"]["defective_return"] is True
    row = _stock(engine, "SH", part)
    assert (row.quarantine, row.good, row.available) == (1, 0, 0)
    unit = call(client, "GET", f"/api/v1/units/{serial}", auth_for("planner"), 200)
    assert (unit["location"], unit["condition"], unit["depot"]) == ("depot", "quarantine", "SH")
    events = [(e["action"], e["from_status"], e["to_status"]) for e in done["events"]]
    assert ("cancel", "shipped", "returning") in events
    assert ("receive-replacement-back", "returning", "cancelled") in events


def test_cancel_after_delivery_takes_the_installed_replacement_back_out_of_the_base(
    client, auth_for, account, install, make_part, stock_up
):
    number, serial, original, _ = _shipped_case(
        client, auth_for, account, install, make_part, stock_up
    )
    engineer = auth_for("engineer")
    call(client, "POST", f"/api/v1/rmas/{number}/deliver", engineer, 200, json={})
    installed = call(client, "GET", f"/api/v1/installed-units/{serial}", engineer, 200)
    assert installed["active"] is True
    cancelled = call(
        client, "POST", f"/api/v1/rmas/{number}/cancel", engineer, 200, json={"reason": "dup"}
    )
    assert cancelled["status"] == "returning"
    call(
        client,
        "POST",
        f"/api/v1/rmas/{number}/receive-replacement-back",
        auth_for("depot_staff", "SH"),
        200,
        json={"depot": "SH"},
    )
    assert (
        call(client, "GET", f"/api/v1/installed-units/{serial}", engineer, 200)["active"] is False
    )
    kept = call(client, "GET", f"/api/v1/installed-units/{original.serial}", engineer, 200)
    assert kept["active"] is True  # the customer keeps their own unit


def test_an_exchange_that_is_complete_cannot_be_cancelled(
    client, auth_for, account, install, make_part, stock_up
):
    number, _, original, _ = _shipped_case(client, auth_for, account, install, make_part, stock_up)
    engineer = auth_for("engineer")
    call(client, "POST", f"/api/v1/rmas/{number}/deliver", engineer, 200, json={})
    call(
        client,
        "POST",
        f"/api/v1/rmas/{number}/receive-defective",
        auth_for("depot_staff", "SH"),
        200,
        json={"depot": "SH", "serial": original.serial},
    )
    refused = call(
        client, "POST", f"/api/v1/rmas/{number}/cancel", engineer, 409, json={"reason": "late"}
    )
    assert "close it" in refused["detail"]
    assert refused["allowed"] == ["close"]


def test_an_overdue_returning_unit_is_chased_and_listed_on_the_returns_page(
    app, client, auth_for, account, install, make_part, stock_up, engine, login
):
    number, serial, _, _ = _shipped_case(client, auth_for, account, install, make_part, stock_up)
    with engine.begin() as connection:  # the site's contact, whom reminders go to
        connection.execute(
            update(Site)
            .where(Site.id == select(Rma.site_id).where(Rma.number == number).scalar_subquery())
            .values(contact_email="noc@customer.example")
        )
    with clock.frozen(MONDAY_10):
        call(
            client,
            "POST",
            f"/api/v1/rmas/{number}/cancel",
            auth_for("engineer"),
            200,
            json={"reason": "wrong unit ordered"},
        )
    result = app.test_cli_runner().invoke(args=["escalate", "--now", "2026-03-18T10:00:00+08:00"])
    assert result.exit_code == 0, result.output
    with engine.connect() as connection:
        subjects = list(
            connection.scalars(
                select(Notification.subject).where(Notification.kind == "return_reminder")
            )
        )
    assert subjects and all(number in s for s in subjects)
    # In the engineer's language: English words or their Chinese.
    assert (
        "replacement shipped on the cancelled case" in subjects[0]
        or "已取消工单发出的替换件" in subjects[0]
    )

    login("depot_staff", depot="SH")
    page = client.get("/rmas/returns").get_data(as_text=True)
    assert f'data-testid="return-{number}"' in page
    assert f"/rmas/{number}/receive-replacement-back" in page
    answer = client.post(
        f"/rmas/{number}/receive-replacement-back",
        data={
            "back": "returns",
            "serial": serial,
            "csrf_token": csrf_token(client, "/rmas/returns"),
        },
    )
    assert answer.status_code == 302
    assert (
        call(client, "GET", f"/api/v1/rmas/{number}", auth_for("engineer"), 200)["status"]
        == "cancelled"
    )


@pytest.mark.parametrize("receive", [True, False])
def test_the_operator_cancels_and_receives_back_from_the_command_line(
    app, client, auth_for, account, install, make_part, stock_up, receive
):
    number, serial, _, _ = _shipped_case(client, auth_for, account, install, make_part, stock_up)
    runner = app.test_cli_runner()
    cancelled = runner.invoke(args=["rma", "cancel", number, "--reason", "duplicate"])
    assert cancelled.exit_code == 0, cancelled.output
    assert f"{number} returning: unit {serial} expected back by" in cancelled.output
    shown = runner.invoke(args=["rma", "show", number])
    assert "allowed: receive-replacement-back" in shown.output
    if receive:
        back = runner.invoke(args=["rma", "receive-back", number, "--depot", "SH"])
        assert back.exit_code == 0, back.output
        assert f"unit {serial} in SH quarantine" in back.output
    else:
        wrong = runner.invoke(args=["rma", "receive-back", number, "--depot", "XX"])
        assert wrong.exit_code == 3 and "unknown depot" in wrong.output
