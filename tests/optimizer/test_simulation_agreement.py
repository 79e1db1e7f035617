"""Predicted and simulated service agree: on a generated network of the demo's size
(300 parts, 8 depots, 24 cities) with the optimiser's targets for 95%, two years of
sampled demand (about 11,000 requests) land within 3 percentage points of
``optimizer.availability.predict``, overall and for each fault level."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bench.availability_network import generated_network
from optimizer.availability import Optimiser, predict
from optimizer.simulation import C1, OTHER, RepairLoop, simulate

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


def test_the_repair_loops_lead_times_agree_with_the_simulated_loop():
    # The network's lead times are the repair loop's means (as
    # planning.service.availability sets them from the receipts); the simulation
    # replays the loop itself: returns within 15 days, repair or scrap, transfers.
    base = generated_network(3, 300)
    parts, depots, _ = base.shape
    rng = np.random.default_rng(3)
    yield_share = rng.uniform(0.6, 1.0, parts)
    loop = RepairLoop(
        yield_share=yield_share,
        no_fault_found_share=yield_share * rng.uniform(0.0, 0.3, parts),
        turnaround_days=rng.uniform(3.0, 15.0, parts),
        transfer_days=np.broadcast_to(rng.uniform(1.0, 3.0, depots), (parts, depots)).copy(),
    )
    network = replace(base, resupply_days=loop.mean_resupply_days(base))
    stock = Optimiser(network).for_goal(0.95).plan.base_stock
    predicted = predict(network, stock)
    simulated = simulate(network, stock, days=730, seed=3, repair=loop)
    assert simulated.within_window is not None
    gap = 100 * (simulated.within_window - predicted.within_window)
    assert abs(gap) <= AGREEMENT_POINTS, f"simulated - predicted = {gap:+.2f} points"


def test_thin_stock_everywhere_agrees_too():
    # One unit of every part at every depot: the depots run empty together. With
    # independent shelves the prediction was 88.3% against 81.0% simulated (-7.3
    # points); with the pooling mix (optimizer.availability.POOLING) -0.1.
    network = generated_network(1, 300)
    stock = np.ones((len(network.parts), len(network.depots)), dtype=np.int64)
    predicted = predict(network, stock)
    simulated = simulate(network, stock, days=730, seed=1)
    assert simulated.within_window is not None
    gap = 100 * (simulated.within_window - predicted.within_window)
    assert abs(gap) <= AGREEMENT_POINTS, f"simulated - predicted = {gap:+.2f} points"
