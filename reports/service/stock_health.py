"""Stock health now, whatever the period: per depot the good units and their
value, what is in transit to it, and the units short of target or above twice
the target; and the largest shortages.

A depot's position in a part is its available good stock (on hand less
reserved) plus what is in transit to it; it is *short* by ``target - position``
when below target and in *excess* by ``position - 2 x target`` when above twice
the target. Stock value is good units on hand (reserved ones included) times
the part's unit cost (CNY). The stock and the catalogue are read through
``inventory.service.queries``, the targets from their one home
(``inventory.service.targets``); with no targets stored at all, shortage and
excess are not assessed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import case
from sqlalchemy.sql.elements import ColumnElement

from core.db import UnitOfWork, read_only
from inventory.service.queries import part_costs, stock_positions
from inventory.service.targets import effective_targets
from reports.service.loading import load_depots

TOP_SHORTAGES = 20


def units_short(position: pd.Series, target: pd.Series) -> pd.Series:
    """Units a position (available plus in transit) lacks to reach its target; 0
    at or above it. The stock-health rule, shared by every report that counts
    shortages (the rebalancing report counts them before and after a plan)."""
    return (target - position).clip(lower=0)


def units_excess(position: pd.Series, target: pd.Series) -> pd.Series:
    """Units a position holds above twice its target; 0 at or below it."""
    return (position - 2 * target).clip(lower=0)


def units_short_sql(position: ColumnElement[int], target: ColumnElement[int]) -> ColumnElement[int]:
    """``units_short`` as an SQL expression, so the database applies the same rule
    to every (depot, part) of a network at once."""
    return case((target > position, target - position), else_=0)


def units_excess_sql(
    position: ColumnElement[int], target: ColumnElement[int]
) -> ColumnElement[int]:
    """``units_excess`` as an SQL expression."""
    return case((position > 2 * target, position - 2 * target), else_=0)


@dataclass(frozen=True)
class StockHealth:
    """Stock health now: per depot, and the worst shortages."""

    depots: pd.DataFrame
    shortages: pd.DataFrame
    targets_stored: bool


@read_only
def stock_health(uow: UnitOfWork, *, top: int = TOP_SHORTAGES) -> StockHealth:
    """Stock health now: per depot (every depot) the good units and their value
    (CNY), units in transit to it, the sum of targets, units and parts short of
    target and units above twice the target with their value; and the ``top``
    largest shortages (part, depot, available, in transit, target, short)."""
    depots = load_depots(uow)
    stock = pd.DataFrame(
        [
            (row.depot, row.part_number, row.good, row.reserved, row.in_transit)
            for row in stock_positions(uow)
        ],
        columns=["depot", "part_number", "good", "reserved", "in_transit"],
    ).set_index(["depot", "part_number"])
    targets = pd.DataFrame(
        [(depot, part, target) for (depot, part), target in effective_targets(uow).items()],
        columns=["depot", "part_number", "target"],
    ).set_index(["depot", "part_number"])
    targets_stored = len(targets) > 0
    keys = stock.index.union(targets.index)
    positions = pd.DataFrame(index=keys)
    positions["good"] = stock["good"].reindex(keys).fillna(0).astype(int)
    positions["available"] = positions["good"] - stock["reserved"].reindex(keys).fillna(0).astype(
        int
    )
    positions["in_transit"] = stock["in_transit"].reindex(keys).fillna(0).astype(int)
    positions["target"] = targets["target"].reindex(keys).fillna(0).astype(int)
    positions = positions.reset_index()
    parts = _parts(uow)
    positions["unit_cost"] = (
        positions["part_number"].map(parts["unit_cost"]).fillna(0.0).astype(float)
    )
    positions["description"] = positions["part_number"].map(parts["description"]).fillna("")
    position = positions["available"] + positions["in_transit"]
    if targets_stored:
        positions["short"] = units_short(position, positions["target"])
        positions["excess"] = units_excess(position, positions["target"])
    else:
        positions["short"] = 0
        positions["excess"] = 0
    positions["value"] = positions["good"] * positions["unit_cost"]
    positions["excess_value"] = positions["excess"] * positions["unit_cost"]
    rows = []
    for depot in depots.itertuples(index=False):
        mine = positions[positions["depot"] == depot.depot]
        rows.append(
            {
                "depot": depot.depot,
                "depot_name": depot.depot_name,
                "city_zh": depot.city_zh,
                "good_units": int(mine["good"].sum()),
                "stock_value_cny": round(float(mine["value"].sum()), 2),
                "in_transit": int(mine["in_transit"].sum()),
                "target_units": int(mine["target"].sum()),
                "parts_short": int((mine["short"] > 0).sum()) if targets_stored else None,
                "units_short": int(mine["short"].sum()) if targets_stored else None,
                "units_excess": int(mine["excess"].sum()) if targets_stored else None,
                "excess_value_cny": round(float(mine["excess_value"].sum()), 2)
                if targets_stored
                else None,
            }
        )
    shortages = positions[positions["short"] > 0].copy()
    shortages["short_value_cny"] = (shortages["short"] * shortages["unit_cost"]).round(2)
    shortages = shortages.sort_values(
        ["short", "short_value_cny", "part_number", "depot"],
        ascending=[False, False, True, True],
        kind="stable",
    ).head(top)
    shortages = shortages[
        [
            "part_number",
            "description",
            "depot",
            "available",
            "in_transit",
            "target",
            "short",
            "short_value_cny",
        ]
    ].reset_index(drop=True)
    return StockHealth(pd.DataFrame(rows), shortages, targets_stored)


def _parts(uow: UnitOfWork) -> pd.DataFrame:
    """Every part's description and unit cost (CNY, float), indexed by part number."""
    frame = pd.DataFrame(
        [(part.part_number, part.description, float(part.unit_cost)) for part in part_costs(uow)],
        columns=["part_number", "description", "unit_cost"],
    )
    return frame.set_index("part_number")
