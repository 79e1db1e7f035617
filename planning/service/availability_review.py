"""What the planners' availability page shows and applies.

``review`` answers, for a goal and a window, the proposal of
``planning.service.availability.optimize`` (optimised targets, the independent
per-depot base stock at the same goal, today's targets, all predicted by the same
model), the exchange curve of the same network (one point per equal budget step,
the figures of ``availability.exchange_curve``), and the three sets of targets
side by side per depot and per part family: units, inventory value and predicted
service.

Predicted service "per depot" is the share within the window of the replacements
asked for in the depot's region (the customer cities nearest to it,
``planning.service.demand.region_of_cities``), whichever depot ships them; per
family, of the replacements of the family's parts.

``apply_choice`` saves the optimised targets or those of one budget step of the
curve through ``availability.apply`` (planners' overrides kept). The page posts
back the ``basis`` it was shown (a fingerprint of the network's inputs and the
goal); when the demand, lanes or costs changed meanwhile the
targets computed now would not be the ones the planner saw, so nothing is saved
(``Conflict``). Applying the same choice twice saves the same targets twice: the
second changes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select

from core.auth import Actor, Role
from core.db import UnitOfWork, read_only
from core.errors import Conflict, Invalid
from core.fingerprint import Fingerprint
from core.i18n import gettext
from depots.service.snapshot import network as depot_network
from inventory.models import Part
from optimizer.availability import DEFAULT_C1_WEIGHT, Optimiser, Plan, ServiceNetwork
from planning.service import availability
from planning.service.demand import region_of_cities

CURVE_POINTS = availability.CURVE_POINTS
PLAN_NAMES = ("current", "optimized", "baseline")
OPTIMIZED_CHOICE = "optimized"


@dataclass(frozen=True)
class Figures:
    """One set of targets over a group: units, inventory value (CNY) and the
    predicted share within the window (``None`` where the group has no demand)."""

    units: int
    inventory_value: float
    within_window: float | None


@dataclass(frozen=True)
class ComparisonRow:
    """A depot (its code) or a part family, with each plan's figures by name
    (``current``, ``optimized``, ``baseline``)."""

    key: str
    plans: dict[str, Figures]


@dataclass(frozen=True)
class CurveStep:
    """One budget step of the exchange curve; ``step`` counts from 0 (no stock).
    ``inventory_value`` and ``within_window`` are rounded as the API answers them;
    ``budget`` is the step's exact spend, which picks its plan again."""

    step: int
    inventory_value: float
    within_window: float
    budget: float = field(repr=False, compare=False, default=0.0)


@dataclass(frozen=True)
class Review:
    """The page's figures for one goal and window (see the module notes)."""

    goal: float
    window_hours: float
    proposal: availability.Proposal
    curve: tuple[CurveStep, ...]
    by_depot: tuple[ComparisonRow, ...]
    by_family: tuple[ComparisonRow, ...]
    totals: ComparisonRow
    inputs: str
    optimiser: Optimiser = field(repr=False, compare=False)

    @property
    def reached(self) -> bool:
        return self.proposal.optimized.reached

    @property
    def ceiling(self) -> float | None:
        """The most service any stock gives (the curve's last point)."""
        return self.curve[-1].within_window if self.curve else None

    def step_plan(self, step: int) -> Plan:
        """The targets of a budget step of the curve (the hull plan its point is)."""
        return self.optimiser.for_budget(self.curve[step].budget)

    @property
    def basis(self) -> str:
        """What the page posts back to apply a choice: the fingerprint of the inputs."""
        return self.inputs


def _inputs(network: ServiceNetwork, goal: float) -> str:
    """A fingerprint of everything the proposal and the curve are computed from."""
    fingerprint = Fingerprint("availability-inputs").add(
        network.depots, network.cities, network.parts, network.window_hours, goal
    )
    for array in (
        network.unit_cost,
        network.demand_per_day,
        network.c1_share,
        network.arrival_hours,
        network.arrival_hours_emergency,
        network.approval_hour_weights,
        network.resupply_days,
    ):
        fingerprint.add(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    return fingerprint.hexdigest()


def _share(covered: float, demand: float) -> float | None:
    return covered / demand if demand > 0 and math.isfinite(covered) else None


def _figures(
    network: ServiceNetwork,
    plan: Plan,
    parts: NDArray[np.bool_],
    depots: NDArray[np.bool_],
    cities: NDArray[np.bool_],
) -> Figures:
    """Stock of ``parts`` at ``depots``; service of those parts' demand in ``cities``."""
    stock = plan.base_stock[np.ix_(parts, depots)]
    covered = plan.prediction.covered[np.ix_(parts, cities)].sum()
    demand = network.demand_per_day[np.ix_(parts, cities)].sum()
    return Figures(
        units=int(stock.sum()),
        inventory_value=round(float(stock.sum(axis=1) @ network.unit_cost[parts]), 2),
        within_window=_share(float(covered), float(demand)),
    )


def _rows(
    network: ServiceNetwork,
    plans: dict[str, Plan],
    groups: list[tuple[str, NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]],
) -> tuple[ComparisonRow, ...]:
    return tuple(
        ComparisonRow(
            key,
            {name: _figures(network, plan, parts, depots, cities) for name, plan in plans.items()},
        )
        for key, parts, depots, cities in groups
    )


def _region_masks(uow: UnitOfWork, network: ServiceNetwork) -> dict[str, NDArray[np.bool_]]:
    """{depot code: (C,) the network's cities in the depot's region}."""
    # The network's cities are the depot network's cities in the order of their ids.
    city_ids = sorted(depot_network(uow).city_by_id)
    if len(city_ids) != len(network.cities):
        raise Invalid(gettext("the network changed while it was read; try again"))
    region = region_of_cities(uow)
    return {
        depot: np.array([region.get(city_id) == depot for city_id in city_ids], dtype=bool)
        for depot in network.depots
    }


def _families(uow: UnitOfWork, network: ServiceNetwork) -> dict[str, NDArray[np.bool_]]:
    """{family: (P,) the network's parts of the family}, families in name order."""
    family_of = {
        part: family for part, family in uow.session.execute(select(Part.part_number, Part.family))
    }
    of_parts = np.array([family_of.get(part, "") for part in network.parts], dtype=object)
    return {family: of_parts == family for family in sorted(set(of_parts.tolist()))}


def _curve(optimiser: Optimiser, points: int) -> tuple[CurveStep, ...]:
    # Rounded as the API's exchange curve answers them, so the page and the API agree.
    return tuple(
        CurveStep(
            step,
            round(point.inventory_value, 2),
            round(point.within_window, 6),
            budget=point.inventory_value,
        )
        for step, point in enumerate(optimiser.exchange_curve(points))
    )


def _proposal_and_optimiser(
    uow: UnitOfWork, goal: float, window_hours: float
) -> tuple[availability.Proposal, Optimiser]:
    proposal = availability.optimize(uow, goal, window_hours)
    return proposal, Optimiser(proposal.network, DEFAULT_C1_WEIGHT)


@read_only
def review(
    uow: UnitOfWork,
    goal: float = availability.DEFAULT_GOAL,
    window_hours: float = availability.DEFAULT_WINDOW_HOURS,
    *,
    points: int = CURVE_POINTS,
) -> Review:
    """The proposal for ``goal`` within ``window_hours``, the exchange curve and the
    comparison by depot and family. ``Invalid`` for a goal outside (0, 1) or a
    window outside 1 to 240 hours (``availability.optimize``'s checks)."""
    proposal, optimiser = _proposal_and_optimiser(uow, goal, window_hours)
    network = proposal.network
    plans = {
        "current": proposal.current,
        "optimized": proposal.optimized,
        "baseline": proposal.baseline,
    }
    every_part = np.ones(len(network.parts), dtype=bool)
    every_depot = np.ones(len(network.depots), dtype=bool)
    every_city = np.ones(len(network.cities), dtype=bool)
    depot_groups = [
        (depot, every_part, np.arange(len(network.depots)) == d, cities)
        for d, (depot, cities) in enumerate(_region_masks(uow, network).items())
    ]
    family_groups = [
        (family, parts, every_depot, every_city)
        for family, parts in _families(uow, network).items()
    ]
    (totals,) = _rows(network, plans, [("", every_part, every_depot, every_city)])
    return Review(
        goal=proposal.goal,
        window_hours=proposal.window_hours,
        proposal=proposal,
        curve=_curve(optimiser, points),
        by_depot=_rows(network, plans, depot_groups),
        by_family=_rows(network, plans, family_groups),
        totals=totals,
        inputs=_inputs(network, proposal.goal),
        optimiser=optimiser,
    )


def _stock_rows(network: ServiceNetwork, stock: NDArray[np.int64]) -> list[dict[str, object]]:
    return [
        {"depot": network.depots[d], "part_number": network.parts[p], "target": int(stock[p, d])}
        for p, d in zip(*np.nonzero(stock), strict=True)
    ]


@dataclass(frozen=True)
class AppliedChoice:
    """What was saved: ``rows`` computed targets above 0, ``units`` in all, and the
    plan's predicted share within the window and inventory value."""

    choice: str
    rows: int
    units: int
    within_window: float | None
    inventory_value: float


def check_choice(choice: str, points: int = CURVE_POINTS) -> str:
    """ "optimized" or a budget step ``0`` to ``points - 1``; ``Invalid`` otherwise."""
    choice = (choice or "").strip()
    if choice == OPTIMIZED_CHOICE or (choice.isdigit() and int(choice) < points):
        return choice
    raise Invalid(
        gettext(
            "choose the optimised targets or a point of the curve from 0 to %(last)s",
            last=points - 1,
        ),
        field="choice",
    )


def apply_choice(
    uow: UnitOfWork,
    actor: Actor,
    *,
    goal: float,
    window_hours: float,
    choice: str,
    basis: str,
    points: int = CURVE_POINTS,
) -> AppliedChoice:
    """Save the targets of ``choice`` (the optimised proposal, or a budget step of
    the curve) as the computed targets, overrides kept; only while ``basis`` is the
    one the page showed (``Conflict`` otherwise, nothing saved). Planners only;
    ``Invalid`` for a bad goal, window or choice (nothing saved)."""
    actor.require_role(Role.PLANNER)
    choice = check_choice(choice, points)
    shown = review(uow, goal, window_hours, points=points)
    if shown.basis != (basis or "").strip():
        raise Conflict(
            gettext(
                "The demand, lanes or costs changed since the page was shown, so these "
                "targets are no longer the ones you saw. Look at them again and apply."
            )
        )
    network = shown.proposal.network
    plan = shown.proposal.optimized if choice == OPTIMIZED_CHOICE else shown.step_plan(int(choice))
    applied = availability.apply(
        uow, actor, _stock_rows(network, plan.base_stock), goal=goal, window_hours=window_hours
    )
    share = plan.within_window
    return AppliedChoice(
        choice=choice,
        rows=applied.rows,
        units=applied.units,
        within_window=None if math.isnan(share) else share,
        inventory_value=round(plan.inventory_value, 2),
    )
