"""Freight as charged (issue 13): each used lane pays its shipment once, plus handling
per unit. Checked against brute force over every lane subset on small networks, and
against the old per-unit plan (every unit charged a whole shipment) priced as charged."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.freight import freight_cost_fen, rebalance_freight, rebalance_freight_matrix
from optimizer.rebalance import checked_lanes, rebalance_matrix, solve_moves

NAN = float("nan")


def _codes(n_dep: int) -> list[str]:
    return [f"D{i}" for i in range(n_dep)]


def brute_force(available, target, shipment, handling) -> tuple[int, int]:
    """(most units, least freight in fen) over every subset of lanes, each subset's
    handling-optimal flow from the min-cost flow; the subset's lanes used are charged."""
    n_dep = shipment.shape[0]
    lanes = checked_lanes(shipment, n_dep)
    fen = np.where(lanes >= 0, np.rint(np.broadcast_to(handling, lanes.shape) * 100), 0)
    handling_fen = fen.astype(np.int64)
    surplus = np.maximum(0, available - target)
    shortage = np.maximum(0, target - available)
    existing = list(zip(*np.nonzero(lanes >= 0), strict=True))
    found = []
    for subset in range(2 ** len(existing)):
        open_lanes = np.zeros((n_dep, n_dep), dtype=bool)
        for bit, (i, j) in enumerate(existing):
            open_lanes[i, j] = bool(subset >> bit & 1)
        arcs = (surplus[:, :, None] > 0) & (shortage[:, None, :] > 0) & open_lanes[None]
        p, src, dst = np.nonzero(arcs)
        flow = solve_moves(p, src, dst, surplus, shortage, handling_fen, lambda *_: None)
        used = np.unique(src[flow > 0] * n_dep + dst[flow > 0])
        cost = int(lanes.ravel()[used].sum()) + int((handling_fen[src, dst] * flow).sum())
        found.append((int(flow.sum()), cost))
    most = max(units for units, _ in found)
    return most, min(cost for units, cost in found if units == most)


def _check_plan(plan, available, target, shipment, handling) -> None:
    """The plan's own arithmetic: moves add up, shares add up to each lane's charge."""
    assert int(plan.cost_fen.sum()) == plan.total_cost_fen
    n_dep = shipment.shape[0]
    lane = plan.from_depot * n_dep + plan.to_depot
    charged = np.bincount(lane, weights=plan.cost_fen - plan.qty * plan.unit_cost_fen)
    charges = plan.lane_shipment_fen.ravel()
    assert np.array_equal(np.rint(charged).astype(np.int64), charges[: charged.size])
    assert plan.shipment_cost_fen == int(charges.sum())
    again = freight_cost_fen(plan.from_depot, plan.to_depot, plan.qty, shipment, handling)
    assert again == plan.total_cost_fen
    assert plan.lower_bound_fen is not None and plan.lower_bound_fen <= plan.total_cost_fen


@pytest.mark.parametrize("seed", range(40))
def test_the_plan_is_exactly_the_brute_force_optimum_on_small_networks(seed):
    rng = np.random.default_rng(seed)
    n_dep = 3 + seed % 2  # 3 or 4 depots: 6 or 12 lanes, 64 or 4096 subsets
    n_parts = int(rng.integers(1, 12))
    available = rng.integers(0, 6, (n_parts, n_dep))
    target = rng.integers(0, 6, (n_parts, n_dep))
    shipment = rng.integers(0, 400, (n_dep, n_dep)).astype(float)
    shipment[rng.random((n_dep, n_dep)) < 0.15] = NAN
    handling = float(rng.integers(0, 30))
    plan = rebalance_freight_matrix(
        available, target, shipment, handling, depot_codes=_codes(n_dep)
    )
    assert (plan.units_moved, plan.total_cost_fen) == brute_force(
        available, target, shipment, handling
    )
    assert plan.method == "exact" and plan.gap == 0.0
    _check_plan(plan, available, target, shipment, handling)


def test_a_second_part_joins_an_open_lane_rather_than_pay_a_cheaper_one():
    """Part 0 can only come from D0; part 1 from D0 or D1, and D1's lane is cheaper.
    Per unit the old plan sends part 1 from D1 and pays two shipments; as charged,
    part 1 rides on D0's shipment: 300 + 3 x 10 CNY instead of 300 + 200 + 30."""
    available = np.array([[3, 0, 0], [2, 2, 0]])
    target = np.array([[0, 0, 2], [0, 0, 1]])
    shipment = np.array([[NAN, NAN, 300.0], [NAN, NAN, 200.0], [NAN, NAN, NAN]])
    codes = ["BJ", "SY", "JN"]
    plan = rebalance_freight_matrix(available, target, shipment, 10, depot_codes=codes)
    moves = {(m.part_number, m.from_depot, m.to_depot, m.qty) for m in plan.moves()}
    assert moves == {("0", "BJ", "JN", 2), ("1", "BJ", "JN", 1)}
    assert plan.total_cost == Decimal("330.00") and plan.shipment_cost_fen == 30_000
    # Shares by units: 2/3 and 1/3 of 300 CNY, plus 10 CNY a unit.
    assert sorted(m.cost for m in plan.moves()) == [Decimal("110.00"), Decimal("220.00")]
    assert all(m.unit_cost == Decimal("10.00") for m in plan.moves())

    old = rebalance_matrix(available, target, shipment, depot_codes=codes)
    assert freight_cost_fen(old.from_depot, old.to_depot, old.qty, shipment, 10) == 53_000
    assert (plan.units_moved, plan.shortage_left) == (old.units_moved, old.shortage_left)


def test_more_units_still_come_before_cheaper_freight():
    # Opening the dear lane is worth it: a unit short is never traded for freight.
    plan = rebalance_freight_matrix(
        np.array([[1, 0]]),
        np.array([[0, 1]]),
        np.array([[NAN, 900_000.0], [NAN, NAN]]),
        10,
        depot_codes=_codes(2),
    )
    assert plan.units_moved == 1 and plan.total_cost == Decimal("900010.00")


def test_row_input_matches_matrix_input():
    available = np.array([[4, 0, 1], [0, 3, 0]])
    target = np.array([[1, 2, 2], [1, 0, 2]])
    shipment = np.full((3, 3), 120.0)
    rows, cols = np.nonzero((available > 0) | (target > 0))
    by_rows = rebalance_freight(
        rows * 5,
        cols,
        available[rows, cols],
        target[rows, cols],
        shipment,
        10,
        depot_codes=_codes(3),
    )
    by_matrix = rebalance_freight_matrix(available, target, shipment, 10, depot_codes=_codes(3))
    assert by_rows.total_cost_fen == by_matrix.total_cost_fen
    assert set(by_rows.part.tolist()) <= {0, 5}


def test_stopped_by_the_time_limit_it_states_its_gap_and_never_costs_more_than_per_unit():
    rng = np.random.default_rng(7)
    available = rng.integers(0, 5, (40, 4))
    target = rng.integers(0, 5, (40, 4))
    shipment = rng.integers(50, 400, (4, 4)).astype(float)
    plan = rebalance_freight_matrix(
        available, target, shipment, 10, depot_codes=_codes(4), time_limit_s=0.0
    )
    old = rebalance_matrix(available, target, shipment, depot_codes=_codes(4))
    assert plan.total_cost_fen <= freight_cost_fen(
        old.from_depot, old.to_depot, old.qty, shipment, 10
    )
    assert plan.lower_bound_fen is not None
    assert plan.gap == pytest.approx(
        (plan.total_cost_fen - plan.lower_bound_fen) / plan.total_cost_fen
    )
    if plan.method == "time limit":
        assert plan.gap >= 0
    else:
        assert plan.gap == 0


def test_empty_input_and_bad_handling():
    plan = rebalance_freight_matrix(
        np.zeros((0, 2)), np.zeros((0, 2)), np.ones((2, 2)), 10, depot_codes=_codes(2)
    )
    assert plan.units_moved == 0 and plan.total_cost_fen == 0 and plan.gap == 0.0
    for handling in (-1, float("inf"), 2e6):
        with pytest.raises(ValueError, match="handling"):
            rebalance_freight_matrix(
                np.ones((1, 2)), np.ones((1, 2)), np.ones((2, 2)), handling, depot_codes=_codes(2)
            )


@st.composite
def networks(draw):
    n_dep = draw(st.integers(2, 5))
    n_parts = draw(st.integers(0, 8))
    units = st.integers(0, 6)
    available = np.array(
        draw(
            st.lists(
                st.lists(units, min_size=n_dep, max_size=n_dep), min_size=n_parts, max_size=n_parts
            )
        ),
        dtype=np.int64,
    ).reshape(n_parts, n_dep)
    target = np.array(
        draw(
            st.lists(
                st.lists(units, min_size=n_dep, max_size=n_dep), min_size=n_parts, max_size=n_parts
            )
        ),
        dtype=np.int64,
    ).reshape(n_parts, n_dep)
    cost = st.one_of(st.just(NAN), st.integers(0, 500).map(float))
    shipment = np.array(
        draw(st.lists(cost, min_size=n_dep * n_dep, max_size=n_dep * n_dep))
    ).reshape(n_dep, n_dep)
    handling = draw(st.integers(0, 40))
    return available, target, shipment, float(handling)


@settings(max_examples=150, deadline=None)
@given(networks())
def test_never_dearer_than_the_per_unit_plan_and_covers_the_same_shortages(network):
    available, target, shipment, handling = network
    codes = _codes(shipment.shape[0])
    plan = rebalance_freight_matrix(available, target, shipment, handling, depot_codes=codes)
    old = rebalance_matrix(available, target, shipment, depot_codes=codes)
    old_as_charged = freight_cost_fen(old.from_depot, old.to_depot, old.qty, shipment, handling)
    assert plan.total_cost_fen <= old_as_charged
    # The same units into shortages, part by part (each part moves its most), and the
    # same shortage left; which short depot of a part is served may differ when a part
    # has more shortage than surplus (consolidating may pick another of them).
    assert (plan.units_moved, plan.shortage_left) == (old.units_moved, old.shortage_left)
    per_part = np.bincount(plan.part, weights=plan.qty, minlength=available.shape[0])
    old_per_part = np.bincount(old.part, weights=old.qty, minlength=available.shape[0])
    assert np.array_equal(per_part, old_per_part)
    # Nothing goes below its target at the source nor past it at the destination.
    surplus = np.maximum(0, available - target)
    shortage = np.maximum(0, target - available)
    sent = np.zeros_like(surplus)
    got = np.zeros_like(shortage)
    np.add.at(sent, (plan.part, plan.from_depot), plan.qty)
    np.add.at(got, (plan.part, plan.to_depot), plan.qty)
    assert np.all(sent <= surplus) and np.all(got <= shortage)
    _check_plan(plan, available, target, shipment, handling)
