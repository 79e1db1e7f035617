"""Freight as charged in saved plans (issue 13): everything on a lane is one shipment,
paying the lane's cost once plus 10 CNY handling per unit; the plan's cost is that
freight, and its page, API and CSV show per lane the shipment charge, units and handling."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest

from core.db import UnitOfWork, read_only
from depots.lanes import TRANSFER_HANDLING_PER_UNIT
from depots.service.network import list_lanes
from inventory.service import rebalancing, targets


def _lane_costs(engine, destination: str) -> dict[str, Decimal]:
    """{source depot: CNY per shipment} of the depot lanes into ``destination``."""
    lanes = list_lanes(UnitOfWork(engine), kind="depot")
    return {lane.from_depot: lane.cost for lane in lanes if lane.to == destination}


@pytest.fixture
def two_parts_one_lane(engine, planner, make_part, stock_up) -> tuple[str, str, str, str]:
    """Part A can only come to SY from the depot with the dearest lane there; part B
    also from the depot with the cheapest one. Returns (A, B, dear depot, cheap depot)."""
    costs = _lane_costs(engine, "SY")
    dear = max(costs, key=lambda depot: (costs[depot], depot))
    cheap = min(costs, key=lambda depot: (costs[depot], depot))
    first, second = make_part(), make_part()
    stock_up(dear, first, 3)
    stock_up(dear, second, 2)
    stock_up(cheap, second, 2)
    for depot, part, units in ((dear, first, 0), (dear, second, 0), (cheap, second, 0)):
        targets.set_override(UnitOfWork(engine), planner, depot, part, units)
    targets.set_override(UnitOfWork(engine), planner, "SY", first, 2)
    targets.set_override(UnitOfWork(engine), planner, "SY", second, 1)
    return first, second, dear, cheap


def test_a_second_part_rides_on_the_open_lane_and_the_lane_is_charged_once(
    engine, planner, two_parts_one_lane
):
    first, second, dear, cheap = two_parts_one_lane
    costs = _lane_costs(engine, "SY")
    assert costs[cheap] < costs[dear]  # per unit, part B would come from ``cheap``
    view = rebalancing.propose_plan(UnitOfWork(engine), planner)
    moves = {(m.part_number, m.from_depot, m.qty) for m in view.moves}
    assert moves == {(first, dear, 2), (second, dear, 1)}
    # One shipment on the dear lane plus 3 units of handling, instead of two shipments.
    assert view.plan.cost == costs[dear] + 3 * TRANSFER_HANDLING_PER_UNIT
    assert sum((Decimal(m.cost) for m in view.moves), Decimal(0)) == view.plan.cost
    assert all(Decimal(m.unit_cost) == TRANSFER_HANDLING_PER_UNIT for m in view.moves)
    assert (view.method, view.gap) == ("exact", 0.0)
    assert (view.plan.units_moved, view.plan.shortage_left) == (3, 0)


def test_the_page_api_and_csv_show_the_lane_shipment_units_and_handling(
    client, login, engine, planner, auth_for, two_parts_one_lane
):
    first, second, dear, _ = two_parts_one_lane
    shipment = _lane_costs(engine, "SY")[dear]
    plan_id = rebalancing.propose_plan(UnitOfWork(engine), planner).plan.id

    body = client.get(f"/api/v1/rebalance/plans/{plan_id}", headers=auth_for("planner"))
    [lane] = body.get_json()["lanes"]
    assert (lane["from_depot"], lane["to_depot"], lane["units"]) == (dear, "SY", 3)
    assert Decimal(str(lane["shipment_cost"])) == shipment
    assert Decimal(str(lane["handling"])) == Decimal(30)
    assert Decimal(str(lane["freight"])) == shipment + 30

    login("planner")
    html = client.get(f"/rebalance/{plan_id}").get_data(as_text=True)
    assert f"shipment {shipment:,.2f} CNY" in html and "handling 30.00 CNY" in html
    assert "3 units" in html and f"freight {shipment + 30:,.2f} CNY" in html

    text = client.get(f"/rebalance/{plan_id}/moves.csv").data.decode("utf-8-sig")
    rows = {row["part_number"]: row for row in csv.DictReader(io.StringIO(text))}
    for part in (first, second):
        row = rows[part]
        assert (row["lane_units"], row["lane_handling_cny"]) == ("3", "30.00")
        assert row["lane_shipment_cny"] == f"{shipment:.2f}"
        assert row["handling_per_unit_cny"] == "10.00"
        qty = int(row["qty"])
        share = Decimal(row["shipment_share_cny"])
        assert Decimal(row["freight_cny"]) == share + 10 * qty
    # The shares split the one shipment by units and add up to it exactly.
    assert sum(Decimal(rows[p]["shipment_share_cny"]) for p in (first, second)) == shipment
    assert abs(Decimal(rows[first]["shipment_share_cny"]) - shipment * 2 / 3) < Decimal("0.02")


def test_the_fingerprint_covers_handling(engine, planner, two_parts_one_lane):
    inputs = read_only(rebalancing.read_inputs)(UnitOfWork(engine))
    assert np.all(inputs.handling[~np.isnan(inputs.lanes)] == 10)
    dearer = replace(inputs, handling=inputs.handling + 1)
    assert dearer.basis() != inputs.basis()
