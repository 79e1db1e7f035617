"""A part's journey through the depots in a real browser: a planner adds it to the
catalogue, Beijing receives it with a barcode scanner, ships it to Shanghai, and
Shanghai receives it and sees it on its shelves."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


def _path(page: Page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url).split("?", 1)[0]


def _open(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, (
        f"GET {url} answered {response.status if response else 'nothing'}"
    )


def _sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def _scan(page: Page, codes: list[str]) -> None:
    """Type each code and press Enter, as a handheld scanner does."""
    for code in codes:
        page.keyboard.type(code)
        page.keyboard.press("Enter")


def test_stock_received_at_beijing_is_shipped_to_and_received_at_shanghai(page: Page) -> None:
    suffix = uuid.uuid4().hex[:6].upper()  # the live database is shared by the session
    part = f"E2E-SFP-{suffix}"
    serials = [f"E2E{suffix}{n:03d}" for n in range(1, 4)]

    # A planner adds the part to the catalogue through the CSV upload page.
    login(page, "planner")
    _open(page, "/stock/import?kind=parts")
    csv_text = (
        "part_number,description,family,serialized,unit_cost\n"
        f"{part},Journey test 10G SFP+ optic,optic,true,900\n"
    )
    page.get_by_test_id("import-file").set_input_files(
        files=[{"name": "parts.csv", "mimeType": "text/csv", "buffer": csv_text.encode()}]
    )
    page.get_by_test_id("import-submit").click()
    expect(page.get_by_role("status")).to_contain_text("1 created")
    _sign_out(page)

    # Beijing receives three units, scanning the part number and each serial.
    login(page, "staff-bj")
    _open(page, "/stock/receive")
    page.get_by_test_id("part-number").click()
    _scan(page, [part])
    expect(page.get_by_test_id("qty")).to_be_focused()  # Enter moved on, nothing submitted
    page.get_by_test_id("serials").click()
    _scan(page, serials)
    assert _path(page) == "/stock/receive" and page.get_by_role("status").count() == 0
    expect(page.get_by_text("3 scanned")).to_be_visible()
    page.get_by_test_id("receive-submit").click()
    expect(page.get_by_role("status")).to_contain_text(f"Received 3 × {part} into BJ")

    # Beijing drafts a transfer of two units to Shanghai and ships two scanned serials.
    _open(page, "/transfers/new")
    page.locator("select[name=to_depot]").select_option("SH")
    page.get_by_label("Part number, line 1").fill(part)
    page.get_by_label("Quantity, line 1").fill("2")
    page.get_by_test_id("create-transfer").click()
    expect(page.get_by_test_id("status")).to_have_text("draft")
    transfer_url = _path(page)
    code = page.get_by_test_id("transfer-code").inner_text()
    page.get_by_test_id(re.compile(r"^serials-\d+$")).click()
    _scan(page, [serials[2], serials[0]])
    page.get_by_test_id("ship").click()
    expect(page.get_by_role("status")).to_contain_text(f"Transfer {code} shipped")
    expect(page.get_by_test_id("status")).to_have_text("shipped")
    note = page.request.get(page.get_by_test_id("print-note").get_attribute("href") or "")
    assert note.ok and note.headers["content-type"] == "application/pdf"
    assert note.body().startswith(b"%PDF")
    _open(page, "/stock?q=" + part)
    expect(page.get_by_test_id(f"stock-row-BJ-{part}")).to_contain_text("1")
    _sign_out(page)

    # Shanghai finds the transfer on its list. An empty form is not "everything arrived":
    # it is refused until the box is confirmed as shipped.
    login(page, "staff-sh")
    _open(page, "/transfers?status=shipped")
    page.get_by_role("link", name=code, exact=True).click()
    assert _path(page) == transfer_url
    page.get_by_test_id("receive").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("all arrived as shipped")
    expect(page.get_by_test_id("status")).to_have_text("shipped")
    page.get_by_test_id("all-arrived").check()
    page.get_by_test_id("receive").click()
    expect(page.get_by_role("status")).to_contain_text(f"Transfer {code} received as shipped")
    expect(page.get_by_test_id("status")).to_have_text("received")

    # Shanghai's stock shows the two units, and each unit knows where it is.
    _open(page, "/stock")
    page.get_by_test_id("stock-search").fill(part)
    page.get_by_role("button", name="Show").click()
    row = page.get_by_test_id(f"stock-row-SH-{part}")
    cells = row.locator("td.num")
    expect(cells.nth(0)).to_have_text("2")  # good
    expect(cells.nth(2)).to_have_text("2")  # available
    expect(cells.nth(6)).to_have_text("0")  # nothing left in transit
    page.get_by_test_id("unit-search").fill(serials[0])
    page.get_by_test_id("unit-search").press("Enter")
    expect(page.get_by_test_id("unit-where")).to_have_text("at SH")
    expect(page.get_by_test_id("unit-history")).to_contain_text("transfer received")
