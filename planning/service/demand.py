"""Demand per depot region, and the base-stock targets it calls for.

A depot's region is the set of customer cities closer to it than to any other
depot (great-circle distance). Demand for a part in a region is the number of
replacement and loaner RMAs asking for it from sites in the region over a
window, shrunk toward what the installed base there would be expected to need
(``optimizer.targets.estimate_demand_rate``). The target is the smallest base
stock reaching the fill-rate goal over the replenishment lead time
(``optimizer.targets.base_stock_targets``).

This lives in ``planning`` because it reads several domains, each through its
own queries: the RMA history and the installed base (``rma.service.queries``),
the depots and cities (``depots.service.queries``), the catalogue
(``inventory.service.queries``); and it hands the targets to
``inventory.service.targets.replace_computed``. Every
computation replaces the one before: a part whose demand has gone loses its
computed target; planners' overrides stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, transactional
from core.errors import Invalid
from core.i18n import gettext
from depots.lanes import great_circle_km
from depots.service.queries import city_places, depot_places
from inventory.service.queries import part_numbers
from inventory.service.targets import Computation, ComputedTarget, replace_computed
from optimizer.targets import DEFAULT_FILL_RATE, base_stock_targets, estimate_demand_rate
from rma.kinds import SHIPPING_KINDS
from rma.service.queries import cases_by_part_and_city, installed_by_part_and_city

DEFAULT_WINDOW_DAYS = 180
DEFAULT_LEAD_TIME_DAYS = 14.0
DEFAULT_ANNUAL_FAILURE_RATE = 0.03
# RMAs that take a unit from a depot's shelf: these are the demand the targets cover.
# Demand for stock: the kinds that ship a unit of ours.
DEMAND_KINDS = SHIPPING_KINDS


@dataclass(frozen=True)
class TargetsReport:
    parts: int
    rows: int
    total_target: int
    depots: int
    window_days: int
    lead_time_days: float
    fill_rate: float

    def summary(self) -> str:
        """One line about the computation, in the reader's language (English on the
        terminal and in the API)."""
        return gettext(
            "targets computed for %(parts)s parts x %(depots)s depots (%(rows)s rows), "
            "%(units)s units in all; fill rate %(fill_rate)s, lead time %(lead_time)s days, "
            "demand window %(window)s days",
            parts=self.parts,
            depots=self.depots,
            rows=self.rows,
            units=self.total_target,
            fill_rate=f"{self.fill_rate:.0%}",
            lead_time=f"{self.lead_time_days:g}",
            window=self.window_days,
        )


def region_of_cities(uow: UnitOfWork) -> dict[int, str]:
    """{city id: code of the nearest depot} (the first by code on a tie)."""
    depots = depot_places(uow)
    return {
        city.id: min(depots, key=lambda d: great_circle_km(city.lat, city.lon, d.lat, d.lon)).code
        for city in city_places(uow)
    }


def _regional_counts(
    uow: UnitOfWork, parts: list[str], depots: list[str], since: datetime
) -> tuple[np.ndarray, np.ndarray]:
    """P x D matrices: demand RMAs reported since ``since``, and active installed units,
    each counted at the depot whose region holds the site's city."""
    region = region_of_cities(uow)
    part_index = {p: i for i, p in enumerate(parts)}
    depot_index = {d: i for i, d in enumerate(depots)}
    demand = np.zeros((len(parts), len(depots)))
    installed = np.zeros((len(parts), len(depots)))
    for row in cases_by_part_and_city(uow, since=since, of_kinds=DEMAND_KINDS):
        demand[part_index[row.part_number], depot_index[region[row.city_id]]] += row.count
    for row in installed_by_part_and_city(uow):
        installed[part_index[row.part_number], depot_index[region[row.city_id]]] += row.count
    return demand, installed


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
    """Recompute every part's target at every depot from regional demand and store them.

    The result replaces all earlier computed targets (a pair with no demand left is
    computed 0); planners' overrides are kept. Needs the planner role; ``Invalid``
    for settings outside their ranges (fill rate strictly between 0 and 1, lead time
    in (0, 365] days, window 7 to 3650 days, annual failure rate in [0, 1]).
    """
    actor.require_role(Role.PLANNER)
    if not 0 < fill_rate < 1:
        raise Invalid(gettext("fill rate must be between 0 and 1 (e.g. 0.95)"))
    if not 0 < lead_time_days <= 365:
        raise Invalid(gettext("lead time must be more than 0 and at most 365 days"))
    if not 7 <= window_days <= 3650:
        raise Invalid(gettext("demand window must be 7 to 3650 days"))
    if not 0 <= annual_failure_rate <= 1:
        raise Invalid(gettext("annual failure rate must be between 0 and 1"))
    now = clock.now()
    depots = [depot.code for depot in depot_places(uow)]
    parts = part_numbers(uow)
    demand, installed = _regional_counts(uow, parts, depots, now - timedelta(days=window_days))
    rate = estimate_demand_rate(demand, window_days, installed, annual_failure_rate)
    targets = base_stock_targets(rate, lead_time_days, fill_rate)
    rows = [
        ComputedTarget(depots[d], parts[p], int(targets[p, d]), float(rate[p, d]))
        for p, d in zip(*np.nonzero((targets > 0) | (rate > 0)), strict=True)
    ]
    replace_computed(uow, rows, Computation(now, lead_time_days, fill_rate))
    return TargetsReport(
        parts=len({r.part_number for r in rows}),
        rows=len(rows),
        total_target=int(targets.sum()),
        depots=len(depots),
        window_days=window_days,
        lead_time_days=lead_time_days,
        fill_rate=fill_rate,
    )
