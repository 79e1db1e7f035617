"""A rebalancing plan as planners review it: each move with the stock and target at
both of its depots before and after the plan, and the plan as a CSV file.

The plan and its moves are ``inventory.service.rebalancing``'s. A depot's *stock*
here is what the plan worked from: available good stock, less what draft
transfers already take out, plus what is on its way in (in transit, or drafted
towards it); its *target* is the effective target. "After" adds the plan's moves
of that part into and out of the depot (all of them, not only the move on that
line), so a line reads as the depot's position once the whole plan is done.

The figures are those of now. They are exactly the plan's own while it is proposed
and not stale (the fingerprint it kept covers them), so they are given only then;
a decided or stale plan has moves without them.

Freight is as charged (``inventory.service.rebalancing``): everything a plan sends on
a lane is one shipment, paying the lane's shipment charge once plus handling per
unit. Each move keeps the lane's handling per unit and its freight (its handling
plus its share of the shipment charge, by units), so per lane: handling = the sum
of units x handling per unit, freight = the sum of the moves' freight, and the
shipment charge is the difference. These come from the stored moves alone, so
they read the same once the plan is decided or stale.

A whole-network plan has some 140,000 moves: its page (``plan_page``) gives every
lane's totals by SQL aggregates and the lines of one lane a page at a time, the
positions read only for the parts shown; a small plan (``SMALL_PLAN_LINES``) is
shown whole. The CSV file keeps every move, written a block of rows at a time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from core.csv_files import csv_text
from core.db import UnitOfWork, read_only
from core.pagination import Page, PageRequest, paginate
from inventory.models import (
    Part,
    RebalanceMove,
    StockBalance,
    Transfer,
    TransferLine,
    TransferStatus,
)
from inventory.service import rebalancing
from inventory.service.rebalancing import PlanView
from inventory.service.targets import effective_targets

# A plan with at most this many moves is shown whole on its page, every lane's lines
# at once; a larger one a lane at a time, LINES_PER_PAGE lines a page.
SMALL_PLAN_LINES = 500
LINES_PER_PAGE = 100
# The only order of a lane's lines: by part (the move's id breaks no real tie: a plan
# moves a part once on a lane).
LINE_SORTS = ("part",)
# Rows of the CSV file written at a time.
CSV_BLOCK_ROWS = 5_000

# The CSV file's columns: stable names, in this order, whatever the page's language.
CSV_COLUMNS = (
    "plan_id",
    "plan_status",
    "from_depot",
    "to_depot",
    "part_number",
    "description",
    "qty",
    "handling_per_unit_cny",
    "shipment_share_cny",
    "freight_cny",
    "from_stock_before",
    "from_stock_after",
    "from_target",
    "to_stock_before",
    "to_stock_after",
    "to_target",
    "lane_units",
    "lane_shipment_cny",
    "lane_handling_cny",
    "lane_freight_cny",
)


@dataclass(frozen=True)
class Position:
    """A part at a depot: its stock (see the module notes) and its target."""

    stock: int
    target: int

    @property
    def short(self) -> int:
        """Units below target (0 when at or above it)."""
        return max(0, self.target - self.stock)


@dataclass(frozen=True)
class MoveLine:
    """One move of a plan and, while the plan is current, the positions at its
    source and destination before and after the whole plan."""

    move: RebalanceMove
    description: str
    source_before: Position | None = None
    source_after: Position | None = None
    destination_before: Position | None = None
    destination_after: Position | None = None

    @property
    def handling_per_unit(self) -> Decimal:
        """CNY handling per unit on the lane."""
        return self.move.unit_cost

    @property
    def handling(self) -> Decimal:
        """CNY handling for the line: units times the handling per unit."""
        return self.move.qty * self.move.unit_cost

    @property
    def shipment_share(self) -> Decimal:
        """The line's share of its lane's shipment charge (by units), CNY."""
        return self.move.cost - self.handling

    @property
    def freight(self) -> Decimal:
        """CNY for the line: its handling plus its share of the shipment charge."""
        return self.move.cost


@dataclass(frozen=True)
class Lane:
    """The moves of a plan on one depot-to-depot lane: one shipment (one draft transfer
    on approval), paying the lane's shipment charge once plus handling per unit."""

    from_depot: str
    to_depot: str
    lines: list[MoveLine]

    @property
    def units(self) -> int:
        return sum(line.move.qty for line in self.lines)

    @property
    def handling(self) -> Decimal:
        return sum((line.handling for line in self.lines), Decimal("0.00"))

    @property
    def freight(self) -> Decimal:
        return sum((line.freight for line in self.lines), Decimal("0.00"))

    @property
    def shipment(self) -> Decimal:
        """The lane's shipment charge, paid once for all its units."""
        return self.freight - self.handling


def lanes_of(lines: list[MoveLine]) -> list[Lane]:
    """Move lines grouped by lane, lanes by source then destination, parts in order."""
    grouped: dict[tuple[str, str], list[MoveLine]] = defaultdict(list)
    for line in lines:
        grouped[(line.move.from_depot, line.move.to_depot)].append(line)
    return [
        Lane(source, target, sorted(items, key=lambda line: line.move.part_number))
        for (source, target), items in sorted(grouped.items())
    ]


@dataclass(frozen=True)
class LaneTotals:
    """A lane's totals read without its lines: how many lines, units, handling and
    freight (as ``Lane``'s: the shipment charge is the difference)."""

    from_depot: str
    to_depot: str
    line_count: int
    units: int
    handling: Decimal
    freight: Decimal

    @property
    def shipment(self) -> Decimal:
        """The lane's shipment charge, paid once for all its units."""
        return self.freight - self.handling

    @property
    def key(self) -> str:
        """The lane as the page's ``lane`` argument names it: ``BJ-SH``."""
        return f"{self.from_depot}-{self.to_depot}"


def _cny(amount: object) -> Decimal:
    # SQLite sums NUMERIC as floating point: back to whole cents (the error of
    # 10^5 additions is far below a cent).
    return Decimal(str(amount or 0)).quantize(Decimal("0.01"))


@read_only
def lane_totals(uow: UnitOfWork, plan_id: int) -> list[LaneTotals]:
    """Every lane of a plan with its totals, by source then destination (SQL sums
    over the stored moves; no line is built)."""
    rows = uow.session.execute(
        select(
            RebalanceMove.from_depot,
            RebalanceMove.to_depot,
            func.count(),
            func.sum(RebalanceMove.qty),
            func.sum(RebalanceMove.qty * RebalanceMove.unit_cost),
            func.sum(RebalanceMove.cost),
        )
        .where(RebalanceMove.plan_id == plan_id)
        .group_by(RebalanceMove.from_depot, RebalanceMove.to_depot)
        .order_by(RebalanceMove.from_depot, RebalanceMove.to_depot)
    )
    return [
        LaneTotals(source, target, int(count), int(units or 0), _cny(handling), _cny(freight))
        for source, target, count, units, handling, freight in rows
    ]


@dataclass(frozen=True)
class PlanDetail:
    """A saved plan, whether it is stale, and its moves as lines (by lane, then part)."""

    view: PlanView
    lines: list[MoveLine]

    @property
    def positions_known(self) -> bool:
        """Whether the lines carry the before and after figures (proposed and current)."""
        return self.view.plan.status == "proposed" and not self.view.stale


@read_only
def positions(
    uow: UnitOfWork,
    parts: Collection[str] | None = None,
    *,
    leaving_out: Collection[int] = (),
) -> dict[tuple[str, str], Position]:
    """{(depot, part): position now} as the rebalancing counts it (see the module
    notes), for ``parts`` (every part when None) at every depot holding or needing
    any. Draft transfers whose ids are in ``leaving_out`` are not counted: a
    report reads an approved plan's positions without the drafts it made."""
    ordered = None if parts is None else sorted(parts)
    available: dict[tuple[str, str], int] = defaultdict(int)
    incoming: dict[tuple[str, str], int] = defaultdict(int)
    balances = select(
        StockBalance.depot_code,
        StockBalance.part_number,
        StockBalance.bucket,
        StockBalance.on_hand,
        StockBalance.reserved,
    ).where(StockBalance.bucket.in_(["good", "in_transit"]))
    drafts = (
        select(Transfer.from_depot, Transfer.to_depot, TransferLine.part_number, TransferLine.qty)
        .join(TransferLine, TransferLine.transfer_id == Transfer.id)
        .where(Transfer.status == TransferStatus.DRAFT)
    )
    if ordered is not None:
        balances = balances.where(StockBalance.part_number.in_(ordered))
        drafts = drafts.where(TransferLine.part_number.in_(ordered))
    if leaving_out:
        drafts = drafts.where(Transfer.id.not_in(sorted(leaving_out)))
    for depot, part, bucket, on_hand, reserved in uow.session.execute(balances):
        if bucket == "good":
            available[(depot, part)] += on_hand - reserved
        else:
            incoming[(depot, part)] += on_hand
    for source, target, part, qty in uow.session.execute(drafts):
        available[(source, part)] -= qty
        incoming[(target, part)] += qty
    targets = effective_targets(uow, part_numbers=ordered)
    keys = set(available) | set(incoming) | set(targets)
    # As the rebalancing counts it: stock already spoken for cannot go below nothing.
    return {
        key: Position(max(0, available.get(key, 0)) + incoming.get(key, 0), targets.get(key, 0))
        for key in keys
    }


def _lines(
    uow: UnitOfWork, view: PlanView, moves: Sequence[RebalanceMove], *, whole_plan: bool
) -> list[MoveLine]:
    """``moves`` of the plan as lines, with their positions while the plan is current.
    The "after" figures count every move of the plan of those parts: ``whole_plan``
    says ``moves`` are all of them, else the plan's moves of those parts are read."""
    parts = {move.part_number for move in moves}
    ordered = sorted(parts)
    descriptions = dict(
        uow.session.execute(
            select(Part.part_number, Part.description).where(Part.part_number.in_(ordered))
        ).all()
        if parts
        else []
    )
    current = view.plan.status == "proposed" and not view.stale
    found = positions(uow, parts) if current and parts else {}
    flow: dict[tuple[str, str], int] = defaultdict(int)
    if current:
        flows = (
            ((m.from_depot, m.to_depot, m.part_number, m.qty) for m in moves)
            if whole_plan
            else uow.session.execute(
                select(
                    RebalanceMove.from_depot,
                    RebalanceMove.to_depot,
                    RebalanceMove.part_number,
                    RebalanceMove.qty,
                ).where(
                    RebalanceMove.plan_id == view.plan.id, RebalanceMove.part_number.in_(ordered)
                )
            )
        )
        for source, target, part, qty in flows:
            flow[(source, part)] -= qty
            flow[(target, part)] += qty

    def before_after(depot: str, part: str) -> tuple[Position | None, Position | None]:
        if not current:
            return None, None
        before = found.get((depot, part), Position(0, 0))
        return before, Position(before.stock + flow[(depot, part)], before.target)

    lines = []
    for move in sorted(moves, key=lambda m: (m.from_depot, m.to_depot, m.part_number)):
        source = before_after(move.from_depot, move.part_number)
        destination = before_after(move.to_depot, move.part_number)
        lines.append(
            MoveLine(
                move,
                descriptions.get(move.part_number, ""),
                source_before=source[0],
                source_after=source[1],
                destination_before=destination[0],
                destination_after=destination[1],
            )
        )
    return lines


@read_only
def plan_detail(uow: UnitOfWork, plan_id: int) -> PlanDetail:
    """A saved plan with every move as a line; ``NotFound`` for an unknown plan."""
    view = rebalancing.get_plan(uow, plan_id)
    return PlanDetail(view, _lines(uow, view, view.moves, whole_plan=True))


@dataclass(frozen=True)
class PlanPage:
    """What a plan's page shows: the plan, every lane's totals, and the lanes whose
    lines are shown with them (all of a small plan's; one page of the chosen lane
    of a large one, ``page`` saying which)."""

    view: PlanView
    lanes: list[LaneTotals]
    shown: list[Lane]
    lane: LaneTotals | None = None
    page: Page[RebalanceMove] | None = None

    @property
    def positions_known(self) -> bool:
        """Whether the lines carry the before and after figures (proposed and current)."""
        return self.view.plan.status == "proposed" and not self.view.stale

    @property
    def paged(self) -> bool:
        """Whether the plan is shown a lane and a page at a time."""
        return self.page is not None

    @property
    def line_count(self) -> int:
        return sum(lane.line_count for lane in self.lanes)


def line_page_request(args: Mapping[str, str]) -> PageRequest:
    """The page of a lane's lines that query arguments ask for (``page``, ``per_page``)."""
    return PageRequest.from_args(
        args,
        sorts=LINE_SORTS,
        default_sort="part",
        per_page=LINES_PER_PAGE,
    )


@read_only
def plan_page(
    uow: UnitOfWork, plan_id: int, lane: str | None = None, request: PageRequest | None = None
) -> PlanPage:
    """A plan for its page: ``lane`` (``BJ-SH``; the first lane when unknown or
    missing) and ``request`` choose the lines shown of a plan of more than
    ``SMALL_PLAN_LINES`` moves; a smaller one shows them all. ``NotFound`` for an
    unknown plan."""
    view = rebalancing.get_plan(uow, plan_id, with_moves=False)
    totals = lane_totals(uow, plan_id)
    if sum(found.line_count for found in totals) <= SMALL_PLAN_LINES:
        moves = list(
            uow.session.scalars(select(RebalanceMove).where(RebalanceMove.plan_id == plan_id))
        )
        return PlanPage(view, totals, lanes_of(_lines(uow, view, moves, whole_plan=True)))
    chosen = next((found for found in totals if found.key == lane), totals[0])
    query = select(RebalanceMove).where(
        RebalanceMove.plan_id == plan_id,
        RebalanceMove.from_depot == chosen.from_depot,
        RebalanceMove.to_depot == chosen.to_depot,
    )
    page = paginate(
        uow.session,
        query,
        request or line_page_request({}),
        {"part": RebalanceMove.part_number},
        RebalanceMove.id,
        total=chosen.line_count,
    )
    lines = _lines(uow, view, page.items, whole_plan=False)
    return PlanPage(view, totals, lanes_of(lines), chosen, page)


def _cell(position: Position | None, field: str) -> int | str:
    return "" if position is None else getattr(position, field)


def _lane_cells(lane: Lane) -> list[int | str]:
    return [lane.units, f"{lane.shipment:.2f}", f"{lane.handling:.2f}", f"{lane.freight:.2f}"]


def _csv_row(
    plan_id: int, status: str, line: MoveLine, lane_cells: list[int | str]
) -> list[object]:
    return [
        plan_id,
        status,
        line.move.from_depot,
        line.move.to_depot,
        line.move.part_number,
        line.description,
        line.move.qty,
        f"{line.handling_per_unit:.2f}",
        f"{line.shipment_share:.2f}",
        f"{line.freight:.2f}",
        _cell(line.source_before, "stock"),
        _cell(line.source_after, "stock"),
        _cell(line.source_before, "target"),
        _cell(line.destination_before, "stock"),
        _cell(line.destination_after, "stock"),
        _cell(line.destination_before, "target"),
        *lane_cells,
    ]


def plan_csv_blocks(detail: PlanDetail) -> Iterator[str]:
    """The plan's moves as CSV (see ``plan_csv``), a block of ``CSV_BLOCK_ROWS``
    rows at a time (the header with the first), for a response to stream."""
    plan = detail.view.plan
    # Each lane's totals once (a lane's sums over its lines, not again for every row).
    cells_of = {
        (lane.from_depot, lane.to_depot): _lane_cells(lane) for lane in lanes_of(detail.lines)
    }
    yield csv_text(CSV_COLUMNS, [], lineterminator="\r\n")
    for start in range(0, len(detail.lines), CSV_BLOCK_ROWS):
        block = detail.lines[start : start + CSV_BLOCK_ROWS]
        text = csv_text(
            CSV_COLUMNS,
            (
                _csv_row(
                    plan.id,
                    plan.status,
                    line,
                    cells_of[(line.move.from_depot, line.move.to_depot)],
                )
                for line in block
            ),
            lineterminator="\r\n",
        )
        # Every block but the first without its header line.
        yield text.split("\r\n", 1)[1]


def plan_csv(detail: PlanDetail) -> str:
    """The plan's moves as CSV (``CSV_COLUMNS``, one row per move; the before and
    after columns empty when the plan is no longer proposed and current; the
    ``lane_*`` columns repeat the move's lane totals on each of its rows). UTF-8
    text; the caller adds a byte-order mark for spreadsheets if it wants one."""
    return "".join(plan_csv_blocks(detail))
