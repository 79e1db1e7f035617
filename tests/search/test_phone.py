"""The search pages on a phone (390 px wide, in Chromium): nothing wider than the
screen, hits big enough to tap, the header's box leads to the results.

The browser's requests are answered by the Flask test client (Playwright routes
them), so no server runs and the test's own data is shown.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
ENSURE_CHROMIUM = Path(__file__).resolve().parents[2] / "tools" / "ensure-chromium.sh"
PHONE = {"width": 390, "height": 844}
ORIGIN = "http://spares.test"
CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
# Apple's and Google's guidance for a finger: about 44 px (48 dp); 40 leaves a margin.
TAP_HEIGHT = 40


@pytest.fixture
def phone(client, login, playwright_driver) -> Iterator[Page]:
    """A phone-sized Chromium tab whose requests the signed-in test client answers."""
    login("engineer")
    if not CHROMIUM.exists():
        subprocess.run(["sh", str(ENSURE_CHROMIUM)], check=False)
    assert CHROMIUM.exists(), f"browser tests need {CHROMIUM} ({ENSURE_CHROMIUM.name})"

    def answer(route: Route) -> None:
        url = urlsplit(route.request.url)
        reply = client.open(
            url.path + (f"?{url.query}" if url.query else ""),
            method=route.request.method,
            headers=CHINESE,
        )
        headers = {"content-type": reply.content_type}
        if reply.location:
            headers["location"] = reply.location
        route.fulfill(status=reply.status_code, headers=headers, body=reply.get_data())

    browser = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
    )
    page = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    page.route(f"{ORIGIN}/**", answer)
    yield page
    browser.close()


def _fits(page: Page) -> bool:
    """Nothing wider than the screen: not the page, and no card scrolling sideways
    (a card would rather scroll than push the page wider)."""
    return page.evaluate(
        """document.documentElement.scrollWidth <= window.innerWidth
        && [...document.querySelectorAll("main .card")].every(
            card => card.scrollWidth <= card.clientWidth)"""
    )


def test_the_search_pages_fit_a_phone_and_hits_are_big_enough_to_tap(phone, world):
    bank = world.customer("Xiangjiang Commercial Bank of Hunan Province", "湖南省湘江商业银行")
    hq = world.site(bank, "Xiangjiang Bank Headquarters Data Centre Building A", "Changsha")
    for number in range(12):
        world.site(bank, f"Branch {number:02d}", "Changsha")
    part = world.part("Line card 48x10GE SFP+", part_number="LC-48X10GE-SFP-PLUS")
    world.case(world.install(hq, part, "CSX0000042"))
    world.stock("SH", part, ["CSX0000099ABCDEFGHIJKLMNOPQRSTUVWXYZ"])

    phone.goto(f"{ORIGIN}/")
    phone.locator("header input[name=q]").fill("长沙")
    phone.locator("header input[name=q]").press("Enter")
    phone.wait_for_url(f"{ORIGIN}/search?q=*")
    assert phone.locator("[data-kind=city] [data-testid=hit]").count() == 1

    for path in (
        "/search?q=长沙",
        "/search?q=csx",
        "/search?q=branch&kind=site&per_page=25",
        "/search?q=nothing-to-find",
        f"/search/cities/{hq.city_id}",
        f"/search/sites/{hq.id}",
    ):
        phone.goto(f"{ORIGIN}{path}")
        assert _fits(phone), path
        heights = phone.eval_on_selector_all(
            "[data-testid=hit]", "links => links.map(link => link.getBoundingClientRect().height)"
        )
        assert all(height >= TAP_HEIGHT for height in heights), (path, heights)
