"""The planners' JSON API: depot choice, targets, rebalancing plans and batch dispatch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core import clock
from core.db import UnitOfWork
from inventory.service import queries, targets
from rma.service import opening
from rma.service import queries as rma_queries
from rma.service.opening import OpenRequest
from tests.conftest import bearer

MONDAY_10_SHANGHAI = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def planner_headers(api_token) -> dict[str, str]:
    return bearer(api_token("planner"))


def _reserved(engine, depot: str, part: str) -> int:
    rows = queries.stock(UnitOfWork(engine), depot=depot, part_number=part, nonzero=False)
    return rows[0].reserved if rows else 0


# --- depot choice ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["engineer", "depot_staff", "supervisor", "planner"])
def test_any_signed_in_role_may_ask_which_depot_would_ship(
    client, api_token, make_part, stock_up, role
):
    part = make_part()
    stock_up("CD", part, 3)
    token = api_token(role, depot="SH" if role == "depot_staff" else None)
    answer = client.get(
        "/api/v1/depot-choice",
        query_string={"part_number": part, "city": "Chengdu", "fault_level": "C-2"},
        headers=bearer(token),
    )
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["depot"] == "CD" and body["part_number"] == part
    assert body["at_risk"] is False and body["backorder"] is False


def test_depot_choice_answers_the_allocation_object_and_reserves_nothing(
    client, engine, planner_headers, make_part, stock_up
):
    part = make_part()
    stock_up("CD", part, 2)
    stock_up("BJ", part, 2)
    answer = client.get(
        "/api/v1/depot-choice",
        query_string={
            "part_number": part.lower(),
            "city": "chengdu",
            "fault_level": "C-3",
            "at": "2026-03-02T10:00:00+08:00",
        },
        headers=planner_headers,
    )
    assert answer.status_code == 200
    body = answer.get_json()
    assert set(body) == {
        "depot",
        "service",
        "ships_at",
        "promised_delivery",
        "cost",
        "alternatives",
        "part_number",
        "at_risk",
        "backorder",
        "due",
    }
    assert body["depot"] == "CD" and body["service"] == "standard"
    assert body["due"] == "2026-03-03T10:00:00+08:00"  # 24 hours after ``at``
    assert datetime.fromisoformat(body["promised_delivery"]) <= datetime.fromisoformat(body["due"])
    assert len(body["alternatives"]) == 8  # every depot, each with a reason
    first = body["alternatives"][0]
    assert first["depot"] == "CD" and first["chosen"] and first["meets_due"]
    assert {"depot", "arrival", "cost", "meets_due", "reason"} <= set(first)
    losers = {a["depot"]: a for a in body["alternatives"][1:]}
    assert losers["SH"]["reason"] == "no stock"
    assert _reserved(engine, "CD", part) == 0 and _reserved(engine, "BJ", part) == 0


def test_depot_choice_without_stock_anywhere_is_a_backorder(client, planner_headers, make_part):
    part = make_part()
    answer = client.get(
        "/api/v1/depot-choice",
        query_string={"part_number": part, "city": "Lhasa", "fault_level": "C-1"},
        headers=planner_headers,
    )
    body = answer.get_json()
    assert answer.status_code == 200
    assert body["backorder"] is True and body["depot"] is None and body["cost"] is None
    assert body["part_number"] == part


def test_depot_choice_accepts_an_offset_whose_plus_sign_was_not_encoded(
    client, planner_headers, make_part, stock_up
):
    part = make_part()
    stock_up("SH", part, 1)
    answer = client.get(
        f"/api/v1/depot-choice?part_number={part}&city=Shanghai&fault_level=C-2"
        "&at=2026-03-02T10:00:00+08:00",  # '+' decodes to a space in a query string
        headers=planner_headers,
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["due"] == "2026-03-03T10:00:00+08:00"


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"part_number": "NO-SUCH-PART", "city": "Chengdu", "fault_level": "C-1"}, 404),
        ({"city": "Atlantis", "fault_level": "C-1"}, 404),
        ({"city": "Chengdu", "fault_level": "C-4"}, 422),
        ({"city": "Chengdu", "fault_level": "C-1", "at": "1999-12-31T10:00:00+08:00"}, 422),
        ({"city": "Chengdu", "fault_level": "C-1", "at": "tomorrow"}, 422),
        ({"city": "Chengdu", "fault_level": "C-1", "at": "9999-12-31T23:00:00-10:00"}, 422),
        ({"city": "Chengdu"}, 422),
        ({"part_number": "", "city": "Chengdu", "fault_level": "C-1"}, 422),
        ({"city": "Cheng\x00du", "fault_level": "C-1"}, 422),
    ],
)
def test_depot_choice_refuses_bad_input_with_json(
    client, planner_headers, make_part, query, status
):
    query = {"part_number": make_part(), **query}
    answer = client.get("/api/v1/depot-choice", query_string=query, headers=planner_headers)
    assert answer.status_code == status
    assert answer.get_json()["error"] in {"not_found", "invalid"}


# --- targets --------------------------------------------------------------------------------


def test_a_planner_overrides_a_target_and_reading_it_says_how_it_came_about(
    client, planner_headers, make_part
):
    part = make_part()
    put = client.put(
        "/api/v1/targets",
        json={"depot": "gz", "part_number": part, "override": 7},
        headers=planner_headers,
    )
    assert put.status_code == 200, put.get_json()
    assert put.get_json()["target"] == 7 and put.get_json()["source"] == "override"
    [row] = client.get(
        "/api/v1/targets",
        query_string={"depot": "GZ", "part_number": part},
        headers=planner_headers,
    ).get_json()
    assert (row["target"], row["computed"], row["override"]) == (7, 0, 7)
    assert row["override_by"].startswith("planner") and row["override_at"]
    assert row["computed_at"] is None and row["demand_per_day"] is None  # never computed

    cleared = client.put(
        "/api/v1/targets",
        json={"depot": "GZ", "part_number": part, "override": None},
        headers=planner_headers,
    ).get_json()
    assert (cleared["target"], cleared["override"], cleared["source"]) == (0, None, "computed")


def test_a_pair_with_no_stored_target_reads_as_zero(client, planner_headers, make_part):
    part = make_part()
    answer = client.get(
        "/api/v1/targets",
        query_string={"depot": "XA", "part_number": part},
        headers=planner_headers,
    )
    assert answer.status_code == 200
    assert answer.get_json() == [
        {
            "depot": "XA",
            "part_number": part,
            "target": 0,
            "source": "computed",
            "computed": 0,
            "override": None,
            "demand_per_day": None,
            "demand_per_month": None,
            "lead_time_days": None,
            "fill_rate": None,
            "computed_at": None,
            "override_by": None,
            "override_at": None,
        }
    ]


def test_computing_targets_reports_and_stores_how_each_was_computed(
    client, engine, planner_headers, make_part, account, install
):
    part = make_part(serialized=True)
    region = account("Shenzhen", coverage=None)
    for _ in range(60):
        install(region, part)
    answer = client.post(
        "/api/v1/targets/compute",
        json={"fill_rate": 0.9, "lead_time_days": 30, "window_days": 90},
        headers=planner_headers,
    )
    assert answer.status_code == 200, answer.get_json()
    report = answer.get_json()
    assert report["fill_rate"] == 0.9 and report["window_days"] == 90
    assert "fill rate 90%" in report["summary"] and report["rows"] >= 1
    [row] = client.get(
        "/api/v1/targets",
        query_string={"depot": "GZ", "part_number": part},
        headers=planner_headers,
    ).get_json()
    assert row["target"] >= 1 and row["source"] == "computed"
    assert row["fill_rate"] == 0.9 and row["lead_time_days"] == 30 and row["demand_per_day"] > 0
    assert targets.effective_targets(UnitOfWork(engine))[("GZ", part)] == row["target"]


def test_computing_targets_needs_no_body(client, planner_headers):
    answer = client.post("/api/v1/targets/compute", headers=planner_headers)
    assert answer.status_code == 200
    assert answer.get_json()["fill_rate"] == 0.95


@pytest.mark.parametrize(
    "body",
    [
        {"fill_rate": 1.5},
        {"fill_rate": 0},
        {"lead_time_days": -1},
        {"lead_time_days": 400},
        {"window_days": 3},
        {"window_days": 30.5},
        {"window_days": "30"},
        {"fill_rate": 0.9, "colour": "red"},
    ],
)
def test_computing_targets_refuses_impossible_settings(client, planner_headers, body):
    answer = client.post("/api/v1/targets/compute", json=body, headers=planner_headers)
    assert answer.status_code == 422
    assert answer.get_json()["error"] == "invalid"


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"depot": "QQ"}, 404),
        ({"part_number": "NO-SUCH-PART"}, 404),
        ({"depot": "not a depot"}, 422),
        ({"limit": 0}, 422),
    ],
)
def test_reading_targets_refuses_unknown_filters(client, planner_headers, query, status):
    answer = client.get("/api/v1/targets", query_string=query, headers=planner_headers)
    assert answer.status_code == status


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"depot": "GZ", "override": 3}, 422),  # no part
        ({"depot": "GZ", "part_number": "{part}", "override": -1}, 422),
        ({"depot": "GZ", "part_number": "{part}", "override": "5"}, 422),
        ({"depot": "GZ", "part_number": "{part}", "override": 2.5}, 422),
        ({"depot": "GZ", "part_number": "{part}", "override": True}, 422),
        ({"depot": "GZ", "part_number": "{part}", "override": 10**9}, 422),
        ({"depot": "GZ", "part_number": "{part}"}, 422),  # override must be given (or null)
        ({"depot": "GZ", "part_number": "{part}", "override": 1, "note": "x"}, 422),
        ({"depot": "QQ", "part_number": "{part}", "override": 1}, 404),
        ({"depot": "GZ", "part_number": "NO-SUCH-PART", "override": 1}, 404),
    ],
)
def test_setting_a_target_refuses_bad_input_and_changes_nothing(
    client, engine, planner_headers, make_part, body, status
):
    part = make_part()
    body = {k: (part if v == "{part}" else v) for k, v in body.items()}
    answer = client.put("/api/v1/targets", json=body, headers=planner_headers)
    assert answer.status_code == status, answer.get_json()
    assert targets.list_targets(UnitOfWork(engine)) == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/v1/targets"),
        ("POST", "/api/v1/targets/compute"),
        ("POST", "/api/v1/rebalance/plans"),
        ("POST", "/api/v1/rebalance/plans/1/approve"),
        ("POST", "/api/v1/rebalance/plans/1/discard"),
        ("GET", "/api/v1/dispatch/proposal"),
        ("POST", "/api/v1/dispatch/apply"),
    ],
)
@pytest.mark.parametrize("role", ["engineer", "depot_staff", "supervisor"])
def test_only_planners_write(client, api_token, method, path, role):
    token = api_token(role, depot="BJ" if role == "depot_staff" else None)
    answer = client.open(path, method=method, json={"not": "valid"}, headers=bearer(token))
    assert answer.status_code == 403  # before the body is even looked at
    assert answer.get_json()["error"] == "forbidden"


def test_an_administrator_may_plan(client, api_token):
    answer = client.post("/api/v1/targets/compute", headers=bearer(api_token("admin")))
    assert answer.status_code == 200


# --- rebalancing ----------------------------------------------------------------------------


@pytest.fixture
def shortage_at_sy(engine, planner, make_part, stock_up) -> str:
    """BJ holds 10 of a part with a target of 4; SY has none and a target of 5."""
    part = make_part()
    stock_up("BJ", part, 10)
    targets.set_override(UnitOfWork(engine), planner, "BJ", part, 4)
    targets.set_override(UnitOfWork(engine), planner, "SY", part, 5)
    return part


def test_a_plan_moves_surplus_into_shortage_and_is_saved(client, planner_headers, shortage_at_sy):
    answer = client.post("/api/v1/rebalance/plans", headers=planner_headers)
    assert answer.status_code == 201, answer.get_json()
    plan = answer.get_json()
    assert plan["status"] == "proposed" and plan["transfer_ids"] == []
    [move] = plan["moves"]
    assert (move["part_number"], move["from_depot"], move["to_depot"], move["qty"]) == (
        shortage_at_sy,
        "BJ",
        "SY",
        5,
    )
    # Freight as charged (issue 13): the lane's shipment once plus handling per unit
    # (the old model charged the lane's cost for every unit).
    [lane] = plan["lanes"]
    assert (lane["from_depot"], lane["to_depot"], lane["units"]) == ("BJ", "SY", 5)
    assert Decimal(str(move["unit_cost"])) == Decimal(10)
    assert Decimal(str(lane["handling"])) == Decimal(50)
    assert Decimal(str(move["cost"])) == Decimal(str(lane["shipment_cost"])) + Decimal(50)
    assert lane["freight"] == move["cost"]
    assert plan["units_moved"] == 5 and plan["cost"] == move["cost"]
    assert (plan["shortage_before"], plan["shortage_left"]) == (5, 0)

    listed = client.get("/api/v1/rebalance/plans", headers=planner_headers).get_json()
    assert [p["id"] for p in listed] == [plan["id"]] and "moves" not in listed[0]
    again = client.get(f"/api/v1/rebalance/plans/{plan['id']}", headers=planner_headers)
    assert again.get_json() == plan


def test_approving_a_plan_drafts_one_transfer_per_lane_and_answers_their_ids(
    client, planner_headers, shortage_at_sy
):
    plan_id = client.post("/api/v1/rebalance/plans", headers=planner_headers).get_json()["id"]
    answer = client.post(f"/api/v1/rebalance/plans/{plan_id}/approve", headers=planner_headers)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["id"] == plan_id and body["status"] == "approved"
    [transfer_id] = body["transfer_ids"]
    transfer = client.get(f"/api/v1/transfers/{transfer_id}", headers=planner_headers).get_json()
    assert (transfer["from_depot"], transfer["to_depot"], transfer["status"]) == (
        "BJ",
        "SY",
        "draft",
    )
    assert [(line["part_number"], line["qty"]) for line in transfer["lines"]] == [
        (shortage_at_sy, 5)
    ]

    twice = client.post(f"/api/v1/rebalance/plans/{plan_id}/approve", headers=planner_headers)
    assert twice.status_code == 409
    late_discard = client.post(
        f"/api/v1/rebalance/plans/{plan_id}/discard", headers=planner_headers
    )
    assert late_discard.status_code == 409


def test_a_discarded_plan_cannot_be_approved(client, planner_headers, shortage_at_sy):
    plan_id = client.post("/api/v1/rebalance/plans", headers=planner_headers).get_json()["id"]
    discarded = client.post(f"/api/v1/rebalance/plans/{plan_id}/discard", headers=planner_headers)
    assert discarded.get_json()["status"] == "discarded"
    answer = client.post(f"/api/v1/rebalance/plans/{plan_id}/approve", headers=planner_headers)
    assert answer.status_code == 409
    assert answer.get_json()["error"] == "conflict"


def test_a_plan_that_moves_nothing_cannot_be_approved(client, planner_headers):
    plan = client.post("/api/v1/rebalance/plans", headers=planner_headers).get_json()
    assert plan["moves"] == [] and plan["units_moved"] == 0
    answer = client.post(f"/api/v1/rebalance/plans/{plan['id']}/approve", headers=planner_headers)
    assert answer.status_code == 422


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/rebalance/plans/999999", 404),
        ("/api/v1/rebalance/plans/0", 422),
        ("/api/v1/rebalance/plans/99999999999", 422),
        ("/api/v1/rebalance/plans/abc", 404),
    ],
)
def test_unknown_plans_answer_json(client, planner_headers, path, status):
    assert client.get(path, headers=planner_headers).status_code == status
    approve = client.post(f"{path}/approve", headers=planner_headers)
    assert approve.status_code == status and "error" in approve.get_json()


def test_a_repeated_request_with_the_same_key_makes_one_plan(
    client, planner_headers, shortage_at_sy
):
    headers = {**planner_headers, "Idempotency-Key": "plan-once"}
    first = client.post("/api/v1/rebalance/plans", headers=headers)
    second = client.post("/api/v1/rebalance/plans", headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.get_json() == second.get_json()
    assert len(client.get("/api/v1/rebalance/plans", headers=planner_headers).get_json()) == 1


def test_any_signed_in_role_may_read_plans(client, api_token, planner_headers, shortage_at_sy):
    plan_id = client.post("/api/v1/rebalance/plans", headers=planner_headers).get_json()["id"]
    engineer = bearer(api_token("engineer"))
    assert client.get(f"/api/v1/rebalance/plans/{plan_id}", headers=engineer).status_code == 200
    assert client.get("/api/v1/rebalance/plans", headers=engineer).status_code == 200


# --- batch dispatch -------------------------------------------------------------------------


def test_batch_dispatch_gives_the_last_unit_to_the_c1_and_reports_it(
    client, engine, planner_headers, make_user, make_part, stock_up, account, install
):
    engineer = make_user("engineer")
    part = make_part(serialized=True)
    stock_up("CD", part, 1, serialized=True)

    def open_case(city: str, level: str) -> str:
        unit = install(account(city), part)
        request = OpenRequest(
            fault_level=level, kind="advance_replacement", symptom="down", serial=unit.serial
        )
        return opening.open_rma(UnitOfWork(engine), engineer, request).number

    with clock.frozen(MONDAY_10_SHANGHAI):
        first = open_case("Chengdu", "C-3")
        urgent = open_case("Chongqing", "C-1")
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(minutes=5)):
        proposed = client.get("/api/v1/dispatch/proposal", headers=planner_headers)
        assert proposed.status_code == 200, proposed.get_json()
        proposal = proposed.get_json()
        assert len(proposal["cases"]) == 2 and proposal["backorders"] == 1
        assert set(proposal["changed"]) == {urgent, first}  # one gains the unit, one loses it
        answer = client.post(
            "/api/v1/dispatch/apply", json={"basis": proposal["basis"]}, headers=planner_headers
        )
    assert answer.status_code == 200, answer.get_json()
    report = answer.get_json()
    assert set(report["applied"]) == {urgent, first}
    assert "re-planned" in report["summary"]
    after = rma_queries.get_rma(UnitOfWork(engine), urgent).rma
    assert (after.status, after.depot_code) == ("allocated", "CD")


def test_batch_dispatch_with_nothing_open_reports_nothing(client, planner_headers):
    answer = client.get("/api/v1/dispatch/proposal", headers=planner_headers)
    assert answer.status_code == 200
    assert answer.get_json()["cases"] == [] and answer.get_json()["changed"] == []


def test_the_planning_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/depot-choice",
        "/api/v1/targets",
        "/api/v1/targets/compute",
        "/api/v1/rebalance/plans",
        "/api/v1/rebalance/plans/{id}",
        "/api/v1/rebalance/plans/{id}/approve",
        "/api/v1/rebalance/plans/{id}/discard",
        "/api/v1/dispatch/proposal",
        "/api/v1/dispatch/apply",
    ):
        assert path in paths, path
    assert set(paths["/api/v1/targets"]) == {"get", "put"}
