"""Stock read for the planners' stock-status report, one query each.

The sums are ``GROUP BY``s over ``part_stock`` (every bucket of a depot's part side
by side, kept by the ledger) and over the ledger, so 100,000 parts and a million
ledger rows are summed by the database, not in Python; the stock-health rule is
handed in as SQL (``PositionRules``) and applied to every (depot, part) there, and
only the largest lines come back. Every read is filtered by depot and part family
through the stock list's own conditions (``lists.stock_conditions``). Money is a
float in CNY (the catalogue's unit cost times units).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Float, case, cast, func, literal, or_, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from core.db import UnitOfWork, read_only
from inventory.models import LedgerEntry, Part, PartStock, StockTarget
from inventory.service.lists import StockFilters, stock_conditions

PS = PartStock
# A depot's units on hand: every condition on its shelves, nothing on the road.
ON_HAND = PS.good + PS.defective + PS.in_repair + PS.quarantine


def _where(depot: str | None, family: str | None) -> list[Any]:
    return stock_conditions(StockFilters(depot=depot, family=family, nonzero=True))


class Unmoved(NamedTuple):
    """A part on a depot's shelves whose ledger there has been still since
    ``last_moved_at`` (None: no ledger entry at all)."""

    depot: str
    part_number: str
    description: str
    family: str
    on_hand: int
    value: float
    last_moved_at: datetime | None


@dataclass(frozen=True)
class UnmovedStock:
    """Unmoved stock: how many (depot, part) lines, units and value (CNY) in all, and
    the ``top`` lines of the largest value."""

    lines: int
    units: int
    value: float
    top: list[Unmoved]


@read_only
def unmoved_stock(
    uow: UnitOfWork,
    before: datetime,
    *,
    depot: str | None = None,
    family: str | None = None,
    top: int = 500,
) -> UnmovedStock:
    """Every (depot, part) with units on hand whose latest ledger entry at that depot
    (any bucket, any movement) was written before ``before``: their count, units and
    value, and the ``top`` of them by value, largest first.

    The ledger is append-only, so a depot's latest entry for a part is the one with
    the highest id: that maximum is read from the (depot, part) index alone, and only
    its entry's time is looked up - a third of the work of the latest time over a
    million rows. Totals ride along each row (window sums), so it is one query."""
    newest = select(
        LedgerEntry.depot_code.label("depot_code"),
        LedgerEntry.part_number.label("part_number"),
        func.max(LedgerEntry.id).label("entry_id"),
    )
    if depot:
        newest = newest.where(LedgerEntry.depot_code == depot.strip().upper())
    last = newest.group_by(LedgerEntry.depot_code, LedgerEntry.part_number).subquery()
    moved = LedgerEntry.__table__.alias("moved")
    value = ON_HAND * cast(Part.unit_cost, Float)
    rows = uow.session.execute(
        select(
            PS.depot_code,
            PS.part_number,
            Part.description,
            Part.family,
            ON_HAND,
            value,
            moved.c.created_at,
            func.count().over(),
            func.sum(ON_HAND).over(),
            func.sum(value).over(),
        )
        .join(Part, Part.part_number == PS.part_number)
        .outerjoin(
            last,
            (last.c.depot_code == PS.depot_code) & (last.c.part_number == PS.part_number),
        )
        .outerjoin(moved, moved.c.id == last.c.entry_id)
        .where(
            *_where(depot, family),
            ON_HAND > 0,
            or_(moved.c.created_at.is_(None), moved.c.created_at < before),
        )
        .order_by(value.desc(), PS.depot_code, PS.part_number)
        .limit(top)
    ).all()
    if not rows:
        return UnmovedStock(0, 0, 0.0, [])
    lines, units, total = rows[0][7:]
    return UnmovedStock(
        int(lines),
        int(units),
        float(total),
        [Unmoved(d, p, desc, fam, int(n), float(v), at) for d, p, desc, fam, n, v, at, *_ in rows],
    )


# A stock-health rule in SQL: (position, target) -> units; the report passes its own.
SqlRule = Callable[[ColumnElement[int], ColumnElement[int]], ColumnElement[int]]


@dataclass(frozen=True)
class PositionRules:
    """The stock-health rule as SQL: units short of target and units in excess."""

    short: SqlRule
    excess: SqlRule


def _position_lines(
    depot: str | None, family: str | None, rules: PositionRules, *, lines: str = "all"
) -> Any:
    """Every (depot, part) with stock on hand or on the road, or a target above 0, as a
    subquery: its units by condition, available, in transit, target, position
    (available plus in transit), units short and in excess by ``rules`` and their
    value (CNY). Held pairs join their target by the primary key; pairs with a target
    and nothing held come from ``stock_target`` alone.

    ``lines="short"`` keeps the pairs with a target only (none other can be short),
    ``"excess"`` the held pairs only (a pair holding nothing has no excess): the
    part tables' sorts read less."""
    st = StockTarget
    target = func.coalesce(st.override, st.computed)
    cost = cast(Part.unit_cost, Float)
    moving = or_(PS.good > 0, PS.in_transit > 0)
    held = (
        select(
            PS.depot_code.label("depot"),
            PS.part_number.label("part_number"),
            Part.family.label("family"),
            cost.label("unit_cost"),
            PS.good.label("good"),
            PS.reserved.label("reserved"),
            PS.defective.label("defective"),
            PS.in_repair.label("in_repair"),
            PS.quarantine.label("quarantine"),
            PS.in_transit.label("in_transit"),
            # As the stock-health rule reads it: good less reserved of a pair with good
            # or incoming units, else none.
            case((moving, PS.good - PS.reserved), else_=0).label("available"),
            case((target > 0, target), else_=0).label("target"),
        )
        .join(Part, Part.part_number == PS.part_number)
        .outerjoin(st, (st.depot_code == PS.depot_code) & (st.part_number == PS.part_number))
        .where(*_where(depot, family))
    )
    if lines == "short":
        held = held.where(target > 0)
    nothing_held = (
        "good",
        "reserved",
        "defective",
        "in_repair",
        "quarantine",
        "in_transit",
        "available",
    )
    targeted = (
        select(
            st.depot_code,
            st.part_number,
            Part.family,
            cost,
            *(literal(0).label(name) for name in nothing_held),
            target,
        )
        .join(Part, Part.part_number == st.part_number)
        .where(
            target > 0,
            ~select(PS.depot_code)
            .where(
                PS.depot_code == st.depot_code,
                PS.part_number == st.part_number,
                PS.units > 0,
            )
            .exists(),
        )
    )
    if depot:
        targeted = targeted.where(st.depot_code == depot.strip().upper())
    if family:
        targeted = targeted.where(Part.family == family)
    both = (held if lines == "excess" else union_all(held, targeted)).subquery("held")
    position = both.c.available + both.c.in_transit
    short = rules.short(position, both.c.target)
    excess = rules.excess(position, both.c.target)
    return select(
        *both.c,
        position.label("position"),
        short.label("short"),
        excess.label("excess"),
        (short * both.c.unit_cost).label("short_value"),
        (excess * both.c.unit_cost).label("excess_value"),
    ).subquery("lines")


# The columns of ``position_sums``' rows, in order (after depot and family): first the
# units by condition and their value (CNY)...
CONDITION_SUM_COLUMNS = (
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
# ... then the targets, the positions, and the parts, units and value (CNY) short of
# target and in excess.
TARGET_SUM_COLUMNS = (
    "target_units",
    "position_units",
    "parts_short",
    "units_short",
    "short_value_cny",
    "parts_excess",
    "units_excess",
    "excess_value_cny",
)
POSITION_SUM_COLUMNS = (*CONDITION_SUM_COLUMNS, *TARGET_SUM_COLUMNS)


@read_only
def position_sums(
    uow: UnitOfWork, rules: PositionRules, *, depot: str | None = None, family: str | None = None
) -> list[tuple[Any, ...]]:
    """Per (depot, family) with stock or a target: depot, family, then the sums of
    ``POSITION_SUM_COLUMNS`` (units by condition, their value, targets, positions,
    parts and units short and in excess by ``rules`` and their value), summed by the
    database in one pass (a million ledger rows' part_stock in a second or two)."""
    uow.session.flush()
    lines = _position_lines(depot, family, rules)
    c = lines.c
    on_hand = c.good + c.defective + c.in_repair + c.quarantine
    sums = (
        c.good,
        c.reserved,
        c.good - c.reserved,
        c.defective,
        c.in_repair,
        c.quarantine,
        on_hand,
        c.in_transit,
        on_hand * c.unit_cost,
        c.in_transit * c.unit_cost,
        c.target,
        c.position,
        case((c.short > 0, 1), else_=0),
        c.short,
        c.short_value,
        case((c.excess > 0, 1), else_=0),
        c.excess,
        c.excess_value,
    )
    rows = uow.session.connection().execute(
        select(c.depot, c.family, *(func.coalesce(func.sum(s), 0) for s in sums))
        .group_by(c.depot, c.family)
        .order_by(c.depot, c.family)
    )
    return [tuple(row) for row in rows]


# The columns of ``largest_lines``' rows, in order; the units short or in excess and
# their value (CNY) follow.
LINE_COLUMNS = (
    "depot",
    "part_number",
    "description",
    "family",
    "available",
    "in_transit",
    "target",
)


@read_only
def largest_lines(
    uow: UnitOfWork,
    rules: PositionRules,
    which: str,
    *,
    depot: str | None = None,
    family: str | None = None,
    top: int = 500,
) -> list[tuple[Any, ...]]:
    """The ``top`` (depot, part) lines with the most value short (``which="short"``)
    or in excess (``"excess"``) by ``rules``, largest first (then units, depot,
    part), as rows of ``LINE_COLUMNS`` then the units and their value: the database
    sorts, only ``top`` rows travel."""
    uow.session.flush()
    lines = _position_lines(depot, family, rules, lines=which)
    c = lines.c
    units, value = c[which], c[f"{which}_value"]
    rows = uow.session.connection().execute(
        select(
            c.depot,
            c.part_number,
            Part.description,
            c.family,
            c.available,
            c.in_transit,
            c.target,
            units,
            value,
        )
        .join(Part, Part.part_number == c.part_number)
        .where(units > 0)
        .order_by(value.desc(), units.desc(), c.depot, c.part_number)
        .limit(top)
    )
    return [tuple(row) for row in rows]


@read_only
def targets_stored(uow: UnitOfWork, *, depot: str | None = None) -> bool:
    """Whether any target is stored (at ``depot`` if given), zero targets included."""
    query = select(StockTarget.depot_code)
    if depot:
        query = query.where(StockTarget.depot_code == depot.strip().upper())
    return uow.session.execute(query.limit(1)).first() is not None
