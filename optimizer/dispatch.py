"""Batch dispatch: many open replacements competing for scarce stock.

Input
-----
``requests``: one ``DispatchRequest`` per open replacement (id, part group, fault
level C-1/C-2/C-3, due time). A *group* is the set of interchangeable part numbers
(a part and the parts that supersede it); the caller names it, e.g. by the newest
part number. ``stock`` maps (group, depot) to good units available. ``arrival``
and ``cost`` are R x D arrays (R requests, D depots in the order of ``depots``):
when the unit for request r would arrive if depot d shipped it, and what that
costs (CNY). A missing value (None, NaN, NaT) means depot d cannot serve request
r. The caller picks ONE quote per pair; for a C-1 case it is the emergency courier
only when the standard service misses the due time and the emergency one meets
it, the same rule as ``depot_choice``.

Objective, lexicographic
------------------------
1. Maximise the requests that meet their due time, where ONE C-1 counts more than
   ANY number of C-2s and C-3s, and one C-2 more than any number of C-3s.
2. Then maximise the requests that get a unit at all (late beats not at all),
   with the same priority between levels. A request is left unassigned (backorder)
   only when the stock it could use went to requests that rank higher.
3. Then minimise the total lateness (minutes past the due time) of the requests
   that are served late: a request that cannot be on time gets the earliest
   arrival the competition leaves it, as ``depot_choice`` does for one case.
4. Then minimise the units taken from below a depot's target stock
   (``spare[(group, depot)]`` units may go without falling below it; the rest are
   protected), as ``depot_choice`` protects targets before cost.
5. Then minimise the total transit cost.

Why min-cost flow, and why in stages
------------------------------------
The problem is a transportation problem: request nodes with supply 1, one node
per (group, depot) holding stock, arcs request -> (group, depot) of capacity 1,
(group, depot) -> sink of capacity = stock (two parallel arcs: the spare units
above target, and the protected rest), and an "unassigned" arc request -> sink.
Its constraint matrix is totally unimodular, so OR-Tools' min-cost flow
(``SimpleMinCostFlow``, exact integer arithmetic, milliseconds for thousands of
requests) gives integral optimal assignments without any branching; CP-SAT would
solve the same model but has no advantage on a pure network and is slower.

The obvious way to get a lexicographic objective is one flow whose integer costs
fold all tiers together (C-1 weight > n * C-2 weight > ..., and the cost tier in
fen below them). It does not fit: OR-Tools multiplies costs by (nodes + 1) and
rejects an arc cost above int64_max / (2 (nodes + 1)) (``BAD_COST_RANGE``, about
4.6e15 for 1,000 requests); six count tiers of about 334 requests each (weights
multiplying by ~335 per tier, ~1.4e15) on top of a cost tier of up to 1,000 x 3e8
fen need weights near 4e26, beyond even int64 itself (9.2e18). So the objective is
solved in five stages, each a min-cost flow with small integer costs, each later
stage confined to the optimal solutions of the earlier ones:

* After a stage, shortest-path distances in its residual graph (Bellman-Ford,
  vectorised with numpy; paths alternate between request and depot nodes, so it
  converges in a few dozen rounds) are optimal dual prices. By complementary
  slackness every optimal flow of that stage keeps arcs of positive reduced cost
  empty and arcs of negative reduced cost full. The next stage drops the former,
  fixes the latter (moving their flow into the node supplies) and is free on the
  zero-reduced-cost arcs only, so it can never trade away an earlier tier.
* Stage A (meet the due time) uses penalties 3/2/1 for a C-1/C-2/C-3 request
  that misses its due time. That is enough for the lexicographic order: the sets
  of requests that can all meet their due time at once form a transversal matroid,
  and in a matroid every maximum-weight set for weights 3 > 2 > 1 > 0 has the same
  count per level as the greedy (C-1 first) set, which is lexicographically best.
* Stage B (get a unit at all) penalises leaving a request unassigned with weights
  1, n3 + 1 and (n2 + 1)(n3 + 1) for C-3, C-2, C-1 (n2, n3 counted within the
  request's group: groups never share stock, so each group is its own contest).
  Those weights are strict lexicographic weights; the largest must stay below
  ``MAX_ARC_COST`` (1e9, i.e. up to ~60,000 competing requests in ONE group), else
  ``ValueError`` asks to split the batch.
* Stage L charges each late option its minutes past the due time (at most
  ``MAX_LATE_MINUTES``), stage P one per unit on a protected arc.
* Stage C minimises cost in fen (rounded half-up, int64: OR-Tools would truncate
  float costs silently). A shipment may cost at most ``MAX_SHIPMENT_CNY`` (10
  million CNY = 1e9 fen); any OR-Tools range failure raises, never truncates.

The tests compare every tier and the cost with brute-force enumeration of all
assignments on small instances. Ties between equally good plans are broken by the
solver, the same way for the same input. 1,000 competing requests take tens of
milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import numpy as np
from numpy.typing import ArrayLike, NDArray
from ortools.graph.python import min_cost_flow

FAULT_LEVELS = ("C-1", "C-2", "C-3")
MAX_SHIPMENT_CNY = 10_000_000
MAX_ARC_COST = 1_000_000_000
MAX_LATE_MINUTES = 1_000_000  # about two years: later than that is "very late" alike
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MISSING = np.iinfo(np.int64).min


@dataclass(frozen=True)
class DispatchRequest:
    """One open replacement: ``due`` is the aware instant the unit must arrive by."""

    id: str
    group: str
    fault_level: str
    due: datetime

    def __post_init__(self) -> None:
        if self.fault_level not in FAULT_LEVELS:
            raise ValueError(f"request {self.id}: fault level must be one of C-1, C-2, C-3")
        if self.due.tzinfo is None or self.due.utcoffset() is None:
            raise ValueError(f"request {self.id}: due must be an aware datetime")


@dataclass(frozen=True)
class Assignment:
    """Where one request's unit comes from; ``depot`` None is a backorder (cost 0)."""

    request_id: str
    depot: str | None
    arrives_at: datetime | None
    cost: Decimal
    meets_due: bool

    @property
    def backorder(self) -> bool:
        return self.depot is None


@dataclass(frozen=True)
class DispatchResult:
    """Assignments in request order and totals; counts per level keyed C-1/C-2/C-3."""

    assignments: tuple[Assignment, ...]
    assigned: int
    met_due: int
    backorders: int
    total_cost: Decimal
    met_by_level: dict[str, int] = field(default_factory=dict)
    assigned_by_level: dict[str, int] = field(default_factory=dict)


def dispatch(
    requests: Sequence[DispatchRequest],
    depots: Sequence[str],
    stock: Mapping[tuple[str, str], int],
    arrival: ArrayLike,
    cost: ArrayLike,
    *,
    spare: Mapping[tuple[str, str], int] | None = None,
) -> DispatchResult:
    """Assign depots to competing requests by the lexicographic objective above.

    ``arrival``: R x D aware datetimes (None when impossible), numpy datetime64
    (NaT), or seconds since the Unix epoch (NaN). ``cost``: R x D CNY as Decimals,
    ints or floats (None/NaN when impossible), rounded half-up to the fen.
    ``stock[(group, depot)]`` units >= 0; a missing key means 0. ``spare[(group,
    depot)]``: how many of those units may go without the depot falling below its
    target stock (missing key or no mapping: all of them). Arrival at the due
    instant meets it. Raises ``ValueError`` for malformed input (shapes, duplicate
    ids or depots, naive datetimes, negative stock or cost, unknown depots in
    ``stock`` or ``spare``) or an instance beyond the documented bounds.
    """
    n_req, n_dep = len(requests), len(depots)
    if len({r.id for r in requests}) != n_req:
        raise ValueError("request ids must be unique")
    if len(set(depots)) != n_dep:
        raise ValueError("depot codes must be unique")
    arrival_us = _instants(arrival, (n_req, n_dep))
    cost_fen = _money(cost, (n_req, n_dep))
    due_us = np.array([_micros(r.due) for r in requests], dtype=np.int64)
    level = np.array([FAULT_LEVELS.index(r.fault_level) for r in requests], dtype=np.int64)

    group_ids: dict[str, int] = {}
    group = np.array([group_ids.setdefault(r.group, len(group_ids)) for r in requests], np.int64)
    units = _stock_matrix(stock, group_ids, depots)
    free_units = (
        units if spare is None else np.minimum(units, _stock_matrix(spare, group_ids, depots))
    )

    usable = (arrival_us != _MISSING) & (cost_fen >= 0)
    if n_req:
        usable &= units[group] > 0
    req_idx, dep_idx = np.nonzero(usable)
    late_us = arrival_us[req_idx, dep_idx] - due_us[req_idx]
    meets = late_us <= 0

    # Nodes: requests 0..R-1, one per used (group, depot) cell, then the sink. Each
    # cell reaches the sink twice: its spare units, then the protected ones.
    cell = group[req_idx] * n_dep + dep_idx
    cells, cell_node = np.unique(cell, return_inverse=True)
    n_cells = cells.size
    sink = n_req + n_cells
    cell_nodes = n_req + np.arange(n_cells)
    spare_caps = free_units.ravel()[cells]
    tails = np.concatenate([req_idx, cell_nodes, cell_nodes, np.arange(n_req)])
    heads = np.concatenate([n_req + cell_node, np.full(2 * n_cells, sink), np.full(n_req, sink)])
    caps = np.concatenate(
        [
            np.ones(req_idx.size, np.int64),
            spare_caps,
            units.ravel()[cells] - spare_caps,
            np.ones(n_req, np.int64),
        ]
    )
    n_opt = req_idx.size
    zeros_cells = np.zeros(2 * n_cells, np.int64)
    zeros_req = np.zeros(n_req, np.int64)

    # Stage A: a missed due time (late or unassigned) costs 3/2/1 by level.
    miss_weight = np.array([3, 2, 1], np.int64)[level]
    stage_a = np.concatenate([np.where(meets, 0, miss_weight[req_idx]), zeros_cells, miss_weight])
    # Stage B: leaving a request without a unit, lexicographic by level within its group.
    served_weight = _served_weights(group, level, len(group_ids))
    stage_b = np.concatenate([np.zeros(n_opt, np.int64), zeros_cells, served_weight])
    # Stage L: minutes past the due time of a late option.
    late_minutes = np.minimum(-(-np.maximum(late_us, 0) // 60_000_000), MAX_LATE_MINUTES)
    stage_l = np.concatenate([late_minutes, zeros_cells, zeros_req])
    # Stage P: a unit taken from below the depot's target.
    protected = np.concatenate([np.zeros(n_cells, np.int64), np.ones(n_cells, np.int64)])
    stage_p = np.concatenate([np.zeros(n_opt, np.int64), protected, zeros_req])
    # Stage C: transit cost in fen.
    stage_c = np.concatenate([cost_fen[req_idx, dep_idx], zeros_cells, zeros_req])

    supplies = np.zeros(sink + 1, np.int64)
    supplies[:n_req] = 1
    supplies[sink] = -n_req
    stages = [stage_a, stage_b, stage_l, stage_p, stage_c]
    flows = _lexicographic_flow(tails, heads, caps, stages, supplies)

    chosen = flows[:n_opt] > 0
    depot_of = np.full(n_req, -1, np.int64)
    depot_of[req_idx[chosen]] = dep_idx[chosen]
    return _result(requests, depots, depot_of, arrival_us, cost_fen, due_us, level)


def _lexicographic_flow(
    tails: NDArray[np.int64],
    heads: NDArray[np.int64],
    caps: NDArray[np.int64],
    stages: list[NDArray[np.int64]],
    supplies: NDArray[np.int64],
) -> NDArray[np.int64]:
    """Flow optimal for ``stages[0]``, then ``stages[1]`` among those, and so on."""
    n_nodes = supplies.size
    supplies = supplies.copy()
    flows = np.zeros(tails.size, np.int64)
    free = np.arange(tails.size)
    for number, costs in enumerate(stages):
        t, h, c, k = tails[free], heads[free], caps[free], costs[free]
        stage_flow = _solve(t, h, c, k, supplies)
        if number == len(stages) - 1:
            flows[free] = stage_flow
            break
        reduced = _reduced_costs(t, h, c, k, stage_flow, n_nodes)
        full = reduced < 0
        # Arcs every optimal flow saturates: fix them and move their flow into the supplies.
        flows[free[full]] = c[full]
        np.subtract.at(supplies, t[full], c[full])
        np.add.at(supplies, h[full], c[full])
        free = free[reduced == 0]
    return flows


def _solve(
    tails: NDArray[np.int64],
    heads: NDArray[np.int64],
    caps: NDArray[np.int64],
    costs: NDArray[np.int64],
    supplies: NDArray[np.int64],
) -> NDArray[np.int64]:
    if tails.size == 0:
        if np.any(supplies):
            raise RuntimeError("dispatch network lost its balance (internal error)")
        return np.zeros(0, np.int64)
    if costs.max(initial=0) > MAX_ARC_COST:
        raise ValueError("too many competing requests in one part group; split the batch")
    solver = min_cost_flow.SimpleMinCostFlow()
    arcs = solver.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps, costs
    )
    solver.set_nodes_supplies(np.arange(supplies.size, dtype=np.int32), supplies)
    status = solver.solve()
    if status == solver.BAD_COST_RANGE:
        raise ValueError("dispatch instance beyond OR-Tools' cost range; split the batch")
    if status != solver.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status.name} (internal error)")
    return np.asarray(solver.flows(np.asarray(arcs, dtype=np.int32)), dtype=np.int64)


def _reduced_costs(
    tails: NDArray[np.int64],
    heads: NDArray[np.int64],
    caps: NDArray[np.int64],
    costs: NDArray[np.int64],
    flows: NDArray[np.int64],
    n_nodes: int,
) -> NDArray[np.int64]:
    """Arc reduced costs under optimal dual prices of an optimal ``flows``.

    Prices are shortest-path distances in the residual graph from a virtual root
    joined to every node at cost 0 (Bellman-Ford with numpy rounds). An optimal
    flow has no negative cycle, so the rounds stop within ``n_nodes``.
    """
    forward = flows < caps
    backward = flows > 0
    r_tail = np.concatenate([tails[forward], heads[backward]])
    r_head = np.concatenate([heads[forward], tails[backward]])
    r_cost = np.concatenate([costs[forward], -costs[backward]])
    order = np.argsort(r_head, kind="stable")
    r_tail, r_head, r_cost = r_tail[order], r_head[order], r_cost[order]
    targets, starts = np.unique(r_head, return_index=True)
    dist = np.zeros(n_nodes, np.int64)
    for _ in range(n_nodes + 1):
        if r_tail.size == 0:
            break
        best = np.minimum.reduceat(dist[r_tail] + r_cost, starts)
        improved = best < dist[targets]
        if not improved.any():
            break
        dist[targets[improved]] = best[improved]
    else:
        raise RuntimeError("residual graph has a negative cycle (internal error)")
    return costs + dist[tails] - dist[heads]


def _served_weights(
    group: NDArray[np.int64], level: NDArray[np.int64], n_groups: int
) -> NDArray[np.int64]:
    """Per request, the stage-B penalty: strict lexicographic weights within its group."""
    counts = np.bincount(group * 3 + level, minlength=n_groups * 3).reshape(n_groups, 3)
    n2 = counts[:, 1].astype(object)
    n3 = counts[:, 2].astype(object)
    # Python ints (object arrays) so the bound check itself cannot overflow.
    by_level = np.stack([(n2 + 1) * (n3 + 1), n3 + 1, np.ones(n_groups, dtype=object)], axis=1)
    weights = by_level[group, level] if group.size else np.zeros(0, dtype=object)
    if weights.size and max(weights) > MAX_ARC_COST:
        raise ValueError("too many competing requests in one part group; split the batch")
    return weights.astype(np.int64)


def _result(
    requests: Sequence[DispatchRequest],
    depots: Sequence[str],
    depot_of: NDArray[np.int64],
    arrival_us: NDArray[np.int64],
    cost_fen: NDArray[np.int64],
    due_us: NDArray[np.int64],
    level: NDArray[np.int64],
) -> DispatchResult:
    assignments = []
    met_by_level = dict.fromkeys(FAULT_LEVELS, 0)
    assigned_by_level = dict.fromkeys(FAULT_LEVELS, 0)
    total_fen = 0
    for r, request in enumerate(requests):
        d = int(depot_of[r])
        if d < 0:
            assignments.append(Assignment(request.id, None, None, Decimal("0.00"), False))
            continue
        arrives = int(arrival_us[r, d])
        fen = int(cost_fen[r, d])
        meets = arrives <= int(due_us[r])
        total_fen += fen
        assigned_by_level[request.fault_level] += 1
        met_by_level[request.fault_level] += meets
        assignments.append(
            Assignment(
                request_id=request.id,
                depot=depots[d],
                arrives_at=_EPOCH + arrives * _MICROSECOND,
                cost=_cny(fen),
                meets_due=meets,
            )
        )
    assigned = sum(assigned_by_level.values())
    return DispatchResult(
        assignments=tuple(assignments),
        assigned=assigned,
        met_due=sum(met_by_level.values()),
        backorders=len(requests) - assigned,
        total_cost=_cny(total_fen),
        met_by_level=met_by_level,
        assigned_by_level=assigned_by_level,
    )


def _stock_matrix(
    stock: Mapping[tuple[str, str], int], group_ids: Mapping[str, int], depots: Sequence[str]
) -> NDArray[np.int64]:
    depot_index = {code: i for i, code in enumerate(depots)}
    units = np.zeros((len(group_ids), len(depots)), np.int64)
    for (group_key, depot), qty in stock.items():
        if depot not in depot_index:
            raise ValueError(f"stock names unknown depot {depot!r}")
        if isinstance(qty, bool) or int(qty) != qty or qty < 0:
            raise ValueError(f"stock of {group_key} at {depot} must be a whole number >= 0")
        if group_key in group_ids:
            units[group_ids[group_key], depot_index[depot]] = int(qty)
    return units


def _instants(values: ArrayLike, shape: tuple[int, int]) -> NDArray[np.int64]:
    """R x D instants as int64 microseconds since the epoch; ``_MISSING`` where absent."""
    array = np.asarray(values) if not _is_empty(shape) else np.zeros(shape)
    if array.shape != shape:
        raise ValueError(f"arrival must have shape {shape}, not {array.shape}")
    if array.dtype.kind == "M":
        out = array.astype("datetime64[us]").astype(np.int64)
        return np.where(np.isnat(array), _MISSING, out)
    if array.dtype.kind in "fiu":
        seconds = array.astype(np.float64)
        missing = np.isnan(seconds)
        if np.isinf(seconds).any():
            raise ValueError("arrival must be finite")
        out = np.rint(np.where(missing, 0.0, seconds) * 1e6).astype(np.int64)
        return np.where(missing, _MISSING, out)
    out = np.full(shape, _MISSING, np.int64)
    for (r, d), value in np.ndenumerate(array):
        if value is None:
            continue
        if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("arrival values must be aware datetimes or None")
        out[r, d] = _micros(value)
    return out


def _money(values: ArrayLike, shape: tuple[int, int]) -> NDArray[np.int64]:
    """R x D CNY amounts as int64 fen, rounded half-up; -1 where absent."""
    array = np.asarray(values) if not _is_empty(shape) else np.zeros(shape)
    if array.shape != shape:
        raise ValueError(f"cost must have shape {shape}, not {array.shape}")
    if array.dtype.kind in "fiu":
        amounts = array.astype(np.float64)
        missing = np.isnan(amounts)
        present = amounts[~missing]
        if not np.all(np.isfinite(present) & (present >= 0) & (present <= MAX_SHIPMENT_CNY)):
            raise ValueError(f"cost must be between 0 and {MAX_SHIPMENT_CNY} CNY")
        # Half-up at the fen, like Decimal quantize: floor(x * 100 + 0.5) on a float.
        fen = np.floor(np.where(missing, 0.0, amounts) * 100 + 0.5).astype(np.int64)
        return np.where(missing, -1, fen)
    out = np.full(shape, -1, np.int64)
    for (r, d), value in np.ndenumerate(array):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        try:
            amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
        except InvalidOperation:
            raise ValueError(f"cost {value!r} is not a number") from None
        if not amount.is_finite() or not 0 <= amount <= MAX_SHIPMENT_CNY:
            raise ValueError(f"cost must be between 0 and {MAX_SHIPMENT_CNY} CNY")
        out[r, d] = int((amount * 100).to_integral_value(rounding=ROUND_HALF_UP))
    return out


def _is_empty(shape: tuple[int, int]) -> bool:
    return shape[0] == 0 or shape[1] == 0


def _micros(instant: datetime) -> int:
    return (instant - _EPOCH) // _MICROSECOND


def _cny(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))
