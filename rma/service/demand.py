"""Demand per depot region, and the base-stock targets it calls for.

A depot's region is the set of customer cities closer to it than to any other
depot (great-circle distance). Demand for a part in a region is the number of
replacement and loaner RMAs asking for it from sites in the region over a
window, shrunk toward what the installed base there would be expected to need
(``optimizer.targets.estimate_demand_rate``). The
target is the smallest base stock reaching the fill-rate goal over the
replenishment lead time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from sqlalchemy import func, select

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, transactional
from core.errors import Invalid
from depots.lanes import great_circle_km
from depots.models import City, Depot
from inventory.models import Part
from inventory.service.targets import ComputedTarget, store_computed
from optimizer.targets import DEFAULT_FILL_RATE, base_stock_targets, estimate_demand_rate
from rma.models import InstalledUnit, Kind, Rma, Site

DEFAULT_WINDOW_DAYS = 180
DEFAULT_LEAD_TIME_DAYS = 14.0
DEFAULT_ANNUAL_FAILURE_RATE = 0.03


@dataclass(frozen=True)
class TargetsReport:
    parts: int
    rows: int
    total_target: int
    window_days: int
    lead_time_days: float
    fill_rate: float

    def summary(self) -> str:
        return (
            f"targets computed for {self.parts} parts x 8 depots ({self.rows} rows), "
            f"{self.total_target} units in all; fill rate {self.fill_rate:.0%}, lead time "
            f"{self.lead_time_days:g} days, demand window {self.window_days} days"
        )


def region_of_cities(uow: UnitOfWork) -> dict[int, str]:
    """{city id: code of the nearest depot}."""
    depots = list(uow.session.scalars(select(Depot).order_by(Depot.code)))
    return {
        city.id: min(depots, key=lambda d: great_circle_km(city.lat, city.lon, d.lat, d.lon)).code
        for city in uow.session.scalars(select(City))
        if city.id is not None
    }


@transactional
def compute_targets(
    uow: UnitOfWork,
    actor: Actor,
    *,
    fill_rate: float = DEFAULT_FILL_RATE,
    lead_time_days: float = DEFAULT_LEAD_TIME_DAYS,
    window_days: int = DEFAULT_WINDOW_DAYS,
    annual_failure_rate: float = DEFAULT_ANNUAL_FAILURE_RATE,
) -> TargetsReport:
    """Recompute every part's target at every depot and store them (overrides kept)."""
    actor.require_role(Role.PLANNER)
    if not 0 < fill_rate < 1:
        raise Invalid("fill rate must be between 0 and 1 (e.g. 0.95)")
    if not 0 < lead_time_days <= 365:
        raise Invalid("lead time must be more than 0 and at most 365 days")
    if not 7 <= window_days <= 3650:
        raise Invalid("demand window must be 7 to 3650 days")
    if not 0 <= annual_failure_rate <= 1:
        raise Invalid("annual failure rate must be between 0 and 1")
    now = clock.now()
    region = region_of_cities(uow)
    depots = sorted(set(region.values()) | set(uow.session.scalars(select(Depot.code))))
    parts = list(uow.session.scalars(select(Part.part_number).order_by(Part.part_number)))
    part_index = {p: i for i, p in enumerate(parts)}
    depot_index = {d: i for i, d in enumerate(depots)}
    demand = np.zeros((len(parts), len(depots)))
    installed = np.zeros((len(parts), len(depots)))
    since = now - timedelta(days=window_days)
    for part, city_id, count in uow.session.execute(
        select(Rma.part_number, Site.city_id, func.count())
        .join(Site, Site.id == Rma.site_id)
        .where(Rma.reported_at >= since, Rma.kind.in_([Kind.ADVANCE_REPLACEMENT, Kind.LOANER]))
        .group_by(Rma.part_number, Site.city_id)
    ):
        demand[part_index[part], depot_index[region[city_id]]] += count
    for part, city_id, count in uow.session.execute(
        select(InstalledUnit.part_number, Site.city_id, func.count())
        .join(Site, Site.id == InstalledUnit.site_id)
        .where(InstalledUnit.active)
        .group_by(InstalledUnit.part_number, Site.city_id)
    ):
        installed[part_index[part], depot_index[region[city_id]]] += count
    rate = estimate_demand_rate(demand, window_days, installed, annual_failure_rate)
    targets = base_stock_targets(rate, lead_time_days, fill_rate)
    rows = [
        ComputedTarget(
            depots[d], parts[p], int(targets[p, d]), float(rate[p, d]), lead_time_days, fill_rate
        )
        for p, d in zip(*np.nonzero((targets > 0) | (rate > 0)), strict=True)
    ]
    store_computed(uow, rows, now)
    return TargetsReport(
        len({r.part_number for r in rows}),
        len(rows),
        int(targets.sum()),
        window_days,
        lead_time_days,
        fill_rate,
    )
