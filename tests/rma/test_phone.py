"""The RMA desk's pages on a phone (390 px wide, in Chromium, in Chinese): no page
wider than the screen; wide tables scroll sideways inside their own box instead.

The browser's requests are answered by the Flask test client (Playwright routes
them), so no server runs and the test's own data is shown.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route

from core import clock
from core.db import UnitOfWork
from rma.service import escalations, ladder
from tests.rma.test_pages import MONDAY_10_SHANGHAI, _open

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
ENSURE_CHROMIUM = Path(__file__).resolve().parents[2] / "tools" / "ensure-chromium.sh"
PHONE = {"width": 390, "height": 844}
ORIGIN = "http://spares.test"
CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture
def phone(client, login, playwright_driver) -> Iterator[Page]:
    """A phone-sized Chromium tab whose requests the signed-in (supervisor) test client
    answers, in Chinese."""
    login("supervisor")
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


def _overflow(page: Page) -> list[str]:
    """What sticks out of the screen: the page itself, or a card or table box wider
    than it shows (a wide table must scroll inside its ``.table-wrap``)."""
    return page.evaluate(
        """(() => {
        const wide = [];
        if (document.documentElement.scrollWidth > window.innerWidth) wide.push("page");
        for (const box of document.querySelectorAll("main .card, main .table-wrap")) {
            const rect = box.getBoundingClientRect();
            if (rect.right > window.innerWidth + 1) wide.push(box.className);
        }
        // A card never scrolls or clips sideways: what is wider scrolls in a .table-wrap.
        for (const card of document.querySelectorAll("main .card")) {
            if (card.scrollWidth > card.clientWidth + 1) {
                const title = card.querySelector("h2, h3");
                wide.push("inside " + (title ? title.textContent.trim() : card.className));
            }
        }
        for (const table of document.querySelectorAll("main table")) {
            if (!table.closest(".table-wrap")
                && table.getBoundingClientRect().right > window.innerWidth + 1) {
                wide.push("table " + (table.dataset.testid || ""));
            }
        }
        return wide;
        })()"""
    )


def test_the_rma_pages_fit_a_phone_and_their_tables_scroll_in_their_box(
    phone, engine, engineer, account, install, make_part, stock_up
):
    ladder.seed_ladder(UnitOfWork(engine))
    part = make_part(serialized=True)
    stock_up("SH", part, 1, serialized=True)
    with clock.frozen(MONDAY_10_SHANGHAI):
        allocated = _open(engine, engineer, install(account("Urumqi"), part), level="C-1")
        billable = _open(
            engine,
            engineer,
            install(account("Lhasa", coverage=None), part, phase="out_of_warranty"),
        )
    escalations.raise_due_escalations(UnitOfWork(engine), MONDAY_10_SHANGHAI + timedelta(hours=9))

    for path in (
        "/rmas/open",
        "/rmas/open?scope=all&sort=customer&order=desc",
        f"/rmas/{allocated.number}",
        f"/rmas/{billable.number}",
        "/escalations",
        "/escalations/approvals",
        "/escalations/acknowledged",
        "/escalations/ladder",
    ):
        phone.goto(f"{ORIGIN}{path}")
        assert phone.locator("main h1").count() == 1, path
        assert _overflow(phone) == [], path
    # The case's tables are there, scrolling in their boxes: every column has a header.
    phone.goto(f"{ORIGIN}/rmas/{allocated.number}")
    assert phone.locator(".table-wrap table[data-testid=alternatives]").count() == 1
    headers = phone.eval_on_selector_all(
        "main table",
        """tables => tables.map(table => [...table.querySelectorAll("thead th")]
                .every(th => th.textContent.trim().length > 0))""",
    )
    assert headers and all(headers)
