"""An advance replacement from the fault report to the customer's signature, in a
real browser: the engineer finds the faulty unit by its serial and opens a C-2
case, the allocated depot picks and ships a unit with a scanner, the engineer
marks it delivered, the depot receives the defective unit, and the engineer
closes the case with the customer's sign-off."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import APIRequestContext, Page, expect

from tests.e2e.conftest import DEMO_PASSWORD, login

pytestmark = pytest.mark.e2e

DEPOT = "SH"  # the customer's site is in the depot's own city: a same-day courier lane
CITY = "Shanghai"


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


def _nav(page: Page, label: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=label, exact=True).click()


def _scan(page: Page, code: str) -> None:
    """Type a code and press Enter, as a handheld scanner does."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")


class Api:
    """The JSON API of the live server, as one demo user."""

    def __init__(self, request: APIRequestContext, username: str) -> None:
        self.request = request
        answer = request.post(
            "/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD}
        )
        assert answer.status == 201, answer.text()
        self.headers = {"Authorization": f"Bearer {answer.json()['token']}"}

    def get(self, path: str, **params: Any) -> Any:
        answer = self.request.get(path, params=params, headers=self.headers)
        assert answer.ok, f"GET {path}: {answer.status} {answer.text()}"
        return answer.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        answer = self.request.post(path, data=body, headers=self.headers)
        assert answer.status == 201, f"POST {path}: {answer.status} {answer.text()}"
        return answer.json()


def _part_in_stock(api: Api) -> str:
    """A serialized part the depot has several free units of (the database is shared)."""
    serialized = {p["part_number"] for p in api.get("/api/v1/parts", limit=1000) if p["serialized"]}
    rows = api.get("/api/v1/stock", depot=DEPOT, condition="good", limit=5000)
    candidates = sorted(
        (-row["available"], row["part_number"])
        for row in rows
        if row["part_number"] in serialized and row["available"] >= 3
    )
    assert candidates, f"no serialized part with free stock at {DEPOT} in the demo data"
    return candidates[0][1]


def _installed_unit(api: Api, part_number: str) -> str:
    """A new customer with a Shanghai site, a contract and the faulty unit installed there."""
    tag = uuid.uuid4().hex[:6].upper()
    today = date.today()
    customer = api.post(
        "/api/v1/customers",
        {"code": f"E2E-{tag}", "name": f"Journey Securities {tag}", "name_zh": "旅程证券"},
    )
    site = api.post(
        "/api/v1/sites",
        {
            "customer_id": customer["id"],
            "name": f"Journey Securities Pudong {tag}",
            "city": CITY,
            "contact_name": "Ms. Gu",
            "contact_phone": "021-5555 0101",
        },
    )
    contract = api.post(
        "/api/v1/contracts",
        {
            "customer_id": customer["id"],
            "number": f"E2E-K-{tag}",
            "coverage": "5x8",
            "starts_on": (today - timedelta(days=60)).isoformat(),
            "ends_on": (today + timedelta(days=300)).isoformat(),
        },
    )
    serial = f"E2EF{tag}"
    api.post(
        "/api/v1/installed-units",
        {
            "serial": serial,
            "part_number": part_number,
            "site_id": site["id"],
            "shipped_on": (today - timedelta(days=200)).isoformat(),
            "warranty_end": (today + timedelta(days=500)).isoformat(),
            "phase": "in_warranty",
            "contract_id": contract["id"],
        },
    )
    return serial


def _free_serial(api: Api, depot: str, part_number: str) -> str:
    """A good unit on the depot's shelf that no transfer holds: what the picker scans."""
    units = api.get(
        "/api/v1/units", depot=depot, part_number=part_number, condition="good", limit=500
    )
    free = [u["serial"] for u in units if u["location"] == "depot" and u["reservation_id"] is None]
    assert free, f"no free {part_number} unit at {depot}"
    return free[0]


def test_advance_replacement_from_fault_report_to_signed_close(page: Page) -> None:
    supervisor = Api(page.request, "supervisor")
    part = _part_in_stock(supervisor)
    faulty = _installed_unit(supervisor, part)

    # The engineer scans the faulty unit's serial: the entitlement shows at once.
    login(page, "engineer")
    _nav(page, "New RMA")
    page.get_by_test_id("serial-search").click()
    _scan(page, faulty)
    row = page.get_by_test_id(f"match-{faulty}")
    expect(row).to_contain_text("Journey Securities")
    expect(row).to_contain_text(CITY)
    expect(row.get_by_test_id("entitlement-advance_replacement")).to_have_text("free")
    expect(row.get_by_test_id("entitlement-loaner")).to_have_text("billable")
    expect(row.get_by_role("radio")).to_be_checked()  # the one match is picked already

    # A C-2 advance replacement: approved and allocated the moment it is opened.
    page.get_by_test_id("level-C-2").check()
    page.get_by_test_id("kind-advance_replacement").check()
    page.get_by_test_id("symptom").fill("Power supply LED red; the unit reboots under load.")
    page.get_by_test_id("open-rma").click()
    expect(page.get_by_role("status")).to_contain_text("opened and allocated to")
    number = page.get_by_test_id("rma-number").inner_text()
    assert _path(page) == f"/rmas/{number}"
    expect(page.get_by_test_id("status")).to_have_text("allocated")
    expect(page.get_by_test_id("entitlement")).to_contain_text("free of charge")
    expect(page.get_by_test_id("sla")).to_contain_text(re.compile(r"due in 2[34] h"))
    depot = page.get_by_test_id("allocated-depot").inner_text()
    ship_part = page.get_by_test_id("ship-part").inner_text()
    alternatives = page.get_by_test_id("alternatives").locator("tbody tr")
    expect(alternatives).to_have_count(8)  # every depot, each with its reason
    expect(page.get_by_test_id(f"alternative-{depot}")).to_contain_text("chosen")
    _sign_out(page)

    # The allocated depot finds it on its pick list and ships it with a scanned serial.
    staff = f"staff-{depot.lower()}"
    serial = _free_serial(Api(page.request, staff), depot, ship_part)
    login(page, staff)
    _nav(page, "Pick list")
    pick = page.get_by_test_id(f"pick-{number}")
    expect(pick).to_contain_text(ship_part)
    expect(pick).to_contain_text(CITY)
    pick.get_by_test_id(f"ship-serial-{number}").click()
    _scan(page, serial)
    expect(page.get_by_role("status")).to_contain_text(f"{number} shipped from {depot}")
    expect(page.get_by_test_id(f"pick-{number}")).to_have_count(0)
    _sign_out(page)

    # The engineer sees the unit on its way and marks it delivered.
    login(page, "engineer")
    _nav(page, "My cases")
    case = page.get_by_test_id(f"case-{number}")
    expect(case).to_contain_text("shipped")
    expect(case.get_by_test_id("countdown")).to_contain_text("due in")
    case.get_by_role("link", name=number).click()
    expect(page.get_by_test_id("shipped-serial")).to_have_text(serial)
    page.get_by_test_id("deliver").click()
    expect(page.get_by_role("status")).to_contain_text("within the 24-hour promise")
    expect(page.get_by_test_id("status")).to_have_text("delivered")
    _sign_out(page)

    # The depot receives the customer's defective unit back.
    login(page, staff)
    _nav(page, "Returns")
    back = page.get_by_test_id(f"return-{number}")
    expect(back).to_contain_text(faulty)
    back.get_by_test_id(f"receive-serial-{number}").click()
    _scan(page, faulty)
    expect(page.get_by_role("status")).to_contain_text(f"defective unit {faulty} received")
    _sign_out(page)

    # The engineer closes the case with the customer's signed verdict.
    login(page, "engineer")
    _open(page, f"/rmas/{number}")
    expect(page.get_by_test_id("status")).to_have_text("defective received")
    form = page.get_by_test_id("close-form")
    form.get_by_test_id("signed-by-input").fill("Ms. Gu")
    form.get_by_test_id("close").click()  # no rating yet: refused, nothing changes
    expect(page.get_by_test_id("form-error")).to_contain_text("Rating")
    expect(page.get_by_test_id("status")).to_have_text("defective received")
    form = page.get_by_test_id("close-form")
    form.get_by_test_id("rating-5").check()
    form.get_by_test_id("remarks").fill("Replacement arrived the same afternoon.")
    form.get_by_test_id("signed-by-input").fill("Ms. Gu")
    form.get_by_test_id("close").click()
    expect(page.get_by_role("status")).to_contain_text(f"{number} closed with Ms. Gu's sign-off")
    expect(page.get_by_test_id("status")).to_have_text("closed")
    expect(page.get_by_test_id("rating")).to_contain_text("5/5")
    expect(page.get_by_test_id("signed-by")).to_have_text("Ms. Gu")
    expect(page.get_by_test_id("history")).to_contain_text("receive defective")
    record = page.request.get(page.get_by_test_id("service-record").get_attribute("href") or "")
    assert record.ok and record.body().startswith(b"%PDF")
