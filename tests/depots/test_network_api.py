"""The network's JSON API: depots, cities, lanes, bulk edits and quotes."""

from __future__ import annotations

import pytest

from tests.conftest import bearer

ROUTES = [
    ("get", "/api/v1/depots"),
    ("get", "/api/v1/cities"),
    ("get", "/api/v1/lanes"),
    ("put", "/api/v1/lanes"),
    ("put", "/api/v1/lanes/1"),
    ("get", "/api/v1/lanes/quote?from_depot=BJ&to=Lhasa"),
]


@pytest.fixture
def planner(api_token):
    return bearer(api_token("planner"))


@pytest.fixture
def engineer(api_token):
    return bearer(api_token("engineer"))


def _lane(client, headers, from_depot, to):
    answer = client.get(f"/api/v1/lanes?from_depot={from_depot}&to={to}", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    (lane,) = answer.get_json()
    return lane


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_needs_a_bearer_token(client, method, path):
    answer = getattr(client, method)(path, json=[{"bad": "body"}])
    assert answer.status_code == 401
    assert answer.get_json()["error"] == "unauthorized"


def test_depots_and_cities_are_listed(client, engineer):
    depots = client.get("/api/v1/depots", headers=engineer).get_json()
    assert [depot["code"] for depot in depots] == ["BJ", "CD", "GZ", "JN", "SH", "SY", "WH", "XA"]
    assert depots[0]["pickup_cutoff_hour"] == 18
    cities = {city["name"]: city for city in client.get("/api/v1/cities", headers=engineer).json}
    assert cities["Lhasa"]["remote"] and cities["Lhasa"]["name_zh"] == "拉萨"
    assert cities["Chengdu"]["depot"] == "CD" and cities["Shenzhen"]["depot"] is None


def test_lanes_are_filtered_and_money_is_a_number(client, engineer):
    lanes = client.get("/api/v1/lanes?from_depot=BJ&kind=depot", headers=engineer).get_json()
    assert [lane["to"] for lane in lanes] == ["CD", "GZ", "JN", "SH", "SY", "WH", "XA"]
    shanghai = _lane(client, engineer, "BJ", "Shanghai")
    assert shanghai["hours"] == 11.52 and shanghai["cost"] == 466.84
    assert shanghai["mode"] == "air" and shanghai["edited"] is False
    assert shanghai["updated_at"].endswith("+08:00")


def test_unknown_depot_or_kind_is_a_clear_error(client, engineer):
    answer = client.get("/api/v1/lanes?from_depot=XX", headers=engineer)
    assert answer.status_code == 404 and "unknown depot 'XX'" in answer.get_json()["detail"]
    assert client.get("/api/v1/lanes?kind=planet", headers=engineer).status_code == 422


def test_a_planner_edits_one_lane(client, planner):
    lane = _lane(client, planner, "BJ", "Shanghai")
    answer = client.put(
        f"/api/v1/lanes/{lane['id']}",
        json={"mode": "road", "hours": 9.5, "cost": "123.45"},
        headers=planner,
    )
    assert answer.status_code == 200, answer.get_json()
    saved = answer.get_json()
    assert (saved["mode"], saved["hours"], saved["cost"], saved["edited"]) == (
        "road",
        9.5,
        123.45,
        True,
    )
    assert saved["updated_by"].startswith("planner")


def test_an_engineer_may_not_edit_lanes_even_with_a_bad_body(client, engineer):
    lane = _lane(client, engineer, "BJ", "Shanghai")
    for body in ({"mode": "road", "hours": 9, "cost": 1}, {"hours": "nonsense"}):
        answer = client.put(f"/api/v1/lanes/{lane['id']}", json=body, headers=engineer)
        assert answer.status_code == 403
    answer = client.put("/api/v1/lanes", json=[], headers=engineer)
    assert answer.status_code == 403
    assert _lane(client, engineer, "BJ", "Shanghai") == lane


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "road", "hours": -1, "cost": 1},
        {"mode": "road", "hours": 0, "cost": 1},
        {"mode": "road", "hours": 241, "cost": 1},
        {"mode": "road", "hours": 0.001, "cost": 1},
        {"mode": "boat", "hours": 5, "cost": 1},
        {"mode": "road", "hours": 5, "cost": -0.5},
        {"mode": "road", "hours": 5},
        {"mode": "road", "hours": "many", "cost": 1},
    ],
)
def test_bad_lane_values_are_refused_and_change_nothing(client, planner, body):
    lane = _lane(client, planner, "BJ", "Shanghai")
    answer = client.put(f"/api/v1/lanes/{lane['id']}", json=body, headers=planner)
    assert answer.status_code == 422
    assert answer.get_json()["error"] == "invalid"
    assert _lane(client, planner, "BJ", "Shanghai") == lane


def test_editing_a_lane_that_does_not_exist_is_not_found(client, planner):
    answer = client.put(
        "/api/v1/lanes/999999", json={"mode": "road", "hours": 5, "cost": 1}, headers=planner
    )
    assert answer.status_code == 404


def test_bulk_edit_applies_all_lanes(client, planner):
    answer = client.put(
        "/api/v1/lanes",
        json=[
            {"from_depot": "SH", "to": "Hangzhou", "mode": "courier", "hours": 5, "cost": 90},
            {"from_depot": "SH", "to": "BJ", "mode": "road", "hours": 16, "cost": 300},
        ],
        headers=planner,
    )
    assert answer.status_code == 200, answer.get_json()
    assert [(lane["to"], lane["kind"], lane["hours"]) for lane in answer.get_json()] == [
        ("Hangzhou", "city", 5),
        ("BJ", "depot", 16),
    ]


def test_bulk_edit_is_all_or_nothing(client, planner):
    before = _lane(client, planner, "SH", "Hangzhou")
    answer = client.put(
        "/api/v1/lanes",
        json=[
            {"from_depot": "SH", "to": "Hangzhou", "mode": "courier", "hours": 5, "cost": 90},
            {"from_depot": "SH", "to": "Atlantis", "mode": "road", "hours": 16, "cost": 300},
        ],
        headers=planner,
    )
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["fields"] == [{"field": "1.to", "message": "unknown city or depot 'Atlantis'"}]
    assert _lane(client, planner, "SH", "Hangzhou") == before


def test_bulk_edit_with_a_malformed_entry_is_refused(client, planner):
    answer = client.put(
        "/api/v1/lanes",
        json=[{"from_depot": "SH", "to": "Hangzhou", "mode": "courier", "hours": -5, "cost": 9}],
        headers=planner,
    )
    assert answer.status_code == 422
    assert answer.get_json()["fields"][0]["field"] == "0.hours"
    assert client.put("/api/v1/lanes", json={"not": "a list"}, headers=planner).status_code == 422


def test_quote_answers_shanghai_times_with_their_offset(client, engineer):
    answer = client.get(
        "/api/v1/lanes/quote?from_depot=BJ&to=Lhasa&ready_at=2026-03-06T18:00:01%2B08:00",
        headers=engineer,
    )
    assert answer.status_code == 200, answer.get_json()
    quote = answer.get_json()
    assert quote["ships_at"] == "2026-03-07T09:00:00+08:00"
    assert quote["service"] == "standard" and quote["mode"] == "air" and quote["to"] == "Lhasa"
    lane = _lane(client, engineer, "BJ", "Lhasa")
    assert quote["hours"] == lane["hours"] and quote["cost"] == lane["cost"]


def test_quote_reads_a_time_without_offset_as_shanghai_time(client, engineer):
    path = "/api/v1/lanes/quote?from_depot=BJ&to=lhasa&ready_at=2026-03-06T18:00"
    assert client.get(path, headers=engineer).get_json()["ships_at"] == "2026-03-06T18:00:00+08:00"


def test_quote_forgives_an_unencoded_plus_in_the_offset(client, engineer):
    path = "/api/v1/lanes/quote?from_depot=BJ&to=Lhasa&ready_at=2026-03-06T09:59:00+00:00"
    answer = client.get(path, headers=engineer)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["ready_at"] == "2026-03-06T17:59:00+08:00"


def test_emergency_quote_costs_three_times(client, engineer):
    base = "/api/v1/lanes/quote?from_depot=BJ&to=Harbin&ready_at=2026-03-06T20:00%2B08:00"
    standard = client.get(base, headers=engineer).get_json()
    emergency = client.get(base + "&service=emergency", headers=engineer).get_json()
    assert emergency["ships_at"] == "2026-03-06T21:00:00+08:00"
    assert emergency["cost"] == pytest.approx(standard["cost"] * 3)
    assert emergency["hours"] == standard["hours"]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("from_depot=XX&to=Lhasa", 404),
        ("from_depot=BJ&to=Gotham", 404),
        ("from_depot=BJ&to=BJ", 404),
        ("from_depot=BJ&to=Lhasa&service=overnight", 422),
        ("from_depot=BJ&to=Lhasa&ready_at=yesterday", 422),
        ("from_depot=BJ", 422),
    ],
)
def test_quote_errors_are_clear(client, engineer, query, status):
    answer = client.get(f"/api/v1/lanes/quote?{query}", headers=engineer)
    assert answer.status_code == status
    assert answer.get_json()["detail"]


def test_the_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/depots", "/api/v1/cities", "/api/v1/lanes", "/api/v1/lanes/quote"):
        assert path in paths
    assert "put" in paths["/api/v1/lanes/{lane_id}"]
