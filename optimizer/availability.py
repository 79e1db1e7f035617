"""Availability across the depot network: the chance a replacement arrives within W hours.

The problem (``ServiceNetwork``)
--------------------------------
A pure description, numpy arrays only (no database), shared by the prediction
here and the discrete-event simulation (``optimizer/simulation.py``):

* ``depots`` (D codes), ``cities`` (C customer cities), ``parts`` (P part numbers);
* ``unit_cost`` (P,) CNY per unit: the inventory value of a unit on the shelf;
* ``demand_per_day`` (P, C): replacement units a day per part and customer city;
* ``c1_share`` (P, C): the share of that demand raised on C-1 cases (which may
  book the emergency courier);
* ``arrival_hours`` (D, C, 24): hours from the approval of a request, approved at
  hour h (0..23, Asia/Shanghai) of the day, to the unit's arrival in the city by
  the depot's standard carrier (the cut-off and next pick-up included); ``inf``
  where the depot has no lane to the city;
* ``arrival_hours_emergency`` (D, C, 24): the same by the emergency courier
  (leaves within the hour, C-1 only); ``inf`` where there is none;
* ``approval_hour_weights`` (24,): the share of approvals in each hour of the day
  (sums to 1);
* ``resupply_days`` (P, D): the replenishment lead time of a unit shipped from a
  depot (rebalancing transfer, repair turnaround divided by the repair yield);
* ``window_hours``: the promise, W (24 by default).

Indices follow the tuples: ``demand_per_day[p, c]`` is part ``parts[p]`` in city
``cities[c]``; ``arrival_hours[d, c, h]`` depot ``depots[d]`` to ``cities[c]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

HOURS_PER_DAY = 24
DEFAULT_WINDOW_HOURS = 24.0


@dataclass(frozen=True)
class ServiceNetwork:
    """Depots, customer cities and parts with their demand, lanes and lead times.

    Shapes: ``unit_cost`` (P,), ``demand_per_day`` and ``c1_share`` (P, C),
    ``arrival_hours`` and ``arrival_hours_emergency`` (D, C, 24) in hours (``inf``
    = no lane / no courier), ``approval_hour_weights`` (24,) summing to 1,
    ``resupply_days`` (P, D) > 0. Checked on construction (``ValueError``).
    """

    depots: tuple[str, ...]
    cities: tuple[str, ...]
    parts: tuple[str, ...]
    unit_cost: NDArray[np.float64]
    demand_per_day: NDArray[np.float64]
    c1_share: NDArray[np.float64]
    arrival_hours: NDArray[np.float64]
    arrival_hours_emergency: NDArray[np.float64]
    approval_hour_weights: NDArray[np.float64]
    resupply_days: NDArray[np.float64]
    window_hours: float = DEFAULT_WINDOW_HOURS

    def __post_init__(self) -> None:
        depots, cities, parts = len(self.depots), len(self.cities), len(self.parts)
        expected = {
            "unit_cost": (parts,),
            "demand_per_day": (parts, cities),
            "c1_share": (parts, cities),
            "arrival_hours": (depots, cities, HOURS_PER_DAY),
            "arrival_hours_emergency": (depots, cities, HOURS_PER_DAY),
            "approval_hour_weights": (HOURS_PER_DAY,),
            "resupply_days": (parts, depots),
        }
        for name, shape in expected.items():
            array = np.asarray(getattr(self, name), dtype=np.float64)
            if array.shape != shape:
                raise ValueError(f"{name} has shape {array.shape}, expected {shape}")
            if np.any(np.isnan(array)) or np.any(array < 0):
                raise ValueError(f"{name} must be numbers >= 0")
            object.__setattr__(self, name, array)
        for name in ("unit_cost", "demand_per_day", "c1_share", "resupply_days"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise ValueError(f"{name} must be finite")
        if np.any(self.c1_share > 1):
            raise ValueError("c1_share must be at most 1")
        if np.any(self.resupply_days <= 0):
            raise ValueError("resupply_days must be more than 0")
        if not np.isclose(self.approval_hour_weights.sum(), 1.0):
            raise ValueError("approval_hour_weights must sum to 1")
        if not (self.window_hours > 0 and np.isfinite(self.window_hours)):
            raise ValueError("window_hours must be a positive number")

    @property
    def shape(self) -> tuple[int, int, int]:
        """(P parts, D depots, C cities)."""
        return len(self.parts), len(self.depots), len(self.cities)
