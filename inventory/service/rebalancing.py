"""Rebalancing: plan transfers toward target stock, review the plan, turn it into drafts.

The position of a depot counts the transfers already under way: stock in
transit towards it and draft transfers to it count as incoming (its target is
lowered by them), and draft transfers from it are already spoken for (its
available stock is lowered by them). So a depot never ships below what it will
need once its transfers land, a depot with enough on the way is not sent more,
and planning again before approved drafts ship does not move the same shortage
twice. The plan itself comes from ``optimizer.freight``: most units into
shortages, then the least freight as charged, direct depot-to-depot lanes only.
Everything a plan sends on a lane travels as one shipment, which pays the lane's
cost once plus handling per unit (``depots.lanes.TRANSFER_HANDLING_PER_UNIT``); the
lane choice is solved by branch and bound (exact, or stopped at a time limit with
the optimality gap stated). The plan's cost is that freight; each move keeps the
lane's handling per unit as ``unit_cost`` and, as ``cost``, its handling plus its
share of the lane's shipment charge by units, so a lane's moves add up to the
lane's freight and the plan's moves to the plan's cost.

A plan keeps the fingerprint of exactly what the optimizer was given (``basis``:
parts, stock, net targets, lanes; ``read_inputs`` builds them for both). It can
only be approved while the inputs read now have the same fingerprint: two plans
made from the same state would otherwise both draft their moves, and every move
would happen twice. A stale plan is shown as such and a new one has to be made.

Reading every input again to show a plan costs seconds at a hundred thousand parts,
so a plan also keeps a cheap **inputs mark** (``inputs_mark``), read before its
inputs: the count and the last id of the stock movements (every balance change,
holds and releases included, adds one, and movements are never updated or deleted),
the generations of the targets and of the network (bumped in the transaction of any
change to them, ``core.generations``) and the fingerprint of the draft transfer lines
it counted. While the mark read now is the plan's, nothing the plan was computed
from has changed and it is not stale; when the mark differs (or the plan has none),
the exact check decides (``Staleness``). Approving always uses the exact check.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import ColumnElement, and_, exists, false, func, insert, or_, select, true
from sqlalchemy.engine import Connection

from core import clock, generations
from core.auth import Actor, Role
from core.db import UnitOfWork, lock_for_update, read_only, transactional
from core.errors import Conflict, Invalid, NotFound
from core.fingerprint import Fingerprint
from core.i18n import gettext
from depots.lanes import TRANSFER_HANDLING_PER_UNIT
from depots.models import NETWORK
from depots.service.network import list_depots, list_lanes
from inventory.labels import PLAN_STATUS_LABELS, label
from inventory.models import (
    TARGETS,
    Movement,
    RebalanceMove,
    RebalancePlan,
    StockBalance,
    Transfer,
    TransferLine,
    TransferStatus,
)
from inventory.service import transfers
from inventory.service.targets import effective_targets
from optimizer.freight import rebalance_freight
from optimizer.rebalance import Move

# Moves per INSERT statement when a plan is saved.
_SAVE_CHUNK = 10_000


@dataclass(frozen=True)
class PlanSummary:
    """A saved plan, and whether it is stale: proposed, but computed from stock,
    transfers, targets or lanes that have changed since (approving it is refused)."""

    plan: RebalancePlan
    stale: bool = False

    @property
    def transfer_ids(self) -> list[int]:
        return json.loads(self.plan.transfer_ids or "[]")


@dataclass(frozen=True)
class PlanView(PlanSummary):
    """A saved plan with its moves."""

    # Saved moves as read back; a plan just proposed gives the optimizer's own moves
    # (the same fields), which spares building a row object per move.
    moves: list[RebalanceMove] | list[Move] = field(default_factory=list)
    # Known only for a plan just proposed (plans do not store them): how the lane
    # choice was solved ("exact" or "time limit") and its optimality gap (0 = optimal).
    method: str | None = None
    gap: float | None = None


@dataclass(frozen=True)
class RebalanceInputs:
    """Exactly what the optimizer is given: depots (columns), parts (rows), the P x D
    matrices of available stock and net target, the D x D depot-to-depot lane
    costs in CNY per shipment (NaN where there is no lane) and the D x D handling
    in CNY per unit; and the fingerprint of the draft transfer lines counted in
    stock and target (part of the plan's inputs mark)."""

    depots: list[str]
    parts: list[str]
    stock: np.ndarray
    target: np.ndarray
    lanes: np.ndarray
    handling: np.ndarray
    drafts: str = ""

    def basis(self) -> str:
        """The fingerprint a plan keeps: equal inputs give the same plan again.

        v2: freight as charged (shipment + handling); a plan fingerprinted under v1
        was costed per unit and reads as stale."""
        return (
            Fingerprint("rebalancing inputs v2")
            .add(self.depots, self.parts, self.stock.shape)
            .add(np.ascontiguousarray(self.stock, dtype=np.int64).tobytes())
            .add(np.ascontiguousarray(self.target, dtype=np.int64).tobytes())
            .add(np.ascontiguousarray(self.lanes, dtype=np.float64).tobytes())
            .add(np.ascontiguousarray(self.handling, dtype=np.float64).tobytes())
            .hexdigest()
        )


def _draft_lines(connection: Connection) -> list[tuple[str, str, str, int]]:
    """(from, to, part, qty) of every line of every draft transfer, in a fixed order
    (their fingerprint is part of the inputs mark)."""
    return [
        (source, target, part, int(qty))
        for source, target, part, qty in connection.execute(
            select(
                Transfer.from_depot, Transfer.to_depot, TransferLine.part_number, TransferLine.qty
            )
            .join(TransferLine, TransferLine.transfer_id == Transfer.id)
            .where(Transfer.status == TransferStatus.DRAFT)
            .order_by(Transfer.id, TransferLine.id)
        )
    ]


def _drafts_digest(lines: list[tuple[str, str, str, int]]) -> str:
    return Fingerprint("draft transfer lines").add(lines).hexdigest()


def _positions(
    uow: UnitOfWork, depots: list[str]
) -> tuple[list[str], np.ndarray, np.ndarray, list[tuple[str, str, str, int]]]:
    """Parts with stock or a target, P x D matrices of available stock and net target,
    and the draft transfer lines counted in them."""
    # Plain rows from the connection: a plan reads every balance, and ORM rows cost
    # more. They skip the session's autoflush, so flush first. (Fetching the rows is
    # most of the time; adding them up with pandas instead of this loop was slower.)
    uow.session.flush()
    connection = uow.session.connection()
    available: dict[tuple[str, str], int] = defaultdict(int)
    incoming: dict[tuple[str, str], int] = defaultdict(int)
    for depot, part, bucket, units in connection.execute(
        select(
            StockBalance.depot_code,
            StockBalance.part_number,
            StockBalance.bucket,
            StockBalance.on_hand - StockBalance.reserved,
        ).where(StockBalance.bucket.in_(["good", "in_transit"]), StockBalance.on_hand > 0)
    ):
        # Only good stock is ever reserved: in transit, ``units`` is all on hand.
        (available if bucket == "good" else incoming)[(depot, part)] += units
    lines = _draft_lines(connection)
    for source, target, part, qty in lines:
        available[(source, part)] -= qty
        incoming[(target, part)] += qty
    targets = effective_targets(uow)
    parts = sorted({p for _, p in available} | {p for (_, p), t in targets.items() if t > 0})
    column = {d: i for i, d in enumerate(depots)}
    row = {p: i for i, p in enumerate(parts)}
    stock = np.zeros((len(parts), len(depots)), dtype=np.int64)
    target = np.zeros((len(parts), len(depots)), dtype=np.int64)
    for (d, p), units in available.items():
        if d in column and units > 0:
            stock[row[p], column[d]] = units
    for (d, p), units in targets.items():
        if d in column and p in row:
            net = units - incoming.get((d, p), 0)
            if net > 0:
                target[row[p], column[d]] = net
    return parts, stock, target, lines


def _lane_matrices(uow: UnitOfWork, depots: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(CNY per shipment, CNY handling per unit), D x D, NaN where there is no lane."""
    column = {d: i for i, d in enumerate(depots)}
    lanes = np.full((len(depots), len(depots)), np.nan)
    handling = np.full((len(depots), len(depots)), np.nan)
    for lane in list_lanes(uow, kind="depot"):
        if lane.from_depot in column and lane.to in column:
            at = column[lane.from_depot], column[lane.to]
            lanes[at] = float(lane.cost)
            # Lanes do not keep their own handling yet: every lane charges the default.
            handling[at] = float(TRANSFER_HANDLING_PER_UNIT)
    return lanes, handling


def read_inputs(uow: UnitOfWork) -> RebalanceInputs:
    """The optimizer's inputs as the database holds them now, in the caller's transaction.

    The one place they are built: ``propose_plan`` plans from them, and a plan's
    staleness is their fingerprint compared with the one the plan kept.
    """
    depots = [d.code for d in list_depots(uow)]
    parts, stock, target, drafts = _positions(uow, depots)
    lanes, handling = _lane_matrices(uow, depots)
    return RebalanceInputs(
        depots, parts, stock, target, lanes, handling, drafts=_drafts_digest(drafts)
    )


Counters = tuple[object, ...]


def _counters(uow: UnitOfWork) -> Counters | None:
    """What changes whenever an input other than the draft transfers may have: the
    stock movements' count and last id (a balance changes only by ``ledger.post``,
    which adds a movement; movements are never updated or deleted, and ids are not
    committed in id order, hence the count), the generations of the targets and the
    network, and the handling per unit the lanes are costed with. None while this
    transaction has itself changed targets or the network: their generations are
    bumped only when it commits.
    """
    session = uow.session
    session.flush()
    if {NETWORK, TARGETS} & set(session.info.get(generations.CHANGED_KEY, ())):
        return None
    count, last = session.connection().execute(select(func.count(), func.max(Movement.id))).one()
    seen = generations.generations(uow)
    return (
        int(count),
        last,
        seen.get(TARGETS, 0),
        seen.get(NETWORK, 0),
        str(TRANSFER_HANDLING_PER_UNIT),
    )


def _mark(counters: Counters | None, drafts: str) -> str | None:
    if counters is None:
        return None
    return Fingerprint("rebalancing inputs mark v1").add(counters, drafts).hexdigest()


def inputs_mark(uow: UnitOfWork) -> str | None:
    """The inputs mark as the database has it now (see the module doc), or None when
    this transaction's own uncommitted changes keep it from telling."""
    counters = _counters(uow)
    return _mark(counters, _drafts_digest(_draft_lines(uow.session.connection())))


class Staleness:
    """Whether proposed plans are stale, in one transaction: the rule of every page,
    listing and approval, told as cheaply as is safe.

    A plan that is not proposed is never stale; one stored without a basis always is
    (it cannot be checked). Otherwise a plan whose inputs mark is the current one is
    not stale: the mark was read before its inputs, so anything committed after they
    were read changed the mark. Any other plan (mark different or absent) is stale
    when its basis differs from the fingerprint of the inputs read now (the exact
    check), which is read at most once, and only when a plan needs it.
    """

    def __init__(self, uow: UnitOfWork, *, exact: bool = False) -> None:
        # ``exact``: never trust the mark (approval decides under its locks on the
        # inputs themselves).
        self._uow = uow
        self._mark: str | None = None
        self._mark_read = exact
        self._basis: str | None = None

    @property
    def mark(self) -> str | None:
        """The inputs mark now (None under ``exact``, or when it cannot tell)."""
        if not self._mark_read:
            self._mark, self._mark_read = inputs_mark(self._uow), True
        return self._mark

    @property
    def basis(self) -> str:
        """The fingerprint of the inputs read now."""
        if self._basis is None:
            self._basis = read_inputs(self._uow).basis()
        return self._basis

    def of(self, plan: RebalancePlan) -> bool:
        """Whether ``plan`` is stale."""
        if plan.status != "proposed":
            return False
        if plan.basis is None:
            return True
        if plan.inputs_mark is not None and plan.inputs_mark == self.mark:
            return False
        return plan.basis != self.basis

    def clause(self) -> ColumnElement[bool]:
        """The same rule in SQL, for counting and filtering plans in the database; the
        inputs are read only if some proposed plan's mark is not the current one."""
        mark = self.mark
        unmarked = (
            true()
            if mark is None
            else or_(RebalancePlan.inputs_mark.is_(None), RebalancePlan.inputs_mark != mark)
        )
        proposed = RebalancePlan.status == "proposed"
        checked = self._uow.session.scalar(
            select(exists().where(proposed, RebalancePlan.basis.is_not(None), unmarked))
        )
        changed = and_(unmarked, RebalancePlan.basis != self.basis) if checked else false()
        return and_(proposed, or_(RebalancePlan.basis.is_(None), changed))


PlanProgress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: "reading", "building", "solving", "saving"."""


def _silent(stage: str, done: int, total: int) -> None:
    """Reports nothing: the default progress."""


@transactional
def propose_plan(
    uow: UnitOfWork, actor: Actor, *, progress: PlanProgress | None = None
) -> PlanView:
    """Plan rebalancing transfers for every part from current stock and targets; save it
    with the fingerprint of its inputs (``basis``).

    ``progress`` (optional) hears each stage as it starts and ends: "reading" the
    positions, "building" and "solving" the network (the optimizer's own reports),
    "saving" the plan.
    """
    actor.require_role(Role.PLANNER)
    report = progress or _silent
    report("reading", 0, 1)
    # The mark's counters are read before the inputs: a change committed while they are
    # read (PostgreSQL reads each statement afresh) then shows as a change, never missed.
    counters = _counters(uow)
    inputs = read_inputs(uow)
    report("reading", 1, 1)
    rows, cols = np.nonzero((inputs.stock > 0) | (inputs.target > 0))
    result = rebalance_freight(
        rows,
        cols,
        inputs.stock[rows, cols],
        inputs.target[rows, cols],
        inputs.lanes,
        inputs.handling,
        part_numbers=inputs.parts,
        depot_codes=inputs.depots,
        progress=report,
    )
    report("saving", 0, 1)
    plan = RebalancePlan(
        units_moved=result.units_moved,
        cost=result.total_cost,
        shortage_before=result.shortage_before,
        shortage_left=result.shortage_left,
        parts=len(set(result.part.tolist())),
        created_by=actor.username,
        basis=inputs.basis(),
        inputs_mark=_mark(counters, inputs.drafts),
    )
    uow.session.add(plan)
    uow.session.flush()
    moves = result.moves()
    _save_moves(uow, plan.id or 0, moves, report)
    return PlanView(plan=plan, moves=list(moves), method=result.method, gap=result.gap)


def _save_moves(uow: UnitOfWork, plan_id: int, moves: Sequence[Move], report: PlanProgress) -> None:
    """Insert a plan's moves as plain rows, a chunk per statement.

    A network-wide plan has a hundred thousand moves: ORM objects cost about 100 us
    each to build and flush, which made saving most of the planning time. The moves
    are not audited (the plan is), so nothing listens for them as objects.
    """
    table = RebalanceMove.__table__  # type: ignore[attr-defined]
    connection = uow.session.connection()
    total = len(moves)
    report("saving", 0, total)
    for start in range(0, total, _SAVE_CHUNK):
        chunk = moves[start : start + _SAVE_CHUNK]
        connection.execute(
            insert(table),
            [
                {
                    "plan_id": plan_id,
                    "part_number": m.part_number,
                    "from_depot": m.from_depot,
                    "to_depot": m.to_depot,
                    "qty": m.qty,
                    "unit_cost": m.unit_cost,
                    "cost": m.cost,
                }
                for m in chunk
            ],
        )
        report("saving", start + len(chunk), total)
    report("saving", total, total)


def _moves(uow: UnitOfWork, plan_id: int) -> list[RebalanceMove]:
    return list(
        uow.session.scalars(
            select(RebalanceMove)
            .where(RebalanceMove.plan_id == plan_id)
            .order_by(RebalanceMove.from_depot, RebalanceMove.to_depot, RebalanceMove.part_number)
        )
    )


def _locked_plan(uow: UnitOfWork, plan_id: int) -> RebalancePlan:
    query = select(RebalancePlan).where(RebalancePlan.id == plan_id)
    plan = uow.session.scalars(
        lock_for_update(query.execution_options(populate_existing=True), uow)
    ).first()
    if plan is None:
        raise NotFound(gettext("unknown rebalancing plan %(id)s", id=plan_id))
    return plan


def _locked_for_approval(uow: UnitOfWork, plan_id: int) -> RebalancePlan:
    """The plan, locked together with every other proposed plan, in id order.

    Two approvals that could both pass the staleness check are of plans from the same
    inputs, both proposed: whichever locks first makes the other wait until it has
    committed, and the other then reads the drafts it made and finds its plan stale.
    (SQLite's writer lock already runs them one after the other.)
    """
    query = (
        select(RebalancePlan)
        .where(or_(RebalancePlan.id == plan_id, RebalancePlan.status == "proposed"))
        .order_by(RebalancePlan.id)
    )
    locked = uow.session.scalars(
        lock_for_update(query.execution_options(populate_existing=True), uow)
    ).all()
    plan = next((p for p in locked if p.id == plan_id), None)
    if plan is None:
        raise NotFound(gettext("unknown rebalancing plan %(id)s", id=plan_id))
    return plan


@read_only
def get_plan(uow: UnitOfWork, plan_id: int, *, with_moves: bool = True) -> PlanView:
    """A saved plan with its moves (none read when ``with_moves`` is false: a page
    that shows a few of a large plan's moves reads those itself); a proposed plan
    says whether it is stale."""
    plan = uow.session.get(RebalancePlan, plan_id)
    if plan is None:
        raise NotFound(gettext("unknown rebalancing plan %(id)s", id=plan_id))
    stale = Staleness(uow).of(plan)
    return PlanView(plan=plan, stale=stale, moves=_moves(uow, plan_id) if with_moves else [])


@read_only
def list_plans(uow: UnitOfWork, limit: int = 50) -> list[PlanSummary]:
    """The newest plans first, the stale proposals marked (the inputs are read at
    most once)."""
    plans = list(
        uow.session.scalars(select(RebalancePlan).order_by(RebalancePlan.id.desc()).limit(limit))
    )
    if not any(p.status == "proposed" for p in plans):
        return [PlanSummary(plan=p) for p in plans]
    staleness = Staleness(uow)
    return [PlanSummary(plan=p, stale=staleness.of(p)) for p in plans]


@transactional
def approve_plan(uow: UnitOfWork, actor: Actor, plan_id: int) -> PlanView:
    """Turn a proposed plan into draft transfers, one per (from, to) pair.

    ``Conflict`` when the plan is not proposed, or is stale: the stock, transfers
    under way, targets or lanes it was computed from have changed since (or it was
    saved before plans kept their basis), so its moves may no longer be needed,
    e.g. another plan from the same state was approved first. ``Invalid`` when it
    moves nothing. Nothing is drafted when it is refused.
    """
    actor.require_role(Role.PLANNER)
    plan = _locked_for_approval(uow, plan_id)
    if plan.status != "proposed":
        raise Conflict(
            gettext(
                "plan %(id)s is %(status)s; only a proposed plan can be approved",
                id=plan_id,
                status=label(PLAN_STATUS_LABELS, plan.status),
            )
        )
    if Staleness(uow, exact=True).of(plan):
        raise Conflict(gettext("plan %(id)s is stale: make a new plan", id=plan_id))
    moves = _moves(uow, plan_id)
    if not moves:
        raise Invalid(gettext("plan %(id)s moves nothing", id=plan_id))
    grouped: dict[tuple[str, str], list[transfers.LineIn]] = defaultdict(list)
    for move in moves:
        grouped[(move.from_depot, move.to_depot)].append(
            transfers.LineIn(move.part_number, move.qty)
        )
    planner = Actor(id=actor.id, username=actor.username, role=Role.PLANNER)
    created = [
        transfers.create_transfer(
            uow,
            planner,
            source,
            target,
            lines,
            note=f"rebalancing plan {plan_id}",
            reference=f"PLAN-{plan_id}",
        ).transfer.id
        for (source, target), lines in sorted(grouped.items())
    ]
    plan.status, plan.decided_by, plan.decided_at = "approved", actor.username, clock.now()
    plan.transfer_ids = json.dumps(created)
    uow.session.add(plan)
    return PlanView(plan=plan, moves=moves)


@transactional
def discard_plan(uow: UnitOfWork, actor: Actor, plan_id: int) -> PlanView:
    """Set a proposed plan aside (a stale one too); ``Conflict`` once it is decided."""
    actor.require_role(Role.PLANNER)
    plan = _locked_plan(uow, plan_id)
    if plan.status != "proposed":
        raise Conflict(
            gettext(
                "plan %(id)s is %(status)s; only a proposed plan can be discarded",
                id=plan_id,
                status=label(PLAN_STATUS_LABELS, plan.status),
            )
        )
    plan.status, plan.decided_by, plan.decided_at = "discarded", actor.username, clock.now()
    uow.session.add(plan)
    return PlanView(plan=plan, moves=_moves(uow, plan_id))
