"""Stock status now: units by condition and their value, shortage and excess against
target by depot and part family (and as a depot x family heat map), the largest
shortages and excesses part by part, and stock that has not moved for 180 days.

Every figure is a snapshot at the time the report is made; the report takes a
depot and a part family, no period (stock "now" has none). The database does the
work (``inventory.service.stock_figures``): it applies the one stock-health rule
(``reports.service.stock_health``, in its SQL form: position = available + in
transit; short below target, excess above twice the target) to every (depot, part),
sums it by depot and family in one pass, and hands over only the largest lines of
the part tables, so no per-part row reaches Python (issue 14).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from core import clock
from core.db import UnitOfWork, read_only
from core.i18n import gettext, lazy_gettext
from core.pdf import local_time
from inventory.models import FAMILIES
from inventory.service.stock_figures import (
    CONDITION_SUM_COLUMNS,
    LINE_COLUMNS,
    POSITION_SUM_COLUMNS,
    TARGET_SUM_COLUMNS,
    PositionRules,
    UnmovedStock,
    largest_lines,
    position_sums,
    targets_stored,
    unmoved_stock,
)
from reports.pdf_blocks import fmt_int, fmt_money
from reports.service.filters import Filters
from reports.service.loading import load_depots
from reports.service.report import Figure, Report, TableInfo
from reports.service.stock_health import units_excess_sql, units_short_sql

NAME = "stock-status"
UNMOVED_DAYS = 180
# Part-level tables list the largest lines only (the figures count every line).
PART_ROWS = 500
# The stock-health rule, applied by the database to every (depot, part) at once.
RULES = PositionRules(short=units_short_sql, excess=units_excess_sql)

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


@read_only
def stock_status(uow: UnitOfWork, filters: Filters, *, now: datetime | None = None) -> Report:
    """The stock-status report now (``now``: the clock's), for the filters' depot and
    part family (all when unset)."""
    now = now or clock.now()
    depots = load_depots(uow)
    if filters.depot:
        depots = depots[depots["depot"] == filters.depot]
    families = [filters.family] if filters.family else list(FAMILIES)
    where = {"depot": filters.depot, "family": filters.family}
    stored = targets_stored(uow, depot=filters.depot)
    grid = _grid(depots, families, position_sums(uow, RULES, **where))
    by_depot = _by(grid, "depot", depots["depot"].tolist(), CONDITION_SUM_COLUMNS)
    by_depot.insert(1, "depot_name", depots["depot_name"].tolist())
    by_family = _by(grid, "family", families, CONDITION_SUM_COLUMNS)
    position_table = grid[["depot", "family", *TARGET_SUM_COLUMNS]].copy()
    heat_map = _heat_map(position_table, depots["depot"].tolist(), families)
    if not stored:
        # Not assessed is not zero: n/a in every format (and the chart says why).
        for column in TARGET_SUM_COLUMNS[2:]:
            position_table[column] = None
        for family in families:
            heat_map[family] = None
    shortages = _part_lines(uow, where, "short", "short_value_cny", stored)
    excess = _part_lines(uow, where, "excess", "excess_value_cny", stored)
    unmoved, unmoved_totals = _unmoved(uow, filters, now - timedelta(days=UNMOVED_DAYS), now)
    figures = _figures(grid, unmoved_totals, stored)
    notes = _notes(stored, now)
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
        details={"targets_stored": stored},
    )


def _grid(depots: pd.DataFrame, families: list[str], sums: list[tuple[Any, ...]]) -> pd.DataFrame:
    """One row per depot and family (every pair of the filters, zeros included):
    units by condition and value, and the shortage and excess sums (the database's)."""
    index = pd.MultiIndex.from_product(
        [depots["depot"].tolist(), families], names=["depot", "family"]
    )
    summed = pd.DataFrame(sums, columns=["depot", "family", *POSITION_SUM_COLUMNS])
    grid = summed.set_index(["depot", "family"]).reindex(index).fillna(0)
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


def _part_lines(
    uow: UnitOfWork, where: dict[str, str | None], units: str, value: str, stored: bool
) -> pd.DataFrame:
    """The ``PART_ROWS`` (depot, part) lines with the most ``value`` short or in
    excess, with their descriptions (none without stored targets)."""
    found = largest_lines(uow, RULES, units, top=PART_ROWS, **where) if stored else []
    frame = pd.DataFrame(found, columns=[*LINE_COLUMNS, units, value])
    for column in (*LINE_COLUMNS[4:], units):
        frame[column] = frame[column].astype("int64")
    frame[value] = frame[value].astype(float).round(2)
    return frame


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


def _figures(grid: pd.DataFrame, unmoved: UnmovedStock, targets_stored: bool) -> tuple[Figure, ...]:
    on_hand_value = round(float(grid["on_hand_value_cny"].sum()), 2)
    on_hand = int(grid["on_hand"].sum())
    in_transit = int(grid["in_transit"].sum())
    unmoved_value = round(unmoved.value, 2)
    short = excess = None
    short_value = excess_value = None
    short_note = excess_note = gettext("no targets stored")
    if targets_stored:
        short, excess = int(grid["units_short"].sum()), int(grid["units_excess"].sum())
        short_value = round(float(grid["short_value_cny"].sum()), 2)
        excess_value = round(float(grid["excess_value_cny"].sum()), 2)
        lines = gettext("%(lines)s lines of a part at a depot")
        short_note = lines % {"lines": fmt_int(int(grid["parts_short"].sum()))}
        excess_note = lines % {"lines": fmt_int(int(grid["parts_excess"].sum()))}
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
