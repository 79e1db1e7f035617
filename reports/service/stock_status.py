"""Stock status now: units by condition and their value, shortage and excess against
target by depot and part family (and as a depot x family heat map), the largest
shortages and excesses part by part, and stock that has not moved for 180 days.

Every figure is a snapshot at the time the report is made; the report takes a
depot and a part family, no period (stock "now" has none). The sums are done in
the database (``inventory.service.stock_figures``); shortage and excess follow
the one stock-health rule (``reports.service.stock_health``: position = available
+ in transit; short below target, excess above twice the target) over every
(depot, part) at once, then are summed by depot and family with pandas.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from core import clock
from core.db import UnitOfWork, read_only
from core.i18n import gettext, lazy_gettext
from core.pdf import local_time
from inventory.models import FAMILIES
from inventory.service.stock_figures import (
    PART_POSITION_COLUMNS,
    ConditionTotals,
    UnmovedStock,
    condition_totals,
    part_facts,
    part_positions,
    unmoved_stock,
)
from inventory.service.targets import effective_targets
from reports.pdf_blocks import fmt_int, fmt_money
from reports.service.filters import Filters
from reports.service.loading import load_depots
from reports.service.report import Figure, Report, TableInfo
from reports.service.stock_health import units_excess, units_short

NAME = "stock-status"
UNMOVED_DAYS = 180
# Part-level tables list the largest lines only (the figures count every line).
PART_ROWS = 500

TABLES: dict[str, TableInfo] = {
    "by_depot": TableInfo(
        lazy_gettext("Stock by depot"),
        lazy_gettext(
            "Units by condition at each depot, reserved and available good units, units on "
            "the road to it, and the value of what is on hand and in transit."
        ),
    ),
    "by_family": TableInfo(
        lazy_gettext("Stock by part family"),
        lazy_gettext("The same units and values, by part family across the depots."),
    ),
    "positions": TableInfo(
        lazy_gettext("Shortage and excess by depot and family"),
        lazy_gettext(
            "Targets, positions (available plus in transit), parts and units short of target "
            "and above twice the target, and their value."
        ),
    ),
    "heat_map": TableInfo(
        lazy_gettext("Heat map: depot against part family"),
        lazy_gettext(
            "Units in excess less units short, per depot and family: negative is short on "
            "balance, positive is excess (the numbers of the heat map)."
        ),
    ),
    "shortages": TableInfo(
        lazy_gettext("Largest shortages"),
        lazy_gettext("Parts below target at a depot, by the value short (the 500 largest)."),
    ),
    "excess": TableInfo(
        lazy_gettext("Largest excesses"),
        lazy_gettext(
            "Parts above twice their target at a depot, by the value in excess (the 500 largest)."
        ),
    ),
    "unmoved": TableInfo(
        lazy_gettext("Stock not moved for 180 days"),
        lazy_gettext(
            "Parts with units on hand at a depot and no ledger movement there for more than "
            "180 days, by value (the 500 largest)."
        ),
    ),
}

CONDITION_COLUMNS = (
    "good_units",
    "reserved",
    "available",
    "defective",
    "in_repair",
    "quarantine",
    "on_hand",
    "in_transit",
    "on_hand_value_cny",
    "in_transit_value_cny",
)
POSITION_COLUMNS = (
    "target_units",
    "position_units",
    "parts_short",
    "units_short",
    "short_value_cny",
    "parts_excess",
    "units_excess",
    "excess_value_cny",
)
PART_COLUMNS = (
    "depot",
    "part_number",
    "description",
    "family",
    "available",
    "in_transit",
    "target",
)


@read_only
def stock_status(uow: UnitOfWork, filters: Filters, *, now: datetime | None = None) -> Report:
    """The stock-status report now (``now``: the clock's), for the filters' depot and
    part family (all when unset)."""
    now = now or clock.now()
    depots = load_depots(uow)
    if filters.depot:
        depots = depots[depots["depot"] == filters.depot]
    families = [filters.family] if filters.family else list(FAMILIES)
    totals = condition_totals(uow, depot=filters.depot, family=filters.family)
    positions, targets_stored = _positions(uow, filters)
    grid = _grid(depots, families, totals, positions)
    by_depot = _by(grid, "depot", depots["depot"].tolist(), CONDITION_COLUMNS)
    by_depot.insert(1, "depot_name", depots["depot_name"].tolist())
    by_family = _by(grid, "family", families, CONDITION_COLUMNS)
    position_table = grid[["depot", "family", *POSITION_COLUMNS]].copy()
    heat_map = _heat_map(position_table, depots["depot"].tolist(), families)
    if not targets_stored:
        # Not assessed is not zero: n/a in every format (and the chart says why).
        for column in POSITION_COLUMNS[2:]:
            position_table[column] = None
        for family in families:
            heat_map[family] = None
    shortages = _part_lines(uow, positions, "short", "short_value_cny")
    excess = _part_lines(uow, positions, "excess", "excess_value_cny")
    unmoved, unmoved_totals = _unmoved(uow, filters, now - timedelta(days=UNMOVED_DAYS), now)
    figures = _figures(grid, positions, unmoved_totals, targets_stored)
    notes = _notes(targets_stored, now)
    return Report(
        name=NAME,
        filters=filters,
        generated_at=now,
        figures=figures,
        tables={
            "by_depot": by_depot,
            "by_family": by_family,
            "positions": position_table,
            "heat_map": heat_map,
            "shortages": shortages,
            "excess": excess,
            "unmoved": unmoved,
        },
        notes=notes,
        details={"targets_stored": targets_stored},
    )


def _positions(uow: UnitOfWork, filters: Filters) -> tuple[pd.DataFrame, bool]:
    """Every (depot, part) with stock or a target, with units short and in excess by
    the stock-health rule and their value (CNY); no descriptions (``_described``
    adds them to the few lines printed)."""
    stock = pd.DataFrame(
        part_positions(uow, depot=filters.depot, family=filters.family),
        columns=list(PART_POSITION_COLUMNS),
    )
    stored = effective_targets(uow, depot=filters.depot)
    targets = pd.DataFrame(
        [(depot, part, target) for (depot, part), target in stored.items() if target > 0],
        columns=["depot", "part_number", "target"],
    )
    merged = stock.merge(targets, on=["depot", "part_number"], how="outer")
    missing = merged["family"].isna()
    if missing.any():
        # Pairs with a target and no stock: their catalogue facts.
        facts = _facts(uow, merged.loc[missing, "part_number"])
        for column in ("family", "unit_cost"):
            merged.loc[missing, column] = merged.loc[missing, "part_number"].map(facts[column])
    if filters.family:
        merged = merged[merged["family"] == filters.family]
    for column in ("good", "reserved", "in_transit", "target"):
        merged[column] = merged[column].fillna(0).astype("int64")
    merged["unit_cost"] = merged["unit_cost"].astype(float)
    merged["available"] = merged["good"] - merged["reserved"]
    merged["position"] = merged["available"] + merged["in_transit"]
    targets_stored = bool(stored)
    if targets_stored:
        merged["short"] = units_short(merged["position"], merged["target"])
        merged["excess"] = units_excess(merged["position"], merged["target"])
    else:
        merged["short"] = 0
        merged["excess"] = 0
    merged["short_value_cny"] = (merged["short"] * merged["unit_cost"]).round(2)
    merged["excess_value_cny"] = (merged["excess"] * merged["unit_cost"]).round(2)
    return merged.reset_index(drop=True), targets_stored


def _facts(uow: UnitOfWork, part_numbers: pd.Series) -> pd.DataFrame:
    """Description, family and unit cost of the given parts, by part number."""
    return pd.DataFrame(
        part_facts(uow, part_numbers.tolist()),
        columns=["part_number", "description", "family", "unit_cost"],
    ).set_index("part_number")


def _grid(
    depots: pd.DataFrame,
    families: list[str],
    totals: list[ConditionTotals],
    positions: pd.DataFrame,
) -> pd.DataFrame:
    """One row per depot and family (every pair of the filters, zeros included):
    units by condition and value, and the shortage and excess sums."""
    index = pd.MultiIndex.from_product(
        [depots["depot"].tolist(), families], names=["depot", "family"]
    )
    stock = pd.DataFrame(
        [
            {
                "depot": row.depot,
                "family": row.family,
                "good_units": row.good,
                "reserved": row.reserved,
                "available": row.good - row.reserved,
                "defective": row.defective,
                "in_repair": row.in_repair,
                "quarantine": row.quarantine,
                "on_hand": row.on_hand,
                "in_transit": row.in_transit,
                "on_hand_value_cny": row.on_hand_value,
                "in_transit_value_cny": row.in_transit_value,
            }
            for row in totals
        ],
        columns=["depot", "family", *CONDITION_COLUMNS],
    ).set_index(["depot", "family"])
    grouped = positions.assign(
        parts_short=positions["short"] > 0, parts_excess=positions["excess"] > 0
    ).groupby(["depot", "family"])
    health = pd.DataFrame(
        {
            "target_units": grouped["target"].sum(),
            "position_units": grouped["position"].sum(),
            "parts_short": grouped["parts_short"].sum(),
            "units_short": grouped["short"].sum(),
            "short_value_cny": grouped["short_value_cny"].sum(),
            "parts_excess": grouped["parts_excess"].sum(),
            "units_excess": grouped["excess"].sum(),
            "excess_value_cny": grouped["excess_value_cny"].sum(),
        }
    )
    grid = pd.concat([stock.reindex(index), health.reindex(index)], axis=1).fillna(0)
    for column in grid.columns:
        if column.endswith("_cny"):
            grid[column] = grid[column].astype(float).round(2)
        else:
            grid[column] = grid[column].astype("int64")
    return grid.reset_index()


def _by(grid: pd.DataFrame, key: str, order: list[str], columns: tuple[str, ...]) -> pd.DataFrame:
    """The grid summed by ``key`` (depot or family), in ``order``, every one listed."""
    summed = grid.groupby(key)[list(columns)].sum().reindex(order).fillna(0)
    for column in columns:
        summed[column] = (
            summed[column].astype(float).round(2)
            if column.endswith("_cny")
            else summed[column].astype("int64")
        )
    return summed.rename_axis(key).reset_index()


def _heat_map(positions: pd.DataFrame, depots: list[str], families: list[str]) -> pd.DataFrame:
    """Depots down, families across: units in excess less units short."""
    net = positions.assign(net=positions["units_excess"] - positions["units_short"])
    matrix = net.pivot(index="depot", columns="family", values="net")
    matrix = matrix.reindex(index=depots, columns=families).fillna(0).astype("int64")
    matrix.columns.name = None
    return matrix.rename_axis("depot").reset_index()


def _part_lines(uow: UnitOfWork, positions: pd.DataFrame, units: str, value: str) -> pd.DataFrame:
    """The ``PART_ROWS`` (depot, part) lines with the most ``value`` short or in
    excess, with their descriptions."""
    lines = positions[positions[units] > 0]
    lines = lines.sort_values(
        [value, units, "depot", "part_number"],
        ascending=[False, False, True, True],
        kind="stable",
    ).head(PART_ROWS)
    lines = lines.assign(
        description=lines["part_number"].map(_facts(uow, lines["part_number"])["description"])
    )
    return lines[[*PART_COLUMNS, units, value]].reset_index(drop=True)


def _unmoved(
    uow: UnitOfWork, filters: Filters, cutoff: datetime, now: datetime
) -> tuple[pd.DataFrame, UnmovedStock]:
    """The largest unmoved lines as a table, and the totals of every one."""
    found = unmoved_stock(uow, cutoff, depot=filters.depot, family=filters.family, top=PART_ROWS)
    frame = pd.DataFrame(
        found.top,
        columns=[
            "depot",
            "part_number",
            "description",
            "family",
            "on_hand",
            "on_hand_value_cny",
            "last_moved_at",
        ],
    )
    frame["on_hand"] = frame["on_hand"].astype("int64")
    frame["on_hand_value_cny"] = frame["on_hand_value_cny"].astype(float).round(2)
    frame["last_moved_at"] = pd.to_datetime(frame["last_moved_at"], utc=True)
    frame["days_unmoved"] = (
        (pd.Timestamp(now) - frame["last_moved_at"]).dt.days.astype("Int64")
        if len(frame)
        else pd.Series([], dtype="Int64")
    )
    return frame, found


def _figures(
    grid: pd.DataFrame, positions: pd.DataFrame, unmoved: UnmovedStock, targets_stored: bool
) -> tuple[Figure, ...]:
    on_hand_value = round(float(grid["on_hand_value_cny"].sum()), 2)
    on_hand = int(grid["on_hand"].sum())
    in_transit = int(grid["in_transit"].sum())
    unmoved_value = round(unmoved.value, 2)
    short = excess = None
    short_value = excess_value = None
    short_note = excess_note = gettext("no targets stored")
    if targets_stored:
        short, excess = int(positions["short"].sum()), int(positions["excess"].sum())
        short_value = round(float(positions["short_value_cny"].sum()), 2)
        excess_value = round(float(positions["excess_value_cny"].sum()), 2)
        lines = gettext("%(lines)s lines of a part at a depot")
        short_note = lines % {"lines": fmt_int(int((positions["short"] > 0).sum()))}
        excess_note = lines % {"lines": fmt_int(int((positions["excess"] > 0).sum()))}
    return (
        Figure(
            "on_hand_value_cny",
            gettext("Value on hand (CNY)"),
            on_hand_value,
            fmt_money(on_hand_value),
            gettext("units on hand, every condition"),
        ),
        Figure("on_hand_units", gettext("Units on hand"), on_hand, fmt_int(on_hand)),
        Figure("in_transit_units", gettext("Units in transit"), in_transit, fmt_int(in_transit)),
        Figure("units_short", gettext("Units short"), short, fmt_int(short), short_note),
        Figure(
            "short_value_cny", gettext("Value short (CNY)"), short_value, fmt_money(short_value)
        ),
        Figure("units_excess", gettext("Units in excess"), excess, fmt_int(excess), excess_note),
        Figure(
            "excess_value_cny",
            gettext("Excess value (CNY)"),
            excess_value,
            fmt_money(excess_value),
        ),
        Figure(
            "unmoved_value_cny",
            gettext("Unmoved value (CNY)"),
            unmoved_value,
            fmt_money(unmoved_value),
            gettext(
                "%(lines)s lines still for %(days)s days",
                lines=fmt_int(unmoved.lines),
                days=UNMOVED_DAYS,
            ),
        ),
    )


def _notes(targets_stored: bool, now: datetime) -> tuple[str, ...]:
    notes = [
        gettext(
            "Stock as it stands at %(time)s Asia/Shanghai; the report has no period.",
            time=local_time(now),
        ),
        gettext(
            "The part tables list at most the %(rows)s largest lines by value; the figures "
            "count every line.",
            rows=PART_ROWS,
        ),
    ]
    if not targets_stored:
        notes.append(gettext("No targets are stored, so shortage and excess are not assessed."))
    return tuple(notes)
