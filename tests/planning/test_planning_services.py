"""Targets, rebalancing plans and batch dispatch through the service layer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core import clock
from core.errors import Conflict, Forbidden, Invalid
from inventory.service import ledger, queries, rebalancing, targets, transfers
from planning.service import demand
from rma.service import dispatch, opening
from rma.service import queries as rma_queries
from rma.service.opening import OpenRequest

MONDAY_10_SHANGHAI = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def test_override_beats_the_computed_target_and_can_be_removed(uow, planner, make_part):
    part = make_part()
    targets.set_override(uow, planner, "GZ", part, 7)
    assert targets.effective_targets(uow)[("GZ", part)] == 7
    targets.set_override(uow, planner, "GZ", part, None)
    assert targets.effective_targets(uow)[("GZ", part)] == 0
    with pytest.raises(Invalid):
        targets.set_override(uow, planner, "GZ", part, -1)


def test_only_planners_set_targets(uow, engineer, make_part):
    with pytest.raises(Forbidden):
        targets.set_override(uow, engineer, "GZ", make_part(), 3)


def test_targets_follow_the_installed_base_of_each_region(
    uow, planner, make_part, account, install
):
    part = make_part(serialized=True)
    guangzhou_area = account("Shenzhen", coverage=None)
    for _ in range(60):
        install(guangzhou_area, part)
    report = demand.compute_targets(uow, planner, fill_rate=0.95, lead_time_days=30)
    computed = targets.effective_targets(uow)
    assert computed[("GZ", part)] >= 1
    assert computed.get(("SY", part), 0) == 0
    assert report.rows >= 1 and "fill rate 95%" in report.summary()
    targets.set_override(uow, planner, "GZ", part, 9)
    demand.compute_targets(uow, planner)
    assert targets.effective_targets(uow)[("GZ", part)] == 9  # recomputing keeps the override


def test_rebalancing_moves_surplus_into_shortage_and_becomes_draft_transfers(
    uow, planner, make_part, stock_up
):
    part = make_part()
    stock_up("BJ", part, 10)
    stock_up("SY", part, 1)
    targets.set_override(uow, planner, "BJ", part, 4)
    targets.set_override(uow, planner, "SY", part, 5)
    targets.set_override(uow, planner, "JN", part, 2)
    view = rebalancing.propose_plan(uow, planner)
    assert view.plan.units_moved == 6 and view.plan.shortage_left == 0
    assert {(m.from_depot, m.to_depot, m.qty) for m in view.moves} == {
        ("BJ", "SY", 4),
        ("BJ", "JN", 2),
    }
    approved = rebalancing.approve_plan(uow, planner, view.plan.id)
    drafts = [transfers.get_transfer(uow, i) for i in approved.transfer_ids]
    assert {(d.transfer.from_depot, d.transfer.to_depot, d.transfer.status) for d in drafts} == {
        ("BJ", "SY", "draft"),
        ("BJ", "JN", "draft"),
    }
    with pytest.raises(Conflict):
        rebalancing.approve_plan(uow, planner, view.plan.id)


def test_stock_on_the_road_counts_toward_the_receivers_target(
    uow, planner, staff, make_part, stock_up
):
    part = make_part()
    stock_up("SH", part, 10)
    targets.set_override(uow, planner, "WH", part, 3)
    draft = transfers.create_transfer(uow, planner, "SH", "WH", [transfers.LineIn(part, 3)])
    transfers.ship_transfer(uow, staff("SH"), draft.transfer.id)
    assert rebalancing.propose_plan(uow, planner).plan.units_moved == 0


def _open(uow, engineer, unit, level):
    return opening.open_rma(
        uow,
        engineer,
        OpenRequest(
            fault_level=level, kind="advance_replacement", symptom="down", serial=unit.serial
        ),
    )


def test_batch_dispatch_gives_the_last_unit_to_the_c1(
    uow, planner, engineer, make_part, stock_up, account, install
):
    part = make_part(serialized=True)
    stock_up("CD", part, 1, serialized=True)
    with clock.frozen(MONDAY_10_SHANGHAI):
        first = _open(uow, engineer, install(account("Chengdu"), part), "C-3")
        urgent = _open(uow, engineer, install(account("Chongqing"), part), "C-1")
    assert first.depot_code == "CD" and urgent.backorder  # first come, first served
    with clock.frozen(MONDAY_10_SHANGHAI):
        proposal = dispatch.propose(uow, planner)
        report = dispatch.apply(uow, planner, proposal.basis)
    assert len(proposal.cases) == 2 and proposal.backorders == 1
    assert sorted(report.applied) == sorted([first.number, urgent.number])
    after_first = rma_queries.get_rma(uow, first.number).rma
    after_urgent = rma_queries.get_rma(uow, urgent.number).rma
    assert (after_urgent.status, after_urgent.depot_code) == ("allocated", "CD")
    assert (after_first.status, after_first.backorder) == ("approved", True)
    rows = queries.stock(uow, depot="CD", part_number=part, nonzero=False)
    assert (rows[0].good, rows[0].reserved) == (1, 1)
    assert ledger.check_books(uow) == []


def test_dispatch_with_nothing_open_changes_nothing(uow, planner):
    proposal = dispatch.propose(uow, planner)
    assert proposal.cases == [] and dispatch.apply(uow, planner, proposal.basis).applied == []


def test_planning_again_before_drafts_ship_moves_nothing_twice(uow, planner, make_part, stock_up):
    part = make_part()
    stock_up("GZ", part, 8)
    targets.set_override(uow, planner, "CD", part, 3)
    first = rebalancing.propose_plan(uow, planner)
    assert first.plan.units_moved == 3
    rebalancing.approve_plan(uow, planner, first.plan.id)
    assert rebalancing.propose_plan(uow, planner).plan.units_moved == 0
