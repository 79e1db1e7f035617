"""Instants on RMAs follow the one rule (``core.clock.read_instant``): without an offset
a time is Asia/Shanghai time, in the API as on the pages; nothing before 2000 or
past 2199 is taken, so no case is numbered RMA-1900 or shown with Shanghai's 1900
offset; a fault is not reported from the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core import clock

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


@pytest.fixture
def serial(account, install, make_part, stock_up) -> str:
    part = make_part(serialized=True)
    stock_up("SH", part, 1, serialized=True)
    return install(account("Shanghai"), part).serial


def _open(client, headers, serial: str, reported_at: str) -> Any:
    body = {
        "serial": serial,
        "fault_level": "C-2",
        "kind": "advance_replacement",
        "symptom": "no power",
        "reported_at": reported_at,
    }
    with clock.frozen(NOW):
        return client.post("/api/v1/rmas", json=body, headers=headers)


def test_a_reported_at_without_offset_is_shanghai_time(client, auth_for, serial) -> None:
    answer = _open(client, auth_for("engineer"), serial, "2026-03-02T09:30")
    assert answer.status_code == 201, answer.get_json()
    rma = answer.get_json()
    assert rma["reported_at"] == "2026-03-02T09:30:00+08:00"
    assert rma["number"].startswith("RMA-2026-")


@pytest.mark.parametrize(
    "reported_at",
    ["1900-01-01T09:00:00", "1999-12-31T23:59:59+08:00", "0001-01-01T00:00:00+14:00"],
)
def test_no_case_is_reported_before_2000(client, auth_for, serial, reported_at) -> None:
    headers = auth_for("engineer")
    answer = _open(client, headers, serial, reported_at)
    assert answer.status_code == 422
    assert answer.get_json()["fields"][0]["field"] == "reported_at"
    assert client.get("/api/v1/rmas", headers=headers).get_json() == []


def test_a_fault_reported_minutes_ahead_is_taken_and_more_is_refused(
    client, auth_for, serial
) -> None:
    headers = auth_for("engineer")
    ahead = clock.local(NOW + clock.FUTURE_LEEWAY + timedelta(minutes=1)).isoformat()
    assert _open(client, headers, serial, ahead).status_code == 422
    within = clock.local(NOW + clock.FUTURE_LEEWAY - timedelta(minutes=1)).isoformat()
    assert _open(client, headers, serial, within).status_code == 201


@pytest.mark.parametrize("value", ["0001-01-01T00:00", "9999-12-31T23:59", "1900-03-02T15:00"])
def test_the_delivery_form_refuses_the_ends_of_time_in_words(
    client, login, auth_for, serial, value
) -> None:
    engineer = auth_for("engineer")
    opened = _open(client, engineer, serial, "2026-03-02T09:30:00+08:00").get_json()
    number = opened["number"]
    units = client.get(
        f"/api/v1/units?depot=SH&part_number={opened['part_number']}&location=depot",
        headers=auth_for("depot_staff", "SH"),
    ).get_json()
    with clock.frozen(NOW + timedelta(hours=1)):
        shipped = client.post(
            f"/api/v1/rmas/{number}/ship",
            json={"serial": units[0]["serial"]},
            headers=auth_for("depot_staff", "SH"),
        )
    assert shipped.status_code == 200, shipped.get_json()
    login("engineer")
    page = client.get(f"/rmas/{number}").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post(
        f"/rmas/{number}/deliver", data={"delivered_at": value, "csrf_token": token}
    )
    assert answer.status_code == 422
    assert "between the years 2000 and 2199" in answer.get_data(as_text=True)
    assert client.get(f"/api/v1/rmas/{number}", headers=engineer).get_json()["status"] == "shipped"
