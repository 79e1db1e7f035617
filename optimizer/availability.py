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
* ``window_hours``: the promise, W (24 by default);
* ``classes`` (K contract classes, e.g. "5x8", "7x24") and ``class_share``
  (P, C, K): the share of each part's demand in each city raised under each class
  (sums to 1 over K). Left out: one class, ``"all"``, with all the demand. A class
  only splits the demand (its lanes and approval hours are the network's), so a
  class's share within W differs by where and on what parts its demand falls.

Indices follow the tuples: ``demand_per_day[p, c]`` is part ``parts[p]`` in city
``cities[c]``; ``arrival_hours[d, c, h]`` depot ``depots[d]`` to ``cities[c]``.

The prediction (``predict``)
----------------------------
Each depot runs a one-for-one (S-1, S) base-stock policy per part: every unit it
ships is replaced after ``resupply_days``. A request (part p, city c, approved at
hour h, C-1 or not) follows a *route*: the depots with a lane to c in order of
arrival (for C-1 the sooner of the standard carrier and the emergency courier,
which is what ``optimizer.depot_choice.offered_options`` gives when it matters),
of which the first few arrive within W. The request is served within W when some
depot arriving within W has a unit on the shelf (lateral supply: every such depot
counts, not only the nearest). So

    P(within W) = 1 - P(every depot within W empty)

and the share within W is that, weighted by demand, approval hours and the C-1
share. P(every depot within W empty) lies between two bounds: the product of the
depots' P(empty) (independent shelves) and the pooled chance that the units on
order at all of them reach their total stock, P(Poisson(sum of lead-time demands)
>= sum of stocks) (one shared shelf). The model takes the geometric mix
product ** (1 - POOLING) x pooled ** POOLING, POOLING = 0.8 (fitted to the
simulation; with one depot within W both are that depot's P(empty)).

P(depot empty) is Palm's theorem: units on order at a depot are
Poisson(load x resupply_days), empty when S or more are on order. A depot's load
is the units it ships: the requests that reach it (every depot before it on
their route empty) and find stock, plus, at a route's first depot, the requests
that find every depot empty and wait for it; loads come from a damped fixed
point starting from the independent model (each depot alone with its region).

Approximations, in plain words:

* the depots' stock-outs are correlated (a run of demand empties neighbours
  together) by a fixed mix between independence and pooling, not by their real
  joint law. Measured against the simulation (docs/PERFORMANCE.md): one unit of
  every part everywhere, -7.3 points with independence, -0.1 to -0.8 with the mix;
  at the optimiser's targets -0.1 either way. The loads (below) still come from
  independent shelves;
* a request that finds every shelf in time empty is counted late, although a unit
  already on its way back may land within the window less the transit: the
  prediction is a little pessimistic for short lead times (one depot, 4 days' lead,
  0.5 a day, S = 1: 13.5% against 20.1%; at the 14 days of the demo a fraction of a
  point);
* Palm's Poisson count holds for the units a depot ships, although overflow
  reaching a depot is burstier than Poisson;
* the depot that ships is the first *in order of arrival* with stock; the system's
  rule prefers, among depots in time, one that stays at its target, then the
  cheaper: the set of depots in time, hence the share within W, is the same;
* resupply lead times are fixed per part and depot (their mean is what matters to
  Palm; ``planning.service.availability`` sets them from the repair loop's
  turnaround and yield and the rebalancing lanes); rebalancing is assumed to
  restore each depot's base stock.

Exact: one depot (or one depot reaching each city and no overflow): the share is
exactly Palm's fill rate ``P(Poisson(rate x lead) <= S - 1)`` for any lead-time
distribution with that mean; the ceiling (unlimited stock) is exact everywhere.
The simulation (``optimizer/simulation.py``) measures how close the rest is.

More stock never lowers the prediction (property-tested): more units at a depot
lower its chance of being empty, the pooled chance too, and the loads it takes
over are the ones others no longer fail.

The optimisation (``Optimiser``)
--------------------------------
Parts are independent under the model, so each part gets its own curve: a greedy
path adding one unit at a time where it adds most (the gain estimated with the
other depots' loads held, looking ahead past the mean lead-time demand so busy
parts do not stall at the foot of their S-shaped curve; the path's values are the
exact model's). The upper concave hull of each part's (units, value) curve gives
segments; all parts' segments sorted by value per CNY is the Lagrangian order (the
exchange curve, one plan per budget step). For a goal: the prefix reaching it, with
up to ``MAX_SKIPS`` alternatives that skip a lumpy crossing segment (the knapsack's
end effect), each trimmed by a remove pass; then an exact local search moves units
between a part's depots (free, same unit cost) and drops units while the goal
holds. For a budget: the prefix that fits, then single steps of the next segments.
The baseline is the independent per-depot base stock of ``optimizer.targets`` at
the same goal; a plan it dominates is never returned (the baseline is).
``exact_for_goal`` enumerates small instances to measure the greedy's gap.

Goals per contract class (``for_class_goals``): each class's share within W must
reach its own goal. Every class is a sum over parts too, so the Lagrangian idea
carries over: one objective with each class's demand weighted by a multiplier is
optimised as above for the matching combined goal; a class left short triples its
multiplier (up to ``CLASS_ROUNDS`` rounds), and single units for the class furthest
short finish the job. The baseline is independent base stock at each depot's mix
of the class goals (``class_baseline_stock``); a plan it dominates (no dearer and at
least as good in every class) is never returned.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from optimizer.targets import base_stock_targets

HOURS_PER_DAY = 24
DEFAULT_WINDOW_HOURS = 24.0
# The one class of a network that does not split its demand by contract class.
ALL_CLASSES = "all"


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
    classes: tuple[str, ...] = ()
    class_share: NDArray[np.float64] | None = None

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
        self._check_classes(parts, cities)

    def _check_classes(self, parts: int, cities: int) -> None:
        """Default: one class, ``ALL_CLASSES``, holding all the demand."""
        if not self.classes and self.class_share is None:
            object.__setattr__(self, "classes", (ALL_CLASSES,))
            object.__setattr__(self, "class_share", np.ones((parts, cities, 1)))
            return
        if self.class_share is None or not self.classes:
            raise ValueError("classes and class_share go together")
        if len(set(self.classes)) != len(self.classes):
            raise ValueError("classes must be distinct")
        share = np.asarray(self.class_share, dtype=np.float64)
        if share.shape != (parts, cities, len(self.classes)):
            raise ValueError(
                f"class_share has shape {share.shape}, "
                f"expected {(parts, cities, len(self.classes))}"
            )
        if not np.all(np.isfinite(share)) or np.any(share < 0):
            raise ValueError("class_share must be finite numbers >= 0")
        if not np.allclose(share.sum(axis=2), 1.0):
            raise ValueError("class_share must sum to 1 over the classes")
        object.__setattr__(self, "class_share", share)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(P parts, D depots, C cities)."""
        return len(self.parts), len(self.depots), len(self.cities)


# ---------------------------------------------------------------------------------
# The prediction
# ---------------------------------------------------------------------------------

# Damped fixed-point rounds for the lateral load (``_stockouts``). A fixed count, not a
# tolerance, so that the answer is a smooth function of the stock.
LOAD_ROUNDS = 4
# Hours of a day, in order, and the two demand classes of a route.
_STANDARD, _C1 = 0, 1


@dataclass(frozen=True)
class Routes:
    """Where a request is served from, per (city, approval hour, class), deduplicated.

    A route is the depots that have a lane to the city in order of arrival and how
    many of them (the first ``in_window``) arrive within the window. ``order`` is
    (O, D), the distinct orders, with -1 after the last depot with a lane;
    ``route_order`` (R,) the order of each route; ``in_window`` (R,); ``weight``
    (C, 2, R): for city c and class (0 standard, 1 C-1), the share of requests (by
    approval hour) that follow route r.
    """

    order: NDArray[np.int64]
    route_order: NDArray[np.int64]
    in_window: NDArray[np.int64]
    weight: NDArray[np.float64]

    @cached_property
    def window_matrix(self) -> NDArray[np.int64]:
        """(R, D) 1 where the depot arrives within the window on route r."""
        depots = self.order.shape[1]
        matrix = np.zeros((self.route_order.size, depots), dtype=np.int64)
        for r, (o, within) in enumerate(zip(self.route_order, self.in_window, strict=True)):
            matrix[r, self.order[o, :within]] = 1
        return matrix

    def order_matrix(self) -> NDArray[np.float64]:
        """(R, O) one-hot: route r follows order route_order[r]."""
        matrix = np.zeros((self.route_order.size, self.order.shape[0]))
        matrix[np.arange(self.route_order.size), self.route_order] = 1.0
        return matrix


def network_routes(network: ServiceNetwork) -> Routes:
    """The routes of a network: depots by arrival, and how many arrive within W.

    A standard request goes by the standard carrier. A C-1 request gets, from each
    depot, whichever of the standard carrier and the emergency courier arrives sooner
    (``optimizer.depot_choice.offered_options``: the courier is not booked while some
    depot meets the window by standard service, and then it does not change whether
    the window is met).
    """
    _, depots, cities = network.shape
    emergency = np.minimum(network.arrival_hours, network.arrival_hours_emergency)
    found: dict[tuple[tuple[int, ...], int], int] = {}
    weights: list[list[list[tuple[int, float]]]] = [[[], []] for _ in range(cities)]
    for city in range(cities):
        for kind, hours in ((_STANDARD, network.arrival_hours), (_C1, emergency)):
            for hour in range(HOURS_PER_DAY):
                share = float(network.approval_hour_weights[hour])
                if share <= 0:
                    continue
                arrival = hours[:, city, hour]
                # Ties by depot index: the same order everywhere (stable sort).
                ranked = [
                    int(d) for d in np.argsort(arrival, kind="stable") if np.isfinite(arrival[d])
                ]
                within = sum(1 for d in ranked if arrival[d] <= network.window_hours)
                key = (tuple(ranked), within)
                index = found.setdefault(key, len(found))
                weights[city][kind].append((index, share))
    orders: dict[tuple[int, ...], int] = {}
    route_order = np.zeros(max(len(found), 1), dtype=np.int64)
    in_window = np.zeros(max(len(found), 1), dtype=np.int64)
    for (ranked, within), index in found.items():
        route_order[index] = orders.setdefault(ranked, len(orders))
        in_window[index] = within
    order = np.full((max(len(orders), 1), depots), -1, dtype=np.int64)
    for ranked, index in orders.items():
        order[index, : len(ranked)] = ranked
    weight = np.zeros((cities, 2, route_order.size))
    for city in range(cities):
        for kind in (_STANDARD, _C1):
            for index, share in weights[city][kind]:
                weight[city, kind, index] += share
    return Routes(order=order, route_order=route_order, in_window=in_window, weight=weight)


# exp(-700) is still a normal double; beyond it the first Poisson term would underflow.
_LARGEST_DIRECT_LOAD = 700.0


def stockout_probability(
    load: NDArray[np.float64], stock: NDArray[np.int64]
) -> NDArray[np.float64]:
    """P(Poisson(load) >= stock), elementwise: the chance an (S-1, S) base-stock
    depot with ``stock`` = S and mean lead-time demand ``load`` has an empty shelf.

    1 where S = 0; for load 0, 0 where S >= 1. The terms follow the recurrence
    pmf(k) = pmf(k - 1) * load / k, each element leaving the loop once k reaches its
    S, so the work is the sum of the S's, not their maximum times their number.
    A load above 700 units (never a spare part's) starts from the log-space term.
    """
    load, stock = np.broadcast_arrays(
        np.asarray(load, dtype=np.float64), np.asarray(stock, dtype=np.int64)
    )
    shape = load.shape
    lam_all = load.ravel()
    s_all = stock.ravel()
    tail = np.where(s_all > 0, 0.0, 1.0)
    active = np.flatnonzero((s_all > 0) & (lam_all > 0))
    if active.size == 0:
        return tail.reshape(shape)
    # Largest S first: the elements still summing at step k are a prefix, so the
    # loop slices instead of compacting.
    active = active[np.argsort(-s_all[active], kind="stable")]
    lam = lam_all[active]
    top = s_all[active]
    # still[k] = how many have S > k (top is in decreasing order).
    still = np.searchsorted(-top, -np.arange(int(top[0])), side="left")
    term = np.exp(-np.minimum(lam, _LARGEST_DIRECT_LOAD))
    huge = lam > _LARGEST_DIRECT_LOAD
    below = term.copy()
    for k in range(1, int(top[0])):
        n = int(still[k])  # elements with S > k
        term = term[:n] * (lam[:n] / k)
        below[:n] += term
    result = np.clip(1.0 - below, 0.0, 1.0)
    if np.any(huge):
        result[huge] = _large_load_tail(lam[huge], top[huge])
    tail[active] = result
    return tail.reshape(shape)


def _large_load_tail(lam: NDArray[np.float64], stock: NDArray[np.int64]) -> NDArray[np.float64]:
    """P(Poisson(lam) >= stock) for large lam, summing terms in log space."""
    out = np.empty(lam.size)
    for i, (mean, s) in enumerate(zip(lam, stock, strict=True)):
        ks = np.arange(int(s))
        log_fact = np.array([math.lgamma(float(k) + 1.0) for k in ks])
        out[i] = max(0.0, 1.0 - float(np.exp(-mean + ks * math.log(mean) - log_fact).sum()))
    return out


@dataclass(frozen=True)
class Prediction:
    """The predicted share of replacements arriving within the window.

    ``within_window`` overall (demand-weighted); ``by_part`` (P,), ``by_city`` (C,)
    (NaN where there is no demand); ``by_fault_level`` {"C-1": ..., "other": ...};
    ``covered`` (P, C, 2) expected replacements a day within the window per part,
    city and class (standard, C-1); ``stockout`` (P, D) the chance each depot's
    shelf is empty; ``load_per_day`` (P, D) the units a day each depot ships;
    ``inventory_value`` CNY of the base stock.
    """

    within_window: float
    by_part: NDArray[np.float64]
    by_city: NDArray[np.float64]
    by_fault_level: dict[str, float]
    covered: NDArray[np.float64]
    stockout: NDArray[np.float64]
    load_per_day: NDArray[np.float64]
    inventory_value: float
    by_class: dict[str, float] = field(default_factory=dict)


def _class_demand(network: ServiceNetwork) -> NDArray[np.float64]:
    """(P, C, 2) demand a day per part, city and class (standard, C-1)."""
    c1 = network.demand_per_day * network.c1_share
    return np.stack((network.demand_per_day - c1, c1), axis=2)


def _route_demand(network: ServiceNetwork, routes: Routes) -> NDArray[np.float64]:
    """(P, R) demand a day per part following each route."""
    demand = _class_demand(network)
    parts, cities, _ = demand.shape
    return demand.reshape(parts, cities * 2) @ routes.weight.reshape(cities * 2, -1)


def _empty_through(routes: Routes, stockout: NDArray[np.float64]) -> NDArray[np.float64]:
    """(D, O, P): the chance the first j + 1 depots of order o are all empty.

    Depot-major so the running product steps over whole contiguous (O, P) planes; the
    padding (-1) of a route's order reads a row of ones.
    """
    padded = np.concatenate((stockout.T, np.ones((1, stockout.shape[0]))), axis=0)
    order = routes.order.T
    empty = np.empty((order.shape[0], order.shape[1], stockout.shape[0]))
    empty[0] = padded[order[0]]
    for j in range(1, order.shape[0]):
        np.multiply(empty[j - 1], padded[order[j]], out=empty[j])
    return empty


# How far a route's chance of finding every depot in time empty moves from the
# independent product toward the pooled bound (``_route_served``). Fitted on the
# generated networks of the agreement test (one and two units everywhere, seeds
# 1-3): the simulation sits at 0.75-0.9 of the way; see docs/PERFORMANCE.md.
POOLING = 0.8
# Routes whose independent all-empty chance is below this skip the pooling mix.
POOL_FLOOR = 1e-12


def _route_served(
    routes: Routes,
    stockout: NDArray[np.float64],
    lead_demand: NDArray[np.float64] | None = None,
    stock: NDArray[np.int64] | None = None,
) -> NDArray[np.float64]:
    """(P, R) chance a request on a route is served within the window: 1 - the chance
    every depot arriving within the window has an empty shelf.

    Independent shelves give the product of their stock-out chances, a lower bound
    when they share demand: one burst empties neighbours together. Pooling gives
    the upper bound: every depot in time is empty only if the units on order at
    all of them reach their total stock, P(Poisson(sum of lead-time demands) >=
    sum of stocks). With ``lead_demand`` and ``stock`` (P, D) the chance is the
    geometric mix product ** (1 - POOLING) x pooled ** POOLING; without them (or
    with one depot in time, where both agree) the product.
    """
    empty = _empty_through(routes, stockout)
    last = np.maximum(routes.in_window - 1, 0)
    all_empty = empty[last, routes.route_order, :].T
    if lead_demand is not None and stock is not None:
        # Only where the product is not already negligible (most of a well-stocked
        # network): the pooled chance is at most the product ** 0 = 1 there anyway,
        # and the mix moves it by less than POOL_FLOOR ** (1 - POOLING).
        rows, cols = np.nonzero((all_empty > POOL_FLOOR) & (routes.in_window > 1)[None, :])
        if rows.size:
            window = routes.window_matrix[cols]
            pooled = stockout_probability(
                (lead_demand[rows] * window).sum(axis=1),
                (stock[rows] * window).sum(axis=1).astype(np.int64),
            )
            product = all_empty[rows, cols]
            all_empty[rows, cols] = product ** (1.0 - POOLING) * pooled**POOLING
    return np.where(routes.in_window > 0, 1.0 - all_empty, 0.0)


def _sum_by_group(
    values: NDArray[np.float64], group: NDArray[np.int64], groups: int
) -> NDArray[np.float64]:
    """(groups, N): the rows of ``values`` (K, N) added up by ``group`` (K,); rows of
    group -1 are left out.

    Used where a 0/1 matrix product would do: BLAS spreads even a small product over
    threads, and on a busy machine that costs ten times the sum (measured: 28 ms
    against 2.5 ms for 160 x 3,000 rows at load 13).
    """
    out = np.zeros((groups, values.shape[1]))
    keep = np.flatnonzero(group >= 0)
    if keep.size == 0:
        return out
    order = keep[np.argsort(group[keep], kind="stable")]
    ordered = group[order]
    present = np.unique(ordered)
    starts = np.searchsorted(ordered, present)
    out[present] = np.add.reduceat(values[order], starts, axis=0)
    return out


def _depot_load(
    routes: Routes, order_demand: NDArray[np.float64], stockout: NDArray[np.float64]
) -> NDArray[np.float64]:
    """(P, D) units a day each depot ships: a request goes to the first depot on its
    route with stock; when every depot is empty it waits for the first one.
    ``order_demand`` (P, O) is the demand a day following each order."""
    parts, depots = stockout.shape
    empty = _empty_through(routes, stockout)
    # Depot j ships what reaches it (every depot before it empty) and finds stock.
    ships = np.empty_like(empty)
    ships[0] = 1.0 - empty[0] + empty[-1]  # everyone empty: the first ships when resupplied
    ships[1:] = empty[:-1] - empty[1:]
    ships *= order_demand.T[None, :, :]
    flat = ships.reshape(ships.shape[0] * ships.shape[1], parts)
    return _sum_by_group(flat, routes.order.T.ravel(), depots).T


def _stockouts(
    routes: Routes,
    order_demand: NDArray[np.float64],
    resupply_days: NDArray[np.float64],
    stock: NDArray[np.int64],
    rounds: int = LOAD_ROUNDS,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Stock-out probabilities and loads (units/day) at the lateral-load fixed point.

    Round 0 gives each depot the requests it is the first choice for (its region:
    the independent model). Each round then sets a depot's load to the units it
    ships: the requests that reach it (every depot before it on their route empty)
    and find stock, plus, for a route's first depot, the requests that find every
    depot empty (they wait for it). Loads move half-way each round (damped: the
    plain iteration oscillates when stock is short); ``LOAD_ROUNDS`` rounds are
    within 0.1 percentage point of the fixed point on the generated networks.
    """
    load = _sum_by_group(order_demand.T, routes.order[:, 0], stock.shape[1]).T
    stockout = stockout_probability(load * resupply_days, stock)
    for _ in range(rounds):
        load = 0.5 * (load + _depot_load(routes, order_demand, stockout))
        stockout = stockout_probability(load * resupply_days, stock)
    return stockout, load


def _check_stock(network: ServiceNetwork, stock: NDArray[np.int64]) -> NDArray[np.int64]:
    parts, depots, _ = network.shape
    array = np.asarray(stock)
    if array.shape != (parts, depots):
        raise ValueError(f"base stock has shape {array.shape}, expected {(parts, depots)}")
    if np.any(array < 0) or np.any(array != np.round(array)):
        raise ValueError("base stock must be whole numbers >= 0")
    return array.astype(np.int64)


def predict(
    network: ServiceNetwork, base_stock: NDArray[np.int64], routes: Routes | None = None
) -> Prediction:
    """Predicted share of replacements arriving within ``network.window_hours`` when
    each depot holds ``base_stock`` (P, D) of each part (see the module notes)."""
    stock = _check_stock(network, base_stock)
    routes = routes or network_routes(network)
    order_demand = _route_demand(network, routes) @ routes.order_matrix()
    stockout, load = _stockouts(routes, order_demand, network.resupply_days, stock)
    served = _route_served(routes, stockout, load * network.resupply_days, stock)
    demand = _class_demand(network)
    # (P, C, 2): share served per city and class times the demand.
    parts, cities, _ = demand.shape
    covered = (served @ routes.weight.reshape(cities * 2, -1).T).reshape(parts, cities, 2) * demand
    total = demand.sum()

    def share(
        num: NDArray[np.float64] | float, den: NDArray[np.float64] | float
    ) -> NDArray[np.float64]:
        num_a, den_a = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den_a > 0, num_a / np.where(den_a > 0, den_a, 1.0), np.nan)

    return Prediction(
        within_window=float(share(covered.sum(), total)),
        by_part=share(covered.sum(axis=(1, 2)), demand.sum(axis=(1, 2))),
        by_city=share(covered.sum(axis=(0, 2)), demand.sum(axis=(0, 2))),
        by_fault_level={
            "C-1": float(share(covered[:, :, _C1].sum(), demand[:, :, _C1].sum())),
            "other": float(share(covered[:, :, _STANDARD].sum(), demand[:, :, _STANDARD].sum())),
        },
        covered=covered,
        stockout=stockout,
        load_per_day=load,
        inventory_value=float((stock * network.unit_cost[:, None]).sum()),
        by_class=_by_class(network, covered.sum(axis=2), demand.sum(axis=2)),
    )


def _by_class(
    network: ServiceNetwork, covered: NDArray[np.float64], demand: NDArray[np.float64]
) -> dict[str, float]:
    """The share within W of each contract class's demand (NaN: no demand).
    ``covered`` and ``demand`` (P, C) a day."""
    share = _class_shares(network)
    result = {}
    for k, name in enumerate(network.classes):
        total = float((demand * share[:, :, k]).sum())
        within = float((covered * share[:, :, k]).sum())
        result[name] = within / total if total > 0 else math.nan
    return result


def _class_shares(network: ServiceNetwork) -> NDArray[np.float64]:
    """(P, C, K) the class shares (set on construction)."""
    assert network.class_share is not None
    return network.class_share


# ---------------------------------------------------------------------------------
# The optimisation
# ---------------------------------------------------------------------------------

DEFAULT_GOAL = 0.95
DEFAULT_C1_WEIGHT = 1.0
# A part's greedy stops this close (relative) to the most service any stock can give it.
PART_CEILING_TOLERANCE = 1e-4
MAX_UNITS_PER_PART = 400
# A share this far under the goal still counts as reaching it (rounding of sums).
GOAL_SLACK = 1e-9
# Out of reach, a goal is replaced by this much (a share) under the most service possible.
UNREACHABLE_MARGIN = 0.001


@dataclass(frozen=True)
class _Model:
    """The network's arrays the optimiser evaluates rows of stock with."""

    routes: Routes
    order_demand: NDArray[np.float64]  # (P, O) demand a day per order
    route_value: NDArray[np.float64]  # (P, R) objective weight a day per route
    route_plain: NDArray[np.float64]  # (P, R) demand a day per route
    resupply_days: NDArray[np.float64]  # (P, D)
    in_window: NDArray[np.float64]  # (R, D) 1 where the depot arrives within W on route r
    window_route: NDArray[np.int64]  # the (route, depot) pairs of in_window, routes
    window_depot: NDArray[np.int64]  # ... and depots
    unit_cost: NDArray[np.float64]  # (P,)
    # The pooling mix of ``_route_served`` (the prediction's); without it, independent
    # shelves: half the work, what the search runs on (``searching``).
    pooled: bool = True

    def searching(self) -> _Model:
        """This model without the pooling mix, for the greedy paths and local search."""
        return replace(self, pooled=False)

    def of_parts(self, rows: NDArray[np.int64]) -> _Model:
        """This model for some parts only (parts are independent)."""
        return replace(
            self,
            order_demand=self.order_demand[rows],
            route_value=self.route_value[rows],
            route_plain=self.route_plain[rows],
            resupply_days=self.resupply_days[rows],
            unit_cost=self.unit_cost[rows],
        )

    @staticmethod
    def of(
        network: ServiceNetwork,
        c1_weight: float,
        routes: Routes | None = None,
        demand_weight: NDArray[np.float64] | None = None,
    ) -> _Model:
        """``demand_weight`` (P, C): a replacement of part p in city c counts that many
        times in the objective (on top of ``c1_weight``); None: once."""
        routes = routes or network_routes(network)
        demand = _class_demand(network)
        parts, cities, _ = demand.shape
        weight = routes.weight.reshape(cities * 2, -1)
        route_plain = demand.reshape(parts, cities * 2) @ weight
        valued = demand * np.array([1.0, c1_weight])[None, None, :]
        if demand_weight is not None:
            valued = valued * demand_weight[:, :, None]
        in_window = np.zeros((routes.route_order.size, len(network.depots)))
        for r, (o, within) in enumerate(zip(routes.route_order, routes.in_window, strict=True)):
            in_window[r, routes.order[o, :within]] = 1.0
        return _Model(
            routes=routes,
            order_demand=route_plain @ routes.order_matrix(),
            route_value=valued.reshape(parts, cities * 2) @ weight,
            route_plain=route_plain,
            resupply_days=network.resupply_days,
            in_window=in_window,
            window_route=np.nonzero(in_window)[0],
            window_depot=np.nonzero(in_window)[1],
            unit_cost=network.unit_cost,
        )

    def ceiling(self) -> NDArray[np.float64]:
        """(P,) the objective with unlimited stock: every route with a depot in time."""
        return self.route_value @ (self.routes.in_window > 0).astype(float)

    def evaluate(
        self, rows: NDArray[np.int64], stock: NDArray[np.int64], *, with_gain: bool = True
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """For stock (N, D) of parts ``rows`` (N,): the objective (N,), the plain
        covered demand (N,), the stock-outs (N, D), and the gain (N, D) in objective
        per unit of more units at each depot with the other depots' loads held
        (zeros without ``with_gain``)."""
        stockout, load = _stockouts(
            self.routes, self.order_demand[rows], self.resupply_days[rows], stock
        )
        if self.pooled:
            served = _route_served(self.routes, stockout, load * self.resupply_days[rows], stock)
        else:
            served = _route_served(self.routes, stockout)
        value = (served * self.route_value[rows]).sum(axis=1)
        plain = (served * self.route_plain[rows]).sum(axis=1)
        gain = np.zeros(stockout.shape)
        if not with_gain:
            return value, plain, stockout, gain
        # m more units at d multiply every route's all-empty chance through d by
        # stockout'(d) / stockout(d). The first units at a busy depot add next to
        # nothing (the shelf is empty anyway), so the gain is the better of one unit
        # and the average over enough units to pass the mean lead-time demand: the
        # path does not stall at the foot of a part's S-shaped curve.
        lead_demand = load * self.resupply_days[rows]
        at_risk = (1.0 - served) * np.where(self.routes.in_window > 0, 1.0, 0.0)
        route_at_risk = (self.route_value[rows] * at_risk).T
        exposed = _sum_by_group(
            route_at_risk[self.window_route], self.window_depot, self.in_window.shape[1]
        ).T
        jump = np.maximum(1, np.ceil(lead_demand + np.sqrt(lead_demand)).astype(np.int64) - stock)
        for units in (np.ones_like(stock), jump):
            after = stockout_probability(lead_demand, stock + units)
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.where(stockout > 0, after / np.where(stockout > 0, stockout, 1.0), 1.0)
            gain = np.maximum(gain, exposed * (1.0 - ratio) / units)
        return value, plain, stockout, gain


@dataclass(frozen=True)
class PartCurves:
    """Each part's greedy path: one unit at a time at the depot that adds most.

    ``steps`` (P, K) the depot of the k-th unit (-1 once the part stops);
    ``value`` and ``plain`` (P, K + 1) the objective and the covered demand a day
    after k units; ``length`` (P,) the units on each path; ``hull`` per part, the
    unit counts on the upper concave hull of its (units, value) points (0 first).
    """

    steps: NDArray[np.int64]
    value: NDArray[np.float64]
    plain: NDArray[np.float64]
    length: NDArray[np.int64]
    hull: tuple[NDArray[np.int64], ...]

    def stock(self, units: NDArray[np.int64], depots: int) -> NDArray[np.int64]:
        """(P, D) base stock after ``units`` (P,) steps of each part's path."""
        parts, width = self.steps.shape
        taken = (np.arange(width)[None, :] < units[:, None]) & (self.steps >= 0)
        stock = np.zeros((parts, depots), dtype=np.int64)
        rows, cols = np.nonzero(taken)
        np.add.at(stock, (rows, self.steps[rows, cols]), 1)
        return stock


def _upper_hull(values: NDArray[np.float64]) -> NDArray[np.int64]:
    """Indices of the upper concave hull of the points (k, values[k]), k = 0.., keeping
    only strictly increasing ones (a segment must add something)."""
    hull: list[int] = [0]
    for k in range(1, values.size):
        if values[k] <= values[hull[-1]]:
            continue
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            # b lies on or under the chord a -> k: drop it.
            if (values[b] - values[a]) * (k - a) <= (values[k] - values[a]) * (b - a):
                hull.pop()
            else:
                break
        hull.append(k)
    return np.asarray(hull, dtype=np.int64)


def part_curves(model: _Model, max_units: int = MAX_UNITS_PER_PART) -> PartCurves:
    """Every part's greedy path, all parts stepping together (vectorised).

    Each step adds, to every part still short of its ceiling, one unit at the depot
    with the largest gain (all units of a part cost the same, so the largest gain is
    the largest gain per CNY); the path's values are then the exact model's, not the
    gain estimate's. A part stops within ``PART_CEILING_TOLERANCE`` of its ceiling,
    when no unit adds anything, or at ``max_units``.
    """
    parts, depots = model.resupply_days.shape
    ceiling = model.ceiling()
    steps = np.full((parts, max_units), -1, dtype=np.int64)
    value = np.zeros((parts, max_units + 1))
    plain = np.zeros((parts, max_units + 1))
    length = np.zeros(parts, dtype=np.int64)
    stock = np.zeros((parts, depots), dtype=np.int64)
    active = np.flatnonzero(ceiling > 0)
    for k in range(max_units + 1):
        if active.size == 0:
            break
        v, pl, _, gain = model.evaluate(active, stock[active])
        value[active, k:] = v[:, None]
        plain[active, k:] = pl[:, None]
        best = np.argmax(gain, axis=1)
        best_gain = gain[np.arange(active.size), best]
        going = (
            (v < ceiling[active] * (1.0 - PART_CEILING_TOLERANCE))
            & (best_gain > ceiling[active] * 1e-12)
            & (k < max_units)
        )
        active, best = active[going], best[going]
        if active.size == 0:
            break
        steps[active, k] = best
        stock[active, best] += 1
        length[active] = k + 1
    hull = tuple(_upper_hull(value[p, : length[p] + 1]) for p in range(parts))
    return PartCurves(steps=steps, value=value, plain=plain, length=length, hull=hull)


@dataclass(frozen=True)
class _Segments:
    """Every part's hull segments, by decreasing value per CNY (the Lagrangian order)."""

    part: NDArray[np.int64]
    units_to: NDArray[np.int64]
    cum_cost: NDArray[np.float64]
    cum_value: NDArray[np.float64]


def _segments(curves: PartCurves, unit_cost: NDArray[np.float64]) -> _Segments:
    part_list, start_list, end_list = [], [], []
    for p, hull in enumerate(curves.hull):
        if hull.size > 1:
            part_list.append(np.full(hull.size - 1, p))
            start_list.append(hull[:-1])
            end_list.append(hull[1:])
    if not part_list:
        empty = np.zeros(0)
        return _Segments(empty.astype(np.int64), empty.astype(np.int64), empty, empty)
    part = np.concatenate(part_list)
    start = np.concatenate(start_list)
    end = np.concatenate(end_list)
    gain = curves.value[part, end] - curves.value[part, start]
    cost = (end - start) * unit_cost[part]
    with np.errstate(divide="ignore"):
        slope = np.where(cost > 0, gain / np.where(cost > 0, cost, 1.0), np.inf)
    # A part's hull slopes fall, so this order takes each part's segments in turn.
    order = np.lexsort((start, part, -slope))
    return _Segments(
        part=part[order],
        units_to=end[order],
        cum_cost=np.cumsum(cost[order]),
        cum_value=np.cumsum(gain[order]),
    )


def _units_after(segments: _Segments, count: int, parts: int) -> NDArray[np.int64]:
    """(P,) units per part after taking the first ``count`` segments."""
    units = np.zeros(parts, dtype=np.int64)
    np.maximum.at(units, segments.part[:count], segments.units_to[:count])
    return units


def _remove_pass(
    curves: PartCurves, unit_cost: NDArray[np.float64], units: NDArray[np.int64], slack: float
) -> NDArray[np.int64]:
    """Step parts back along their paths (cheapest loss of value per CNY saved first)
    while the objective stays above the goal by ``slack``: the last hull segment
    taken usually overshoots, and so do parts whose path is better than its hull."""
    units = units.copy()
    for _ in range(MAX_UNITS_PER_PART):
        can = np.flatnonzero(units > 0)
        if can.size == 0:
            break
        loss = curves.value[can, units[can]] - curves.value[can, units[can] - 1]
        fits = loss <= slack
        if not np.any(fits):
            break
        can, loss = can[fits], loss[fits]
        order = np.argsort(loss / unit_cost[can], kind="stable")
        taken = np.cumsum(loss[order]) <= slack
        if not np.any(taken):
            # Every single step fits but not their sum: take the cheapest one.
            taken[0] = True
        chosen = can[order][np.flatnonzero(taken)]
        units[chosen] -= 1
        slack -= float(loss[order][taken].sum())
    return units


MAX_SEARCH_ROUNDS = 60
MAX_SKIPS = 24


def _cheapest_completion(
    curves: PartCurves, segments: _Segments, unit_cost: NDArray[np.float64], wanted: float
) -> NDArray[np.int64]:
    """Units per part reaching ``wanted`` (objective) cheaply from the hull order.

    The Lagrangian prefix stops at the segment that crosses the goal; when that
    segment is a lump (an expensive part's units), skipping it and its part's later
    segments and going on with cheaper parts can reach the goal for less (the
    knapsack's end effect). Up to ``MAX_SKIPS`` such skips are tried, each
    candidate trimmed by the remove pass; the cheapest wins.
    """
    parts = unit_cost.size
    rows = np.arange(parts)
    start = float(curves.value[:, 0].sum())
    needed = wanted - start
    gain = np.diff(np.concatenate(([0.0], segments.cum_value)))
    blocked = np.zeros(segments.part.size, dtype=bool)
    best: NDArray[np.int64] | None = None
    best_cost = np.inf
    for _ in range(MAX_SKIPS + 1):
        taken = ~blocked
        reach = np.flatnonzero(np.cumsum(np.where(taken, gain, 0.0)) >= needed)
        if reach.size == 0:
            break
        crossing = int(reach[0])
        chosen = taken.copy()
        chosen[crossing + 1 :] = False
        units = np.zeros(parts, dtype=np.int64)
        np.maximum.at(units, segments.part[chosen], segments.units_to[chosen])
        value = float(curves.value[rows, units].sum())
        units = _remove_pass(curves, unit_cost, units, max(value - wanted, 0.0))
        cost = float(units @ unit_cost)
        if cost < best_cost:
            best, best_cost = units, cost
        # Skip the crossing segment's part from here on.
        blocked |= (segments.part == segments.part[crossing]) & (
            np.arange(segments.part.size) >= crossing
        )
    if best is None:
        return curves.length.copy()
    return best


def _local_search(
    model: _Model, stock: NDArray[np.int64], wanted: float | None
) -> NDArray[np.int64]:
    """Improve a plan part by part: move a unit between depots when the part gains
    (free: a part's units cost the same everywhere), and, with a goal (``wanted``,
    the objective to keep), drop units losing the least value per CNY while the goal
    still holds, and once nothing else helps, exchange dear units for cheaper ones
    of other parts (``_exchange``). A greedy path can lock a part into its first
    depots (the one that covers most cities first); moving units out of it undoes
    that.

    Exact under the model: every move and drop is evaluated, not estimated. Only
    parts that changed are evaluated again.
    """
    stock = stock.copy()
    parts, depots = stock.shape
    all_rows = np.arange(parts)
    value, _, _, gain = model.evaluate(all_rows, stock)
    loss = np.full((parts, depots), np.inf)  # value lost removing one unit at d
    # Value (exact) of one and of two more units, at add_depot[:, 0] and then [:, 1].
    add_gain = np.zeros((parts, EXCHANGE_UNITS))
    add_depot = np.zeros((parts, EXCHANGE_UNITS), dtype=np.int64)
    add_stale = all_rows[model.ceiling() > 0] if wanted is not None else all_rows[:0]
    dirty = np.flatnonzero(stock.sum(axis=1) > 0)
    for _ in range(MAX_SEARCH_ROUNDS):
        if dirty.size:
            loss[dirty] = np.inf
            for d in range(depots):
                rows = dirty[stock[dirty, d] > 0]
                if rows.size:
                    fewer = stock[rows].copy()
                    fewer[:, d] -= 1
                    loss[rows, d] = value[rows] - model.evaluate(rows, fewer, with_gain=False)[0]
        if add_stale.size:
            more = stock[add_stale].copy()
            more_gain = gain[add_stale]
            for m in range(EXCHANGE_UNITS):
                best = np.argmax(more_gain, axis=1)
                more[np.arange(add_stale.size), best] += 1
                last = m == EXCHANGE_UNITS - 1
                more_value, _, _, more_gain = model.evaluate(add_stale, more, with_gain=not last)
                add_gain[add_stale, m] = more_value - value[add_stale]
                add_depot[add_stale, m] = best
        changed: list[NDArray[np.int64]] = []
        # Moves: out of the depot losing least, into the one gaining most.
        movable = dirty[np.isfinite(loss[dirty]).any(axis=1)] if dirty.size else dirty
        if movable.size:
            out_of = np.argmin(loss[movable], axis=1)
            ranked = gain[movable].copy()
            ranked[np.arange(movable.size), out_of] = -np.inf
            into = np.argmax(ranked, axis=1)
            moved = stock[movable].copy()
            moved[np.arange(movable.size), out_of] -= 1
            moved[np.arange(movable.size), into] += 1
            moved_value, _, _, moved_gain = model.evaluate(movable, moved)
            better = moved_value > value[movable] * (1 + 1e-12) + 1e-15
            rows = movable[better]
            stock[rows], value[rows], gain[rows] = (
                moved[better],
                moved_value[better],
                moved_gain[better],
            )
            changed.append(rows)
        # Drops within the slack over the goal, least value lost per CNY first.
        if wanted is not None:
            slack = float(value.sum()) - wanted
            settled = np.isfinite(loss).any(axis=1)
            for rows in changed:
                settled[rows] = False  # moved this round: their losses are stale
            candidates = np.flatnonzero(settled)
            if candidates.size and slack > 0:
                out_of = np.argmin(loss[candidates], axis=1)
                lost = loss[candidates, out_of]
                order = np.argsort(lost / model.unit_cost[candidates], kind="stable")
                fits = np.cumsum(lost[order]) <= slack
                chosen = order[fits]
                rows = candidates[chosen]
                stock[rows, out_of[chosen]] -= 1
                value[rows] -= lost[chosen]
                changed.append(rows)
        if wanted is not None and not any(rows.size for rows in changed):
            changed.append(
                _exchange(stock, loss, add_gain, add_depot, model.unit_cost, value.sum() - wanted)
            )
        dirty = np.unique(np.concatenate(changed)) if changed else np.zeros(0, dtype=np.int64)
        if dirty.size == 0:
            break
        value[dirty], _, _, gain[dirty] = model.evaluate(dirty, stock[dirty])
        add_stale = dirty if wanted is not None else dirty[:0]
    return stock


MAX_TOP_UP_ROUNDS = 50
# Part-depot pairs up to which the optimiser searches under the pooling mix itself.
POOLED_SEARCH_LIMIT = 4_000
# Inventory values are float sums of unit costs and carry their rounding: a budget
# short of a plan's value by less than this (CNY) affords it.
COST_ROUNDING_CNY = 1e-7
# A part whose value under the pooling mix differs from the search's by more than
# this share of its ceiling is searched again under the mix.
POOLED_DIFFERENCE = 1e-3


def _settle_pooled(
    model: _Model, search: _Model, stock: NDArray[np.int64], wanted: float
) -> NDArray[np.int64]:
    """The search's plan made good under the prediction's model (the pooling mix):
    units added until it reaches ``wanted`` (``_top_up``), then the exact local
    search again, under the mix, on the parts where the two models differ (where
    several depots in time are thin; few parts of a well-stocked plan)."""
    rows = np.arange(stock.shape[0])
    pooled_value = model.evaluate(rows, stock, with_gain=False)[0]
    search_value = search.evaluate(rows, stock, with_gain=False)[0]
    before = stock
    stock = _top_up(model, stock, wanted)
    differs = np.abs(pooled_value - search_value) > POOLED_DIFFERENCE * np.maximum(
        model.ceiling(), 1e-12
    )
    touched = np.flatnonzero(differs | np.any(stock != before, axis=1))
    if touched.size == 0:
        return stock
    value = model.evaluate(rows, stock, with_gain=False)[0]
    others = float(value.sum() - value[touched].sum())
    stock = stock.copy()
    stock[touched] = _local_search(model.of_parts(touched), stock[touched], wanted - others)
    return stock


def _top_up(model: _Model, stock: NDArray[np.int64], wanted: float) -> NDArray[np.int64]:
    """Add units until ``model`` (the prediction's, with the pooling mix) reaches
    ``wanted``: the search ran on independent shelves, which is a little optimistic
    where several depots in time are thin. Each round adds the units of most gain
    per CNY whose estimated gains cover the shortfall, then evaluates again."""
    stock = stock.copy()
    rows = np.arange(stock.shape[0])
    cost = np.maximum(model.unit_cost, 1e-9)[:, None]
    for _ in range(MAX_TOP_UP_ROUNDS):
        value, _, _, gain = model.evaluate(rows, stock)
        short = wanted - float(value.sum())
        if short <= GOAL_SLACK * max(wanted, 1e-12):
            break
        best = np.argmax(gain / cost, axis=1)
        best_gain = gain[rows, best]
        order = np.argsort(-best_gain / cost[:, 0], kind="stable")
        order = order[best_gain[order] > 0]
        if order.size == 0:
            break
        take = order[: int(np.searchsorted(np.cumsum(best_gain[order]), short)) + 1]
        stock[take, best[take]] += 1
    return stock


EXCHANGE_CANDIDATES = 64
# An exchange adds one or up to this many units of the cheaper part.
EXCHANGE_UNITS = 2


def _exchange(
    stock: NDArray[np.int64],
    loss: NDArray[np.float64],
    add_gain: NDArray[np.float64],
    add_depot: NDArray[np.int64],
    unit_cost: NDArray[np.float64],
    slack: float,
) -> NDArray[np.int64]:
    """Swap a dear unit for cheaper ones of another part (in place): drop a unit of
    one part and add one or two (``EXCHANGE_UNITS``) of a part whose units cost less
    together and whose gain covers the loss beyond the slack (``add_gain`` (P, m):
    the exact gain of m + 1 more units at ``add_depot[:, :m + 1]``). Dearest units
    first (up to ``EXCHANGE_CANDIDATES``), each part in one exchange at most; values
    are additive over parts, so the goal still holds. Returns the parts changed.
    This is the knapsack's end effect the hull misses: a cheap unit or two more can
    let an expensive one go."""
    can_remove = np.flatnonzero(np.isfinite(loss).any(axis=1))
    can_add = np.flatnonzero(add_gain[:, 0] > 0)
    if can_remove.size == 0 or can_add.size == 0:
        return np.zeros(0, dtype=np.int64)
    out_of = np.argmin(loss[can_remove], axis=1)
    lost = loss[can_remove, out_of]
    # One option per (part, units): its cost and gain.
    units = np.arange(1, EXCHANGE_UNITS + 1)
    option_part = np.repeat(can_add, EXCHANGE_UNITS)
    option_units = np.tile(units, can_add.size)
    option_cost = unit_cost[option_part] * option_units
    option_gain = add_gain[can_add].ravel()
    used = np.zeros(stock.shape[0], dtype=bool)
    changed: list[int] = []
    for i in np.argsort(-unit_cost[can_remove], kind="stable")[:EXCHANGE_CANDIDATES]:
        dropped = int(can_remove[i])
        if used[dropped]:
            continue
        fits = (
            (option_gain >= lost[i] - slack)
            & (option_cost < unit_cost[dropped])
            & ~used[option_part]
            & (option_part != dropped)
        )
        if not np.any(fits):
            continue
        j = int(np.argmin(np.where(fits, option_cost, np.inf)))
        added, count = int(option_part[j]), int(option_units[j])
        stock[dropped, out_of[i]] -= 1
        for depot in add_depot[added, :count]:
            stock[added, depot] += 1
        slack -= float(lost[i] - option_gain[j])
        used[dropped] = used[added] = True
        changed += [dropped, added]
    return np.asarray(changed, dtype=np.int64)


@dataclass(frozen=True)
class Plan:
    """Base stock (P, D) with its prediction; ``objective`` the C-1 weighted share."""

    base_stock: NDArray[np.int64]
    prediction: Prediction
    objective: float
    reached: bool
    reason: str | None = None

    @property
    def inventory_value(self) -> float:
        return self.prediction.inventory_value

    @property
    def within_window(self) -> float:
        return self.prediction.within_window


@dataclass(frozen=True)
class Proposal:
    """The optimised plan for a goal and the independent base stock at the same goal."""

    plan: Plan
    baseline: Plan
    goal: float
    c1_weight: float
    goals_by_class: dict[str, float] | None = None


@dataclass(frozen=True)
class CurvePoint:
    """One budget step of the exchange curve."""

    inventory_value: float
    within_window: float
    objective: float


class Optimiser:
    """Targets for one network: the per-part curves are computed once and answer the
    goal, the budget and the exchange curve.

    ``c1_weight`` counts a C-1 replacement that many times in the objective (1: every
    replacement alike, the share the contracts promise).
    """

    def __init__(
        self,
        network: ServiceNetwork,
        c1_weight: float = DEFAULT_C1_WEIGHT,
        routes: Routes | None = None,
        demand_weight: NDArray[np.float64] | None = None,
    ) -> None:
        if not (c1_weight > 0 and np.isfinite(c1_weight)):
            raise ValueError("c1_weight must be a positive number")
        self.network = network
        self.c1_weight = float(c1_weight)
        self.routes = routes or network_routes(network)
        self.model = _Model.of(network, self.c1_weight, self.routes, demand_weight)
        # Small networks (the demo's size) search under the prediction's own model;
        # larger ones on independent shelves (half the work), then settle the plan
        # under the pooling mix (``_settle_pooled``).
        parts, depots, _ = network.shape
        small = parts * depots <= POOLED_SEARCH_LIMIT
        self.search = self.model if small else self.model.searching()
        self.curves = part_curves(self.search)
        self.segments = _segments(self.curves, network.unit_cost)
        self.total_value = float(self.model.route_value.sum())
        self.start_value = float(self.curves.value[:, 0].sum())

    def _objective_share(self, value: float) -> float:
        return value / self.total_value if self.total_value > 0 else 1.0

    def plan(self, stock: NDArray[np.int64], goal: float | None = None) -> Plan:
        """The prediction of any base stock, as a plan (``reached`` against ``goal``)."""
        stock = _check_stock(self.network, stock)
        prediction = predict(self.network, stock, self.routes)
        rows = np.arange(stock.shape[0])
        value, _, _, _ = self.model.evaluate(rows, stock, with_gain=False)
        objective = self._objective_share(float(value.sum()))
        reached = goal is None or objective >= goal - GOAL_SLACK
        return Plan(stock, prediction, objective, reached)

    def _units_plan(self, units: NDArray[np.int64], goal: float | None) -> Plan:
        return self.plan(self.curves.stock(units, len(self.network.depots)), goal)

    def ceiling(self) -> float:
        """The most the objective can reach with unlimited stock (a share)."""
        return self._objective_share(float(self.model.ceiling().sum()))

    def for_goal(self, goal: float = DEFAULT_GOAL) -> Proposal:
        """The least inventory value reaching ``goal`` (C-1 weighted share within W),
        and the baseline at the same goal; never a plan the baseline dominates."""
        if not (0 < goal < 1):
            raise ValueError("goal must be more than 0 and less than 1")
        parts = len(self.network.parts)
        wanted = goal * self.total_value
        needed = wanted - self.start_value
        reach = np.flatnonzero(self.segments.cum_value >= needed - GOAL_SLACK * self.total_value)
        reason = None
        if not reach.size:
            # The goal is out of reach: aim just under the most service any stock
            # gives (the last units toward the ceiling cost the most).
            best = self._objective_share(
                float(self.curves.value[np.arange(parts), self.curves.length].sum())
            )
            reason = (
                f"the goal {goal:.1%} cannot be reached: at most {best:.2%} within "
                f"{self.network.window_hours:g} hours (some requests have no depot "
                "that reaches them in time); the plan aims at "
                f"{max(best - UNREACHABLE_MARGIN, 0.0):.2%}"
            )
            wanted = max(best - UNREACHABLE_MARGIN, 0.0) * self.total_value
            needed = wanted - self.start_value
            reach = np.flatnonzero(self.segments.cum_value >= needed)
        units = _cheapest_completion(self.curves, self.segments, self.network.unit_cost, wanted)
        stock = self.curves.stock(units, len(self.network.depots))
        stock = _local_search(self.search, stock, wanted)
        if self.search is not self.model:
            stock = _settle_pooled(self.model, self.search, stock, wanted)
        plan = self.plan(stock, goal)
        baseline = self.baseline(goal)
        plan = _not_dominated(plan, baseline, goal)
        if reason and not plan.reached:
            plan = Plan(plan.base_stock, plan.prediction, plan.objective, False, reason)
        return Proposal(plan=plan, baseline=baseline, goal=goal, c1_weight=self.c1_weight)

    def for_budget(self, budget: float) -> Plan:
        """The most objective for at most ``budget`` CNY of inventory value: the hull
        segments in order while they fit, then single units of the next segments."""
        if not (budget >= 0 and np.isfinite(budget)):
            raise ValueError("budget must be a number >= 0")
        parts = len(self.network.parts)
        affordable = budget + COST_ROUNDING_CNY
        count = int(np.searchsorted(self.segments.cum_cost, affordable, side="right"))
        units = _units_after(self.segments, count, parts)
        left = affordable - (float(self.segments.cum_cost[count - 1]) if count else 0.0)
        cost = self.network.unit_cost
        for index in range(count, self.segments.part.size):
            p = int(self.segments.part[index])
            fits = int(min(self.segments.units_to[index] - units[p], left // cost[p]))
            if fits > 0:
                gained = np.cumsum(np.diff(self.curves.value[p, units[p] : units[p] + fits + 1]))
                best = int(np.argmax(gained))
                # Between two hull points a part's path can dip (a unit that helps
                # only with the next ones): units that lose service are not bought.
                if gained[best] > 0:
                    units[p] += best + 1
                    left -= (best + 1) * cost[p]
            if left < cost.min(initial=np.inf):
                break
        return self._units_plan(units, None)

    def exchange_curve(self, points: int = 25) -> list[CurvePoint]:
        """Inventory value against predicted service, one point per budget step of
        equal size from nothing to the most service (each point a real plan on the
        hull: its value is exact under the search's model, the prediction's own up
        to ``POOLED_SEARCH_LIMIT``; beyond it independent shelves, a little
        optimistic at the curve's thin end)."""
        if points < 2:
            raise ValueError("an exchange curve needs at least 2 points")
        parts = len(self.network.parts)
        top = float(self.segments.cum_cost[-1]) if self.segments.cum_cost.size else 0.0
        curve = []
        rows = np.arange(parts)
        demand = float(self.model.route_plain.sum())
        for budget in np.linspace(0.0, top, points):
            count = int(
                np.searchsorted(self.segments.cum_cost, budget + COST_ROUNDING_CNY, side="right")
            )
            units = _units_after(self.segments, count, parts)
            value = float(self.curves.value[rows, units].sum())
            plain = float(self.curves.plain[rows, units].sum())
            spent = float(self.segments.cum_cost[count - 1]) if count else 0.0
            curve.append(
                CurvePoint(
                    inventory_value=spent,
                    within_window=plain / demand if demand > 0 else 1.0,
                    objective=self._objective_share(value),
                )
            )
        return curve

    def baseline(self, goal: float = DEFAULT_GOAL) -> Plan:
        """Independent per-depot base stock at ``goal``: each depot alone covers the
        requests it is the first choice for (``optimizer.targets.base_stock_targets``)."""
        return self.plan(baseline_stock(self.network, goal, self.routes), goal)


def first_choice_demand(
    network: ServiceNetwork, routes: Routes | None = None
) -> NDArray[np.float64]:
    """(P, D) units a day of the requests each depot is the first choice for (the
    earliest arrival with a lane): the demand of its own region."""
    routes = routes or network_routes(network)
    order_demand = _route_demand(network, routes) @ routes.order_matrix()
    return _sum_by_group(order_demand.T, routes.order[:, 0], len(network.depots)).T


def baseline_stock(
    network: ServiceNetwork, goal: float = DEFAULT_GOAL, routes: Routes | None = None
) -> NDArray[np.int64]:
    """(P, D) independent base stock: the fill-rate rule of ``optimizer.targets`` per
    depot over the demand it is the first choice for (its own region)."""
    first = first_choice_demand(network, routes)
    return base_stock_targets(first, network.resupply_days, goal)


def _not_dominated(plan: Plan, baseline: Plan, goal: float) -> Plan:
    """The optimised plan unless the baseline reaches the goal for less, or is at
    least as good for no more, or reaches a goal the plan misses (then the baseline
    itself, with its reach)."""
    if baseline.reached and not plan.reached:
        # The part curves stop at MAX_UNITS_PER_PART: a very busy part can need more.
        return baseline
    cheaper = baseline.inventory_value <= plan.inventory_value
    if cheaper and baseline.objective >= plan.objective:
        return baseline
    if cheaper and baseline.reached and plan.reached:
        return baseline
    return plan


# ---------------------------------------------------------------------------------
# Goals per contract class
# ---------------------------------------------------------------------------------

# Lagrangian rounds for class goals (each optimises the whole network again): a class
# short of its goal counts CLASS_STEP times as much in the next.
CLASS_ROUNDS = 4
CLASS_STEP = 3.0
# After the rounds, at most this many single units are added for a class still short.
MAX_TOP_UP_UNITS = 5_000


class _ClassGoals:
    """Each contract class's objective (C-1 weighted share of its demand within W) and
    the share it aims at (its goal, or just under its ceiling when out of reach)."""

    def __init__(
        self,
        network: ServiceNetwork,
        goals: Mapping[str, float],
        c1_weight: float,
        routes: Routes,
    ) -> None:
        unknown = sorted(set(goals) - set(network.classes))
        if unknown:
            raise ValueError(f"unknown contract class {unknown[0]!r}")
        for name, goal in goals.items():
            if not (0 < goal < 1):
                raise ValueError(f"the goal of class {name!r} must be more than 0 and less than 1")
        share = _class_shares(network)
        self.routes = routes
        self.rows = np.arange(len(network.parts))
        self.models: dict[str, _Model] = {}
        self.totals: dict[str, float] = {}
        self.aims: dict[str, float] = {}
        self.goals = dict(goals)
        reasons = []
        for k, name in enumerate(network.classes):
            if name not in goals:
                continue
            model = _Model.of(network, c1_weight, routes, share[:, :, k])
            total = float(model.route_value.sum())
            if total <= 0:
                continue  # no demand in this class: nothing to reach
            ceiling = float(model.ceiling().sum()) / total
            aim = goals[name]
            if aim > ceiling - GOAL_SLACK:
                aim = max(ceiling - UNREACHABLE_MARGIN, 0.0)
                reasons.append(
                    f"the goal {goals[name]:.1%} of class {name} cannot be reached: at most "
                    f"{ceiling:.2%} within {network.window_hours:g} hours; the plan aims at "
                    f"{aim:.2%}"
                )
            self.models[name], self.totals[name], self.aims[name] = model, total, aim
        self.reason = "; ".join(reasons) or None

    def shares(self, stock: NDArray[np.int64]) -> dict[str, float]:
        return {
            name: float(model.evaluate(self.rows, stock, with_gain=False)[0].sum())
            / self.totals[name]
            for name, model in self.models.items()
        }

    def met(self, shares: Mapping[str, float]) -> bool:
        return all(shares[name] >= aim - GOAL_SLACK for name, aim in self.aims.items())

    def plan(
        self, network: ServiceNetwork, stock: NDArray[np.int64], reason: str | None = None
    ) -> Plan:
        """``stock`` as a plan: ``objective`` the C-1 weighted share of all demand,
        ``reached`` when every class reaches its goal."""
        objective = sum(
            float(model.evaluate(self.rows, stock, with_gain=False)[0].sum())
            for model in self.models.values()
        )
        total = sum(self.totals.values())
        reached = self.met(self.shares(stock)) and reason is None
        return Plan(
            stock,
            predict(network, stock, self.routes),
            objective / total if total > 0 else 1.0,
            reached,
            reason,
        )

    def top_up(self, stock: NDArray[np.int64], unit_cost: NDArray[np.float64]) -> NDArray[np.int64]:
        """Add single units, most gain per CNY for the class furthest under its aim,
        until every class reaches its aim (or nothing gains)."""
        stock = stock.copy()
        value: dict[str, NDArray[np.float64]] = {}
        gain: dict[str, NDArray[np.float64]] = {}
        for name, model in self.models.items():
            value[name], _, _, gain[name] = model.evaluate(self.rows, stock)
        cost = np.maximum(unit_cost, 1e-9)[:, None]
        for _ in range(MAX_TOP_UP_UNITS):
            short = {
                name: self.aims[name] - float(value[name].sum()) / self.totals[name]
                for name in self.models
            }
            name = max(short, key=lambda n: short[n])
            if short[name] <= GOAL_SLACK:
                break
            p, d = np.unravel_index(int(np.argmax(gain[name] / cost)), stock.shape)
            if gain[name][p, d] <= 0:
                break
            stock[p, d] += 1
            row = np.array([p])
            for other, model in self.models.items():
                v, _, _, g = model.evaluate(row, stock[row])
                value[other][p], gain[other][p] = v[0], g[0]
        return stock


def class_baseline_stock(
    network: ServiceNetwork, goals: Mapping[str, float], routes: Routes | None = None
) -> NDArray[np.int64]:
    """(P, D) independent base stock at class goals: each depot's fill-rate goal is its
    own region's mix of the classes' goals (weighted by the demand it is the first
    choice for); classes without a goal count at the highest goal."""
    routes = routes or network_routes(network)
    share = _class_shares(network)
    top = max(goals.values())
    weighted = np.zeros((len(network.parts), len(network.depots)))
    first_total = np.zeros_like(weighted)
    for k, name in enumerate(network.classes):
        class_network = replace(network, demand_per_day=network.demand_per_day * share[:, :, k])
        first = first_choice_demand(class_network, routes)
        weighted += first * goals.get(name, top)
        first_total += first
    with np.errstate(invalid="ignore", divide="ignore"):
        goal = np.where(first_total > 0, weighted / np.where(first_total > 0, first_total, 1), 0)
    return base_stock_targets(first_total, network.resupply_days, goal)


def class_goal_plan(
    network: ServiceNetwork,
    stock: NDArray[np.int64],
    goals: Mapping[str, float],
    c1_weight: float = DEFAULT_C1_WEIGHT,
    routes: Routes | None = None,
) -> Plan:
    """Any base stock as a plan against class goals (``reached``: every class with
    demand reaches its goal; ``objective`` the C-1 weighted share over those classes)."""
    stock = _check_stock(network, stock)
    routes = routes or network_routes(network)
    targets = _ClassGoals(network, goals, c1_weight, routes)
    return targets.plan(network, stock, targets.reason)


def for_class_goals(
    network: ServiceNetwork,
    goals: Mapping[str, float],
    c1_weight: float = DEFAULT_C1_WEIGHT,
    routes: Routes | None = None,
) -> Proposal:
    """The least inventory value meeting a goal per contract class (``goals``: class
    name -> share, e.g. {"7x24": 0.98, "5x8": 0.95}; a class left out has no goal),
    with the independent base stock at the same goals (``class_baseline_stock``).

    Lagrangian: one objective, each class's demand weighted by its multiplier, is
    optimised for the matching combined goal (``Optimiser.for_goal``); a class still
    short multiplies its multiplier by ``CLASS_STEP``, up to ``CLASS_ROUNDS``
    rounds; then single units
    are added for the classes still short. A class goal out of reach aims just under
    its ceiling (``reason`` says so). Never returns a plan the baseline dominates
    (cheaper or equal and at least as good in every class)."""
    routes = routes or network_routes(network)
    targets = _ClassGoals(network, goals, c1_weight, routes)
    share = _class_shares(network)
    index = {name: k for k, name in enumerate(network.classes)}
    multiplier = {name: 1.0 for name in targets.aims}
    stock = np.zeros((len(network.parts), len(network.depots)), dtype=np.int64)
    found = False
    for _ in range(CLASS_ROUNDS if targets.aims else 0):
        weight = sum(multiplier[n] * share[:, :, index[n]] for n in targets.aims)
        wanted = sum(multiplier[n] * targets.aims[n] * targets.totals[n] for n in targets.aims)
        whole = sum(multiplier[n] * targets.totals[n] for n in targets.aims)
        combined = min(max(wanted / whole, 1e-6), 1 - 1e-6)
        optimiser = Optimiser(network, c1_weight, routes, np.asarray(weight))
        stock = optimiser.for_goal(combined).plan.base_stock
        shares = targets.shares(stock)
        if targets.met(shares):
            found = True
            break
        for name in targets.aims:
            if shares[name] < targets.aims[name] - GOAL_SLACK:
                multiplier[name] *= CLASS_STEP
    if targets.aims and not found:
        stock = targets.top_up(stock, network.unit_cost)
    plan = targets.plan(network, stock, targets.reason)
    baseline = targets.plan(network, class_baseline_stock(network, goals, routes))
    plan_shares, base_shares = targets.shares(plan.base_stock), targets.shares(baseline.base_stock)
    if baseline.inventory_value <= plan.inventory_value and (
        all(base_shares[n] >= plan_shares[n] for n in targets.aims)
        or (targets.met(base_shares) and targets.met(plan_shares))
    ):
        plan = Plan(baseline.base_stock, baseline.prediction, baseline.objective, True, plan.reason)
    demand = network.demand_per_day
    mix = sum(
        goals[name] * float((demand * share[:, :, index[name]]).sum())
        for name in goals
        if name in index
    )
    combined_goal = mix / float(demand.sum()) if demand.sum() > 0 else max(goals.values())
    return Proposal(
        plan=plan,
        baseline=baseline,
        goal=combined_goal,
        c1_weight=float(c1_weight),
        goals_by_class=dict(goals),
    )


# ---------------------------------------------------------------------------------
# The exact optimum of a small instance (to measure the greedy's gap)
# ---------------------------------------------------------------------------------

MAX_EXACT_ROWS = 2_000_000


@dataclass(frozen=True)
class Exact:
    """The least inventory value reaching a goal among every base stock of at most
    ``max_units`` per depot and part, by enumeration (``None`` when none reaches it)."""

    base_stock: NDArray[np.int64] | None
    inventory_value: float
    objective: float


def _pareto(cost: NDArray[np.float64], value: NDArray[np.float64]) -> NDArray[np.int64]:
    """Indices of the points no cheaper-or-equal point beats in value, by cost."""
    order = np.lexsort((-value, cost))
    best = np.maximum.accumulate(value[order])
    keep = np.concatenate(([True], best[1:] > best[:-1]))
    return order[keep]


def exact_for_goal(
    network: ServiceNetwork,
    goal: float,
    max_units: int,
    c1_weight: float = DEFAULT_C1_WEIGHT,
) -> Exact:
    """The exact optimum of the goal problem within the box 0..``max_units``.

    Parts are independent under the model, so each part's (max_units + 1) ** D stock
    vectors are evaluated once (vectorised), cut to their cost/value Pareto front,
    and the fronts are combined part by part (a Pareto merge, exact). Meant for a
    few depots and parts (the CI check and the benchmark's gap); ``ValueError``
    when the enumeration would exceed ``MAX_EXACT_ROWS`` rows.
    """
    parts, depots, _ = network.shape
    per_part = (max_units + 1) ** depots
    if per_part * parts > MAX_EXACT_ROWS:
        raise ValueError("instance too large to enumerate")
    model = _Model.of(network, c1_weight)
    grid = np.stack(
        np.meshgrid(*[np.arange(max_units + 1)] * depots, indexing="ij"), axis=-1
    ).reshape(-1, depots)
    total = float(model.route_value.sum())
    # Combined front: (cost, value, choice per part so far).
    front_cost = np.zeros(1)
    front_value = np.zeros(1)
    front_choice = np.zeros((1, 0), dtype=np.int64)
    for p in range(parts):
        rows = np.full(per_part, p)
        value, _, _, _ = model.evaluate(rows, grid, with_gain=False)
        cost = grid.sum(axis=1) * network.unit_cost[p]
        keep = _pareto(cost, value)
        cost_all = (front_cost[:, None] + cost[keep][None, :]).ravel()
        value_all = (front_value[:, None] + value[keep][None, :]).ravel()
        merged = _pareto(cost_all, value_all)
        left, right = np.divmod(merged, keep.size)
        front_choice = np.concatenate((front_choice[left], keep[right][:, None]), axis=1)
        front_cost, front_value = cost_all[merged], value_all[merged]
    reaching = np.flatnonzero(front_value >= goal * total - GOAL_SLACK * total)
    if reaching.size == 0:
        return Exact(None, float("inf"), float(front_value.max() / total) if total else 1.0)
    best = reaching[np.argmin(front_cost[reaching])]
    stock = grid[front_choice[best]]
    return Exact(stock, float(front_cost[best]), float(front_value[best] / total) if total else 1.0)
