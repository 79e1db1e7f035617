"""A planner's rebalancing journey in a real browser, in Chinese: recompute the target
stock from the demo's demand, run a rebalancing plan, review its moves lane by lane
with the stock and target at both depots before and after, download it as CSV,
approve it, and open the draft transfers it created."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import ACTION_TIMEOUT_MS, PLAN_RUN_TIMEOUT_MS, LiveServer

pytestmark = pytest.mark.e2e

CSV_HEADER = [
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
]


@pytest.fixture
def context(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    """A fresh browser profile that asks for Chinese pages."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    yield context
    context.close()


def _path(page: Page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url).split("?", 1)[0]


def _number(page: Page, testid: str) -> int:
    return int(page.get_by_test_id(testid).inner_text().replace(",", "").split(".")[0])


def _sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill("spares-demo")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("current-user")).to_have_text(username)
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans-CN")


def _cells(row, testid: str) -> int:
    return int(row.get_by_test_id(testid).inner_text())


def test_planner_computes_targets_then_plans_reviews_and_approves_a_rebalancing_in_chinese(
    page: Page,
) -> None:
    _sign_in(page, "planner")
    navigation = page.get_by_role("navigation", name="主导航")

    # Targets: recompute them for every part and depot with the default settings.
    navigation.get_by_role("link", name="目标库存").click()
    expect(page.get_by_role("heading", name="目标库存", exact=True)).to_be_visible()
    page.get_by_test_id("compute-targets").click()
    expect(page.get_by_role("status")).to_contain_text("目标库存已重新计算")
    expect(page.get_by_role("status")).to_contain_text("满足率 95%")
    rows = page.get_by_test_id("targets-table").locator("tbody tr[data-testid^=target-row-]")
    expect(rows.first).to_be_visible()
    expect(page.get_by_test_id("target-totals")).to_contain_text("个目标库存")
    # Demand per month in plain numbers, never 2.74e-05.
    demands = page.get_by_test_id("demand-per-month").all_inner_texts()
    assert demands and all(re.fullmatch(r"|0|<0\.01|[\d,]+\.\d\d", d) for d in demands)

    # Rebalancing: run a plan from today's stock and the new targets.
    navigation.get_by_role("link", name="调拨计划").click()
    page.get_by_test_id("run-plan").click()
    expect(page).to_have_url(re.compile(r"/rebalance/\d+$"), timeout=PLAN_RUN_TIMEOUT_MS)
    plan_id = int(_path(page).rsplit("/", 1)[1])
    expect(page.get_by_role("heading", name=f"调拨计划 {plan_id}")).to_be_visible()
    expect(page.get_by_test_id("plan-status")).to_have_text("待审批")

    # Review: the totals, the moves by lane, each with its depots before and after.
    units = _number(page, "units-moved")
    assert units > 0, "the demo data should leave some depot short of its target"
    assert _number(page, "shortage-left") <= _number(page, "shortage-before")
    lane_count = page.locator("section[data-testid^=lane-]").count()
    assert lane_count >= 1
    expect(page.get_by_role("columnheader", name="每件操作费（元）").first).to_be_visible()
    moves = page.locator("tr[data-testid^=move-]")
    moved = 0
    for index in range(moves.count()):
        row = moves.nth(index)
        qty = _cells(row, "move-qty")
        moved += qty
        # The destination gains at least this move; the source keeps its target.
        assert _cells(row, "destination-after") >= _cells(row, "destination-before") + qty
        assert _cells(row, "source-after") >= _cells(row, "source-target")
        assert _cells(row, "source-after") <= _cells(row, "source-before") - qty
    assert moved == units  # every unit moved appears on exactly one lane

    # The plan as CSV, with its stable column names.
    with page.expect_download() as download:
        page.get_by_test_id("plan-csv").click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    lines = list(csv.DictReader(io.StringIO(text)))
    assert next(csv.reader(io.StringIO(text))) == CSV_HEADER
    assert sum(int(line["qty"]) for line in lines) == units
    assert {line["plan_status"] for line in lines} == {"proposed"}

    # Approve: one draft transfer per lane, linked from the plan.
    approve = page.get_by_test_id("approve-plan")
    expect(approve).to_have_text(f"批准：生成 {lane_count} 张调拨单草稿")
    approve.click()
    expect(page.get_by_role("status")).to_contain_text(f"计划 {plan_id} 已批准")
    expect(page.get_by_test_id("plan-status")).to_have_text("已批准")
    links = page.get_by_test_id("plan-transfer")
    expect(links).to_have_count(lane_count)
    expect(page.get_by_test_id("approve-plan")).to_have_count(0)
    expect(page.get_by_test_id("positions-note")).to_contain_text("只在计划待审批且未过时期间显示")

    # The first draft transfer, ready for its depot to ship.
    links.first.click()
    expect(page).to_have_url(re.compile(r"/transfers/T\d+$"))
    expect(page.get_by_test_id("status").first).to_have_attribute("data-status", "draft")
    expect(page.get_by_text(f"PLAN-{plan_id}").first).to_be_visible()

    # The plan list shows it approved, and finds it among the approved ones.
    page.goto("/rebalance?status=approved")
    expect(page.get_by_test_id(f"plan-row-{plan_id}")).to_contain_text("已批准")
    expect(page.get_by_test_id("plan-totals")).to_contain_text("份计划")
