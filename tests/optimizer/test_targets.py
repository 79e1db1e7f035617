"""Base-stock targets and demand-rate estimates (optimizer.targets)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.targets import base_stock_targets, estimate_demand_rate


def poisson_cdf(k: int, mean: float) -> float:
    """Independent reference: the plain textbook sum, fine for the small means used here."""
    return sum(math.exp(-mean) * mean**i / math.factorial(i) for i in range(k + 1))


def reference_target(mean: float, goal: float) -> int:
    if mean == 0:
        return 0
    s = 0
    while poisson_cdf(s - 1, mean) < goal:
        s += 1
    return s


@pytest.mark.parametrize(
    ("rate", "lead", "goal", "expected"),
    [
        # P(X<=1)=0.9953 for mean 0.1 -> S-1 = 1.
        (0.1, 1.0, 0.95, 2),
        # mean 1: P(X<=2)=0.9197, P(X<=3)=0.9810.
        (1.0, 1.0, 0.95, 4),
        # mean 2: P(X<=4)=0.9473, P(X<=5)=0.9834.
        (0.5, 4.0, 0.95, 6),
        # mean 2 at 50 %: P(X<=1)=0.406, P(X<=2)=0.677.
        (2.0, 1.0, 0.5, 3),
        # mean 5 at 99 %: P(X<=10)=0.9863, P(X<=11)=0.9945.
        (0.25, 20.0, 0.99, 12),
    ],
)
def test_target_matches_known_poisson_values(rate, lead, goal, expected):
    assert base_stock_targets(rate, lead, goal) == expected
    assert reference_target(rate * lead, goal) == expected


def test_target_is_vectorised_and_matches_reference_for_many_means():
    means = np.array([0.01, 0.05, 0.3, 0.9, 1.7, 3.3, 7.5, 12.0, 25.0, 60.0])
    goals = np.array([0.5, 0.8, 0.9, 0.95, 0.99])
    got = base_stock_targets(means[:, None], 1.0, goals[None, :])
    assert got.shape == (10, 5)
    assert got.dtype == np.int64
    for i, mean in enumerate(means):
        for j, goal in enumerate(goals):
            assert got[i, j] == reference_target(float(mean), float(goal))


def test_zero_rate_or_zero_lead_time_needs_no_stock():
    assert base_stock_targets([0.0, 3.0], [5.0, 0.0]).tolist() == [0, 0]


def test_large_mean_does_not_underflow():
    # exp(-5000) is 0 in floating point; the log-space start must still find S near the mean.
    target = int(base_stock_targets(500.0, 10.0, 0.95))
    assert 5000 + 1.5 * math.sqrt(5000) < target < 5000 + 1.8 * math.sqrt(5000) + 2


@settings(max_examples=60)
@given(
    rate=st.floats(0.0, 50.0),
    extra=st.floats(0.0, 10.0),
    lead=st.floats(0.5, 30.0),
    goal=st.floats(0.01, 0.995),
    more_goal=st.floats(0.0, 0.004),
)
def test_target_is_monotone_in_rate_and_goal(rate, extra, lead, goal, more_goal):
    base = base_stock_targets(rate, lead, goal)
    assert base_stock_targets(rate + extra, lead, goal) >= base
    assert base_stock_targets(rate, lead, goal + more_goal) >= base


@given(mean=st.floats(0.001, 40.0), goal=st.floats(0.01, 0.999))
def test_target_is_the_smallest_meeting_the_goal(mean, goal):
    s = int(base_stock_targets(mean, 1.0, goal))
    assert poisson_cdf(s - 1, mean) >= goal - 1e-12
    assert s == 0 or poisson_cdf(s - 2, mean) < goal + 1e-12


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate_per_day": -1.0, "lead_time_days": 1.0}, "rate_per_day"),
        ({"rate_per_day": float("nan"), "lead_time_days": 1.0}, "rate_per_day"),
        ({"rate_per_day": 1.0, "lead_time_days": -2.0}, "lead_time_days"),
        ({"rate_per_day": 1.0, "lead_time_days": 1.0, "fill_rate": 1.0}, "fill_rate"),
        ({"rate_per_day": 1.0, "lead_time_days": 1.0, "fill_rate": -0.1}, "fill_rate"),
        ({"rate_per_day": 1e6, "lead_time_days": 10.0}, "mean lead-time demand"),
    ],
)
def test_bad_target_inputs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        base_stock_targets(**kwargs)


def test_demand_rate_blends_history_with_installed_base_prior():
    # 9 RMAs in 90 days, prior worth 90 days at 730 units x 5 %/year = 0.1/day.
    rate = estimate_demand_rate(9, 90, 730, 0.05, prior_days=90)
    assert rate == pytest.approx((9 + 90 * 0.1) / 180)


def test_demand_rate_without_history_is_the_prior_and_without_anything_is_zero():
    rates = estimate_demand_rate([0, 0], [180, 180], [365, 0], [0.02, 0.02], prior_days=90)
    assert rates[0] == pytest.approx(90 * 365 * 0.02 / 365 / 270)
    assert rates[1] == 0


def test_demand_rate_follows_history_as_the_window_grows():
    # History: 1 RMA every 10 days. Prior: 365 units failing 1 %/year = 1 every 100 days.
    short = estimate_demand_rate(3, 30, 365, 0.01, prior_days=90)
    long = estimate_demand_rate(300, 3000, 365, 0.01, prior_days=90)
    assert 0.01 < short < long < 0.1
    assert abs(long - 0.1) < 0.003


def test_demand_rate_refuses_negative_counts_and_empty_windows():
    with pytest.raises(ValueError, match="demand_count"):
        estimate_demand_rate(-1, 30, 10, 0.01)
    with pytest.raises(ValueError, match="window_days"):
        estimate_demand_rate(1, 0, 10, 0.01, prior_days=0)
