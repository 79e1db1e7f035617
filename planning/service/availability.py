"""Availability-based targets: the network read from the database, optimised, applied.

``service_network`` builds the pure ``optimizer.availability.ServiceNetwork`` from
the system's own data and rules:

* lanes and pick-up windows from the depot network in memory
  (``depots.service.snapshot``), quoted hour by hour with the one transit rule
  (``rma.service.promises.transit_options``, i.e. ``depots.lanes.quote``): an
  approval at each hour of a day (Asia/Shanghai) gives the standard arrival and,
  for C-1, the emergency courier's;
* demand per part and customer city from the RMA history of the shipping kinds over
  ``window_days`` shrunk toward the installed base
  (``optimizer.targets.estimate_demand_rate``, as the regional targets do);
* the share of C-1 among each part's cases (shrunk toward the share of all cases),
  the approval hours of the cases (each hour starts with a quarter of a case, so
  an hour never seen is not impossible);
* the replenishment lead time of the latest target computation (or 14 days);
* unit costs from the catalogue.

``optimize`` proposes targets for a goal (with the independent per-depot base stock
at the same goal and today's targets, all predicted by the same model),
``exchange_curve`` gives inventory value against predicted service, and ``apply``
saves chosen targets as the computed targets (planners' overrides are kept).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, read_only, transactional
from core.errors import Invalid
from core.i18n import gettext
from depots.lanes import SHANGHAI
from depots.service.snapshot import network as depot_network
from inventory.service.queries import part_costs
from inventory.service.targets import (
    MAX_TARGET,
    Computation,
    ComputedTarget,
    effective_targets,
    latest_computation,
    replace_computed,
)
from optimizer.availability import (
    DEFAULT_C1_WEIGHT,
    DEFAULT_GOAL,
    DEFAULT_WINDOW_HOURS,
    HOURS_PER_DAY,
    Optimiser,
    Plan,
    ServiceNetwork,
    first_choice_demand,
)
from optimizer.targets import estimate_demand_rate
from planning.service.demand import (
    DEFAULT_ANNUAL_FAILURE_RATE,
    DEFAULT_LEAD_TIME_DAYS,
    DEFAULT_WINDOW_DAYS,
    DEMAND_KINDS,
)
from rma.service.promises import transit_options
from rma.service.queries import (
    approval_instants,
    cases_by_part_and_city,
    cases_by_part_and_level,
    installed_by_part_and_city,
)

# Pick-ups run every day of the week, so any day quotes the same hours; a Wednesday
# far from the public holidays.
QUOTE_DAY = date(2026, 6, 10)
# A part's own C-1 share counts as this many cases of the share over all parts.
C1_PRIOR_CASES = 10.0
# Each hour of the day starts with this many approvals, so an hour never seen in a
# short history is unlikely rather than impossible.
HOUR_PRIOR_APPROVALS = 0.25
MIN_WINDOW_HOURS = 1.0
MAX_WINDOW_HOURS = 240.0
CURVE_POINTS = 25


def _check_window(window_hours: float) -> float:
    if not (
        isinstance(window_hours, int | float)
        and math.isfinite(window_hours)
        and MIN_WINDOW_HOURS <= window_hours <= MAX_WINDOW_HOURS
    ):
        raise Invalid(
            gettext(
                "window_hours must be a number from %(least)s to %(most)s",
                least=f"{MIN_WINDOW_HOURS:g}",
                most=f"{MAX_WINDOW_HOURS:g}",
            )
        )
    return float(window_hours)


def _check_goal(goal: float) -> float:
    if not (isinstance(goal, int | float) and math.isfinite(goal) and 0 < goal < 1):
        raise Invalid(gettext("goal must be a share between 0 and 1 (e.g. 0.95)"))
    return float(goal)


def _check_c1_weight(weight: float) -> float:
    if not (isinstance(weight, int | float) and math.isfinite(weight) and 0 < weight <= 100):
        raise Invalid(gettext("c1_weight must be a number above 0 and at most 100"))
    return float(weight)


def _arrival_hours(uow: UnitOfWork, depots: list[str], city_ids: list[int]) -> tuple[Any, Any]:
    """(D, C, 24) standard and emergency hours from approval to arrival (inf: no lane)."""
    net = depot_network(uow)
    standard = np.full((len(depots), len(city_ids), HOURS_PER_DAY), np.inf)
    emergency = np.full_like(standard, np.inf)
    depot_index = {code: d for d, code in enumerate(depots)}
    approvals = [
        datetime.combine(QUOTE_DAY, time(hour), tzinfo=SHANGHAI) for hour in range(HOURS_PER_DAY)
    ]
    for c, city_id in enumerate(city_ids):
        for code, lane in net.lanes_to_city.get(city_id, {}).items():
            if code not in depot_index:
                continue
            terms = net.terms_by_lane[lane.id]
            window = net.window(code)
            d = depot_index[code]
            for hour, approved in enumerate(approvals):
                by_standard, by_courier = transit_options(terms, window, approved, "C-1")
                standard[d, c, hour] = (by_standard.arrives_at - approved).total_seconds() / 3600
                if by_courier is not None:
                    emergency[d, c, hour] = (
                        by_courier.arrives_at - approved
                    ).total_seconds() / 3600
    return standard, emergency


def _c1_share(uow: UnitOfWork, parts: list[str], since: datetime) -> NDArray[np.float64]:
    """(P,) each part's share of C-1 among its demand cases, shrunk toward all parts'."""
    index = {p: i for i, p in enumerate(parts)}
    c1 = np.zeros(len(parts))
    total = np.zeros(len(parts))
    for row in cases_by_part_and_level(uow, since=since, of_kinds=DEMAND_KINDS):
        if row.part_number in index:
            total[index[row.part_number]] += row.count
            if row.fault_level == "C-1":
                c1[index[row.part_number]] += row.count
    overall = c1.sum() / total.sum() if total.sum() > 0 else 0.0
    return (c1 + C1_PRIOR_CASES * overall) / (total + C1_PRIOR_CASES)


def _approval_hour_weights(uow: UnitOfWork, since: datetime) -> NDArray[np.float64]:
    """(24,) share of approvals per local hour (plus ``HOUR_PRIOR_APPROVALS`` each)."""
    counts = np.full(HOURS_PER_DAY, HOUR_PRIOR_APPROVALS)
    for instant in approval_instants(uow, since=since, of_kinds=DEMAND_KINDS):
        counts[instant.astimezone(SHANGHAI).hour] += 1
    return counts / counts.sum()


def _latest_lead_time(uow: UnitOfWork) -> float:
    """The lead time of the latest target computation, or the default."""
    latest = latest_computation(uow)
    if latest is None or latest.lead_time_days <= 0:
        return DEFAULT_LEAD_TIME_DAYS
    return latest.lead_time_days


@read_only
def service_network(
    uow: UnitOfWork,
    window_hours: float = DEFAULT_WINDOW_HOURS,
    *,
    window_days: int = DEFAULT_WINDOW_DAYS,
    lead_time_days: float | None = None,
    annual_failure_rate: float = DEFAULT_ANNUAL_FAILURE_RATE,
) -> ServiceNetwork:
    """The depots, customer cities and catalogue parts as a ``ServiceNetwork``."""
    window_hours = _check_window(window_hours)
    net = depot_network(uow)
    depots = [depot.code for depot in net.depots]
    cities = sorted(net.city_by_id.values(), key=lambda city: city.id)
    city_ids = [city.id for city in cities]
    names = [city.name for city in cities]
    labels = [
        name if names.count(name) == 1 else f"{name} ({city.province})"
        for name, city in zip(names, cities, strict=True)
    ]
    catalogue = part_costs(uow)
    parts = [row.part_number for row in catalogue]
    part_index = {p: i for i, p in enumerate(parts)}
    city_index = {city_id: c for c, city_id in enumerate(city_ids)}
    since = clock.now() - timedelta(days=window_days)
    counts = np.zeros((len(parts), len(cities)))
    installed = np.zeros_like(counts)
    for row in cases_by_part_and_city(uow, since=since, of_kinds=DEMAND_KINDS):
        if row.part_number in part_index and row.city_id in city_index:
            counts[part_index[row.part_number], city_index[row.city_id]] += row.count
    for row in installed_by_part_and_city(uow):
        if row.part_number in part_index and row.city_id in city_index:
            installed[part_index[row.part_number], city_index[row.city_id]] += row.count
    demand = estimate_demand_rate(counts, window_days, installed, annual_failure_rate)
    standard, emergency = _arrival_hours(uow, depots, city_ids)
    lead = lead_time_days if lead_time_days is not None else _latest_lead_time(uow)
    return ServiceNetwork(
        depots=tuple(depots),
        cities=tuple(labels),
        parts=tuple(parts),
        unit_cost=np.array([float(row.unit_cost) for row in catalogue]),
        demand_per_day=demand,
        c1_share=np.repeat(_c1_share(uow, parts, since)[:, None], len(cities), axis=1),
        arrival_hours=standard,
        arrival_hours_emergency=emergency,
        approval_hour_weights=_approval_hour_weights(uow, since),
        resupply_days=np.full((len(parts), len(depots)), float(lead)),
        window_hours=window_hours,
    )


def current_stock(uow: UnitOfWork, network: ServiceNetwork) -> NDArray[np.int64]:
    """(P, D) today's effective targets (overrides included) in the network's order."""
    stock = np.zeros((len(network.parts), len(network.depots)), dtype=np.int64)
    part_index = {p: i for i, p in enumerate(network.parts)}
    depot_index = {d: i for i, d in enumerate(network.depots)}
    for (depot, part), target in effective_targets(uow).items():
        if depot in depot_index and part in part_index:
            stock[part_index[part], depot_index[depot]] = target
    return stock


def _share(value: float) -> float | None:
    """A share rounded for answers; None where there is no demand to share."""
    return None if math.isnan(value) else round(value, 6)


def _figures(plan: Plan) -> dict[str, Any]:
    prediction = plan.prediction
    return {
        "within_window": _share(prediction.within_window),
        "inventory_value": round(prediction.inventory_value, 2),
        "units": int(plan.base_stock.sum()),
        "by_fault_level": {k: _share(v) for k, v in prediction.by_fault_level.items()},
    }


def _by_depot(network: ServiceNetwork, plans: Mapping[str, Plan]) -> list[dict[str, Any]]:
    """Units and inventory value per depot of each plan (``<plan>_units``/``_value``)."""
    rows = []
    for d, depot in enumerate(network.depots):
        row: dict[str, Any] = {"depot": depot}
        for name, plan in plans.items():
            row[f"{name}_units"] = int(plan.base_stock[:, d].sum())
            row[f"{name}_value"] = round(float(plan.base_stock[:, d] @ network.unit_cost), 2)
        rows.append(row)
    return rows


@dataclass(frozen=True)
class Proposal:
    """What ``optimize`` answers: ``as_dict()`` is the API's body."""

    goal: float
    window_hours: float
    network: ServiceNetwork
    optimized: Plan
    baseline: Plan
    current: Plan

    @property
    def reason(self) -> str | None:
        return self.optimized.reason

    def targets(self) -> list[dict[str, Any]]:
        """Every (depot, part) with a proposed or current target, by part then depot."""
        rows = []
        proposed, today = self.optimized.base_stock, self.current.base_stock
        for p, d in zip(*np.nonzero((proposed > 0) | (today > 0)), strict=True):
            rows.append(
                {
                    "depot": self.network.depots[d],
                    "part_number": self.network.parts[p],
                    "target": int(proposed[p, d]),
                    "current": int(today[p, d]),
                    "baseline": int(self.baseline.base_stock[p, d]),
                }
            )
        return rows

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "goal": self.goal,
            "window_hours": self.window_hours,
            "targets": self.targets(),
            "predicted": _figures(self.optimized),
            "baseline": _figures(self.baseline),
            "current": _figures(self.current),
            "by_depot": _by_depot(
                self.network,
                {"optimized": self.optimized, "baseline": self.baseline, "current": self.current},
            ),
        }
        if self.reason:
            body["reason"] = self.reason
        return body


@read_only
def optimize(
    uow: UnitOfWork,
    goal: float = DEFAULT_GOAL,
    window_hours: float = DEFAULT_WINDOW_HOURS,
    *,
    c1_weight: float = DEFAULT_C1_WEIGHT,
) -> Proposal:
    """Targets reaching ``goal`` of replacements within ``window_hours`` at the least
    inventory value, not saved; with the baseline (independent per-depot base stock
    at the same goal) and today's targets predicted by the same model. ``reason``
    says why when the goal cannot be reached (the plan then gives the most service
    the network can). ``Invalid`` for a goal outside (0, 1) or a window outside
    1 to 240 hours, or a ``c1_weight`` (a C-1 replacement counts that many times
    toward the goal) outside (0, 100]."""
    goal = _check_goal(goal)
    c1_weight = _check_c1_weight(c1_weight)
    network = service_network(uow, window_hours)
    optimiser = Optimiser(network, c1_weight)
    proposal = optimiser.for_goal(goal)
    return Proposal(
        goal=goal,
        window_hours=network.window_hours,
        network=network,
        optimized=proposal.plan,
        baseline=proposal.baseline,
        current=optimiser.plan(current_stock(uow, network), goal),
    )


@read_only
def exchange_curve(
    uow: UnitOfWork,
    window_hours: float = DEFAULT_WINDOW_HOURS,
    *,
    points: int = CURVE_POINTS,
    c1_weight: float = DEFAULT_C1_WEIGHT,
) -> list[dict[str, float]]:
    """Inventory value (CNY) against the predicted share within the window, one point
    per equal budget step from nothing to the most service the network can give."""
    if not 2 <= points <= 1000:
        raise Invalid(gettext("points must be 2 to 1000"))
    optimiser = Optimiser(service_network(uow, window_hours), _check_c1_weight(c1_weight))
    return [
        {
            "inventory_value": round(point.inventory_value, 2),
            "within_window": round(point.within_window, 6),
        }
        for point in optimiser.exchange_curve(points)
    ]


@dataclass(frozen=True)
class Applied:
    rows: int
    units: int


def _target_rows(
    targets: Iterable[Mapping[str, Any]], depots: set[str], parts: set[str]
) -> dict[tuple[str, str], int]:
    chosen: dict[tuple[str, str], int] = {}
    for row in targets:
        depot = str(row.get("depot", "")).strip().upper()
        part = str(row.get("part_number", "")).strip().upper()
        value = row.get("target")
        if depot not in depots:
            raise Invalid(gettext("unknown depot %(depot)s", depot=depot or "-"))
        if part not in parts:
            raise Invalid(gettext("unknown part %(part)s", part=part or "-"))
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TARGET:
            raise Invalid(
                gettext("target must be a whole number from 0 to %(most)s", most=MAX_TARGET)
            )
        chosen[(depot, part)] = value
    return chosen


@transactional
def apply(
    uow: UnitOfWork,
    actor: Actor,
    targets: Iterable[Mapping[str, Any]],
    *,
    goal: float = DEFAULT_GOAL,
    window_hours: float = DEFAULT_WINDOW_HOURS,
) -> Applied:
    """Save ``targets`` ([{"depot", "part_number", "target"}, ...], e.g. a proposal's)
    as the computed targets: they replace the last computation (a pair not listed
    is computed 0), planners' overrides stay and still win. The demand a day stored
    with each is the demand the depot is the first choice for. Planners only;
    ``Invalid`` for an unknown depot or part or a target that is not a whole number
    from 0 to 100,000 (then nothing is saved)."""
    actor.require_role(Role.PLANNER)
    goal = _check_goal(goal)
    network = service_network(uow, window_hours)
    chosen = _target_rows(targets, set(network.depots), set(network.parts))
    first = first_choice_demand(network)
    part_index = {p: i for i, p in enumerate(network.parts)}
    depot_index = {d: i for i, d in enumerate(network.depots)}
    rows = [
        ComputedTarget(
            depot,
            part,
            target,
            float(first[part_index[part], depot_index[depot]]),
        )
        for (depot, part), target in sorted(chosen.items())
        if target > 0
    ]
    lead = float(network.resupply_days.mean()) if network.resupply_days.size else 0.0
    written = replace_computed(uow, rows, Computation(clock.now(), lead, goal))
    return Applied(rows=written, units=sum(row.target for row in rows))
