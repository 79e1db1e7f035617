"""The planners' lists a page at a time: targets beside the stock, and rebalancing plans.

The stored targets and plans are ``inventory``'s (``inventory.service.targets``,
``inventory.service.rebalancing``); their writes stay there. What the planners'
pages need on top is reading them a page at a time, sorted and filtered in SQL,
with figures of the whole selection (not only of the rows shown): that is here,
shared by the pages, the API and the CLI.

Demand is stored per day (the targets' maths works in days); people read it per
month (``DAYS_PER_MONTH``, an average month), as a plain number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, case, func, select

from core.db import UnitOfWork, read_only
from core.errors import NotFound
from core.i18n import gettext
from core.pagination import Page, PageRequest, paginate
from inventory.models import Part, RebalancePlan, StockBalance, StockTarget
from inventory.service import rebalancing
from inventory.service.catalog import get_part_row
from inventory.service.rebalancing import PlanSummary
from inventory.service.stock import require_depot

# An average month (365.25 / 12 days): demand per day times this is demand per month.
DAYS_PER_MONTH = 30.4375
PLAN_STATUSES = ("proposed", "approved", "discarded")

# Sortable columns of the targets list (query argument ``sort``) and their default.
TARGET_SORTS = (
    "depot",
    "part",
    "family",
    "available",
    "computed",
    "override",
    "target",
    "demand",
    "computed_at",
)
TARGET_DEFAULT_SORT = "part"
# Sortable columns of the plans list; newest first by default.
PLAN_SORTS = (
    "id",
    "status",
    "created",
    "parts",
    "units",
    "cost",
    "shortage_before",
    "shortage_left",
    "decided",
)
PLAN_DEFAULT_SORT = "id"


def per_month(demand_per_day: float) -> float:
    """Demand per average month from demand per day."""
    return demand_per_day * DAYS_PER_MONTH


# --- targets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetFilters:
    """Which targets to list: one depot, one part, one family, only those above 0."""

    depot: str | None = None
    part_number: str | None = None
    family: str | None = None
    nonzero: bool = True

    def args(self) -> dict[str, str]:
        """The filters as query arguments (links and redirects back to the list)."""
        args = {
            "depot": self.depot or "",
            "part_number": self.part_number or "",
            "family": self.family or "",
        }
        if not self.nonzero:
            args["all"] = "1"
        return {key: value for key, value in args.items() if value}


@dataclass(frozen=True)
class TargetRow:
    """A target with what the list shows beside it: the part's description and
    family, and the available good stock (on hand less reserved) at the depot."""

    target: StockTarget
    description: str
    family: str
    available: int

    @property
    def demand_per_month(self) -> float | None:
        """Units per month the target was computed from; ``None`` if never computed."""
        if self.target.computed_at is None:
            return None
        return per_month(self.target.demand_per_day)

    @property
    def below_target(self) -> bool:
        return self.available < self.target.effective


@dataclass(frozen=True)
class TargetTotals:
    """Figures of the whole selection: how many targets, how many overridden, the
    units they add up to, and how many have less available stock than their target."""

    targets: int
    overridden: int
    units: int
    below_target: int


@dataclass(frozen=True)
class TargetListing:
    page: Page[TargetRow]
    totals: TargetTotals


def _effective() -> Any:
    return func.coalesce(StockTarget.override, StockTarget.computed)


def _available_stock() -> Any:
    """Available good stock per (depot, part), as a subquery to join on."""
    return (
        select(
            StockBalance.depot_code.label("depot_code"),
            StockBalance.part_number.label("part_number"),
            (StockBalance.on_hand - StockBalance.reserved).label("available"),
        )
        .where(StockBalance.bucket == "good")
        .subquery("available_stock")
    )


@read_only
def part_families(uow: UnitOfWork) -> list[str]:
    """The catalogue's part families, in order (for the family filter)."""
    return list(uow.session.scalars(select(Part.family).distinct().order_by(Part.family)))


def _checked(uow: UnitOfWork, filters: TargetFilters) -> TargetFilters:
    """The filters with codes as stored; ``NotFound`` for an unknown depot, part or family."""
    depot = require_depot(uow, filters.depot).code if filters.depot else None
    part = get_part_row(uow, filters.part_number).part_number if filters.part_number else None
    family = (filters.family or "").strip() or None
    if family is not None:
        known = {name.casefold(): name for name in part_families(uow)}
        if family.casefold() not in known:
            raise NotFound(gettext("unknown part family %(family)r", family=family))
        family = known[family.casefold()]
    return TargetFilters(depot, part, family, filters.nonzero)


def _target_selection(filters: TargetFilters, available: Any) -> Select[Any]:
    stock = func.coalesce(available.c.available, 0)
    query = (
        select(StockTarget, Part.description, Part.family, stock.label("available"))
        .join(Part, Part.part_number == StockTarget.part_number)
        .outerjoin(
            available,
            and_(
                available.c.depot_code == StockTarget.depot_code,
                available.c.part_number == StockTarget.part_number,
            ),
        )
    )
    if filters.depot:
        query = query.where(StockTarget.depot_code == filters.depot)
    if filters.part_number:
        query = query.where(StockTarget.part_number == filters.part_number)
    if filters.family:
        query = query.where(Part.family == filters.family)
    if filters.nonzero:
        query = query.where(_effective() > 0)
    return query


@read_only
def target_listing(uow: UnitOfWork, filters: TargetFilters, request: PageRequest) -> TargetListing:
    """One page of the targets matching ``filters``, sorted as asked, with the totals of
    the whole selection. ``NotFound`` for an unknown depot, part or family.

    For one depot and one part the pair is always listed (unless only targets above 0
    are asked for): all zero when nothing is stored, because a missing target is 0.
    """
    filters = _checked(uow, filters)
    available = _available_stock()
    stock = func.coalesce(available.c.available, 0)
    query = _target_selection(filters, available)
    columns = {
        "depot": StockTarget.depot_code,
        "part": StockTarget.part_number,
        "family": Part.family,
        "available": stock,
        "computed": StockTarget.computed,
        "override": StockTarget.override,
        "target": _effective(),
        "demand": StockTarget.demand_per_day,
        "computed_at": StockTarget.computed_at,
    }
    # Part then depot is unique: the tie-break of every order.
    tiebreak = StockTarget.part_number + "|" + StockTarget.depot_code
    found = paginate(uow.session, query, request, columns, tiebreak, scalars=False)
    rows = [
        TargetRow(target, description, family, int(units))
        for target, description, family, units in found.items
    ]
    selection = query.subquery()
    totals_row = uow.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((selection.c.override.is_not(None), 1), else_=0)), 0),
            func.coalesce(func.sum(func.coalesce(selection.c.override, selection.c.computed)), 0),
            func.coalesce(
                func.sum(
                    case(
                        (
                            selection.c.available
                            < func.coalesce(selection.c.override, selection.c.computed),
                            1,
                        ),
                        else_=0,
                    )
                ),
                0,
            ),
        ).select_from(selection)
    ).one()
    totals = TargetTotals(*(int(value) for value in totals_row))
    if not rows and filters.depot and filters.part_number and not filters.nonzero:
        part = get_part_row(uow, filters.part_number)
        zero = StockTarget(depot_code=filters.depot, part_number=part.part_number)
        units = _available_of(uow, filters.depot, part.part_number)
        rows = [TargetRow(zero, part.description, part.family, units)]
        totals = TargetTotals(1, 0, 0, 0)
        found = Page([], 1, found.request)
    return TargetListing(Page(rows, max(found.total, len(rows)), found.request), totals)


def _available_of(uow: UnitOfWork, depot: str, part_number: str) -> int:
    balance = uow.session.get(StockBalance, (depot, part_number, "good"))
    return 0 if balance is None else balance.on_hand - balance.reserved


# --- plans ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanFilters:
    """Which plans to list: of one status; only stale ones (``True``) or only those
    that are not (``False``)."""

    status: str | None = None
    stale: bool | None = None

    def args(self) -> dict[str, str]:
        args = {"status": self.status or ""}
        if self.stale is not None:
            args["stale"] = "yes" if self.stale else "no"
        return {key: value for key, value in args.items() if value}


@dataclass(frozen=True)
class PlanTotals:
    """Plans in the whole selection, by status, and how many of them are stale."""

    plans: int
    by_status: dict[str, int]
    stale: int


@dataclass(frozen=True)
class PlanListing:
    page: Page[PlanSummary]
    totals: PlanTotals


@read_only
def plan_listing(uow: UnitOfWork, filters: PlanFilters, request: PageRequest) -> PlanListing:
    """One page of the rebalancing plans matching ``filters``, sorted as asked, stale
    proposals marked, with the counts of the whole selection. The current inputs are
    read at most once, and only when a proposed plan's inputs mark is not the current
    one (``inventory.service.rebalancing.Staleness``)."""
    query = select(RebalancePlan)
    if filters.status:
        query = query.where(RebalancePlan.status == filters.status)
    proposed = uow.session.scalar(
        select(func.count()).select_from(query.where(RebalancePlan.status == "proposed").subquery())
    )
    staleness = rebalancing.Staleness(uow) if proposed else None
    stale = staleness.clause() if staleness is not None else None
    if filters.stale is not None:
        if stale is None:
            query = query.where(False) if filters.stale else query  # nothing can be stale
        else:
            query = query.where(stale if filters.stale else ~stale)
    columns = {
        "id": RebalancePlan.id,
        "status": RebalancePlan.status,
        "created": RebalancePlan.created_at,
        "parts": RebalancePlan.parts,
        "units": RebalancePlan.units_moved,
        "cost": RebalancePlan.cost,
        "shortage_before": RebalancePlan.shortage_before,
        "shortage_left": RebalancePlan.shortage_left,
        "decided": RebalancePlan.decided_at,
    }
    found = paginate(uow.session, query, request, columns, RebalancePlan.id)
    summaries = [
        PlanSummary(plan=plan, stale=staleness is not None and staleness.of(plan))
        for plan in found.items
    ]
    selection = query.subquery()
    by_status = {status: 0 for status in PLAN_STATUSES}
    for status, count in uow.session.execute(
        select(selection.c.status, func.count()).group_by(selection.c.status)
    ):
        by_status[status] = int(count)
    stale_count = 0
    if stale is not None:
        stale_count = int(
            uow.session.scalar(select(func.count()).select_from(query.where(stale).subquery())) or 0
        )
    totals = PlanTotals(found.total, by_status, stale_count)
    return PlanListing(Page(summaries, found.total, found.request), totals)
