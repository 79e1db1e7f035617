"""The discrete-event replay (``optimizer.simulation``): exact against the base-stock
formula on one depot, the system's rules (cut-off by approval hour, the emergency
courier for C-1 only, backorders), the repair loop, and one answer per seed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.availability import ServiceNetwork
from optimizer.simulation import (
    C1,
    OTHER,
    DemandEvent,
    RepairLoop,
    sample_demand,
    simulate,
)

FLAT_HOURS = np.full(24, 1 / 24)


def _network(
    *,
    depots: int = 1,
    cities: int = 1,
    parts: int = 1,
    demand: float = 0.5,
    standard: float | np.ndarray = 5.0,
    emergency: float | np.ndarray = np.inf,
    c1: float = 0.0,
    resupply: float = 4.0,
) -> ServiceNetwork:
    def hours(value: float | np.ndarray) -> np.ndarray:
        return np.zeros((depots, cities, 24)) + value

    return ServiceNetwork(
        depots=tuple(f"D{d}" for d in range(depots)),
        cities=tuple(f"City{c}" for c in range(cities)),
        parts=tuple(f"P{p}" for p in range(parts)),
        unit_cost=np.full(parts, 100.0),
        demand_per_day=np.full((parts, cities), demand),
        c1_share=np.full((parts, cities), c1),
        arrival_hours=hours(standard),
        arrival_hours_emergency=hours(emergency),
        approval_hour_weights=FLAT_HOURS,
        resupply_days=np.full((parts, depots), resupply),
    )


def _poisson_below(mean: float, stock: int) -> float:
    return sum(math.exp(-mean) * mean**k / math.factorial(k) for k in range(stock))


@pytest.mark.parametrize("stock", [1, 2, 3])
def test_one_depot_matches_the_base_stock_formula(stock):
    # 0.5 a day, 4 days' resupply, 5 hours to the city, a 24-hour window. A request is
    # in time when a unit is on the shelf or arrives within 19 hours: fewer than S of
    # the requests of the last 4 days - 19 hours are still being resupplied, i.e.
    # P(Poisson(0.5 x (4 - 19/24)) < S).
    network = _network()
    result = simulate(network, np.array([[stock]]), days=12_000, seed=7)
    expected = _poisson_below(0.5 * (4 - 19 / 24), stock)
    assert result.cases > 5_000
    assert result.within_window == pytest.approx(expected, abs=0.02)


def test_no_stock_is_never_in_time_and_every_request_waits():
    result = simulate(_network(), np.array([[0]]), days=200, seed=1)
    assert result.within_window == 0.0
    assert result.backorders == result.cases > 0


def test_the_cut_off_counts_by_approval_hour():
    # Approved before noon: 10 hours to the city; from noon: 30 hours (next pick-up).
    standard = np.where(np.arange(24) < 12, 10.0, 30.0)
    network = _network(standard=standard)
    events = [DemandEvent(3.5, 0, 0), DemandEvent(15.25, 0, 0), DemandEvent(24 + 11.9, 0, 0)]
    result = simulate(network, np.array([[5]]), days=3, events=events)
    assert (result.cases, result.by_fault_level[OTHER].within) == (3, 2)
    assert result.within_window == pytest.approx(2 / 3)


def test_only_c1_books_the_emergency_courier_and_only_when_standard_is_late():
    late = _network(standard=30.0, emergency=8.0)
    events = [DemandEvent(10.0, 0, 0, C1), DemandEvent(11.0, 0, 0, "C-2")]
    result = simulate(late, np.array([[5]]), days=2, events=events)
    assert result.by_fault_level[C1].share == 1.0
    assert result.by_fault_level["C-2"].share == 0.0
    assert result.emergency == 1
    on_time = _network(standard=12.0, emergency=3.0)
    result = simulate(on_time, np.array([[5]]), days=2, events=events)
    assert result.within_window == 1.0 and result.emergency == 0


def test_the_first_depot_by_arrival_serves_and_others_cover_it():
    # Two depots in time (5 and 6 hours); one unit each, resupply slower than the
    # requests: the second request is served by the second depot, the third waits.
    network = _network(depots=2, standard=np.array([5.0, 6.0])[:, None, None], resupply=10.0)
    events = [DemandEvent(1.0, 0, 0), DemandEvent(2.0, 0, 0), DemandEvent(3.0, 0, 0)]
    result = simulate(network, np.array([[1, 1]]), days=30, events=events)
    assert (result.cases, result.backorders) == (3, 1)
    assert result.by_city["City0"].within == 2


def test_a_city_without_a_lane_is_never_served():
    network = _network(cities=2, standard=np.array([5.0, np.inf])[None, :, None])
    events = [DemandEvent(1.0, 0, 0), DemandEvent(2.0, 0, 1)]
    result = simulate(network, np.array([[3]]), days=2, events=events)
    assert set(result.by_city) == {"City0", "City1"}
    assert (result.by_city["City0"].share, result.by_city["City1"].share) == (1.0, 0.0)
    assert result.never_served == 1


def test_the_repair_loop_resupplies_from_returns_and_transfers():
    network = _network(demand=0.2)
    scrap_all = RepairLoop(
        yield_share=np.array([0.0]),
        no_fault_found_share=np.array([0.0]),
        turnaround_days=np.array([3.0]),
        transfer_days=np.array([[2.0]]),
    )
    result = simulate(network, np.array([[2]]), days=2_000, seed=3, repair=scrap_all)
    assert result.returns > 300 and result.scrapped == result.returns
    good_all = RepairLoop(
        yield_share=np.array([1.0]),
        no_fault_found_share=np.array([0.25]),
        turnaround_days=np.array([3.0]),
        transfer_days=np.array([[2.0]]),
    )
    result = simulate(network, np.array([[2]]), days=2_000, seed=3, repair=good_all)
    assert result.scrapped == 0 and result.repaired + result.no_fault_found == result.returns
    assert 0.15 < result.no_fault_found / result.returns < 0.35
    # Delivery (half a day), half the 15-day return window, then 3 days' turnaround.
    assert good_all.mean_resupply_days(network)[0, 0] == pytest.approx(0.5 + 7.5 + 3.0)
    assert scrap_all.mean_resupply_days(network)[0, 0] == pytest.approx(0.5 + 7.5 + 2.0)


def test_bad_input_is_refused():
    network = _network()
    with pytest.raises(ValueError, match="shape"):
        simulate(network, np.array([[1, 1]]))
    with pytest.raises(ValueError, match="whole numbers"):
        simulate(network, np.array([[-1]]))
    with pytest.raises(ValueError, match="names no part or city"):
        simulate(network, np.array([[1]]), events=[DemandEvent(1.0, 3, 0)])
    with pytest.raises(ValueError, match="shares"):
        RepairLoop(np.array([0.5]), np.array([0.8]), np.array([1.0]), np.array([[1.0]]))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    depots=st.integers(1, 3),
    cities=st.integers(1, 3),
    stock=st.integers(0, 3),
    c1=st.floats(0.0, 1.0),
    loop=st.booleans(),
)
def test_the_same_seed_gives_the_same_answer(seed, depots, cities, stock, c1, loop):
    rng = np.random.default_rng(seed)
    network = _network(
        depots=depots,
        cities=cities,
        parts=2,
        demand=0.3,
        standard=rng.uniform(3.0, 40.0, size=(depots, cities, 1)),
        emergency=rng.uniform(2.0, 20.0, size=(depots, cities, 1)),
        c1=c1,
        resupply=5.0,
    )
    repair = (
        RepairLoop(
            np.array([0.8, 0.5]),
            np.array([0.1, 0.2]),
            np.array([2.0, 4.0]),
            np.full((2, depots), 3.0),
        )
        if loop
        else None
    )
    base = np.full((2, depots), stock)
    first = simulate(network, base, days=60, seed=seed, repair=repair)
    again = simulate(network, base, days=60, seed=seed, repair=repair)
    assert first == again
    assert sample_demand(network, 60, seed) == sample_demand(network, 60, seed)
    assert sum(t.cases for t in first.by_city.values()) == first.cases
