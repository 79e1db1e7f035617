"""Freight as charged: a rebalancing plan that pays each lane's shipment once.

Cost model
----------
A plan sends everything it moves on a depot-to-depot lane as ONE shipment: the lane
charges its shipment cost once (CNY per shipment, the lane's ``cost``), plus a
handling charge per unit (10 CNY by default, per lane). So a plan costs

    sum over used lanes (shipment cost)  +  sum over moves (units x lane handling),

and consolidating units onto fewer lanes is cheaper than sending them apart. The
objective stays lexicographic, as in ``optimizer.rebalance``: first move as many
units into shortages as possible (that maximum is the same under every cost model,
part by part: each part moves exactly as many units as the per-unit plan does), then
pay the least freight among plans moving that many.

Method (exact, or a stated gap)
-------------------------------
This is a fixed-charge network flow. Given the set of lanes open, what is left is a
min-cost flow priced by handling alone (``optimizer.rebalance.solve_moves``, one
OR-Tools call for all parts). The hard part is the lane set, and it is solved by
branch and bound over lanes, each node bounded by one min-cost flow:

1. *Root*: all lanes open, priced by handling. Its flow moves the most units U*.
2. *Forced lanes*: a lane without which some part cannot move its most units is
   used by every optimal plan, so its shipment charge is paid whatever happens.
   Per part the most units over a lane set is a max flow on a bipartite graph,
   which is the least cut; with D depots there are 2^D cuts (256 for eight), so
   the check is a vectorised matrix product over parts, lane by lane (D <= 12).
3. *Free lanes* (used somewhere, not forced, charging more than 0) are the only
   decisions. Parts with no candidate move on a free lane keep their root flow:
   it is optimal for them whichever lanes are chosen (parts are independent once
   the lanes are fixed). The B&B works on the other ("coupled") parts only.
4. *Bound*: a node fixes some free lanes open and some closed. Its lower bound is
   the min-cost flow with closed lanes removed, open lanes priced by handling,
   undecided lanes priced by handling + shipment / K (K = most units the lane
   could carry, the sum of its moves' capacities: the LP relaxation of "lane
   used" linearised; costs rounded down to whole fen so the bound stays a bound),
   plus the open lanes' shipment charges. A node whose flow moves fewer than U*
   units is infeasible. Each node's flow, charged as it really is, is a plan and
   may improve the incumbent. Nodes are explored best bound first; the undecided
   lane with the dearest shipment among those the bound's flow uses is branched
   on (closed first, then open). A node whose bound's flow uses no undecided lane
   is solved.
5. The first incumbents are the root flow and the old per-unit plan (every unit
   charged a whole shipment) re-priced as charged, so the answer never costs more
   than the old plan under the true cost.

When the tree is exhausted the plan is optimal: ``gap`` 0, ``method`` "exact".
When ``time_limit_s`` runs out first, the plan is the best incumbent and
``lower_bound_fen`` is the least bound of the unexplored nodes: ``gap`` = (cost -
bound) / cost, ``method`` "time limit". On the eight-depot network (56 lanes) at
100,000 parts every used lane is forced and the root is already exact; on a small
network with few parts the tree has a handful of nodes (tests compare it with brute
force over every lane subset).

Per move, ``unit_cost_fen`` is the lane's handling per unit and ``cost_fen`` is
handling x units plus the move's share of its lane's shipment charge, split by
units (largest remainder, so the shares add up to the charge exactly). The
moves' costs add up to ``total_cost_fen``; ``lane_shipment_fen`` holds each used
lane's charge.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from optimizer.rebalance import (
    DEPOT_CODES,
    MAX_LANE_CNY,
    Progress,
    RebalancePlan,
    checked_lanes,
    dense_matrices,
    row_matrices,
    solve_moves,
)

DEFAULT_TIME_LIMIT_S = 5.0  # seconds of wall time for the lane choice; then the gap is stated
MAX_CUT_DEPOTS = 12  # 2^12 cuts per part; beyond that no lane is proven forced
_CUT_CHUNK = 16_384  # parts per cut matrix product (chunk x 2^D float64)


def rebalance_freight(
    part_index: ArrayLike,
    depot_index: ArrayLike,
    available: ArrayLike,
    target: ArrayLike,
    shipment_cost: ArrayLike,
    handling: ArrayLike,
    *,
    part_numbers: Sequence[str] | None = None,
    depot_codes: Sequence[str] = DEPOT_CODES,
    progress: Progress | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> RebalancePlan:
    """``optimizer.rebalance.rebalance`` with freight as charged (see the module notes).

    ``shipment_cost`` is D x D CNY per shipment (NaN = no lane); ``handling`` is CNY
    per unit, one number for every lane or a D x D matrix. Same rows, bounds and
    errors as ``rebalance``; also ``ValueError`` for a bad handling charge.
    """
    codes = tuple(depot_codes)
    shipment = checked_lanes(shipment_cost, len(codes))
    handling_fen = _handling_fen(handling, shipment)
    names = tuple(part_numbers) if part_numbers is not None else None
    avail, tgt, part_ids = row_matrices(
        part_index, depot_index, available, target, len(codes), names
    )
    return _freight_plan(
        avail, tgt, shipment, handling_fen, part_ids, names, codes, progress, time_limit_s
    )


def rebalance_freight_matrix(
    available: ArrayLike,
    target: ArrayLike,
    shipment_cost: ArrayLike,
    handling: ArrayLike,
    *,
    part_numbers: Sequence[str] | None = None,
    depot_codes: Sequence[str] = DEPOT_CODES,
    progress: Progress | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> RebalancePlan:
    """``rebalance_freight`` for dense P x D matrices (row p is part p)."""
    codes = tuple(depot_codes)
    shipment = checked_lanes(shipment_cost, len(codes))
    handling_fen = _handling_fen(handling, shipment)
    names = tuple(part_numbers) if part_numbers is not None else None
    avail, tgt, part_ids = dense_matrices(available, target, len(codes), names)
    return _freight_plan(
        avail, tgt, shipment, handling_fen, part_ids, names, codes, progress, time_limit_s
    )


def freight_cost_fen(
    from_depot: ArrayLike,
    to_depot: ArrayLike,
    qty: ArrayLike,
    shipment_cost: ArrayLike,
    handling: ArrayLike,
) -> int:
    """What moves cost as charged, in fen: each used lane's shipment once plus handling
    per unit. Prices any plan (e.g. the per-unit one) under the true cost."""
    shipment = checked_lanes(shipment_cost, np.asarray(shipment_cost).shape[0])
    handling_fen = _handling_fen(handling, shipment)
    src = np.asarray(from_depot, np.int64)
    dst = np.asarray(to_depot, np.int64)
    units = np.asarray(qty, np.int64)
    used = units > 0
    lanes = np.unique(src[used] * shipment.shape[0] + dst[used])
    return int(shipment.ravel()[lanes].sum()) + int((handling_fen[src, dst] * units).sum())


def _handling_fen(handling: ArrayLike, shipment: NDArray[np.int64]) -> NDArray[np.int64]:
    """Handling per unit as a D x D int64 fen matrix (0 where there is no lane)."""
    values = np.broadcast_to(np.asarray(handling, dtype=np.float64), shipment.shape)
    lane = shipment >= 0
    present = values[lane]
    if np.any(~np.isfinite(present)) or np.any(present < 0) or np.any(present > MAX_LANE_CNY):
        raise ValueError(f"handling must be between 0 and {MAX_LANE_CNY} CNY per unit")
    return np.where(lane, np.rint(np.where(lane, values, 0.0) * 100), 0).astype(np.int64)


@dataclass
class _Search:
    """The coupled parts' arcs and what the branch and bound knows so far."""

    p: NDArray[np.intp]
    src: NDArray[np.intp]
    dst: NDArray[np.intp]
    lane: NDArray[np.int64]
    surplus: NDArray[np.int64]
    shortage: NDArray[np.int64]
    shipment: NDArray[np.int64]  # D x D fen, -1 no lane
    handling: NDArray[np.int64]  # D x D fen
    units: int  # the most units the coupled parts can move
    free_fen: NDArray[np.int64]  # per lane id: its shipment charge if free, else 0
    best_cost: int = 0
    best_flow: NDArray[np.int64] | None = None
    nodes: int = 0

    def price(self, flow: NDArray[np.int64]) -> int:
        """The coupled flow's freight as charged: used free lanes once, handling per unit.
        (The always-open lanes' charges are counted outside the search.)"""
        used = np.unique(self.lane[flow > 0])
        return int(self.free_charge(used)) + int((self.handling[self.src, self.dst] * flow).sum())

    def free_charge(self, lanes: NDArray[np.int64]) -> int:
        return int(self.free_fen[lanes].sum())


def _freight_plan(
    available: NDArray[np.int64],
    target: NDArray[np.int64],
    shipment: NDArray[np.int64],
    handling: NDArray[np.int64],
    part_ids: NDArray[np.int64],
    names: tuple[str, ...] | None,
    codes: tuple[str, ...],
    progress: Progress | None,
    time_limit_s: float,
) -> RebalancePlan:
    started = time.monotonic()
    report = progress or _silent
    n_dep = len(codes)
    surplus = np.maximum(0, available - target)
    shortage = np.maximum(0, target - available)
    lane_ok = shipment >= 0
    mask = (surplus[:, :, None] > 0) & (shortage[:, None, :] > 0) & lane_ok[None, :, :]
    p, src, dst = np.nonzero(mask)
    del mask
    lane = (src * n_dep + dst).astype(np.int64)
    flow = solve_moves(p, src, dst, surplus, shortage, handling, report)

    charge = np.where(lane_ok, shipment, 0).ravel()
    candidate = np.unique(lane)
    forced = _forced_lanes(surplus, shortage, lane_ok, candidate)
    free = candidate[(charge[candidate] > 0) & ~np.isin(candidate, forced)]
    always_charge = int(charge[forced].sum())
    method = "exact"
    proven_bound: int | None = None  # None: the root flow is optimal
    if free.size:
        coupled_part = np.zeros(surplus.shape[0], dtype=bool)
        coupled_part[p[np.isin(lane, free)]] = True
        arc = coupled_part[p]
        search = _Search(
            p=p[arc],
            src=src[arc],
            dst=dst[arc],
            lane=lane[arc],
            surplus=surplus,
            shortage=shortage,
            shipment=shipment,
            handling=handling,
            units=int(flow[arc].sum()),
            free_fen=np.where(np.isin(np.arange(n_dep * n_dep), free), charge, 0),
            best_flow=flow[arc],
        )
        search.best_cost = search.price(flow[arc])
        # The old plan, every unit charged a whole shipment, as a first incumbent.
        per_unit = solve_moves(
            search.p, search.src, search.dst, surplus, shortage, np.maximum(shipment, 0), _silent
        )
        if int(per_unit.sum()) == search.units and search.price(per_unit) < search.best_cost:
            search.best_cost, search.best_flow = search.price(per_unit), per_unit
        deadline = started + time_limit_s
        bound_coupled, finished = _branch_and_bound(search, free, deadline)
        flow[arc] = search.best_flow
        method = "exact" if finished else "time limit"
        # Parts off the free lanes keep their (optimal) root flow; forced lanes are paid.
        outside = ~arc
        handling_outside = int((handling[src[outside], dst[outside]] * flow[outside]).sum())
        proven_bound = always_charge + handling_outside + bound_coupled

    used = flow > 0
    p, src, dst, qty, lane = p[used], src[used], dst[used], flow[used], lane[used]
    lane_units = np.bincount(lane, weights=qty, minlength=n_dep * n_dep).astype(np.int64)
    lane_charge = np.where(lane_units > 0, charge, 0)
    unit = handling[src, dst]
    share = _shares(lane, qty, lane_charge, lane_units)
    cost = qty * unit + share
    shipment_total = int(lane_charge.sum())
    total = shipment_total + int((qty * unit).sum())
    lower_bound = total if proven_bound is None else min(total, proven_bound)
    return RebalancePlan.of_moves(
        part_ids[p],
        src,
        dst,
        qty,
        unit,
        cost,
        part_numbers=names,
        depot_codes=codes,
        surplus=surplus,
        shortage=shortage,
        total_cost_fen=total,
        shipment_cost_fen=shipment_total,
        lane_shipment_fen=lane_charge.reshape(n_dep, n_dep),
        lower_bound_fen=lower_bound,
        gap=(total - lower_bound) / total if total else 0.0,
        method=method,
    )


def _branch_and_bound(
    search: _Search, free: NDArray[np.int64], deadline: float
) -> tuple[int, bool]:
    """Improve ``search``'s incumbent over the free lanes' choice, best bound first.

    Returns (least bound of the coupled parts' freight, whether the tree was exhausted).
    """
    capacity = np.minimum(
        search.surplus[search.p, search.src], search.shortage[search.p, search.dst]
    )
    most_on_lane = np.bincount(search.lane, weights=capacity, minlength=search.free_fen.size)
    # Undecided lanes: handling + shipment / K, rounded down (the LP relaxation's price).
    linear = np.zeros(search.free_fen.size, np.int64)
    linear[free] = search.free_fen[free] // np.maximum(most_on_lane[free].astype(np.int64), 1)
    handling_by_lane = search.handling.ravel()
    # heap of (parent bound, order, open lanes, closed lanes)
    heap: list[tuple[int, int, frozenset[int], frozenset[int]]] = [(0, 0, frozenset(), frozenset())]
    order = 1
    while heap:
        if time.monotonic() > deadline:
            return min(search.best_cost, heap[0][0]), False
        parent_bound, _, opened, closed = heapq.heappop(heap)
        if parent_bound >= search.best_cost:
            continue
        keep = ~np.isin(search.lane, np.fromiter(closed, np.int64, len(closed)))
        price = handling_by_lane.copy()
        undecided = np.setdiff1d(free, np.fromiter(opened | closed, np.int64, len(opened | closed)))
        price[undecided] += linear[undecided]
        n_dep = search.handling.shape[0]
        flow_kept = solve_moves(
            search.p[keep],
            search.src[keep],
            search.dst[keep],
            search.surplus,
            search.shortage,
            price.reshape(n_dep, n_dep),
            _silent,
        )
        search.nodes += 1
        if int(flow_kept.sum()) < search.units:
            continue  # closing these lanes strands units: infeasible
        flow = np.zeros(search.p.size, np.int64)
        flow[keep] = flow_kept
        open_list = np.fromiter(opened, np.int64, len(opened))
        bound = search.free_charge(open_list) + int((price[search.lane] * flow).sum())
        real = search.price(flow)
        if real < search.best_cost:
            search.best_cost, search.best_flow = real, flow
        if bound >= search.best_cost:
            continue
        carrying = np.intersect1d(np.unique(search.lane[flow > 0]), undecided)
        if carrying.size == 0:
            continue  # the bound's flow is a plan of this node: solved
        branch = int(carrying[np.argmax(search.free_fen[carrying])])
        heapq.heappush(heap, (bound, order, opened, closed | {branch}))
        heapq.heappush(heap, (bound, order + 1, opened | {branch}, closed))
        order += 2
    return search.best_cost, True


def _forced_lanes(
    surplus: NDArray[np.int64],
    shortage: NDArray[np.int64],
    lane_ok: NDArray[np.bool_],
    candidate: NDArray[np.int64],
) -> NDArray[np.int64]:
    """Lane ids (from x D + to) that every plan moving the most units must use.

    A part's most units over a lane set is its least cut: for each set G of depots
    whose surplus is not cut, the shortages of the depots G reaches must be, so
    max flow = min over G of (surplus outside G) + (shortage reachable from G).
    A lane is forced when removing it lowers that for some part.
    """
    n_dep = lane_ok.shape[0]
    if n_dep > MAX_CUT_DEPOTS or candidate.size == 0:
        return np.zeros(0, np.int64)
    subsets = np.arange(2**n_dep)
    member = ((subsets[None, :] >> np.arange(n_dep)[:, None]) & 1).astype(np.float64)
    outside = 1.0 - member  # D x 2^D: surplus at i is cut when i is not in G

    def reach(ok: NDArray[np.bool_]) -> NDArray[np.float64]:
        return ((ok.T.astype(np.float64) @ member) > 0).astype(np.float64)

    reach_all = reach(lane_ok)
    forced = []
    for lane in candidate.tolist():
        i, j = divmod(lane, n_dep)
        rows = np.flatnonzero((surplus[:, i] > 0) & (shortage[:, j] > 0))
        without = lane_ok.copy()
        without[i, j] = False
        reach_without = reach(without)
        for chunk in _growing_chunks(rows):
            s = surplus[chunk].astype(np.float64)
            r = shortage[chunk].astype(np.float64)
            kept = s @ outside
            most = (kept + r @ reach_all).min(axis=1)
            less = (kept + r @ reach_without).min(axis=1)
            if np.any(less < most):
                forced.append(lane)
                break
    return np.asarray(forced, np.int64)


def _growing_chunks(rows: NDArray[np.intp]) -> list[NDArray[np.intp]]:
    """``rows`` in chunks of 256, 4096, then ``_CUT_CHUNK``: a lane is usually proven
    forced by its first few parts, so the first chunks are small."""
    chunks, start = [], 0
    for size in (256, 4096):
        chunks.append(rows[start : start + size])
        start += size
    chunks.extend(rows[i : i + _CUT_CHUNK] for i in range(start, rows.size, _CUT_CHUNK))
    return [chunk for chunk in chunks if chunk.size]


def _shares(
    lane: NDArray[np.int64],
    qty: NDArray[np.int64],
    lane_charge: NDArray[np.int64],
    lane_units: NDArray[np.int64],
) -> NDArray[np.int64]:
    """Each move's share of its lane's shipment charge, by units, adding up exactly.

    Floors first; the fen left over on a lane go one each to its moves in order.
    """
    if lane.size == 0:
        return np.zeros(0, np.int64)
    charge = lane_charge[lane]
    units = lane_units[lane]
    floor = charge * qty // units
    left = lane_charge - np.bincount(lane, weights=floor, minlength=lane_charge.size).astype(
        np.int64
    )
    order = np.argsort(lane, kind="stable")
    ranked = lane[order]
    first = np.ones(ranked.size, dtype=bool)
    first[1:] = ranked[1:] != ranked[:-1]
    start = np.maximum.accumulate(np.where(first, np.arange(ranked.size), 0))
    rank = np.empty(lane.size, np.int64)
    rank[order] = np.arange(ranked.size) - start
    return floor + (rank < left[lane]).astype(np.int64)


def _silent(phase: str, done: int, total: int) -> None:
    """Reports nothing."""
