"""A discrete-event replay of replacement demand on a ``ServiceNetwork`` with given
base stock: what share of replacements would arrive within the window.

Pure: numpy and the standard library (and ``optimizer.depot_choice``), no database.

The replay
----------
Demand is either sampled (``sample_demand``: for each part and city a Poisson number
of requests over the days, at approval hours drawn from
``approval_hour_weights``, C-1 with the ``c1_share``; one seed, one answer) or given
(``DemandEvent`` list: the real RMA history). Every depot starts at its base stock.
Each request, in time order, is decided by the system's own depot choice
(``optimizer.depot_choice.choose_depot``) among the depots with a unit on the shelf:
the standard carrier's arrival for that approval hour (the cut-off and next pick-up
are in ``arrival_hours``) and, for C-1, the emergency courier, offered by the one
service rule (``offered_options``: not booked while some depot meets the due time by
standard service). Costs are not part of the network, so every quote costs the same
and, among depots in time, the earliest arrival wins (then the code). A request is
within the window when its unit arrives at most ``window_hours`` after approval.

When no depot has a unit the request waits (a backorder) for the first depot of its
route (the earliest arrival with a lane) and ships from there when that depot is
resupplied, decided again by the same rule against its original due time.

Resupply, one unit back for each unit shipped (the depot's base stock restored):

* without a repair loop (``repair=None``): after ``resupply_days[p, d]`` (the
  network's replenishment lead time: a rebalancing transfer bringing the depot back
  to its base stock), exactly what ``optimizer.availability.predict`` assumes;
* with a ``RepairLoop``: the customer's defective unit comes back to the shipping
  depot within the 15-day rule (uniformly within ``return_days`` of delivery); with
  the part's yield it goes back into good stock after the repair turnaround (no
  fault found counts as back to good); a scrapped unit is replaced by a rebalancing
  transfer arriving ``transfer_days[p, d]`` after the scrap decision.
  ``RepairLoop.mean_resupply_days`` is the mean lead time this gives, for a
  prediction on the same terms.

The answer (``SimulationResult``) is the achieved share within the window overall,
by fault level and by customer city, with the counts behind them.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from optimizer.availability import HOURS_PER_DAY, ServiceNetwork
from optimizer.depot_choice import EMERGENCY, LOCAL_ZONE, Candidate, TransitOption, choose_depot

C1 = "C-1"
OTHER = "other"  # sampled demand knows only C-1 or not
DEFECTIVE_RETURN_DAYS = 15.0
# Instants are hours from the start of day 0 at midnight, Asia/Shanghai; the depot
# choice needs aware instants, so they are laid on a fixed calendar day.
EPOCH = datetime(2026, 1, 5, tzinfo=LOCAL_ZONE)
FREE = Decimal(0)
# Arrival at the due instant is in time; float hours are rounded to this (1 ms).
HOUR_TOLERANCE = 1e-6


@dataclass(frozen=True, order=True)
class DemandEvent:
    """One replacement request: approved ``at_hours`` after day 0's midnight (Asia/
    Shanghai), for part index ``part`` in city index ``city``; ``fault_level`` "C-1"
    may book the emergency courier."""

    at_hours: float
    part: int
    city: int
    fault_level: str = OTHER


@dataclass(frozen=True)
class RepairLoop:
    """The repair loop that resupplies a depot from its own defective returns.

    ``yield_share`` (P,) the share of returned units back to good stock (repaired or
    no fault found); ``no_fault_found_share`` (P,) the part of it with no fault found;
    ``turnaround_days`` (P,) from receipt to good stock; ``transfer_days`` (P, D) the
    lateral-transfer lead time replacing a scrapped unit; ``return_days`` the defective
    return rule (the unit is back within this many days of delivery)."""

    yield_share: NDArray[np.float64]
    no_fault_found_share: NDArray[np.float64]
    turnaround_days: NDArray[np.float64]
    transfer_days: NDArray[np.float64]
    return_days: float = DEFECTIVE_RETURN_DAYS

    def __post_init__(self) -> None:
        for name in ("yield_share", "no_fault_found_share", "turnaround_days", "transfer_days"):
            array = np.asarray(getattr(self, name), dtype=np.float64)
            if not np.all(np.isfinite(array)) or np.any(array < 0):
                raise ValueError(f"{name} must be finite numbers >= 0")
            object.__setattr__(self, name, array)
        if np.any(self.yield_share > 1) or np.any(self.no_fault_found_share > self.yield_share):
            raise ValueError("shares must satisfy 0 <= no_fault_found <= yield <= 1")
        if not (self.return_days >= 0 and math.isfinite(self.return_days)):
            raise ValueError("return_days must be a finite number >= 0")

    def check(self, network: ServiceNetwork) -> None:
        """``ValueError`` unless the shapes fit ``network``."""
        parts, depots, _ = network.shape
        for name in ("yield_share", "no_fault_found_share", "turnaround_days"):
            if getattr(self, name).shape != (parts,):
                raise ValueError(f"{name} must have shape {(parts,)}")
        if self.transfer_days.shape != (parts, depots):
            raise ValueError(f"transfer_days must have shape {(parts, depots)}")

    def mean_resupply_days(
        self, network: ServiceNetwork, delivery_days: float = 0.5
    ) -> NDArray[np.float64]:
        """(P, D) mean days from shipping a unit to its replacement on the shelf:
        delivery, half the return window, then the turnaround (with the yield) or
        the transfer replacing a scrapped unit."""
        self.check(network)
        back = delivery_days + self.return_days / 2.0
        good = self.yield_share[:, None] * self.turnaround_days[:, None]
        scrapped = (1.0 - self.yield_share[:, None]) * self.transfer_days
        return np.maximum(back + good + scrapped, 1e-3)


@dataclass(frozen=True)
class Tally:
    """Requests and those within the window."""

    cases: int = 0
    within: int = 0

    @property
    def share(self) -> float | None:
        return self.within / self.cases if self.cases else None


@dataclass(frozen=True)
class SimulationResult:
    """What the replay achieved (shares are None where there were no requests).

    ``by_fault_level`` and ``by_city`` are keyed by the level ("C-1", "other" or the
    history's levels) and the network's city names. ``backorders`` counts requests
    that found no unit anywhere, ``emergency`` those sent by the emergency courier,
    ``never_served`` those still waiting at the end or with no lane at all;
    ``returns`` the defective units back, split into ``repaired``,
    ``no_fault_found`` and ``scrapped`` (repair loop only)."""

    within_window: float | None
    cases: int
    by_fault_level: dict[str, Tally]
    by_city: dict[str, Tally]
    backorders: int
    emergency: int
    never_served: int
    returns: int = 0
    repaired: int = 0
    no_fault_found: int = 0
    scrapped: int = 0
    by_part: dict[str, Tally] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        """The contract's answer: within_window, cases, shares by fault level and city."""
        return {
            "within_window": self.within_window,
            "cases": self.cases,
            "by_fault_level": {k: t.share for k, t in self.by_fault_level.items()},
            "by_city": {k: t.share for k, t in self.by_city.items()},
        }


def sample_demand(
    network: ServiceNetwork, days: int, seed: int, *, start_day: int = 0
) -> list[DemandEvent]:
    """Poisson demand for ``days`` days from ``start_day``: the same list for the same
    network, days and seed, sorted by time."""
    if days < 0:
        raise ValueError("days must be >= 0")
    rng = np.random.default_rng(seed)
    counts = rng.poisson(network.demand_per_day * days)
    parts, cities = np.nonzero(counts)
    repeat = counts[parts, cities]
    part_of = np.repeat(parts, repeat)
    city_of = np.repeat(cities, repeat)
    total = part_of.size
    day = rng.integers(0, max(days, 1), size=total) + start_day
    hour = rng.choice(HOURS_PER_DAY, size=total, p=network.approval_hour_weights)
    at = day * float(HOURS_PER_DAY) + hour + rng.random(size=total)
    c1 = rng.random(size=total) < network.c1_share[part_of, city_of]
    order = np.lexsort((city_of, part_of, at))
    return [
        DemandEvent(float(at[i]), int(part_of[i]), int(city_of[i]), C1 if c1[i] else OTHER)
        for i in order
    ]


class _Counter:
    def __init__(self) -> None:
        self.cases = 0
        self.within = 0

    def add(self, within: bool) -> None:
        self.cases += 1
        self.within += int(within)

    def frozen(self) -> Tally:
        return Tally(self.cases, self.within)


def _instant(hours: float) -> datetime:
    return EPOCH + timedelta(hours=round(hours / HOUR_TOLERANCE) * HOUR_TOLERANCE)


class _Replay:
    """The state of one replay: shelves, resupplies under way, waiting requests."""

    def __init__(
        self,
        network: ServiceNetwork,
        base_stock: NDArray[np.int64],
        repair: RepairLoop | None,
        seed: int,
        count_from_hours: float,
    ) -> None:
        self.network = network
        self.shelf = np.array(base_stock, dtype=np.int64, copy=True)
        self.repair = repair
        self.rng = np.random.default_rng([seed, 1])  # the repair loop's own stream
        self.count_from = count_from_hours
        self.resupplies: list[tuple[float, int, int, int]] = []  # (at, seq, part, depot)
        self.sequence = 0
        self.waiting: dict[tuple[int, int], deque[DemandEvent]] = {}
        self.overall = _Counter()
        self.levels: dict[str, _Counter] = {}
        self.cities: dict[int, _Counter] = {}
        self.parts: dict[int, _Counter] = {}
        self.backorders = self.emergency = self.no_lane = 0
        self.returns = self.repaired = self.no_fault_found = self.scrapped = 0
        self.emergency_hours = np.minimum(network.arrival_hours, network.arrival_hours_emergency)

    # --- the rule -------------------------------------------------------------------------

    def _candidates(
        self, event: DemandEvent, hour: int, at: float, depots: Sequence[int]
    ) -> list[Candidate]:
        approved = _instant(at)
        found = []
        for d in depots:
            standard = self.network.arrival_hours[d, event.city, hour]
            if not math.isfinite(standard):
                continue
            emergency_option = None
            if event.fault_level == C1:
                express = self.network.arrival_hours_emergency[d, event.city, hour]
                if math.isfinite(express):
                    emergency_option = TransitOption(approved, _instant(at + express), FREE)
            found.append(
                Candidate(
                    depot=self.network.depots[d],
                    available=int(self.shelf[event.part, d]),
                    target=0,
                    standard=TransitOption(approved, _instant(at + standard), FREE),
                    emergency=emergency_option,
                )
            )
        return found

    def _first_depot(self, event: DemandEvent, hour: int) -> int | None:
        """The first depot of the request's route: the earliest arrival with a lane."""
        hours = self.emergency_hours if event.fault_level == C1 else self.network.arrival_hours
        arrival = hours[:, event.city, hour]
        if not np.any(np.isfinite(arrival)):
            return None
        return int(np.argmin(arrival))  # ties: the lowest index, as the prediction's routes

    def _ship(
        self, event: DemandEvent, at: float, depots: Sequence[int], *, restock: bool = True
    ) -> bool | None:
        """Decide by the depot choice among ``depots`` at ``at`` (hours); ship and return
        whether it arrives within the window of the request, or None when none ships.
        ``restock``: the shipment starts the depot's resupply (False for a backorder,
        whose resupply started when it was raised)."""
        hour = math.floor(at) % HOURS_PER_DAY
        stocked = [d for d in depots if self.shelf[event.part, d] > 0]
        candidates = self._candidates(event, hour, at, stocked)
        if not candidates:
            return None
        due = _instant(event.at_hours + self.network.window_hours)
        decision = choose_depot(candidates, due)
        if decision.depot is None or decision.promised_delivery is None:
            return None
        depot = self.network.depots.index(decision.depot)
        self.shelf[event.part, depot] -= 1
        if decision.service == EMERGENCY:
            self.emergency += 1
        arrives = (decision.promised_delivery - EPOCH).total_seconds() / 3600.0
        if restock:
            self._resupply(event.part, depot, at, arrives)
        elif self.repair is not None:
            # Its defective unit still comes back, into the pool that paid the transfer.
            self._through_repair(event.part, depot, arrives)
        return arrives - event.at_hours <= self.network.window_hours + HOUR_TOLERANCE

    def _resupply(self, part: int, depot: int, shipped: float, delivered: float) -> None:
        if self.repair is None:
            back = shipped + self.network.resupply_days[part, depot] * HOURS_PER_DAY
        else:
            back = self._through_repair(part, depot, delivered)
        self._schedule(back, part, depot)

    def _order_for_backorder(self, part: int, depot: int, at: float) -> None:
        """A request found no unit: the depot's stock position fell, so its resupply
        starts now (a rebalancing transfer), and the unit goes to the request."""
        if self.repair is None:
            lead = self.network.resupply_days[part, depot]
        else:
            lead = self.repair.transfer_days[part, depot]
        self._schedule(at + lead * HOURS_PER_DAY, part, depot)

    def _schedule(self, at: float, part: int, depot: int) -> None:
        self.sequence += 1
        heapq.heappush(self.resupplies, (at, self.sequence, part, depot))

    def _through_repair(self, part: int, depot: int, delivered: float) -> float:
        loop = self.repair
        assert loop is not None
        returned = delivered + self.rng.random() * loop.return_days * HOURS_PER_DAY
        self.returns += 1
        draw = self.rng.random()
        if draw < loop.no_fault_found_share[part]:
            self.no_fault_found += 1
        elif draw < loop.yield_share[part]:
            self.repaired += 1
        else:
            self.scrapped += 1
            return returned + loop.transfer_days[part, depot] * HOURS_PER_DAY
        return returned + loop.turnaround_days[part] * HOURS_PER_DAY

    # --- the events -----------------------------------------------------------------------

    def _count(self, event: DemandEvent, within: bool) -> None:
        if event.at_hours < self.count_from:
            return
        self.overall.add(within)
        self.levels.setdefault(event.fault_level, _Counter()).add(within)
        self.cities.setdefault(event.city, _Counter()).add(within)
        self.parts.setdefault(event.part, _Counter()).add(within)

    def demand(self, event: DemandEvent) -> None:
        depots = range(len(self.network.depots))
        within = self._ship(event, event.at_hours, depots)
        if within is not None:
            self._count(event, within)
            return
        hour = math.floor(event.at_hours) % HOURS_PER_DAY
        first = self._first_depot(event, hour)
        if event.at_hours >= self.count_from:
            self.backorders += 1
        if first is None:
            if event.at_hours >= self.count_from:
                self.no_lane += 1
            self._count(event, False)  # no lane reaches the city: never served
            return
        self.waiting.setdefault((event.part, first), deque()).append(event)
        self._order_for_backorder(event.part, first, event.at_hours)

    def resupplied(self, at: float, part: int, depot: int) -> None:
        self.shelf[part, depot] += 1
        queue = self.waiting.get((part, depot))
        if not queue:
            return
        waiting = queue.popleft()
        within = self._ship(waiting, at, [depot], restock=False)
        # One unit, its own route's first depot: it always ships (it has a lane).
        self._count(waiting, bool(within))

    def run(self, events: Sequence[DemandEvent], until_hours: float) -> None:
        for event in events:
            while self.resupplies and self.resupplies[0][0] <= event.at_hours:
                at, _, part, depot = heapq.heappop(self.resupplies)
                self.resupplied(at, part, depot)
            self.demand(event)
        while self.resupplies and self.resupplies[0][0] <= until_hours:
            at, _, part, depot = heapq.heappop(self.resupplies)
            self.resupplied(at, part, depot)

    def result(self) -> SimulationResult:
        never = self.no_lane
        for queue in self.waiting.values():
            for waiting in queue:
                if waiting.at_hours >= self.count_from:
                    self._count(waiting, False)
                    never += 1
        names = self.network
        return SimulationResult(
            within_window=self.overall.frozen().share,
            cases=self.overall.cases,
            by_fault_level={k: c.frozen() for k, c in sorted(self.levels.items())},
            by_city={names.cities[k]: c.frozen() for k, c in sorted(self.cities.items())},
            backorders=self.backorders,
            emergency=self.emergency,
            never_served=never,
            returns=self.returns,
            repaired=self.repaired,
            no_fault_found=self.no_fault_found,
            scrapped=self.scrapped,
            by_part={names.parts[k]: c.frozen() for k, c in sorted(self.parts.items())},
        )


def _check_stock(network: ServiceNetwork, base_stock: NDArray[np.int64]) -> NDArray[np.int64]:
    parts, depots, _ = network.shape
    stock = np.asarray(base_stock)
    if stock.shape != (parts, depots):
        raise ValueError(f"base stock has shape {stock.shape}, expected {(parts, depots)}")
    if np.any(stock < 0) or np.any(stock != np.round(stock)):
        raise ValueError("base stock must be whole numbers >= 0")
    return stock.astype(np.int64)


def simulate(
    network: ServiceNetwork,
    base_stock: NDArray[np.int64],
    *,
    days: int = 365,
    seed: int = 0,
    events: Sequence[DemandEvent] | None = None,
    repair: RepairLoop | None = None,
    warmup_days: int | None = None,
) -> SimulationResult:
    """Replay ``days`` days of demand on ``network`` with ``base_stock`` (P, D).

    ``events`` replays the given requests (hours from day 0; no warm-up); otherwise
    demand is sampled with ``seed`` after a warm-up (default: the longest resupply,
    at most 90 days) that is replayed but not counted, so the shelves start in their
    usual state rather than full. Deterministic for the same arguments.
    """
    stock = _check_stock(network, base_stock)
    if days < 0:
        raise ValueError("days must be >= 0")
    if repair is not None:
        repair.check(network)
    parts, _, cities = network.shape
    if events is None:
        if warmup_days is None:
            longest = float(network.resupply_days.max()) if network.resupply_days.size else 0.0
            warmup_days = min(90, math.ceil(longest))
        demand = sample_demand(network, days + warmup_days, seed, start_day=-warmup_days)
        count_from = 0.0
    else:
        demand = sorted(events)
        for event in demand:
            if not (0 <= event.part < parts and 0 <= event.city < cities):
                raise ValueError(f"demand event {event} names no part or city of the network")
        count_from = -math.inf
    replay = _Replay(network, stock, repair, seed, count_from)
    replay.run(demand, until_hours=days * float(HOURS_PER_DAY))
    return replay.result()
