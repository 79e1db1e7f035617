"""Defects 5 and 6: a promise is a live fact, and an at-risk C-1 gets the earliest
arrival, emergency courier included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core import clock
from core.db import UnitOfWork
from rma.service import queries
from tests.seams.conftest import call

MONDAY_13_02 = datetime(2026, 3, 2, 5, 2, tzinfo=UTC)  # Shanghai 13:02
TUESDAY_07_30 = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # Shanghai 07:30 the next day


def _open(client, headers, serial, level="C-2"):
    body = {
        "serial": serial,
        "fault_level": level,
        "kind": "advance_replacement",
        "symptom": "down",
    }
    return call(client, "POST", "/api/v1/rmas", headers, 201, json=body)


def _local(text: str) -> str:
    return clock.local(datetime.fromisoformat(text)).strftime("%Y-%m-%d %H:%M")


def test_a_pick_up_that_passed_unshipped_puts_the_case_at_risk_and_is_promised_again(
    app, client, auth_for, account, install, make_part, stock_up, engine
):
    part = make_part(serialized=True)
    stock_up("SH", part, 1, serialized=True)
    unit = install(account("Shanghai"), part)
    engineer = auth_for("engineer")
    with clock.frozen(MONDAY_13_02):
        opened = _open(client, engineer, unit.serial)
    assert opened["allocation"]["depot"] == "SH" and opened["at_risk"] is False
    assert _local(opened["allocation"]["ships_at"]) == "2026-03-02 13:02"
    first_promise = opened["promise"]["current"]
    assert _local(first_promise) == "2026-03-02 17:02"

    with clock.frozen(TUESDAY_07_30):
        late = call(client, "GET", f"/api/v1/rmas/{opened['number']}", engineer, 200)
        listed = call(client, "GET", "/api/v1/rmas?open=true", engineer, 200)
    assert late["at_risk"] is True
    assert late["at_risk_reason"] == "not shipped by 2026-03-02 18:00, the promised pick-up"
    assert late["promise"]["original"] == first_promise
    assert _local(late["promise"]["ships_by"]) == "2026-03-03 09:00"  # the next pick-up
    assert _local(late["promise"]["current"]) == "2026-03-03 13:00"
    assert [r["at_risk"] for r in listed if r["number"] == opened["number"]] == [True]

    # The escalation run records the lapse once and raises "at risk" (step 0) once.
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["escalate", "--now", "2026-03-03T07:30:00+08:00"])
        assert result.exit_code == 0, result.output
    view = queries.get_rma(UnitOfWork(engine), opened["number"])
    assert [e.action for e in view.events].count("promise-lapsed") == 1
    assert view.rma.at_risk and view.rma.at_risk_reason.startswith("not shipped by")
    assert _local(view.rma.promised_delivery.isoformat()) == "2026-03-03 13:00"
    assert _local(view.rma.original_promised_delivery.isoformat()) == "2026-03-02 17:02"
    detail = call(client, "GET", f"/api/v1/rmas/{opened['number']}", engineer, 200)
    assert [e["step"] for e in detail["escalations"]].count(0) == 1


def test_the_case_page_shows_the_first_and_the_current_promise_once_at_risk(
    client, login, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("SH", part, 1, serialized=True)
    unit = install(account("Shanghai"), part)
    login("engineer")
    with clock.frozen(MONDAY_13_02):
        body = {"serial": unit.serial, "fault_level": "C-2", "kind": "advance_replacement"}
        number = _open_from_page(client, body)
        fresh = client.get(f"/rmas/{number}").get_data(as_text=True)
    assert 'data-testid="promise-state">meets the due time' in fresh
    with clock.frozen(TUESDAY_07_30):
        html = client.get(f"/rmas/{number}").get_data(as_text=True)
    assert 'data-testid="original-promise">2026-03-02 17:02' in html
    assert "at risk: not shipped by 2026-03-02 18:00, the promised pick-up" in html
    assert 'data-testid="promised-delivery">2026-03-03 13:00' in html


def _open_from_page(client, body) -> str:
    from tests.conftest import csrf_token

    answer = client.post(
        "/rmas/new",
        data={
            "unit": body["serial"],
            "fault_level": body["fault_level"],
            "kind": body["kind"],
            "symptom": "down",
            "csrf_token": csrf_token(client, "/rmas/new"),
        },
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return answer.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def test_a_shipped_unit_past_its_promised_delivery_is_at_risk_without_a_new_promise(
    client, auth_for, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    [serial] = stock_up("SH", part, 1, serialized=True)
    unit = install(account("Shanghai"), part)
    engineer, staff = auth_for("engineer"), auth_for("depot_staff", "SH")
    with clock.frozen(MONDAY_13_02):
        opened = _open(client, engineer, unit.serial)
        call(
            client,
            "POST",
            f"/api/v1/rmas/{opened['number']}/ship",
            staff,
            200,
            json={"serial": serial},
        )
    with clock.frozen(MONDAY_13_02 + timedelta(hours=5)):
        late = call(client, "GET", f"/api/v1/rmas/{opened['number']}", engineer, 200)
    assert late["at_risk"] is True
    assert late["at_risk_reason"] == "not delivered by 2026-03-02 17:02 as promised"
    assert late["promise"]["current"] is None
    with clock.frozen(MONDAY_13_02 + timedelta(hours=3)):
        in_time = call(client, "GET", f"/api/v1/rmas/{opened['number']}", engineer, 200)
    assert in_time["at_risk"] is False and in_time["at_risk_reason"] is None


URUMQI_19_00 = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)  # Monday 19:00 Shanghai


def test_an_at_risk_c1_gets_the_earliest_arrival_with_the_emergency_courier(
    client, auth_for, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    for depot in ("XA", "CD", "BJ"):
        stock_up(depot, part, 1, serialized=True)
    engineer = auth_for("engineer")
    site = account("Urumqi")
    c1_unit, c2_unit = install(site, part), install(site, part)
    with clock.frozen(URUMQI_19_00):
        c1 = _open(client, engineer, c1_unit.serial, "C-1")
        c2 = _open(client, engineer, c2_unit.serial, "C-2")
    allocation = c1["allocation"]
    assert c1["at_risk"] is True  # Urumqi is never within 24 hours by the default lanes
    assert allocation["service"] == "emergency"
    assert _local(allocation["ships_at"]) == "2026-03-02 20:00"  # within the hour, not 09:00
    alternatives = allocation["alternatives"]
    emergency_arrivals = [a["emergency"]["arrival"] for a in alternatives if a["emergency"]]
    assert len(emergency_arrivals) == 3  # every depot's emergency option is listed
    assert allocation["promised_delivery"] == min(emergency_arrivals)
    chosen = alternatives[0]
    assert chosen["chosen"] and chosen["emergency"]["booked"]
    assert "sooner than standard" in chosen["emergency"]["note"]
    assert all("after the due time" in a["reason"] for a in alternatives[1:] if a["arrival"])
    # C-2 may not book the courier: it waits for the morning pick-up, and says so.
    assert c2["allocation"]["service"] == "standard"
    assert _local(c2["allocation"]["ships_at"]) == "2026-03-03 09:00"
    standard_wait = datetime.fromisoformat(c2["allocation"]["promised_delivery"]) - (
        datetime.fromisoformat(allocation["promised_delivery"])
    )
    assert standard_wait >= timedelta(hours=12)


def _lapses(engine, number: str) -> int:
    view = queries.get_rma(UnitOfWork(engine), number)
    return [e.action for e in view.events].count("promise-lapsed")


def test_a_unit_quoted_to_leave_now_is_not_late_until_the_days_collection_goes_without_it(
    app, client, auth_for, account, install, make_part, stock_up, engine
):
    """Allocated at 13:02 in pick-up hours, the quote leaves at 13:02; the ship-by is
    the 18:00 collection. Neither the page nor the escalation run calls it late
    before then, and after it the lapse is recorded once, with the next pick-up's
    ship-by (not a new lapse every minute)."""
    part = make_part(serialized=True)
    stock_up("SH", part, 1, serialized=True)
    unit = install(account("Shanghai"), part)
    engineer = auth_for("engineer")
    with clock.frozen(MONDAY_13_02):
        opened = _open(client, engineer, unit.serial)
    number = opened["number"]
    assert _local(opened["allocation"]["ships_at"]) == "2026-03-02 13:02"
    assert _local(opened["allocation"]["ship_by"]) == "2026-03-02 18:00"
    runner = app.test_cli_runner()

    def escalate_at(local: str) -> None:
        result = runner.invoke(args=["escalate", "--now", f"2026-03-{local}:00+08:00"])
        assert result.exit_code == 0, result.output

    for minute in ("02T13:03", "02T13:04", "02T17:59"):
        escalate_at(minute)
    with clock.frozen(MONDAY_13_02 + timedelta(minutes=1)):
        soon = call(client, "GET", f"/api/v1/rmas/{number}", engineer, 200)
    assert soon["at_risk"] is False and _lapses(engine, number) == 0

    for minute in ("02T18:01", "02T18:02", "02T19:30", "03T08:00"):
        escalate_at(minute)
    assert _lapses(engine, number) == 1
    view = queries.get_rma(UnitOfWork(engine), number)
    assert view.rma.at_risk_reason == "not shipped by 2026-03-02 18:00, the promised pick-up"
    assert _local(view.rma.ships_at.isoformat()) == "2026-03-03 09:00"  # the next pick-up
    # Leaving at 09:00 it arrives at 13:00, two minutes inside the due time: the
    # slack, not the day's collection, bounds the new ship-by.
    assert _local(view.rma.ship_by.isoformat()) == "2026-03-03 09:02"


def test_a_unit_shipped_later_in_the_day_is_promised_by_its_departure(
    client, auth_for, account, install, make_part, stock_up
):
    """Handed over at 16:30, before its 18:00 ship-by, the unit arrives by the lane's
    hours from 16:30: that is the promise now, and it is not late at 17:30."""
    part = make_part(serialized=True)
    [serial] = stock_up("SH", part, 1, serialized=True)
    unit = install(account("Shanghai"), part)
    engineer, staff = auth_for("engineer"), auth_for("depot_staff", "SH")
    with clock.frozen(MONDAY_13_02):
        opened = _open(client, engineer, unit.serial)
    number = opened["number"]
    shipped_at = MONDAY_13_02 + timedelta(hours=3, minutes=28)  # 16:30
    with clock.frozen(shipped_at):
        call(client, "POST", f"/api/v1/rmas/{number}/ship", staff, 200, json={"serial": serial})
    with clock.frozen(shipped_at + timedelta(hours=1)):
        answer = call(client, "GET", f"/api/v1/rmas/{number}", engineer, 200)
    assert answer["at_risk"] is False
    assert _local(answer["promise"]["current"]) == "2026-03-02 20:30"  # 16:30 + 4 h courier
    assert _local(answer["promise"]["original"]) == "2026-03-02 17:02"


def test_the_service_levels_report_counts_a_lapsed_promise_at_risk_now(
    client, auth_for, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("SH", part, 1, serialized=True)
    unit = install(account("Shanghai"), part)
    with clock.frozen(MONDAY_13_02):
        _open(client, auth_for("engineer"), unit.serial)
    planner = auth_for("planner")

    def at_risk_now() -> int:
        report = call(client, "GET", "/api/v1/reports/service-levels", planner, 200)
        return report["headline"]["at_risk_now"]

    with clock.frozen(MONDAY_13_02):
        assert at_risk_now() == 0
    # Not shipped by the 18:00 pick-up: at risk by the one promise rule, before any
    # escalation run has recorded the lapse.
    with clock.frozen(TUESDAY_07_30):
        assert at_risk_now() == 1
