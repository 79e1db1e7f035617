"""The rebalancing report: one saved plan, what it moves, what it costs and what
it leaves short.

``rebalancing_report`` reads the plan (``inventory.service.rebalancing``), the
positions it was made from (``planning.service.plans.positions``: available
good stock less what draft transfers take out, plus what is in transit or
drafted towards the depot), the targets (``inventory.service.targets``) and the
catalogue, and answers these tables:

* ``summary``: the plan's figures as rows (units moved, lines, lanes, parts,
  freight, units short before, covered and left, excess before and after);
* ``depots``: per depot the sum of targets and of positions before and after the
  plan, and the units short and in excess before and after;
* ``lanes``: per depot-to-depot lane (one shipment, one draft transfer on
  approval) its reference, lines, units and freight;
* ``moves``: every move by lane then part, with its freight;
* ``still_short``: every part still below target at a depot once the plan is done.

*After* is *before* plus the units the plan brings in, less those it sends out.
Shortage and excess follow the stock-health rule
(``reports.service.stock_health.units_short`` / ``units_excess``): short by
``target - position`` below target, in excess by ``position - 2 x target``
above twice the target. Freight is what the plan stores for each move (the
rebalancing's own rule, never redone here); a lane's freight is the sum of its
moves.

The positions are those of now. For a proposed plan that is not stale they are
exactly the plan's inputs. For an approved plan the draft transfers it made are
left out, so *before* reads as before the plan while they are drafts (once
shipped or received, the stock has moved and *before* already holds them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from core import clock
from core.db import UnitOfWork, read_only
from core.i18n import gettext, lazy_gettext
from inventory.labels import PLAN_STATUS_LABELS, label
from inventory.service import rebalancing
from inventory.service.queries import part_costs
from inventory.service.rebalancing import PlanView
from inventory.service.transfers import transfer_code
from planning.service import plans
from reports.service.coverage import available_stock, covered_share
from reports.service.filters import Filters
from reports.service.loading import load_depots
from reports.service.report import Figure, Report, TableInfo
from reports.service.stock_health import units_excess, units_short

NAME = "rebalancing"

TABLES: Mapping[str, TableInfo] = {
    "summary": TableInfo(
        lazy_gettext("Summary"),
        lazy_gettext("The plan's figures: what it moves, what it costs, what it covers."),
    ),
    "depots": TableInfo(
        lazy_gettext("Stock against target by depot"),
        lazy_gettext(
            "Per depot: the sum of its targets and of its positions (available plus "
            "incoming) before and after the plan, and the units short of target and "
            "above twice the target."
        ),
    ),
    "lanes": TableInfo(
        lazy_gettext("Transfers by lane"),
        lazy_gettext(
            "One shipment per depot-to-depot lane (one draft transfer on approval): its "
            "reference, lines, units and freight."
        ),
    ),
    "moves": TableInfo(
        lazy_gettext("Moves"),
        lazy_gettext("Every move of the plan by lane, then part, with its freight."),
    ),
    "still_short": TableInfo(
        lazy_gettext("Still short after the plan"),
        lazy_gettext("Every part still below target at a depot once the plan is carried out."),
    ),
}

MOVE_COLUMNS = [
    "lane",
    "from_depot",
    "to_depot",
    "part_number",
    "description",
    "qty",
    "freight_cny",
]
LANE_COLUMNS = ["lane", "from_depot", "to_depot", "lines", "units", "freight_cny"]
DEPOT_COLUMNS = [
    "depot",
    "depot_name",
    "target_units",
    "position_before",
    "position_after",
    "short_before",
    "short_after",
    "excess_before",
    "excess_after",
]
STILL_SHORT_COLUMNS = ["depot", "part_number", "description", "position_after", "target", "short"]


@dataclass(frozen=True)
class PlanFacts:
    """What the PDF and the page say of the plan besides its tables."""

    plan_id: int
    status: str
    status_label: str
    stale: bool
    created_by: str
    transfers: tuple[str, ...]


def lane_reference(plan_id: int, from_depot: str, to_depot: str) -> str:
    """A lane's reference while the plan is not approved: ``PLAN7-BJ-SY`` (Code128-safe)."""
    return f"PLAN{plan_id}-{from_depot}-{to_depot}"


def latest_plan_id(uow: UnitOfWork) -> int | None:
    """The newest plan's number; None when no plan has been made yet."""
    newest = rebalancing.list_plans(uow, limit=1)
    return newest[0].plan.id if newest else None


def _moves_frame(view: PlanView | None, descriptions: Mapping[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            (m.from_depot, m.to_depot, m.part_number, int(m.qty), float(m.cost))
            for m in (view.moves if view else [])
        ],
        columns=["from_depot", "to_depot", "part_number", "qty", "cost"],
    )
    frame["freight_cny"] = frame.pop("cost").round(2)
    frame["description"] = frame["part_number"].map(descriptions).fillna("")
    return frame.sort_values(["from_depot", "to_depot", "part_number"], kind="stable").reset_index(
        drop=True
    )


def _lanes(moves: pd.DataFrame, view: PlanView | None) -> pd.DataFrame:
    """Moves per lane, with each lane's reference: the transfer drafted for it once
    the plan is approved (``approve_plan`` drafts one per lane, in lane order),
    else the plan and the lane."""
    plan_id = (view.plan.id or 0) if view else 0
    lanes = (
        moves.groupby(["from_depot", "to_depot"], sort=True)
        .agg(
            lines=("part_number", "size"), units=("qty", "sum"), freight_cny=("freight_cny", "sum")
        )
        .reset_index()
    )
    drafted = view.transfer_ids if view else []
    if view and view.plan.status == "approved" and len(drafted) == len(lanes):
        references = [transfer_code(number) for number in drafted]
    else:
        references = [
            lane_reference(plan_id, source, target)
            for source, target in zip(lanes["from_depot"], lanes["to_depot"], strict=True)
        ]
    lanes.insert(0, "lane", references)
    lanes["lines"] = lanes["lines"].astype(int)
    lanes["units"] = lanes["units"].astype(int)
    lanes["freight_cny"] = lanes["freight_cny"].round(2)
    return lanes[LANE_COLUMNS]


def _positions(uow: UnitOfWork, view: PlanView | None, moves: pd.DataFrame) -> pd.DataFrame:
    """(depot, part_number) rows: target, position before and after the plan."""
    leaving_out = view.transfer_ids if view and view.plan.status == "approved" else []
    found = plans.positions(uow, leaving_out=leaving_out)
    frame = pd.DataFrame(
        [(depot, part, p.stock, p.target) for (depot, part), p in found.items()],
        columns=["depot", "part_number", "position_before", "target"],
    ).set_index(["depot", "part_number"])
    flow = _flow(moves)
    keys = frame.index.union(flow.index)
    frame = frame.reindex(keys).fillna(0).astype(int)
    frame["position_after"] = frame["position_before"] + flow.reindex(keys).fillna(0).astype(int)
    return frame.reset_index()


def _flow(moves: pd.DataFrame) -> pd.Series:
    """Net units the plan brings into each (depot, part_number): in less out."""
    incoming = moves.groupby(["to_depot", "part_number"])["qty"].sum()
    outgoing = moves.groupby(["from_depot", "part_number"])["qty"].sum()
    incoming.index = incoming.index.set_names(["depot", "part_number"])
    outgoing.index = outgoing.index.set_names(["depot", "part_number"])
    return incoming.sub(outgoing, fill_value=0).astype(int)


def available_after(uow: UnitOfWork, moves: pd.DataFrame) -> dict[tuple[str, str], int]:
    """{(part_number, depot): available good units once the plan's moves have
    landed}: available now (``reports.service.coverage.available_stock``) plus what
    the plan brings in, less what it sends out; for the 24-hour coverage after."""
    available = dict(available_stock(uow))
    for (depot, part), units in _flow(moves).items():
        available[(part, depot)] = max(0, available.get((part, depot), 0) + int(units))
    return available


def _depots(uow: UnitOfWork, positions: pd.DataFrame, assessed: bool) -> pd.DataFrame:
    sums = positions.groupby("depot")[
        [
            "target",
            "position_before",
            "position_after",
            "short_before",
            "short_after",
            "excess_before",
            "excess_after",
        ]
    ].sum()
    depots = load_depots(uow)[["depot", "depot_name"]].set_index("depot")
    table = depots.join(sums).fillna(0)
    table = table.rename(columns={"target": "target_units"}).reset_index()
    for column in DEPOT_COLUMNS[2:]:
        table[column] = table[column].astype(int)
    if not assessed:
        for column in ("short_before", "short_after", "excess_before", "excess_after"):
            table[column] = pd.Series([None] * len(table), dtype="Int64")
    return table[DEPOT_COLUMNS]


def _still_short(positions: pd.DataFrame, descriptions: Mapping[str, str]) -> pd.DataFrame:
    short = positions[positions["short_after"] > 0].copy()
    short["description"] = short["part_number"].map(descriptions).fillna("")
    short = short.rename(columns={"short_after": "short"})
    short = short.sort_values(
        ["short", "depot", "part_number"], ascending=[False, True, True], kind="stable"
    )
    return short[STILL_SHORT_COLUMNS].reset_index(drop=True)


def _coverage(uow: UnitOfWork, moves: pd.DataFrame) -> tuple[float | None, float | None]:
    """24-hour coverage (0-100) of the installed units now and with the plan's
    moves landed (``reports.service.coverage.covered_share``)."""
    before = covered_share(uow)
    after = covered_share(uow, available=available_after(uow, moves))
    return (
        None if before is None else round(before, 1),
        None if after is None else round(after, 1),
    )


def _count(value: int) -> str:
    return f"{value:,}"


def _pct(value: float | None) -> str:
    return gettext("n/a") if value is None else f"{value:.1f}%"


@read_only
def rebalancing_report(uow: UnitOfWork, filters: Filters) -> Report:
    """The report of plan ``filters.plan`` (the newest plan when None); ``NotFound``
    for a plan that does not exist."""
    plan_id = filters.plan if filters.plan is not None else latest_plan_id(uow)
    # Before any plan is made the report still answers: nothing moved, stock as it is.
    view = rebalancing.get_plan(uow, plan_id) if plan_id is not None else None
    plan = view.plan if view else None
    descriptions = {part.part_number: part.description for part in part_costs(uow)}
    moves = _moves_frame(view, descriptions)
    lanes = _lanes(moves, view)
    reference = {
        (source, target): lane
        for lane, source, target in zip(
            lanes["lane"], lanes["from_depot"], lanes["to_depot"], strict=True
        )
    }
    moves.insert(
        0,
        "lane",
        [reference[(s, t)] for s, t in zip(moves["from_depot"], moves["to_depot"], strict=True)],
    )
    moves = moves[MOVE_COLUMNS]

    positions = _positions(uow, view, moves)
    # The stock-health rule assesses shortage and excess only where targets are kept.
    assessed = bool((positions["target"] > 0).any())
    for when in ("before", "after"):
        position = positions[f"position_{when}"]
        if assessed:
            positions[f"short_{when}"] = units_short(position, positions["target"])
            positions[f"excess_{when}"] = units_excess(position, positions["target"])
        else:
            positions[f"short_{when}"] = 0
            positions[f"excess_{when}"] = 0
    depots = _depots(uow, positions, assessed)
    still_short = _still_short(positions, descriptions) if assessed else _empty_short()

    short_before = int(positions["short_before"].sum()) if assessed else None
    short_after = int(positions["short_after"].sum()) if assessed else None
    covered = None if short_before is None or short_after is None else short_before - short_after
    excess_before = int(positions["excess_before"].sum()) if assessed else None
    excess_after = int(positions["excess_after"].sum()) if assessed else None
    units = int(moves["qty"].sum())
    freight = round(float(moves["freight_cny"].sum()), 2)
    coverage = _coverage(uow, moves)

    parts_moved = int(moves["part_number"].nunique())
    # Keys are one word with an underscore at least: a page in Chinese shows them as
    # codes, never as English words. The plan's status is in its page and the PDF.
    rows: list[tuple[str, str, Any]] = [
        ("plan_id", gettext("Plan"), plan_id),
        ("units_moved", gettext("Units moved"), units),
        ("move_lines", gettext("Move lines"), len(moves)),
        ("lanes_used", gettext("Lanes (shipments)"), len(lanes)),
        ("parts_moved", gettext("Parts moved"), parts_moved),
        ("freight_cny", gettext("Freight (CNY)"), freight),
        ("short_before", gettext("Units short before"), short_before),
        ("short_covered", gettext("Shortage covered"), covered),
        ("short_left", gettext("Units still short"), short_after),
        ("excess_before", gettext("Units in excess before"), excess_before),
        ("excess_after", gettext("Units in excess after"), excess_after),
        ("coverage_before_pct", gettext("24-hour coverage before (%)"), coverage[0]),
        ("coverage_after_pct", gettext("24-hour coverage after (%)"), coverage[1]),
    ]
    # Counts, money and shares (some n/a) in one column: kept as Python objects.
    summary = pd.DataFrame(rows, columns=["metric", "label", "value"], dtype=object)

    figures = [
        Figure(
            "units_moved",
            gettext("Units moved"),
            units,
            _count(units),
            gettext(
                "%(lines)s lines on %(lanes)s lanes", lines=_count(len(moves)), lanes=len(lanes)
            ),
        ),
        Figure("freight_cny", gettext("Freight (CNY)"), freight, f"{freight:,.0f}"),
        Figure(
            "short_covered",
            gettext("Shortage covered"),
            covered,
            gettext("n/a") if covered is None else _count(covered),
            gettext(
                "of %(before)s units short",
                before=gettext("n/a") if short_before is None else _count(short_before),
            ),
        ),
        Figure(
            "short_left",
            gettext("Units still short"),
            short_after,
            gettext("n/a") if short_after is None else _count(short_after),
            gettext("%(parts)s part-depot pairs", parts=_count(len(still_short))),
        ),
        Figure(
            "coverage_before_pct",
            gettext("24-hour coverage before"),
            coverage[0],
            _pct(coverage[0]),
            gettext("installed units a depot reaches in 24 h"),
        ),
        Figure(
            "coverage_after_pct",
            gettext("24-hour coverage after"),
            coverage[1],
            _pct(coverage[1]),
            gettext("with the plan's moves landed"),
        ),
    ]

    notes = [
        gettext(
            "A depot's position in a part is its available good stock (on hand less reserved, "
            "less what draft transfers take out) plus what is in transit or drafted towards it; "
            "after the plan it gains the units the plan brings in and loses those it sends."
        ),
        gettext(
            "Short: units below target; in excess: units above twice the target (the stock-health "
            "rule). Shortage covered is the units short before less those short after."
        ),
        gettext(
            "Freight is what the plan stores for each move (the rebalancing's own freight "
            "rule); a lane is one shipment, its freight the sum of its moves, the plan's the "
            "sum of all."
        ),
        gettext(
            "24-hour coverage: the share of installed units that a depot holding available stock "
            "of the part reaches within 24 hours of an approval now (the coverage report's "
            "rule), with today's stock before and with the plan's moves landed after."
        ),
    ]
    if not assessed:
        notes.append(gettext("No targets are stored: shortage and excess are not assessed."))
    if plan is None:
        notes.append(gettext("No rebalancing plan has been made yet."))
    elif plan.status == "approved":
        notes.append(
            gettext(
                "The plan is approved: its draft transfers are left out of the positions before; "
                "once they have shipped, the stock before already holds them."
            )
        )
    elif plan.status == "discarded" or (view and view.stale):
        notes.append(
            gettext(
                "The plan is discarded or stale: the positions are today's, not those it was "
                "made from."
            )
        )
    facts = (
        PlanFacts(
            plan_id=plan_id,
            status=plan.status,
            status_label=label(PLAN_STATUS_LABELS, plan.status),
            stale=view.stale,
            created_by=plan.created_by,
            transfers=tuple(transfer_code(number) for number in view.transfer_ids),
        )
        if view and plan and plan_id is not None
        else None
    )
    return Report(
        name=NAME,
        filters=replace(filters, plan=plan_id),
        generated_at=clock.now(),
        figures=tuple(figures),
        tables={
            "summary": summary,
            "depots": depots,
            "lanes": lanes,
            "moves": moves,
            "still_short": still_short,
        },
        notes=tuple(notes),
        details={"plan": facts},
    )


def _empty_short() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=object) for column in STILL_SHORT_COLUMNS})
