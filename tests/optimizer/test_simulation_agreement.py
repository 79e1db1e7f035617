"""Predicted and simulated service agree: on a generated network of the demo's size
(300 parts, 8 depots, 24 cities) with the optimiser's targets for 95%, two years of
sampled demand (about 11,000 requests) land within 3 percentage points of
``optimizer.availability.predict``, overall and for each fault level."""

from __future__ import annotations

import pytest

from bench.availability_network import generated_network
from optimizer.availability import Optimiser, predict
from optimizer.simulation import C1, OTHER, simulate

AGREEMENT_POINTS = 3.0


@pytest.mark.parametrize("seed", [1, 2])
def test_simulated_service_is_within_3_points_of_the_prediction(seed):
    network = generated_network(seed, 300)
    stock = Optimiser(network).for_goal(0.95).plan.base_stock
    predicted = predict(network, stock)
    simulated = simulate(network, stock, days=730, seed=seed)
    assert simulated.cases > 10_000
    assert simulated.within_window is not None
    gap = 100 * (simulated.within_window - predicted.within_window)
    assert abs(gap) <= AGREEMENT_POINTS, f"simulated - predicted = {gap:+.2f} points"
    for level in (C1, OTHER):
        share = simulated.by_fault_level[level].share
        assert share is not None
        level_gap = 100 * (share - predicted.by_fault_level[level])
        assert abs(level_gap) <= AGREEMENT_POINTS, f"{level}: {level_gap:+.2f} points"
