"""Batch dispatch (optimizer.dispatch), checked against brute-force enumeration."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.dispatch import FAULT_LEVELS, DispatchRequest, dispatch

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
LEVELS = list(FAULT_LEVELS)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def brute_force_best(requests, depots, stock, arrival, cost_fen, spare=None):
    """Best (met per level, served per level, -minutes late, -units below target, -cost)
    over every possible assignment."""
    options = []
    for r, request in enumerate(requests):
        choices = [None]
        for d, code in enumerate(depots):
            usable = arrival[r][d] is not None and stock.get((request.group, code), 0) > 0
            if usable:
                choices.append(d)
        options.append(choices)
    best = None
    for combo in itertools.product(*options):
        used: dict[tuple[str, str], int] = {}
        for r, d in enumerate(combo):
            if d is not None:
                key = (requests[r].group, depots[d])
                used[key] = used.get(key, 0) + 1
        if any(n > stock.get(key, 0) for key, n in used.items()):
            continue
        met = [0, 0, 0]
        served = [0, 0, 0]
        fen = late = 0
        for r, d in enumerate(combo):
            if d is None:
                continue
            lvl = LEVELS.index(requests[r].fault_level)
            served[lvl] += 1
            met[lvl] += arrival[r][d] <= requests[r].due
            late += max(0, math.ceil((arrival[r][d] - requests[r].due).total_seconds() / 60))
            fen += cost_fen[r][d]
        spare = spare or {}
        protected = sum(max(0, n - spare.get(key, stock.get(key, 0))) for key, n in used.items())
        key = (*met, *served, -late, -protected, -fen)
        if best is None or key > best:
            best = key
    return best


def outcome(result, requests, depots=None, spare=None, stock=None):
    met = [result.met_by_level[level] for level in LEVELS]
    served = [result.assigned_by_level[level] for level in LEVELS]
    fen = int(result.total_cost * 100)
    late = sum(
        max(0, math.ceil((a.arrives_at - r.due).total_seconds() / 60))
        for a, r in zip(result.assignments, requests, strict=True)
        if a.depot is not None
    )
    used: dict[tuple[str, str], int] = {}
    for a, r in zip(result.assignments, requests, strict=True):
        if a.depot is not None:
            used[(r.group, a.depot)] = used.get((r.group, a.depot), 0) + 1
    spare, stock = spare or {}, stock or {}
    protected = sum(max(0, n - spare.get(key, stock.get(key, 0))) for key, n in used.items())
    return (*met, *served, -late, -protected, -fen)


def random_instance(rng, n_req, n_dep, n_groups):
    depots = ["BJ", "SH", "GZ", "CD"][:n_dep]
    groups = [f"G{g}" for g in range(n_groups)]
    requests = [
        DispatchRequest(
            id=f"R{i}",
            group=groups[int(rng.integers(n_groups))],
            fault_level=LEVELS[int(rng.integers(3))],
            due=at(float(rng.integers(10, 30))),
        )
        for i in range(n_req)
    ]
    stock = {(g, d): int(rng.integers(0, 3)) for g in groups for d in depots}
    arrival = [
        [None if rng.random() < 0.15 else at(float(rng.integers(4, 36))) for _ in depots]
        for _ in requests
    ]
    cost_fen = [
        [int(rng.integers(50, 400)) * 100 + int(rng.integers(0, 100)) for _ in depots]
        for _ in requests
    ]
    return requests, depots, stock, arrival, cost_fen


def run(requests, depots, stock, arrival, cost_fen, spare=None):
    cost = np.array(
        [
            [Decimal(f) / 100 if a is not None else None for f, a in zip(fr, ar, strict=True)]
            for fr, ar in zip(cost_fen, arrival, strict=True)
        ],
        dtype=object,
    ).reshape(len(requests), len(depots))
    arr = np.array(arrival, dtype=object).reshape(len(requests), len(depots))
    return dispatch(requests, depots, stock, arr, cost, spare=spare)


@pytest.mark.parametrize("seed", range(120))
def test_dispatch_matches_brute_force_on_small_random_instances(seed):
    rng = np.random.default_rng(seed)
    n_req = int(rng.integers(1, 6))
    instance = random_instance(rng, n_req, int(rng.integers(1, 4)), int(rng.integers(1, 3)))
    result = run(*instance)
    assert outcome(result, instance[0], stock=instance[2]) == brute_force_best(*instance)


@pytest.mark.parametrize("seed", range(60))
def test_dispatch_protects_targets_before_cost_like_brute_force(seed):
    rng = np.random.default_rng(1000 + seed)
    n_req = int(rng.integers(1, 6))
    requests, depots, stock, arrival, cost_fen = random_instance(
        rng, n_req, int(rng.integers(1, 4)), int(rng.integers(1, 3))
    )
    spare = {key: int(rng.integers(0, units + 1)) for key, units in stock.items()}
    result = run(requests, depots, stock, arrival, cost_fen, spare)
    best = brute_force_best(requests, depots, stock, arrival, cost_fen, spare)
    assert outcome(result, requests, depots, spare, stock) == best


@st.composite
def instances(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_req = draw(st.integers(0, 5))
    return random_instance(rng, n_req, draw(st.integers(1, 3)), draw(st.integers(1, 2)))


@settings(max_examples=60, deadline=None)
@given(instances())
def test_dispatch_is_optimal_and_consistent(instance):
    requests, depots, stock, arrival, _ = instance
    result = run(*instance)
    assert outcome(result, requests, depots, None, stock) == brute_force_best(*instance)
    used: dict[tuple[str, str], int] = {}
    for request, assignment in zip(requests, result.assignments, strict=True):
        assert assignment.request_id == request.id
        if assignment.depot is None:
            assert assignment.backorder and assignment.cost == 0 and not assignment.meets_due
            continue
        d = depots.index(assignment.depot)
        assert assignment.arrives_at == arrival[requests.index(request)][d]
        assert assignment.meets_due == (assignment.arrives_at <= request.due)
        key = (request.group, assignment.depot)
        used[key] = used.get(key, 0) + 1
    assert all(n <= stock[key] for key, n in used.items())
    assert result.assigned + result.backorders == len(requests)


def test_one_c1_outranks_any_number_of_c3():
    requests = [DispatchRequest("c1", "P", "C-1", at(10))] + [
        DispatchRequest(f"c3-{i}", "P", "C-3", at(10)) for i in range(6)
    ]
    # BJ: one unit on time for everyone; SH: six units, on time for the C-3s only.
    arrival = np.array([[at(5), at(20)]] + [[at(5), at(6)]] * 6, dtype=object)
    cost = np.array([[100.0, 1.0]] * 7)
    result = dispatch(requests, ["BJ", "SH"], {("P", "BJ"): 1, ("P", "SH"): 6}, arrival, cost)
    assert result.assignments[0].depot == "BJ" and result.assignments[0].meets_due
    assert result.met_due == 7
    assert result.met_by_level == {"C-1": 1, "C-2": 0, "C-3": 6}


def test_c1_meeting_its_due_time_beats_two_c2s_that_would():
    requests = [
        DispatchRequest("a", "P", "C-2", at(10)),
        DispatchRequest("b", "P", "C-2", at(10)),
        DispatchRequest("c", "P", "C-1", at(10)),
    ]
    arrival = np.array([[at(5)], [at(5)], [at(5)]], dtype=object)
    result = dispatch(requests, ["BJ"], {("P", "BJ"): 1}, arrival, np.zeros((3, 1)))
    assert [a.depot for a in result.assignments] == [None, None, "BJ"]
    assert result.backorders == 2


def test_late_unit_is_better_than_none():
    requests = [DispatchRequest("a", "P", "C-3", at(10))]
    arrival = np.array([[at(30)]], dtype=object)
    result = dispatch(requests, ["GZ"], {("P", "GZ"): 1}, arrival, np.array([[500.0]]))
    assert result.assignments[0].depot == "GZ"
    assert not result.assignments[0].meets_due
    assert result.total_cost == Decimal("500.00")


def test_a_request_that_cannot_be_on_time_gets_the_earliest_arrival_before_the_cheapest():
    requests = [DispatchRequest("a", "P", "C-1", at(10))]
    arrival = np.array([[at(30), at(12)]], dtype=object)
    stock = {("P", "GZ"): 1, ("P", "CD"): 1}
    result = dispatch(requests, ["GZ", "CD"], stock, arrival, np.array([[90.0, 600.0]]))
    assert result.assignments[0].depot == "CD"
    assert result.assignments[0].arrives_at == at(12)


def test_target_stock_is_protected_before_cost():
    requests = [DispatchRequest("a", "P", "C-2", at(10))]
    arrival = np.array([[at(5), at(6)]], dtype=object)
    stock = {("P", "BJ"): 3, ("P", "JN"): 4}
    spare = {("P", "BJ"): 0, ("P", "JN"): 1}
    result = dispatch(
        requests, ["BJ", "JN"], stock, arrival, np.array([[100.0, 300.0]]), spare=spare
    )
    assert result.assignments[0].depot == "JN"


def test_cheapest_plan_among_equally_good_ones():
    requests = [DispatchRequest("a", "P", "C-2", at(10)), DispatchRequest("b", "P", "C-2", at(10))]
    arrival = np.array([[at(5), at(5)], [at(5), at(5)]], dtype=object)
    cost = np.array([[100.0, 300.0], [150.0, 180.0]])
    result = dispatch(requests, ["BJ", "SH"], {("P", "BJ"): 1, ("P", "SH"): 1}, arrival, cost)
    # a@BJ + b@SH = 280 beats a@SH + b@BJ = 450.
    assert [a.depot for a in result.assignments] == ["BJ", "SH"]
    assert result.total_cost == Decimal("280.00")


def test_groups_do_not_share_stock_and_no_stock_is_a_backorder():
    requests = [DispatchRequest("a", "P", "C-1", at(10)), DispatchRequest("b", "Q", "C-3", at(10))]
    arrival = np.array([[at(5)], [at(5)]], dtype=object)
    result = dispatch(requests, ["BJ"], {("P", "BJ"): 0, ("Q", "BJ"): 1}, arrival, np.ones((2, 1)))
    assert [a.depot for a in result.assignments] == [None, "BJ"]


def test_arrival_accepts_datetime64_and_epoch_seconds_and_missing_values():
    requests = [DispatchRequest("a", "P", "C-2", at(10)), DispatchRequest("b", "P", "C-2", at(10))]
    stock = {("P", "BJ"): 2, ("P", "SH"): 2}
    as_objects = np.array([[at(5), None], [at(12), at(8)]], dtype=object)
    as_datetime64 = np.array(
        [
            [np.datetime64("2026-03-02T05:00"), np.datetime64("NaT")],
            [np.datetime64("2026-03-02T12:00"), np.datetime64("2026-03-02T08:00")],
        ]
    )
    as_seconds = np.array([[at(5).timestamp(), np.nan], [at(12).timestamp(), at(8).timestamp()]])
    cost = np.array([[100.0, np.nan], [50.0, 70.0]])
    results = [
        dispatch(requests, ["BJ", "SH"], stock, a, cost)
        for a in (as_objects, as_datetime64, as_seconds)
    ]
    for result in results:
        assert [a.depot for a in result.assignments] == ["BJ", "SH"]
        assert result.met_due == 2
        assert result.assignments[1].arrives_at == at(8)
        assert result.total_cost == Decimal("170.00")


def test_cost_is_rounded_half_up_to_the_fen():
    requests = [DispatchRequest("a", "P", "C-2", at(10))]
    cost = np.array([[Decimal("10.005")]], dtype=object)
    result = dispatch(requests, ["BJ"], {("P", "BJ"): 1}, np.array([[at(1)]], dtype=object), cost)
    assert result.total_cost == Decimal("10.01")


def test_empty_batch_gives_an_empty_result():
    result = dispatch([], ["BJ"], {}, np.zeros((0, 1)), np.zeros((0, 1)))
    assert result.assignments == () and result.total_cost == 0


@pytest.mark.parametrize(
    "change",
    [
        {"arrival": np.zeros((2, 2))},
        {"cost": np.array([[-1.0], [1.0]])},
        {"stock": {("P", "XX"): 1}},
        {"stock": {("P", "BJ"): -1}},
        {"depots": ["BJ", "BJ"]},
        {"requests": [DispatchRequest("a", "P", "C-1", at(1))] * 2},
        {"arrival": np.array([[at(1).replace(tzinfo=None)], [None]], dtype=object)},
    ],
)
def test_malformed_input_is_refused(change):
    args = {
        "requests": [
            DispatchRequest("a", "P", "C-1", at(1)),
            DispatchRequest("b", "P", "C-2", at(1)),
        ],
        "depots": ["BJ"],
        "stock": {("P", "BJ"): 1},
        "arrival": np.array([[at(1)], [at(2)]], dtype=object),
        "cost": np.array([[1.0], [2.0]]),
    }
    args.update(change)
    with pytest.raises(ValueError):
        dispatch(**args)


def test_request_refuses_unknown_fault_level_and_naive_due():
    with pytest.raises(ValueError):
        DispatchRequest("a", "P", "C-4", at(1))
    with pytest.raises(ValueError):
        DispatchRequest("a", "P", "C-1", datetime(2026, 3, 2))


def test_thousand_competing_requests_are_all_decided():
    rng = np.random.default_rng(7)
    depots = ["BJ", "SH", "GZ", "CD", "WH", "XA", "SY", "JN"]
    requests = [
        DispatchRequest(f"R{i}", f"P{i % 3}", LEVELS[i % 3], at(float(rng.uniform(8, 30))))
        for i in range(1000)
    ]
    stock = {(f"P{g}", d): int(rng.integers(0, 40)) for g in range(3) for d in depots}
    arrival = T0.timestamp() + rng.uniform(4, 40, (1000, 8)) * 3600
    result = dispatch(requests, depots, stock, arrival, rng.uniform(60, 900, (1000, 8)))
    assert result.assigned == min(1000, sum(stock.values()))
    # Every C-1 that could meet its due time from some depot with stock does.
    assert result.met_by_level["C-1"] >= result.met_by_level["C-3"]
