"""A generated ``ServiceNetwork`` for the availability tests and benchmarks.

Depots and cities are scattered over a 3,000 km square; each depot sits in a city
of its own. Standard service leaves at the approval hour before the 18:00 cut-off
and at 09:00 the next day after it; the emergency courier leaves within the hour.
Transit is 4 hours in the same city, else 6 hours plus one hour per 90 km. Demand
is sparse and skewed (most parts see a replacement a month or less), costs spread
from a few hundred to tens of thousands of CNY.
"""

from __future__ import annotations

import numpy as np

from optimizer.availability import HOURS_PER_DAY, ServiceNetwork

CUT_OFF_HOUR = 18
PICK_UP_HOUR = 9
SPAN_KM = 3000.0


def approval_hour_weights() -> np.ndarray:
    """Most approvals in working hours, a few in the evening and at night."""
    weights = np.full(HOURS_PER_DAY, 0.2)
    weights[9:18] = 3.0
    weights[18:22] = 1.0
    return weights / weights.sum()


def standard_wait_hours() -> np.ndarray:
    """(24,) hours from approval at hour h to the standard pick-up."""
    hours = np.arange(HOURS_PER_DAY, dtype=float)
    return np.where(
        hours < CUT_OFF_HOUR,
        np.maximum(0.0, PICK_UP_HOUR - hours),
        HOURS_PER_DAY - hours + PICK_UP_HOUR,
    )


def generated_network(
    seed: int,
    parts: int,
    depots: int = 8,
    cities: int = 24,
    *,
    demand_scale: float = 1.0,
    window_hours: float = 24.0,
) -> ServiceNetwork:
    """A random network (the same for the same arguments)."""
    rng = np.random.default_rng(seed)
    cities = max(cities, depots)
    place = rng.uniform(0.0, SPAN_KM, size=(cities, 2))
    depot_city = np.arange(depots)  # depot d sits in city d
    km = np.linalg.norm(place[depot_city][:, None, :] - place[None, :, :], axis=2)
    transit = np.where(km < 50.0, 4.0, 6.0 + km / 90.0)
    standard = standard_wait_hours()[None, None, :] + transit[:, :, None]
    emergency = 1.0 + transit[:, :, None] + np.zeros((1, 1, HOURS_PER_DAY))
    # Far lanes do not exist: no courier beyond 2,500 km.
    far = km > 2500.0
    standard[far] = np.inf
    emergency[far] = np.inf
    size = rng.pareto(1.5, size=cities) + 1.0
    size /= size.sum()
    per_part = rng.lognormal(mean=-3.5, sigma=1.2, size=parts) * demand_scale
    spread = rng.dirichlet(np.full(cities, 2.0), size=parts) * 0.5 + size[None, :] * 0.5
    demand = per_part[:, None] * spread
    c1_share = np.clip(rng.beta(2.0, 8.0, size=(parts, 1)) + np.zeros((1, cities)), 0.0, 1.0)
    unit_cost = np.round(rng.lognormal(mean=7.5, sigma=1.0, size=parts), 2)
    resupply = rng.uniform(5.0, 20.0, size=(parts, 1)) * rng.uniform(0.8, 1.2, size=(1, depots))
    return ServiceNetwork(
        depots=tuple(f"D{d}" for d in range(depots)),
        cities=tuple(f"C{c}" for c in range(cities)),
        parts=tuple(f"P{p:06d}" for p in range(parts)),
        unit_cost=unit_cost,
        demand_per_day=demand,
        c1_share=c1_share,
        arrival_hours=standard,
        arrival_hours_emergency=emergency,
        approval_hour_weights=approval_hour_weights(),
        resupply_days=resupply,
        window_hours=window_hours,
    )


def small_instance(seed: int) -> tuple[ServiceNetwork, float, int]:
    """An exactness-check instance: 2-3 depots, 2-4 cities, 1-3 parts, a goal between
    60% and 98% of the most service possible, and the enumeration box (units per
    depot and part) that holds the optimum on the fixed seeds."""
    from optimizer.availability import Optimiser

    rng = np.random.default_rng(seed)
    depots, cities, parts = (
        int(rng.integers(2, 4)),
        int(rng.integers(2, 5)),
        int(rng.integers(1, 4)),
    )
    network = generated_network(seed, parts, depots, cities)
    goal = float(Optimiser(network).ceiling() * rng.uniform(0.6, 0.98))
    return network, goal, 6 if depots == 3 else 10
