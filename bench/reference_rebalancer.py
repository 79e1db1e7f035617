"""A STAND-IN for issue 12's "reference vectorised OR-Tools rebalancer" (not the original).

Issue 12 measures the offline rebalancer against a reference that is not in the
repository. This module is what a competent engineer would write from the issue's
words, written here for the comparison, so that the ratio can be measured in the
same run instead of estimated: pandas' C CSV reader, one OR-Tools
``SimpleMinCostFlow`` for all parts built with the vectorised
``add_arcs_with_capacity_and_unit_cost`` / ``set_nodes_supplies``, one ``solve()``,
the plan written by pandas. It is a benchmark yardstick, not product code: it
trusts well-formed files (a few cheap checks, no line numbers in errors).

It solves the same problem as ``optimizer.rebalance`` (read its module notes for
the proof of the big-M rule), written independently:

* surplus = max(0, available - target), shortage = max(0, target - available) per
  (part, depot); a missing stock or targets row means 0;
* whole units over the direct lanes of lanes.csv (``unit_cost`` CNY per unit);
* first the most units into shortages, then the least freight. Each part has a
  slack node: surplus may stay home through it for free and shortage may be left
  unmet through it at a price M larger than any simple path through the eight
  depots (8 x dearest lane + 1), so an optimum never leaves a unit unmet that
  could have been moved.

Plainer than ours on purpose, as a first vectorised version would be: every
(part, depot) cell is a node (idle ones too), the candidate arcs are collected
lane by lane (56 vectorised masks over the parts), and money is written as floats
with ``%.2f``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd
from ortools.graph.python import min_cost_flow

DEPOTS = ("BJ", "SH", "GZ", "CD", "WH", "XA", "SY", "JN")


@dataclass(frozen=True)
class ReferenceSummary:
    """What a run produced, under the names ``optimizer.offline.RebalanceSummary`` uses."""

    plan_rows: int
    units_moved: int
    total_cost: Decimal
    shortage_before: int
    seconds: dict[str, float] = field(default_factory=dict)


def rebalance_csv(
    stock_csv: str | os.PathLike[str],
    targets_csv: str | os.PathLike[str],
    lanes_csv: str | os.PathLike[str],
    out_csv: str | os.PathLike[str],
) -> ReferenceSummary:
    """Read the offline rebalancer's three files, plan, write ``out_csv`` (same columns).

    Raises ``ValueError`` for an unknown depot, a negative quantity or a repeated
    (part, depot) row.
    """
    seconds: dict[str, float] = {}
    start = time.perf_counter()

    stock = _cells(stock_csv, "available")
    targets = _cells(targets_csv, "target")
    lanes = pd.read_csv(lanes_csv, engine="c", dtype={"unit_cost": np.float64})
    seconds["reading"] = time.perf_counter() - start
    start = time.perf_counter()

    # Parts numbered in the order they first appear, stock.csv then targets.csv.
    part_codes, part_names = pd.factorize(
        pd.concat([stock["part_number"], targets["part_number"]], ignore_index=True)
    )
    n_parts, n_dep = len(part_names), len(DEPOTS)
    n_stock = len(stock)
    available = _matrix(part_codes[:n_stock], stock, "available", n_parts)
    target = _matrix(part_codes[n_stock:], targets, "target", n_parts)
    surplus = np.maximum(available - target, 0)
    shortage = np.maximum(target - available, 0)

    lane_fen = np.full((n_dep, n_dep), -1, np.int64)
    src_lane = _depot_codes(lanes["from_depot"])
    dst_lane = _depot_codes(lanes["to_depot"])
    lane_fen[src_lane, dst_lane] = np.rint(lanes["unit_cost"].to_numpy() * 100).astype(np.int64)

    # Candidate arcs, one lane at a time: parts with surplus at its source and
    # shortage at its destination.
    arc_part, arc_src, arc_dst = [], [], []
    for i, j in zip(src_lane.tolist(), dst_lane.tolist(), strict=True):
        if i == j:
            continue
        parts = np.flatnonzero((surplus[:, i] > 0) & (shortage[:, j] > 0))
        arc_part.append(parts)
        arc_src.append(np.full(parts.size, i))
        arc_dst.append(np.full(parts.size, j))
    p = np.concatenate(arc_part) if arc_part else np.zeros(0, np.int64)
    i = np.concatenate(arc_src) if arc_src else np.zeros(0, np.int64)
    j = np.concatenate(arc_dst) if arc_dst else np.zeros(0, np.int64)

    # Nodes: cell (part, depot) is part * 8 + depot; part p's slack node is P * 8 + p.
    cell_supply = (surplus - shortage).ravel()
    slack = n_parts * n_dep + np.arange(n_parts)
    givers = np.flatnonzero(cell_supply > 0)
    takers = np.flatnonzero(cell_supply < 0)
    big_m = n_dep * int(max(lane_fen.max(), 0)) + 1
    tails = np.concatenate([p * n_dep + i, givers, slack[takers // n_dep]])
    heads = np.concatenate([p * n_dep + j, slack[givers // n_dep], takers])
    capacities = np.concatenate(
        [np.minimum(surplus[p, i], shortage[p, j]), cell_supply[givers], -cell_supply[takers]]
    )
    costs = np.concatenate(
        [lane_fen[i, j], np.zeros(givers.size, np.int64), np.full(takers.size, big_m, np.int64)]
    )
    supplies = np.concatenate([cell_supply, shortage.sum(axis=1) - surplus.sum(axis=1)])

    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), capacities, costs
    )
    flow.set_nodes_supplies(np.arange(supplies.size, dtype=np.int32), supplies)
    seconds["building"] = time.perf_counter() - start
    start = time.perf_counter()

    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow: {status}")
    qty = np.asarray(flow.flows(np.arange(p.size, dtype=np.int32)), np.int64)
    seconds["solving"] = time.perf_counter() - start
    start = time.perf_counter()

    used = qty > 0
    unit_fen = lane_fen[i[used], j[used]]
    cost_fen = qty[used] * unit_fen
    depot_names = np.array(DEPOTS, dtype=object)
    plan = pd.DataFrame(
        {
            "part": p[used],
            "from": i[used],
            "to": j[used],
            "part_number": np.asarray(part_names, dtype=object)[p[used]],
            "from_depot": depot_names[i[used]],
            "to_depot": depot_names[j[used]],
            "qty": qty[used],
            "unit_cost": unit_fen / 100,
            "cost": cost_fen / 100,
        }
    ).sort_values(["part", "from", "to"])
    plan.drop(columns=["part", "from", "to"]).to_csv(out_csv, index=False, float_format="%.2f")
    seconds["writing"] = time.perf_counter() - start

    return ReferenceSummary(
        plan_rows=int(used.sum()),
        units_moved=int(qty.sum()),
        total_cost=Decimal(int(cost_fen.sum())) / 100,
        shortage_before=int(shortage.sum()),
        seconds=seconds,
    )


def _cells(path: str | os.PathLike[str], value: str) -> pd.DataFrame:
    frame = pd.read_csv(
        path,
        engine="c",
        usecols=["depot", "part_number", value],
        dtype={"depot": str, "part_number": str, value: np.int64},
    )
    if (frame[value] < 0).any():
        raise ValueError(f"{os.fspath(path)}: negative {value}")
    return frame


def _depot_codes(column: pd.Series) -> np.ndarray:
    codes = pd.Categorical(column, categories=DEPOTS).codes.astype(np.int64)
    if (codes < 0).any():
        raise ValueError("unknown depot")
    return codes


def _matrix(parts: np.ndarray, frame: pd.DataFrame, value: str, n_parts: int) -> np.ndarray:
    """The file's values as a P x 8 matrix; a repeated (part, depot) is refused."""
    depots = _depot_codes(frame["depot"])
    cells = parts.astype(np.int64) * len(DEPOTS) + depots
    if np.bincount(cells, minlength=n_parts * len(DEPOTS)).max(initial=0) > 1:
        raise ValueError(f"repeated (part, depot) row in the {value} file")
    matrix = np.zeros((n_parts, len(DEPOTS)), np.int64)
    matrix.ravel()[cells] = frame[value].to_numpy()
    return matrix
