"""Rebalancing toward targets (optimizer.rebalance), checked against HiGHS linear programs."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from optimizer.rebalance import DEPOT_CODES, Move, candidate_arcs, rebalance, rebalance_matrix


def lp_reference(available, target, lanes_cny):
    """(units moved, cost in fen) from two LPs solved by HiGHS: max units, then min cost.

    Written from the problem statement, not from the optimizer's network: one
    variable per (part, from, to) over an existing lane, sending at most the
    sender's surplus and receiving at most the receiver's shortage.
    """
    surplus = np.maximum(0, available - target)
    shortage = np.maximum(0, target - available)
    n_parts, n_dep = available.shape
    cols = [
        (p, i, j)
        for p in range(n_parts)
        for i in range(n_dep)
        for j in range(n_dep)
        if i != j and not np.isnan(lanes_cny[i, j])
    ]
    if not cols:
        return 0, 0
    rows, data, col_idx, bounds = [], [], [], []
    row_of = {}
    for k, (p, i, j) in enumerate(cols):
        for key, limit in ((("out", p, i), surplus[p, i]), (("in", p, j), shortage[p, j])):
            if key not in row_of:
                row_of[key] = len(bounds)
                bounds.append(limit)
            rows.append(row_of[key])
            col_idx.append(k)
            data.append(1.0)
    a_ub = coo_matrix((data, (rows, col_idx)), shape=(len(bounds), len(cols))).tocsr()
    b_ub = np.array(bounds, dtype=float)
    fen = np.array([round(lanes_cny[i, j] * 100) for _, i, j in cols], dtype=float)
    first = linprog(-np.ones(len(cols)), A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
    assert first.status == 0
    units = round(-first.fun)
    second = linprog(
        fen,
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=np.ones((1, len(cols))),
        b_eq=[units],
        bounds=(0, None),
        method="highs",
    )
    assert second.status == 0
    return units, round(second.fun)


def random_lanes(rng, n_dep, missing=0.2):
    lanes = np.round(rng.uniform(50, 900, (n_dep, n_dep)), 2)
    lanes[rng.random((n_dep, n_dep)) < missing] = np.nan
    np.fill_diagonal(lanes, np.nan)
    return lanes


def check_plan(plan, available, target, lanes_cny):
    """The hard rules every plan must keep, whatever its optimality."""
    after = available.copy()
    assert plan.qty.dtype == np.int64 and np.all(plan.qty > 0)
    np.subtract.at(after, (plan.part, plan.from_depot), plan.qty)
    np.add.at(after, (plan.part, plan.to_depot), plan.qty)
    senders = np.zeros_like(available, dtype=bool)
    senders[plan.part, plan.from_depot] = True
    receivers = np.zeros_like(available, dtype=bool)
    receivers[plan.part, plan.to_depot] = True
    # Never below own target by shipping, never past target by receiving.
    assert np.all(after[senders] >= target[senders])
    assert np.all(after[receivers] <= target[receivers])
    assert not np.any(senders & receivers)
    # Conservation per part: moves only shift units between depots.
    assert np.array_equal(after.sum(axis=1), available.sum(axis=1))
    # Only existing lanes, priced at the lane's unit cost.
    assert not np.any(np.isnan(lanes_cny[plan.from_depot, plan.to_depot]))
    assert np.array_equal(
        plan.unit_cost_fen,
        np.rint(lanes_cny[plan.from_depot, plan.to_depot] * 100).astype(np.int64),
    )
    assert np.array_equal(plan.cost_fen, plan.qty * plan.unit_cost_fen)
    assert plan.units_moved == int(plan.qty.sum())
    assert plan.total_cost_fen == int(plan.cost_fen.sum())
    shortage = np.maximum(0, target - available).sum()
    assert plan.shortage_before == shortage
    assert plan.shortage_left == shortage - plan.units_moved
    # One row per used lane and part.
    keys = set(
        zip(plan.part.tolist(), plan.from_depot.tolist(), plan.to_depot.tolist(), strict=True)
    )
    assert len(keys) == plan.qty.size


@pytest.mark.parametrize("seed", range(40))
def test_rebalance_matches_highs_on_random_instances(seed):
    rng = np.random.default_rng(seed)
    n_parts = int(rng.integers(1, 30))
    target = rng.integers(0, 6, (n_parts, 8))
    available = np.maximum(0, target + rng.integers(-4, 5, (n_parts, 8)))
    lanes = random_lanes(rng, 8, missing=float(rng.uniform(0, 0.6)))
    plan = rebalance_matrix(available, target, lanes)
    check_plan(plan, available, target, lanes)
    assert (plan.units_moved, plan.total_cost_fen) == lp_reference(available, target, lanes)


@st.composite
def problems(draw):
    n_dep = draw(st.integers(2, 8))
    n_parts = draw(st.integers(1, 6))
    shape = (n_parts, n_dep)
    available = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, 7)))
    target = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, 7)))
    costs = draw(
        hnp.arrays(
            np.float64,
            (n_dep, n_dep),
            elements=st.one_of(st.just(np.nan), st.integers(0, 90_000).map(lambda f: f / 100)),
        )
    )
    return available, target, costs


@settings(max_examples=50, deadline=None)
@given(problems())
def test_rebalance_keeps_the_rules_and_is_optimal(problem):
    available, target, lanes = problem
    codes = DEPOT_CODES[: available.shape[1]]
    plan = rebalance_matrix(available, target, lanes, depot_codes=codes)
    check_plan(plan, available, target, lanes)
    assert (plan.units_moved, plan.total_cost_fen) == lp_reference(available, target, lanes)


def test_cheapest_lane_fills_the_shortage_and_nothing_goes_below_target():
    # Part 0: BJ has 2 spare, SH and GZ each spare 1; JN is 2 short.
    available = np.array([[5, 2, 2, 0]])
    target = np.array([[3, 1, 1, 2]])
    lanes = np.full((4, 4), np.nan)
    lanes[0, 3], lanes[1, 3], lanes[2, 3] = 300.0, 100.0, 150.0
    plan = rebalance_matrix(
        available, target, lanes, part_numbers=["SW-1"], depot_codes=("BJ", "SH", "GZ", "JN")
    )
    assert plan.moves() == (
        Move("SW-1", "SH", "JN", 1, Decimal("100.00"), Decimal("100.00")),
        Move("SW-1", "GZ", "JN", 1, Decimal("150.00"), Decimal("150.00")),
    )
    assert plan.total_cost == Decimal("250.00") and plan.shortage_left == 0


def test_more_units_moved_beats_a_cheaper_plan():
    # Sending BJ's one spare unit to SH is cheap but strands XA's shortage: SY can only
    # reach SH, so BJ must serve XA and SY serve SH.
    codes = ("BJ", "SH", "XA", "SY")
    available = np.array([[2, 0, 0, 2]])
    target = np.array([[1, 1, 1, 1]])
    lanes = np.full((4, 4), np.nan)
    lanes[0, 1], lanes[0, 2], lanes[3, 1] = 10.0, 800.0, 900.0
    plan = rebalance_matrix(available, target, lanes, depot_codes=codes)
    assert plan.units_moved == 2 and plan.total_cost == Decimal("1700.00")


def test_missing_lane_leaves_the_shortage():
    available = np.array([[3, 0]])
    target = np.array([[1, 2]])
    lanes = np.array([[np.nan, np.nan], [50.0, np.nan]])
    plan = rebalance_matrix(available, target, lanes, depot_codes=("BJ", "SH"))
    assert plan.units_moved == 0 and plan.shortage_left == 2 and plan.moves() == ()


def test_row_input_matches_matrix_input_and_keeps_caller_part_ids():
    rng = np.random.default_rng(3)
    target = rng.integers(0, 4, (5, 8))
    available = rng.integers(0, 6, (5, 8))
    lanes = random_lanes(rng, 8)
    by_matrix = rebalance_matrix(available, target, lanes)
    ids = np.array([10, 20, 30, 40, 50])
    parts = np.repeat(ids, 8)
    depots = np.tile(np.arange(8), 5)
    order = rng.permutation(parts.size)
    by_rows = rebalance(
        parts[order], depots[order], available.ravel()[order], target.ravel()[order], lanes
    )
    assert by_rows.units_moved == by_matrix.units_moved
    assert by_rows.total_cost_fen == by_matrix.total_cost_fen
    assert set(by_rows.part.tolist()) <= set(ids.tolist())


def test_absent_rows_mean_nothing_available_and_target_zero():
    lanes = np.full((8, 8), 100.0)
    # Part 7 has a BJ surplus of 2 and a short SH row; GZ is absent entirely.
    plan = rebalance(
        [7, 7], [0, 1], [2, 0], [0, 1], lanes, part_numbers=[f"P{i}" for i in range(8)]
    )
    assert [(m.part_number, m.from_depot, m.to_depot, m.qty) for m in plan.moves()] == [
        ("P7", "BJ", "SH", 1)
    ]


def test_empty_input_gives_an_empty_plan():
    plan = rebalance([], [], [], [], np.full((8, 8), 1.0))
    assert plan.units_moved == 0 and plan.total_cost == 0 and plan.qty.size == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([0, 0], [1, 1], [1, 2], [0, 0]), "only once"),
        (([0], [8], [1], [0]), "depot_index"),
        (([0], [0], [-1], [0]), "available"),
        (([0], [0], [1.5], [0]), "whole"),
        (([0], [0, 1], [1], [0]), "equal lengths"),
        (([-1], [0], [1], [0]), "part_index"),
    ],
)
def test_malformed_rows_are_refused(args, message):
    with pytest.raises(ValueError, match=message):
        rebalance(*args, np.full((8, 8), 1.0))


@pytest.mark.parametrize(
    "lanes",
    [np.full((8, 8), -1.0), np.full((8, 8), np.inf), np.full((7, 7), 1.0), np.full((8, 8), 2e6)],
)
def test_bad_lane_matrix_is_refused(lanes):
    with pytest.raises(ValueError, match="lane"):
        rebalance_matrix(np.zeros((1, 8)), np.zeros((1, 8)), lanes)


def test_progress_reports_building_then_solving():
    seen = []
    rebalance_matrix(
        np.array([[2, 0] + [0] * 6]),
        np.array([[0, 2] + [0] * 6]),
        np.full((8, 8), 10.0),
        progress=lambda phase, done, total: seen.append((phase, done, total)),
    )
    assert seen == [("building", 0, 1), ("building", 1, 1), ("solving", 0, 1), ("solving", 1, 1)]


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 9).flatmap(
        lambda d: st.tuples(
            hnp.arrays(
                np.int64, st.tuples(st.integers(0, 40), st.just(d)), elements=st.integers(0, 3)
            ),
            hnp.arrays(
                np.int64, st.tuples(st.integers(0, 40), st.just(d)), elements=st.integers(0, 3)
            ),
            hnp.arrays(np.bool_, (d, d)),
        )
    )
)
def test_candidate_arcs_come_in_the_order_of_the_full_mask(case):
    # The solver's input order decides which of several equal optima it returns, so
    # the pattern-wise arcs must be exactly the full P x D x D mask's, in its order.
    surplus, shortage, lane_ok = case
    parts = min(surplus.shape[0], shortage.shape[0])
    surplus, shortage = surplus[:parts], shortage[:parts]
    mask = (surplus[:, :, None] > 0) & (shortage[:, None, :] > 0) & lane_ok[None, :, :]
    expected = np.nonzero(mask)
    got = candidate_arcs(surplus, shortage, lane_ok)
    for have, want in zip(got, expected, strict=True):
        assert have.dtype == want.dtype
        np.testing.assert_array_equal(have, want)
