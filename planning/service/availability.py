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
* the replenishment lead time per part and depot: through the repair loop where
  the part (or its family) has repair outcomes on record (turnaround, yield; a
  scrapped unit replaced by a rebalancing transfer over the lane into the depot),
  else the lead time of the latest target computation (or 14 days)
  (``_repair_resupply_days`` gives the formula);
* the share of each (part, city)'s demand under each contract coverage class
  (``rma.models.COVERAGES``): its cases by the coverage they were opened under,
  shrunk toward its installed units' contract coverage (``CLASS_PRIOR_CASES``);
* unit costs from the catalogue.

``optimize`` proposes targets for a goal, or for a goal per coverage class
(``goals_by_class``), with the independent per-depot base stock at the same goal(s)
and today's targets, all predicted by the same model;
``exchange_curve`` gives inventory value against predicted service, and ``apply``
saves chosen targets as the computed targets (planners' overrides are kept).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
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
from inventory.service.repair_yield import yields_for_parts
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
    class_goal_plan,
    first_choice_demand,
    for_class_goals,
)
from optimizer.simulation import RepairLoop
from optimizer.targets import estimate_demand_rate
from planning.service.demand import (
    DEFAULT_ANNUAL_FAILURE_RATE,
    DEFAULT_LEAD_TIME_DAYS,
    DEFAULT_WINDOW_DAYS,
    DEMAND_KINDS,
)
from rma.models import COVERAGES
from rma.service.promises import transit_options
from rma.service.queries import (
    approval_instants,
    cases_by_part_and_city,
    cases_by_part_and_level,
    cases_by_part_city_and_coverage,
    installed_by_part_and_city,
    installed_by_part_city_and_coverage,
)

# Pick-ups run every day of the week, so any day quotes the same hours; a Wednesday
# far from the public holidays.
QUOTE_DAY = date(2026, 6, 10)
# A part's own C-1 share counts as this many cases of the share over all parts.
C1_PRIOR_CASES = 10.0
# A (part, city)'s own cases by coverage count against this many cases of its
# installed base's coverage mix (or, without an installed base, all cases' mix).
CLASS_PRIOR_CASES = 5.0
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


def _check_goals_by_class(
    goals: Mapping[str, float] | None, goal: float
) -> dict[str, float] | None:
    """Every coverage class's goal: the ones given, ``goal`` for the others."""
    if goals is None:
        return None
    if not isinstance(goals, Mapping) or not goals:
        raise Invalid(
            gettext(
                "goals_by_class must map contract classes (%(classes)s) to goals",
                classes=", ".join(COVERAGES),
            )
        )
    for name in goals:
        if name not in COVERAGES:
            raise Invalid(
                gettext(
                    "unknown contract class %(name)s (one of %(classes)s)",
                    name=str(name),
                    classes=", ".join(COVERAGES),
                )
            )
    return {name: _check_goal(goals.get(name, goal)) for name in COVERAGES}


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


def _class_share(
    uow: UnitOfWork,
    part_index: Mapping[str, int],
    city_index: Mapping[int, int],
    since: datetime,
) -> NDArray[np.float64]:
    """(P, C, K) the share of demand under each coverage class (``COVERAGES``): the
    (part, city)'s cases by the coverage they were opened under, shrunk toward its
    installed units' contract coverage, else toward all cases' mix."""
    shape = (len(part_index), len(city_index), len(COVERAGES))
    cases, installed = np.zeros(shape), np.zeros(shape)
    kinds = {name: k for k, name in enumerate(COVERAGES)}
    for counts, rows in (
        (cases, cases_by_part_city_and_coverage(uow, since=since, of_kinds=DEMAND_KINDS)),
        (installed, installed_by_part_city_and_coverage(uow)),
    ):
        for row in rows:
            if (
                row.part_number in part_index
                and row.city_id in city_index
                and row.coverage in kinds
            ):
                counts[
                    part_index[row.part_number], city_index[row.city_id], kinds[row.coverage]
                ] += row.count
    overall = cases.sum(axis=(0, 1)) if cases.sum() > 0 else installed.sum(axis=(0, 1))
    overall = overall / overall.sum() if overall.sum() > 0 else np.eye(len(COVERAGES))[0]
    base = installed.sum(axis=2, keepdims=True)
    prior = np.where(base > 0, installed / np.where(base > 0, base, 1.0), overall)
    return (cases + CLASS_PRIOR_CASES * prior) / (
        cases.sum(axis=2, keepdims=True) + CLASS_PRIOR_CASES
    )


def _approval_hour_weights(uow: UnitOfWork, since: datetime) -> NDArray[np.float64]:
    """(24,) share of approvals per local hour (plus ``HOUR_PRIOR_APPROVALS`` each)."""
    counts = np.full(HOURS_PER_DAY, HOUR_PRIOR_APPROVALS)
    for instant in approval_instants(uow, since=since, of_kinds=DEMAND_KINDS):
        counts[instant.astimezone(SHANGHAI).hour] += 1
    return counts / counts.sum()


def _depot_cities(uow: UnitOfWork, depots: Iterable[str], city_ids: list[int]) -> list[int]:
    """The index (in ``city_ids``) of the city each depot sits in (-1: none)."""
    net = depot_network(uow)
    at = {
        info.depot: c
        for c, city_id in enumerate(city_ids)
        if (info := net.city_by_id.get(city_id)) and info.depot
    }
    return [at.get(code, -1) for code in depots]


def depot_transfer_days(
    arrival_hours: NDArray[np.float64],
    approval_hour_weights: NDArray[np.float64],
    depot_city: list[int],
    purchase_days: float,
) -> NDArray[np.float64]:
    """(D,) days a rebalancing transfer takes to reach each depot: the standard lane
    from the nearest other depot into the depot's city, averaged over the approval
    hours (the cut-off and pick-up included); ``purchase_days`` where no other depot
    has a lane there (the unit is bought)."""
    depots = arrival_hours.shape[0]
    days = np.full(depots, float(purchase_days))
    for d, city in enumerate(depot_city):
        if city < 0:
            continue
        hours = arrival_hours[:, city, :] @ approval_hour_weights
        hours[d] = np.inf
        if np.isfinite(hours).any():
            days[d] = float(hours.min()) / HOURS_PER_DAY
    return days


@read_only
def transfer_days(uow: UnitOfWork, network: ServiceNetwork) -> NDArray[np.float64]:
    """(P, D) the rebalancing-transfer days into each depot (``depot_transfer_days``)
    for a network built by ``service_network`` (cities in id order), the same for
    every part."""
    city_ids = sorted(depot_network(uow).city_by_id)
    days = depot_transfer_days(
        network.arrival_hours,
        network.approval_hour_weights,
        _depot_cities(uow, network.depots, city_ids),
        _latest_lead_time(uow),
    )
    return np.broadcast_to(days, network.resupply_days.shape).copy()


def _repair_resupply_days(
    uow: UnitOfWork, network: ServiceNetwork, since: datetime, lead: float
) -> NDArray[np.float64]:
    """(P, D) each part's replenishment lead time at each depot.

    A part (or its family) with repair outcomes recorded on receipt since ``since``:
    the repair loop's mean (``optimizer.simulation.RepairLoop.mean_resupply_days``,
    the simulation's own formula),

        resupply = 0.5 (delivery) + 15 / 2 (the defective comes back within the
                   15-day rule) + yield x turnaround + (1 - yield) x transfer,

    where yield is the share repaired or found without fault, turnaround the mean
    days from receipt to good stock, and transfer the rebalancing lane into the
    depot (``depot_transfer_days``) replacing a scrapped unit. Without any repair
    record: ``lead``, the planner's lead time of the latest target computation.
    """
    found = yields_for_parts(uow, network.parts, since)
    parts = len(network.parts)
    if not found or parts == 0:
        return np.full(network.resupply_days.shape, float(lead))
    known = np.array([part in found for part in network.parts])
    rows = [found.get(part) for part in network.parts]
    yield_share = np.array(
        [r.yield_share if r and r.yield_share is not None else 1.0 for r in rows]
    )
    loop = RepairLoop(
        yield_share=yield_share,
        no_fault_found_share=np.minimum(
            [r.no_fault_found_share or 0.0 if r else 0.0 for r in rows], yield_share
        ),
        turnaround_days=np.array(
            [r.turnaround_days if r and r.turnaround_days is not None else lead for r in rows]
        ),
        transfer_days=transfer_days(uow, network),
    )
    return np.where(known[:, None], loop.mean_resupply_days(network), float(lead))


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
    network = ServiceNetwork(
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
        classes=COVERAGES,
        class_share=_class_share(uow, part_index, city_index, since),
    )
    if lead_time_days is not None:
        return network
    return replace(network, resupply_days=_repair_resupply_days(uow, network, since, lead))


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
        "by_class": {k: _share(v) for k, v in prediction.by_class.items()},
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
    goals_by_class: dict[str, float] | None = None

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
        if self.goals_by_class is not None:
            body["goals_by_class"] = dict(self.goals_by_class)
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
    goals_by_class: Mapping[str, float] | None = None,
) -> Proposal:
    """Targets reaching ``goal`` of replacements within ``window_hours`` at the least
    inventory value, not saved; with the baseline (independent per-depot base stock
    at the same goal) and today's targets predicted by the same model. ``reason``
    says why when the goal cannot be reached (the plan then gives the most service
    the network can). ``Invalid`` for a goal outside (0, 1) or a window outside
    1 to 240 hours, or a ``c1_weight`` (a C-1 replacement counts that many times
    toward the goal) outside (0, 100].

    ``goals_by_class`` ({"7x24": 0.98, "5x8": 0.95}) sets a goal per contract
    coverage class instead (a class left out keeps ``goal``): every class's share
    within the window must reach its own goal (``for_class_goals``); the baseline is
    then independent base stock at each depot's mix of the goals. ``Invalid`` for an
    unknown class or a goal outside (0, 1)."""
    goal = _check_goal(goal)
    c1_weight = _check_c1_weight(c1_weight)
    class_goals = _check_goals_by_class(goals_by_class, goal)
    network = service_network(uow, window_hours)
    if class_goals is not None:
        by_class = for_class_goals(network, class_goals, c1_weight)
        return Proposal(
            goal=goal,
            window_hours=network.window_hours,
            network=network,
            optimized=by_class.plan,
            baseline=by_class.baseline,
            current=class_goal_plan(network, current_stock(uow, network), class_goals, c1_weight),
            goals_by_class=class_goals,
        )
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
