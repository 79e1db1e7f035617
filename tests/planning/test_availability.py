"""Availability-based targets from the database (planning.service.availability)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from sqlalchemy.engine import Engine

from core import auth
from core.db import UnitOfWork
from core.errors import Forbidden, Invalid
from inventory.service import targets
from optimizer.targets import estimate_demand_rate
from planning.service import availability, demand
from planning.service.demand import DEFAULT_ANNUAL_FAILURE_RATE, DEFAULT_WINDOW_DAYS
from tests.conftest import TEST_PASSWORD, make_test_app
from tests.core.api_fuzz import token_for

DEMO_PASSWORD = "spares-demo"


def demo_user(engine: Engine, role: str) -> auth.Actor:
    return auth.create_user(UnitOfWork(engine), f"avail-{role}", TEST_PASSWORD, role)


# --- the network read from the database ------------------------------------------------------


def test_the_lanes_are_quoted_by_the_transit_rule_hour_by_hour(uow, make_part, account, install):
    part = make_part(serialized=True)
    shenzhen = account("Shenzhen", coverage=None)
    for _ in range(60):
        install(shenzhen, part)
    network = availability.service_network(uow)
    d = network.depots.index("GZ")
    c = network.cities.index("Guangzhou")
    # GZ is in Guangzhou: the courier, 4 hours door to door. Approved at 10:00 the
    # carrier takes it at once; at 20:00 it waits for 09:00 (13 h) by standard service,
    # while the emergency courier leaves within the hour.
    assert network.arrival_hours[d, c, 10] == pytest.approx(4.0)
    assert network.arrival_hours[d, c, 20] == pytest.approx(13.0 + 4.0)
    assert network.arrival_hours_emergency[d, c, 20] == pytest.approx(1.0 + 4.0)
    assert network.approval_hour_weights.sum() == pytest.approx(1.0)
    # No RMA history: the installed base alone decides the rate.
    p = network.parts.index(part)
    s = network.cities.index("Shenzhen")
    expected = float(estimate_demand_rate(0, DEFAULT_WINDOW_DAYS, 60, DEFAULT_ANNUAL_FAILURE_RATE))
    assert expected == pytest.approx(90 * 60 * 0.03 / 365 / (180 + 90))
    assert network.demand_per_day[p, s] == pytest.approx(expected)
    assert network.demand_per_day[p].sum() == pytest.approx(expected)


def test_the_class_shares_come_from_the_installed_bases_contracts(uow, make_part, account, install):
    part = make_part(serialized=True)
    rush = account("Shenzhen", coverage="7x24")
    office = account("Shenzhen", coverage="5x8")
    warranty = account("Guangzhou", coverage=None)
    for _ in range(3):
        install(rush, part)
    install(office, part)
    install(warranty, part)
    network = availability.service_network(uow)
    assert network.classes == ("5x8", "7x24")
    p = network.parts.index(part)
    shenzhen = network.cities.index("Shenzhen")
    guangzhou = network.cities.index("Guangzhou")
    # No cases yet: the installed units' contracts decide, 1 of 4 units under 5x8; a
    # unit without a contract counts under the default coverage, 5x8.
    assert network.class_share[p, shenzhen] == pytest.approx([0.25, 0.75])
    assert network.class_share[p, guangzhou] == pytest.approx([1.0, 0.0])
    # A city without an installed base takes the mix of all the installed base.
    beijing = network.cities.index("Beijing")
    assert network.class_share[p, beijing] == pytest.approx([0.4, 0.6])


def test_a_transfer_comes_over_the_nearest_other_depots_lane():
    # Depot d sits in city d. Into city 0: depot 1 takes 10 h before noon and 34 h
    # after, depot 2 always 30 h; nothing reaches city 1 but its own depot.
    arrival = np.full((3, 3, 24), np.inf)
    arrival[1, 0, :12], arrival[1, 0, 12:] = 10.0, 34.0
    arrival[2, 0, :] = 30.0
    arrival[1, 1, :] = 2.0
    arrival[0, 2, :] = 12.0
    weights = np.full(24, 1 / 24)
    days = availability.depot_transfer_days(arrival, weights, [0, 1, 2], purchase_days=14.0)
    # Depot 1 averages 22 h into city 0 (under depot 2's 30 h); depot 1 can only buy.
    assert days == pytest.approx([22 / 24, 14.0, 12 / 24])


def test_bad_goals_and_windows_are_refused(uow):
    with pytest.raises(Invalid):
        availability.optimize(uow, goals_by_class={"9x5": 0.9})
    with pytest.raises(Invalid):
        availability.optimize(uow, goals_by_class={"7x24": 1.0})
    with pytest.raises(Invalid):
        availability.optimize(uow, goal=1.5)
    with pytest.raises(Invalid):
        availability.optimize(uow, goal=0.9, window_hours=0)
    with pytest.raises(Invalid):
        availability.exchange_curve(uow, window_hours=float("nan"))


# --- the demo network ---------------------------------------------------------------------


def test_the_demo_proposal_is_never_worse_than_independent_base_stock(demo: Engine):
    uow = UnitOfWork(demo)
    proposal = availability.optimize(uow, goal=0.85, window_hours=24)
    body = proposal.as_dict()
    predicted, baseline = body["predicted"], body["baseline"]
    assert predicted["within_window"] >= 0.85
    assert "reason" not in body
    if baseline["within_window"] >= 0.85:
        assert predicted["inventory_value"] <= baseline["inventory_value"]
    rows = body["targets"]
    assert rows and {"depot", "part_number", "target", "current", "baseline"} <= set(rows[0])
    # The figures add up: the proposal's value is its targets times the unit costs.
    cost = dict(zip(proposal.network.parts, proposal.network.unit_cost, strict=True))
    value = sum(row["target"] * cost[row["part_number"]] for row in rows)
    assert value == pytest.approx(predicted["inventory_value"], abs=0.01)
    by_depot = body["by_depot"]
    assert sum(row["optimized_units"] for row in by_depot) == predicted["units"]
    assert sum(row["baseline_value"] for row in by_depot) == pytest.approx(
        baseline["inventory_value"], abs=0.1
    )


def test_goals_per_contract_class_are_each_met_on_the_demo(demo: Engine):
    uow = UnitOfWork(demo)
    one = availability.optimize(uow, goal=0.85, window_hours=24).as_dict()
    body = availability.optimize(
        uow, goal=0.85, window_hours=24, goals_by_class={"7x24": 0.9}
    ).as_dict()
    assert body["goals_by_class"] == {"5x8": 0.85, "7x24": 0.9}
    assert "reason" not in body
    by_class = body["predicted"]["by_class"]
    assert by_class["7x24"] >= 0.9 - 1e-6 and by_class["5x8"] >= 0.85 - 1e-6
    # A stricter goal for one class costs at least as much as the one goal for all.
    assert body["predicted"]["inventory_value"] >= one["predicted"]["inventory_value"] * 0.98
    assert set(one["predicted"]["by_class"]) == {"5x8", "7x24"}
    assert "goals_by_class" not in one


def test_an_unreachable_goal_says_why_and_gives_the_most_it_can(demo: Engine):
    proposal = availability.optimize(UnitOfWork(demo), goal=0.999, window_hours=4)
    body = proposal.as_dict()
    assert "cannot be reached" in body["reason"]
    assert body["predicted"]["within_window"] < 0.999


def test_the_exchange_curve_rises_from_nothing(demo: Engine):
    curve = availability.exchange_curve(UnitOfWork(demo), window_hours=24, points=8)
    assert len(curve) == 8
    assert curve[0] == {"inventory_value": 0.0, "within_window": 0.0}
    values = [point["inventory_value"] for point in curve]
    shares = [point["within_window"] for point in curve]
    assert values == sorted(values) and shares == sorted(shares)
    assert 0.5 < shares[-1] <= 1.0


def test_applying_saves_computed_targets_and_keeps_overrides(demo: Engine):
    uow = UnitOfWork(demo)
    planner = demo_user(demo, "planner")
    proposal = availability.optimize(uow, goal=0.8)
    rows = proposal.as_dict()["targets"]
    kept = rows[0]
    targets.set_override(uow, planner, kept["depot"], kept["part_number"], kept["target"] + 5)
    applied = availability.apply(uow, planner, rows, goal=0.8)
    saved = targets.effective_targets(uow)
    assert applied.rows == sum(1 for row in rows if row["target"] > 0)
    for row in rows[1:]:
        assert saved.get((row["depot"], row["part_number"]), 0) == row["target"]
    assert saved[(kept["depot"], kept["part_number"])] == kept["target"] + 5
    # Today's targets are now the proposal (the override aside).
    again = availability.optimize(uow, goal=0.8).as_dict()
    assert again["current"]["units"] == sum(targets.effective_targets(uow).values())


def test_only_planners_apply_and_bad_rows_save_nothing(demo: Engine):
    uow = UnitOfWork(demo)
    before = targets.effective_targets(uow)
    engineer = demo_user(demo, "engineer")
    with pytest.raises(Forbidden):
        availability.apply(uow, engineer, [])
    planner = auth.create_user(UnitOfWork(demo), "avail-planner-2", TEST_PASSWORD, "planner")
    for bad in (
        {"depot": "XX", "part_number": "x", "target": 1},
        {"depot": "GZ", "part_number": "NO-SUCH-PART", "target": 1},
        {"depot": "GZ", "part_number": availability.service_network(uow).parts[0], "target": -1},
        {"depot": "GZ", "part_number": availability.service_network(uow).parts[0], "target": 1.5},
    ):
        with pytest.raises(Invalid):
            availability.apply(uow, planner, [bad])
    assert targets.effective_targets(uow) == before


def test_current_targets_are_read_in_the_networks_order(demo: Engine):
    uow = UnitOfWork(demo)
    network = availability.service_network(uow)
    stock = availability.current_stock(uow, network)
    saved: dict[Any, int] = targets.effective_targets(uow)
    assert int(stock.sum()) == sum(
        value
        for (depot, part), value in saved.items()
        if depot in network.depots and part in network.parts
    )
    assert stock.dtype == np.int64


# --- the API and the terminal --------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_app(demo: Engine) -> Any:
    return make_test_app(demo)


def test_the_api_proposes_without_saving_and_draws_the_curve(demo_app: Any, demo: Engine):
    client = demo_app.test_client()
    planner = {"Authorization": f"Bearer {token_for(client, 'planner', DEMO_PASSWORD)}"}
    engineer = {"Authorization": f"Bearer {token_for(client, 'engineer', DEMO_PASSWORD)}"}
    before = targets.effective_targets(UnitOfWork(demo))
    answer = client.post(
        "/api/v1/targets/optimize", json={"goal": 0.9, "window_hours": 24}, headers=planner
    )
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    expected = availability.optimize(UnitOfWork(demo), 0.9, 24).as_dict()
    assert body["predicted"] == expected["predicted"]
    assert body["baseline"] == expected["baseline"]
    assert len(body["targets"]) == len(expected["targets"])
    assert targets.effective_targets(UnitOfWork(demo)) == before  # nothing saved
    refused = client.post("/api/v1/targets/optimize", json={"goal": 0.9}, headers=engineer)
    assert refused.status_code == 403
    by_class = client.post(
        "/api/v1/targets/optimize",
        json={"goal": 0.85, "goals_by_class": {"7x24": 0.9}},
        headers=planner,
    )
    assert by_class.status_code == 200, by_class.get_json()
    assert by_class.get_json()["goals_by_class"] == {"5x8": 0.85, "7x24": 0.9}
    assert by_class.get_json()["predicted"]["by_class"]["7x24"] >= 0.9 - 1e-6
    weighted = client.post(
        "/api/v1/targets/optimize", json={"goal": 0.9, "c1_weight": 2}, headers=planner
    )
    assert weighted.status_code == 200
    assert weighted.get_json()["predicted"]["inventory_value"] > 0
    for bad in (
        {"goal": 1.5},
        {"window_hours": 0},
        {"goal": "high"},
        {"budget": 1},
        {"c1_weight": 0},
        {"goals_by_class": {"9x5": 0.9}},
        {"goals_by_class": {"7x24": 2}},
        {"goals_by_class": {"7x24": "high"}},
        {"goals_by_class": {}},
    ):
        assert client.post("/api/v1/targets/optimize", json=bad, headers=planner).status_code == 422
    curve = client.get("/api/v1/planning/exchange-curve?window_hours=24", headers=engineer)
    assert curve.status_code == 200
    points = curve.get_json()
    assert points[0] == {"inventory_value": 0.0, "within_window": 0.0}
    assert [p["within_window"] for p in points] == sorted(p["within_window"] for p in points)
    bad_window = client.get("/api/v1/planning/exchange-curve?window_hours=0", headers=planner)
    assert bad_window.status_code == 422


def test_the_terminal_prints_the_proposal_and_applies_it(demo_app: Any, demo: Engine):
    runner = demo_app.test_cli_runner()
    done = runner.invoke(
        args=["targets", "optimize", "--goal", "0.9", "--window-hours", "24", "--format", "json"]
    )
    assert done.exit_code == 0, done.output
    printed = json.loads(done.stdout)
    expected = availability.optimize(UnitOfWork(demo), 0.9, 24).as_dict()
    assert printed["predicted"] == expected["predicted"]
    text = runner.invoke(args=["targets", "optimize", "--goal", "0.9"])
    assert text.exit_code == 0 and "optimized" in text.output and "baseline" in text.output
    classes = runner.invoke(
        args=["targets", "optimize", "--goal", "0.85", "--class-goal", "7x24=0.9"]
    )
    assert classes.exit_code == 0, classes.output
    assert "class 7x24: goal 90.0%" in classes.output
    for args in (
        ["--goal", "2"],
        ["--goal", "x"],
        ["--window-hours", "0"],
        ["--format", "xml"],
        ["--c1-weight", "-1"],
        ["--class-goal", "7x24"],
        ["--class-goal", "9x5=0.9"],
        ["--class-goal", "7x24=1.2"],
    ):
        bad = runner.invoke(args=["targets", "optimize", *args])
        assert bad.exit_code == 2 and len(bad.stderr.strip().splitlines()) == 1
    applied = runner.invoke(args=["targets", "optimize", "--goal", "0.9", "--apply"])
    assert applied.exit_code == 0 and "applied:" in applied.output
    saved = targets.effective_targets(UnitOfWork(demo))
    proposed = {(r["depot"], r["part_number"]): r["target"] for r in printed["targets"]}
    overridden = {
        (t.depot_code, t.part_number)
        for t in targets.list_targets(UnitOfWork(demo), limit=100_000)
        if t.override is not None
    }
    for pair, target in proposed.items():
        if pair not in overridden:
            assert saved.get(pair, 0) == target


def test_with_no_demand_there_is_nothing_to_stock(uow, make_part):
    make_part()
    body = availability.optimize(uow, goal=0.95).as_dict()
    assert body["predicted"]["within_window"] is None
    assert body["predicted"]["units"] == 0 and body["targets"] == []
    assert "reason" not in body
    curve = availability.exchange_curve(uow, points=3)
    assert [point["inventory_value"] for point in curve] == [0.0, 0.0, 0.0]


def test_the_resupply_lead_time_is_the_latest_computations(
    uow, planner, make_part, account, install
):
    part = make_part(serialized=True)
    install(account("Shenzhen", coverage=None), part)
    assert targets.latest_computation(uow) is None
    assert np.all(availability.service_network(uow).resupply_days == 14.0)
    demand.compute_targets(uow, planner, lead_time_days=30)
    assert targets.latest_computation(uow).lead_time_days == 30.0
    assert np.all(availability.service_network(uow).resupply_days == 30.0)
