"""Depot staff's day in Chinese, in a real browser: Beijing receives three units into a
bin and ships them to Shanghai; Shanghai receives the box two units short (the third
stays in transit) and then its late parcel; Wuhan picks a replacement with the serial
the pick list suggests, from the bin it names, and ships it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import ACTION_TIMEOUT_MS, DEMO_PASSWORD, LiveServer

pytestmark = pytest.mark.e2e
# A part of the demo catalogue (serialized 10G optics).
PART = "SFP-10G-SR-A"


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A tab of a Chinese browser (it asks for zh-CN) on the live server."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    yield context.new_page()
    context.close()


def _login(page: Page, username: str) -> None:
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page.get_by_test_id("current-user")).to_have_text(username)


def _sign_out(page: Page) -> None:
    page.get_by_role("button", name="退出").click()
    expect(page.locator("input[name=username]")).to_be_visible()


def _scan(page: Page, codes: list[str]) -> None:
    """Type each code and press Enter, as a handheld scanner does."""
    for code in codes:
        page.keyboard.type(code)
        page.keyboard.press("Enter")


def test_a_partial_transfer_its_late_parcel_and_a_suggested_pick_in_chinese(page: Page) -> None:
    suffix = uuid.uuid4().hex[:6].upper()  # the live database is shared by the session
    serials = [f"ZH{suffix}{n:03d}" for n in range(1, 4)]

    # Beijing receives three units into a bin of their own, scanning each serial.
    _login(page, "staff-bj")
    page.goto("/stock/receive")
    expect(page.get_by_role("heading", name="入库")).to_be_visible()
    page.get_by_test_id("part-number").fill(PART)
    page.get_by_test_id("bin").fill("zh-01")
    page.get_by_test_id("serials").click()
    _scan(page, serials)
    expect(page.get_by_text("已扫描 3 个")).to_be_visible()
    page.get_by_test_id("receive-submit").click()
    expect(page.get_by_role("status")).to_contain_text(f"已入库 3 × {PART} 至 BJ")

    # ... and ships them to Shanghai on a transfer, scanning the three into the box.
    page.goto("/transfers/new")
    page.locator("select[name=to_depot]").select_option("SH")
    page.get_by_label("第 1 行备件编号").fill(PART)
    page.get_by_label("第 1 行数量").fill("3")
    page.get_by_test_id("create-transfer").click()
    expect(page.get_by_test_id("status")).to_have_text("草稿")
    code = page.get_by_test_id("transfer-code").inner_text()
    assert re.fullmatch(r"T\d+", code) and page.url.endswith(f"/transfers/{code}")
    page.get_by_test_id(re.compile(r"^serials-\d+$")).click()
    _scan(page, serials)
    page.get_by_test_id("ship").click()
    expect(page.get_by_role("status")).to_contain_text(f"调拨单 {code} 已发运")
    _sign_out(page)

    # Shanghai's box holds two of the three: received short, the third stays in transit.
    _login(page, "staff-sh")
    page.goto(f"/transfers/{code}")
    page.get_by_test_id(re.compile(r"^serials-\d+$")).click()
    _scan(page, serials[:2])
    page.get_by_test_id("receive").click()
    expect(page.get_by_role("status")).to_contain_text("部分收货：仍缺 1 件")
    expect(page.get_by_test_id("status")).to_have_text("部分收货")
    expect(page.get_by_test_id("still-missing")).to_contain_text("1 件在途")
    expect(page.get_by_test_id(f"missing-serials-{PART}")).to_have_text(serials[2])
    page.goto(f"/units/{serials[2]}")
    expect(page.get_by_test_id("unit-where")).to_contain_text("SH")
    expect(page.get_by_test_id("unit-where")).to_contain_text("途中")

    # The late parcel brings the third: the transfer is complete.
    page.goto(f"/transfers/{code}")
    page.get_by_test_id(re.compile(r"^late-serials-\d+$")).click()
    _scan(page, serials[2:])
    page.get_by_test_id("receive-late").click()
    expect(page.get_by_role("status")).to_contain_text(f"{code} 已全部到齐")
    expect(page.get_by_test_id("status")).to_have_text("已收货")
    page.goto(f"/units/{serials[2]}")
    expect(page.get_by_test_id("unit-where")).to_have_text("在 SH")
    _sign_out(page)

    # Wuhan picks a replacement: the pick list names the unit and its bin; scanning the
    # suggested serial into the row ships exactly that unit.
    _login(page, "staff-wh")
    page.goto("/rmas/pick-list")
    expect(page.get_by_role("heading", name=re.compile("拣货单"))).to_be_visible()
    row = (
        page.locator("tr[data-testid^=pick-]")
        .filter(has=page.get_by_test_id("suggested-serial"))
        .first
    )
    number = (row.get_attribute("data-testid") or "").removeprefix("pick-")
    suggested = row.get_by_test_id("suggested-serial").inner_text()
    expect(row.get_by_test_id("suggested-bin")).to_have_text(re.compile(r"^[A-Z]-\d{2}-\d$"))
    page.get_by_test_id(f"ship-serial-{number}").fill(suggested)
    page.get_by_test_id(f"ship-serial-{number}").press("Enter")
    expect(page.get_by_role("status")).to_contain_text(number)
    expect(page.get_by_test_id(f"pick-{number}")).to_have_count(0)
    page.goto(f"/units/{suggested}")
    expect(page.get_by_test_id("unit-where")).to_have_text("在客户处")
    expect(page.locator("[data-testid=unit-link] a", has_text=number)).to_be_visible()
