"""A planner's rebalancing journey in a real browser: recompute the target stock from
the demo's demand, run a rebalancing plan, review its moves lane by lane, approve it,
and open the draft transfers it created."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


def _path(page: Page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url).split("?", 1)[0]


def _number(page: Page, testid: str) -> int:
    return int(page.get_by_test_id(testid).inner_text().replace(",", "").split(".")[0])


def test_planner_computes_targets_then_plans_reviews_and_approves_a_rebalancing(
    page: Page,
) -> None:
    login(page, "planner")

    # Targets: recompute them for every part and depot with the default settings.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Targets").click()
    expect(page.get_by_role("heading", name="Target stock")).to_be_visible()
    page.get_by_test_id("compute-targets").click()
    expect(page.get_by_role("status")).to_contain_text("Targets recomputed")
    expect(page.get_by_role("status")).to_contain_text("fill rate 95%")
    rows = page.get_by_test_id("targets-table").locator("tbody tr[data-testid^=target-row-]")
    expect(rows.first).to_be_visible()

    # Rebalancing: run a plan from today's stock and the new targets.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Rebalancing").click()
    page.get_by_test_id("run-plan").click()
    expect(page).to_have_url(re.compile(r"/rebalance/\d+$"))
    plan_id = int(_path(page).rsplit("/", 1)[1])
    expect(page.get_by_role("heading", name=f"Rebalancing plan {plan_id}")).to_be_visible()
    expect(page.get_by_test_id("plan-status")).to_have_text("proposed")

    # Review: the totals, and the moves grouped by lane.
    units = _number(page, "units-moved")
    assert units > 0, "the demo data should leave some depot short of its target"
    assert _number(page, "shortage-left") <= _number(page, "shortage-before")
    lanes = page.locator("section[data-testid^=lane-]")
    lane_count = lanes.count()
    assert lane_count >= 1
    moved = sum(
        int(qty)
        for qty in page.locator("tr[data-testid^=move-] td.num:nth-child(2)").all_inner_texts()
    )
    assert moved == units  # every unit moved appears on exactly one lane

    # Approve: one draft transfer per lane, linked from the plan.
    approve = page.get_by_test_id("approve-plan")
    expect(approve).to_have_text(f"Approve: draft {lane_count} transfer" + "s" * (lane_count > 1))
    approve.click()
    expect(page.get_by_role("status")).to_contain_text(f"Plan {plan_id} approved")
    expect(page.get_by_test_id("plan-status")).to_have_text("approved")
    links = page.get_by_test_id("plan-transfer")
    expect(links).to_have_count(lane_count)
    expect(page.get_by_test_id("approve-plan")).to_have_count(0)

    # The first draft transfer, ready for its depot to ship.
    links.first.click()
    expect(page).to_have_url(re.compile(r"/transfers/\d+$"))
    expect(page.get_by_test_id("status").first).to_have_text("draft")
    expect(page.get_by_text(f"PLAN-{plan_id}").first).to_be_visible()

    # The plan list shows it approved.
    page.goto("/rebalance")
    expect(page.get_by_test_id(f"plan-row-{plan_id}")).to_contain_text("approved")
