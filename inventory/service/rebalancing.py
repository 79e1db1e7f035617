"""Rebalancing: plan transfers toward target stock, review the plan, turn it into drafts.

The position of a depot counts the transfers already under way: stock in
transit towards it and draft transfers to it count as incoming (its target is
lowered by them), and draft transfers from it are already spoken for (its
available stock is lowered by them). So a depot never ships below what it will
need once its transfers land, a depot with enough on the way is not sent more,
and planning again before approved drafts ship does not move the same shortage
twice. The plan itself comes from ``optimizer.rebalance`` (one min-cost flow
for all parts at once): most units into shortages, then the lowest cost,
direct depot-to-depot lanes only.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, lock_for_update, read_only, transactional
from core.errors import Conflict, Invalid, NotFound
from depots.service.network import list_depots, list_lanes
from inventory.models import (
    RebalanceMove,
    RebalancePlan,
    StockBalance,
    StockTarget,
    Transfer,
    TransferLine,
    TransferStatus,
)
from inventory.service import transfers
from optimizer.rebalance import rebalance


@dataclass(frozen=True)
class PlanView:
    plan: RebalancePlan
    moves: list[RebalanceMove]

    @property
    def transfer_ids(self) -> list[int]:
        return json.loads(self.plan.transfer_ids or "[]")


def _positions(uow: UnitOfWork, depots: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Parts with stock or a target, and P x D matrices of available stock and net target."""
    available: dict[tuple[str, str], int] = defaultdict(int)
    incoming: dict[tuple[str, str], int] = defaultdict(int)
    for depot, part, bucket, on_hand, reserved in uow.session.execute(
        select(
            StockBalance.depot_code,
            StockBalance.part_number,
            StockBalance.bucket,
            StockBalance.on_hand,
            StockBalance.reserved,
        ).where(StockBalance.bucket.in_(["good", "in_transit"]), StockBalance.on_hand > 0)
    ):
        if bucket == "good":
            available[(depot, part)] += on_hand - reserved
        else:
            incoming[(depot, part)] += on_hand
    for source, target, part, qty in uow.session.execute(
        select(Transfer.from_depot, Transfer.to_depot, TransferLine.part_number, TransferLine.qty)
        .join(TransferLine, TransferLine.transfer_id == Transfer.id)
        .where(Transfer.status == TransferStatus.DRAFT)
    ):
        available[(source, part)] -= qty
        incoming[(target, part)] += qty
    effective = func.coalesce(StockTarget.override, StockTarget.computed)
    targets = {
        (d, p): int(t)
        for d, p, t in uow.session.execute(
            select(StockTarget.depot_code, StockTarget.part_number, effective)
        )
    }
    parts = sorted({p for _, p in available} | {p for (_, p), t in targets.items() if t > 0})
    column = {d: i for i, d in enumerate(depots)}
    row = {p: i for i, p in enumerate(parts)}
    stock = np.zeros((len(parts), len(depots)), dtype=np.int64)
    target = np.zeros((len(parts), len(depots)), dtype=np.int64)
    for (d, p), units in available.items():
        if d in column:
            stock[row[p], column[d]] = max(0, units)
    for (d, p), units in targets.items():
        if d in column and p in row:
            target[row[p], column[d]] = max(0, units - incoming.get((d, p), 0))
    return parts, stock, target


def _lane_matrix(uow: UnitOfWork, depots: list[str]) -> np.ndarray:
    column = {d: i for i, d in enumerate(depots)}
    lanes = np.full((len(depots), len(depots)), np.nan)
    for lane in list_lanes(uow, kind="depot"):
        if lane.from_depot in column and lane.to in column:
            lanes[column[lane.from_depot], column[lane.to]] = float(lane.cost)
    return lanes


@transactional
def propose_plan(uow: UnitOfWork, actor: Actor) -> PlanView:
    """Plan rebalancing transfers for every part from current stock and targets; save it."""
    actor.require_role(Role.PLANNER)
    depots = [d.code for d in list_depots(uow)]
    parts, stock, target = _positions(uow, depots)
    rows, cols = np.nonzero((stock > 0) | (target > 0))
    result = rebalance(
        rows,
        cols,
        stock[rows, cols],
        target[rows, cols],
        _lane_matrix(uow, depots),
        part_numbers=parts,
        depot_codes=depots,
    )
    plan = RebalancePlan(
        units_moved=result.units_moved,
        cost=result.total_cost,
        shortage_before=result.shortage_before,
        shortage_left=result.shortage_left,
        parts=len(set(result.part.tolist())),
        created_by=actor.username,
    )
    uow.session.add(plan)
    uow.session.flush()
    moves = [
        RebalanceMove(
            plan_id=plan.id,
            part_number=m.part_number,
            from_depot=m.from_depot,
            to_depot=m.to_depot,
            qty=m.qty,
            unit_cost=m.unit_cost,
            cost=m.cost,
        )
        for m in result.moves()
    ]
    uow.session.add_all(moves)
    uow.session.flush()
    return PlanView(plan, moves)


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
        raise NotFound(f"unknown rebalancing plan {plan_id}")
    return plan


@read_only
def get_plan(uow: UnitOfWork, plan_id: int) -> PlanView:
    plan = uow.session.get(RebalancePlan, plan_id)
    if plan is None:
        raise NotFound(f"unknown rebalancing plan {plan_id}")
    return PlanView(plan, _moves(uow, plan_id))


@read_only
def list_plans(uow: UnitOfWork, limit: int = 50) -> list[RebalancePlan]:
    return list(
        uow.session.scalars(select(RebalancePlan).order_by(RebalancePlan.id.desc()).limit(limit))
    )


@transactional
def approve_plan(uow: UnitOfWork, actor: Actor, plan_id: int) -> PlanView:
    """Turn a proposed plan into draft transfers, one per (from, to) pair."""
    actor.require_role(Role.PLANNER)
    plan = _locked_plan(uow, plan_id)
    if plan.status != "proposed":
        raise Conflict(f"plan {plan_id} is {plan.status}; only a proposed plan can be approved")
    grouped: dict[tuple[str, str], list[transfers.LineIn]] = defaultdict(list)
    moves = _moves(uow, plan_id)
    if not moves:
        raise Invalid(f"plan {plan_id} moves nothing")
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
    return PlanView(plan, moves)


@transactional
def discard_plan(uow: UnitOfWork, actor: Actor, plan_id: int) -> PlanView:
    actor.require_role(Role.PLANNER)
    plan = _locked_plan(uow, plan_id)
    if plan.status != "proposed":
        raise Conflict(f"plan {plan_id} is {plan.status}; only a proposed plan can be discarded")
    plan.status, plan.decided_by, plan.decided_at = "discarded", actor.username, clock.now()
    uow.session.add(plan)
    return PlanView(plan, _moves(uow, plan_id))
