"""Defects 8 and 10: batch dispatch goes through the lifecycle's own steps and the
single case's rules, proposes before it applies, records nothing when nothing
changes; stock is held for a case through inventory's entry point, not by an actor
disguised as an administrator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from core import clock
from inventory.models import Movement
from rma.models import RmaEvent
from tests.seams.conftest import call

MONDAY_10 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Shanghai 10:00


def _open(client, headers, serial, level):
    body = {"serial": serial, "fault_level": level, "kind": "advance_replacement", "symptom": "x"}
    return call(client, "POST", "/api/v1/rmas", headers, 201, json=body)


def _counts(engine) -> tuple[int, int]:
    with engine.connect() as connection:
        events = connection.scalar(select(func.count()).select_from(RmaEvent))
        movements = connection.scalar(select(func.count()).select_from(Movement))
    return events, movements


def test_dispatch_moves_cases_through_allowed_steps_and_records_where_they_came_from(
    client, auth_for, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("CD", part, 1, serialized=True)
    engineer, planner = auth_for("engineer"), auth_for("planner")
    with clock.frozen(MONDAY_10):
        c3 = _open(client, engineer, install(account("Chengdu"), part).serial, "C-3")
        c1 = _open(client, engineer, install(account("Chongqing"), part).serial, "C-1")
        assert c3["status"] == "allocated" and c1["backorder"]  # first come, first served
        proposal = call(client, "GET", "/api/v1/dispatch/proposal", planner, 200)
        applied = call(
            client,
            "POST",
            "/api/v1/dispatch/apply",
            planner,
            200,
            json={"basis": proposal["basis"]},
        )
    assert set(applied["applied"]) == {c1["number"], c3["number"]}
    lost = call(client, "GET", f"/api/v1/rmas/{c3['number']}", engineer, 200)
    won = call(client, "GET", f"/api/v1/rmas/{c1['number']}", engineer, 200)
    assert (lost["status"], lost["backorder"], lost["allocation"]) == ("approved", True, None)
    assert (won["status"], won["allocation"]["depot"]) == ("allocated", "CD")
    steps = [
        (e["action"], e["from_status"], e["to_status"])
        for case in (lost, won)
        for e in case["events"]
        if e["action"] == "reallocate"
    ]
    assert steps == [
        ("reallocate", "allocated", "approved"),
        ("reallocate", "approved", "allocated"),
    ]
    assert all(e["from_status"] for case in (lost, won) for e in case["events"])
    # The unit is held for the winner by the planner's step, not by a disguised admin.
    holds = call(
        client,
        "GET",
        f"/api/v1/reservations?reference={c1['number']}&status=active",
        planner,
        200,
    )
    [hold] = holds
    assert hold["depot"] == "CD" and hold["created_by"].startswith("planner")


def test_a_dispatch_that_changes_nothing_records_nothing(
    client, auth_for, account, install, make_part, stock_up, engine
):
    part = make_part(serialized=True)
    stock_up("XA", part, 1, serialized=True)
    with clock.frozen(MONDAY_10):
        case = _open(client, auth_for("engineer"), install(account("Xi'an"), part).serial, "C-2")
    before = _counts(engine)
    planner = auth_for("planner")
    with clock.frozen(MONDAY_10 + timedelta(days=2)):  # never shipped: the promise lapsed
        proposal = call(client, "GET", "/api/v1/dispatch/proposal", planner, 200)
        assert proposal["changed"] == []
        applied = call(
            client,
            "POST",
            "/api/v1/dispatch/apply",
            planner,
            200,
            json={"basis": proposal["basis"]},
        )
    assert applied["applied"] == []
    assert _counts(engine) == before
    assert (
        call(client, "GET", f"/api/v1/rmas/{case['number']}", planner, 200)["allocation"]["depot"]
        == "XA"
    )


def test_a_stale_dispatch_proposal_is_refused_and_changes_nothing(
    client, auth_for, account, install, make_part, stock_up, engine, app
):
    part = make_part(serialized=True)
    stock_up("CD", part, 1, serialized=True)
    engineer, planner = auth_for("engineer"), auth_for("planner")
    with clock.frozen(MONDAY_10):
        _open(client, engineer, install(account("Chengdu"), part).serial, "C-3")
        _open(client, engineer, install(account("Chongqing"), part).serial, "C-1")
        proposal = call(client, "GET", "/api/v1/dispatch/proposal", planner, 200)
    assert proposal["changed"]
    stock_up("WH", part, 1, serialized=True)  # the world moved on
    before = _counts(engine)
    with clock.frozen(MONDAY_10):
        refused = call(
            client,
            "POST",
            "/api/v1/dispatch/apply",
            planner,
            409,
            json={"basis": proposal["basis"]},
        )
    assert "preview it again" in refused["detail"]
    assert _counts(engine) == before
    result = app.test_cli_runner().invoke(args=["dispatch"])
    assert result.exit_code == 0 and "not applied: run again with --apply" in result.output


def test_dispatch_protects_target_stock_like_the_single_case_choice(
    client, auth_for, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("SH", part, 1, serialized=True)
    stock_up("WH", part, 2, serialized=True)
    planner, engineer = auth_for("planner"), auth_for("engineer")
    call(
        client,
        "PUT",
        "/api/v1/targets",
        planner,
        200,
        json={"depot": "SH", "part_number": part, "override": 1},
    )
    with clock.frozen(MONDAY_10):
        case = _open(client, engineer, install(account("Shanghai"), part).serial, "C-2")
        # Shanghai is cheaper and faster, but would fall below its target: Wuhan ships.
        assert case["allocation"]["depot"] == "WH"
        proposal = call(client, "GET", "/api/v1/dispatch/proposal", planner, 200)
    [planned] = proposal["cases"]
    assert (planned["depot"], planned["changed"]) == ("WH", False)


def test_dispatch_gives_an_at_risk_c1_the_emergency_courier_as_a_single_case_would(
    client, auth_for, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("XA", part, 1, serialized=True)
    engineer, planner = auth_for("engineer"), auth_for("planner")
    evening = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)  # 19:00 Shanghai
    with clock.frozen(evening):
        case = _open(client, engineer, install(account("Urumqi"), part).serial, "C-1")
        proposal = call(client, "GET", "/api/v1/dispatch/proposal", planner, 200)
    [planned] = proposal["cases"]
    assert planned["service"] == "emergency" and not planned["changed"]
    assert planned["arrival"] == case["allocation"]["promised_delivery"]
