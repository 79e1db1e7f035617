"""The calendars' JSON API: authentication, roles, validation and answers."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.conftest import bearer

HOURS = "/api/v1/calendar/working-hours"
DUE = "/api/v1/calendar/add-working-hours"
DAY = "/api/v1/calendars/5x8/days/2027-02-10"


def hours_url(**params: str) -> str:
    return f"{HOURS}?{urlencode(params)}"


def due_url(**params: str) -> str:
    return f"{DUE}?{urlencode(params)}"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/calendars"),
        ("get", "/api/v1/calendars/5x8/days?year=2026"),
        ("put", DAY),
        ("delete", DAY),
        ("get", hours_url(start="2026-03-02T09:00+08:00", end="2026-03-02T17:00+08:00")),
        ("get", due_url(start="2026-03-02T09:00+08:00", hours="8")),
    ],
)
def test_every_route_needs_a_token(client, method: str, url: str) -> None:
    response = getattr(client, method)(url, json={"kind": "holiday"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_a_bad_token_is_refused(client) -> None:
    assert client.get("/api/v1/calendars", headers=bearer("nonsense")).status_code == 401


def test_any_role_lists_the_calendars(client, api_token) -> None:
    response = client.get("/api/v1/calendars", headers=bearer(api_token("depot_staff", depot="SH")))
    assert response.status_code == 200
    standard = next(item for item in response.get_json() if item["code"] == "5x8")
    assert standard == {
        "code": "5x8",
        "name": "Standard hotline 5x8",
        "timezone": "Asia/Shanghai",
        "always_open": False,
        "day_start": "09:00",
        "day_end": "17:00",
        "weekdays": [1, 2, 3, 4, 5],
        "holidays": 33,
        "workdays": 6,
    }


def test_days_of_a_year_come_by_date(client, api_token) -> None:
    response = client.get(
        "/api/v1/calendars/5x8/days?year=2026", headers=bearer(api_token("engineer"))
    )
    assert response.status_code == 200
    days = response.get_json()
    assert len(days) == 39
    assert days[0] == {
        "calendar": "5x8",
        "day": "2026-01-01",
        "kind": "holiday",
        "name": "New Year's Day",
        "updated_by": None,
        "updated_at": None,
    }
    assert {"day": "2026-02-14", "kind": "workday"}.items() <= days[4].items()


def test_days_of_an_unknown_calendar_are_not_found(client, api_token) -> None:
    response = client.get("/api/v1/calendars/9x9/days", headers=bearer(api_token("planner")))
    assert response.status_code == 404


def test_days_of_an_absurd_year_are_invalid(client, api_token) -> None:
    response = client.get(
        "/api/v1/calendars/5x8/days?year=1800", headers=bearer(api_token("planner"))
    )
    assert response.status_code == 422


# --- editing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["planner", "supervisor", "engineer"])
def test_non_admins_may_not_change_days_even_with_a_bad_body(client, api_token, role) -> None:
    headers = bearer(api_token(role))
    assert client.put(DAY, headers=headers, json={"kind": "holiday"}).status_code == 403
    assert client.put(DAY, headers=headers, json={"kind": "nonsense"}).status_code == 403
    assert (
        client.delete("/api/v1/calendars/5x8/days/2026-01-01", headers=headers).status_code == 403
    )
    days = client.get("/api/v1/calendars/5x8/days?year=2027", headers=headers).get_json()
    assert days == []


def test_an_admin_adds_replaces_and_removes_a_day(client, api_token) -> None:
    headers = bearer(api_token("admin"))
    created = client.put(DAY, headers=headers, json={"kind": "holiday", "name": "Spring Festival"})
    assert created.status_code == 201
    body = created.get_json()
    assert (body["day"], body["kind"], body["name"]) == ("2027-02-10", "holiday", "Spring Festival")
    assert body["updated_by"].startswith("admin-")
    assert body["updated_at"].endswith("+08:00")
    replaced = client.put(DAY, headers=headers, json={"kind": "holiday", "name": "SF"})
    assert replaced.status_code == 200
    assert replaced.get_json()["name"] == "SF"
    hours = client.get(
        hours_url(start="2027-02-10T00:00+08:00", end="2027-02-11T00:00+08:00"), headers=headers
    )
    assert hours.get_json()["working_hours"] == 0
    assert client.delete(DAY, headers=headers).status_code == 204
    assert client.delete(DAY, headers=headers).status_code == 404


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (DAY, {"kind": "closed"}),
        (DAY, {"name": "no kind"}),
        (DAY, {"kind": "holiday", "name": "x" * 81}),
        (DAY, {"kind": "workday"}),  # a Wednesday is no make-up day
        ("/api/v1/calendars/5x8/days/2027-02-30", {"kind": "holiday"}),
        ("/api/v1/calendars/5x8/days/20270210", {"kind": "holiday"}),
        ("/api/v1/calendars/7x24/days/2027-02-10", {"kind": "holiday"}),
    ],
)
def test_bad_day_edits_are_422_and_change_nothing(client, api_token, url, body) -> None:
    headers = bearer(api_token("admin"))
    response = client.put(url, headers=headers, json=body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"] == "invalid"
    for code in ("5x8", "7x24"):
        days = client.get(f"/api/v1/calendars/{code}/days?year=2027", headers=headers).get_json()
        assert days == []


def test_editing_an_unknown_calendar_is_not_found(client, api_token) -> None:
    response = client.put(
        "/api/v1/calendars/9x9/days/2027-02-10",
        headers=bearer(api_token("admin")),
        json={"kind": "holiday"},
    )
    assert response.status_code == 404


# --- computing -------------------------------------------------------------------------------


def test_working_hours_across_the_spring_festival(client, api_token) -> None:
    response = client.get(
        hours_url(start="2026-02-13T12:00:00+08:00", end="2026-02-24T04:00:00Z"),
        headers=bearer(api_token("engineer")),
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "calendar": "5x8",
        "start": "2026-02-13T12:00:00+08:00",
        "end": "2026-02-24T12:00:00+08:00",
        "working_hours": 16.0,
    }


def test_working_hours_accept_other_zones_and_can_be_negative(client, api_token) -> None:
    headers = bearer(api_token("planner"))
    forward = client.get(
        hours_url(start="2026-03-01T20:00-05:00", end="2026-03-02T14:30+05:30"), headers=headers
    )
    assert forward.get_json()["working_hours"] == 8
    backward = client.get(
        hours_url(start="2026-03-02T14:30+05:30", end="2026-03-01T20:00-05:00"), headers=headers
    )
    assert backward.get_json()["working_hours"] == -8


def test_working_hours_under_7x24_count_the_holidays(client, api_token) -> None:
    response = client.get(
        hours_url(start="2026-10-01T00:00+08:00", end="2026-10-08T00:00+08:00", calendar="7x24"),
        headers=bearer(api_token("supervisor")),
    )
    assert response.get_json()["working_hours"] == 168


def test_due_after_ten_working_hours_skips_the_spring_festival(client, api_token) -> None:
    response = client.get(
        due_url(start="2026-02-13T16:00:00+08:00", hours="10"),
        headers=bearer(api_token("engineer")),
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "calendar": "5x8",
        "start": "2026-02-13T16:00:00+08:00",
        "hours": 10.0,
        "due": "2026-02-24T10:00:00+08:00",
    }


def test_an_unencoded_plus_in_the_offset_is_understood(client, api_token) -> None:
    response = client.get(
        f"{DUE}?start=2026-02-13T16:00:00+08:00&hours=0", headers=bearer(api_token("engineer"))
    )
    assert response.status_code == 200
    assert response.get_json()["due"] == "2026-02-13T16:00:00+08:00"


@pytest.mark.parametrize(
    "url",
    [
        hours_url(start="2026-03-02T09:00+08:00", end="2026-03-02"),  # date only
        hours_url(start="yesterday", end="2026-03-02T17:00+08:00"),
        hours_url(start="2026-03-02T09:00+08:00"),  # missing end
        due_url(start="1999-12-31T09:00+08:00", hours="1"),  # before 2000
        due_url(start="0001-01-01T00:00+14:00", hours="1"),
        hours_url(start="2026-03-02T09:00+08:00", end="9999-12-31T23:59-14:00"),
        due_url(start="2026-03-02T09:00+08:00", hours="-1"),
        due_url(start="2026-03-02T09:00+08:00", hours="nan"),
        due_url(start="2026-03-02T09:00+08:00", hours="inf"),
        due_url(start="2026-03-02T09:00+08:00", hours="lots"),
        due_url(start="2026-03-02T09:00+08:00", hours="1000000"),
        due_url(start="9999-12-31T09:00+08:00", hours="80000"),
        due_url(start="0001-01-01T00:00+08:00", hours="1"),
        hours_url(start="0001-01-01T10:00+08:00", end="2026-03-02T17:00+08:00"),
    ],
)
def test_bad_inputs_are_422(client, api_token, url: str) -> None:
    response = client.get(url, headers=bearer(api_token("planner")))
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"] == "invalid"


def test_a_naive_instant_is_shanghai_time(client, api_token) -> None:
    response = client.get(
        hours_url(start="2026-03-02T09:00", end="2026-03-02T17:00+08:00"),
        headers=bearer(api_token("planner")),
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["start"] == "2026-03-02T09:00:00+08:00"
    assert response.get_json()["working_hours"] == 8.0


@pytest.mark.parametrize(
    "url",
    [
        hours_url(start="2026-03-02T09:00+08:00", end="2026-03-02T17:00+08:00", calendar="9x9"),
        due_url(start="2026-03-02T09:00+08:00", hours="1", calendar="9x9"),
    ],
)
def test_an_unknown_calendar_is_404(client, api_token, url: str) -> None:
    response = client.get(url, headers=bearer(api_token("planner")))
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_the_openapi_document_describes_the_calendar_routes(client) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {
        "/api/v1/calendars",
        "/api/v1/calendars/{code}/days",
        "/api/v1/calendars/{code}/days/{day}",
        "/api/v1/calendar/working-hours",
        "/api/v1/calendar/add-working-hours",
    } <= set(paths)
    start = next(p for p in paths[HOURS]["get"]["parameters"] if p["name"] == "start")
    assert start["required"] and start["schema"]["format"] == "date-time"
