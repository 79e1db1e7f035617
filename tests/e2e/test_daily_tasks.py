"""Each role's daily tasks in a real browser, in Chinese and in English (issue 10).

Every journey runs twice, once in a browser that asks for zh-CN and once in one that
asks for en-US, as the role that does the task: an engineer opens a C-1 case and reads
why the emergency courier was (not) booked; depot staff pick the suggested serial from
its bin and ship it; depot staff receive a transfer short and then its late parcel; a
planner runs and approves a rebalancing plan; an administrator manages a user whose
sessions end when deactivated or given a new password; anyone searches from the
header box with a Chinese city or customer name, and with pinyin.

What a journey needs beforehand (a customer with a unit installed, stock on the road)
is made through the JSON API with names of its own, so no journey depends on the demo
data another journey may have changed. Steps are asserted on what people read in each
language; elements are found by test id or role where the words differ.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import (
    APIRequestContext,
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
)

from tests.e2e.conftest import ACTION_TIMEOUT_MS, DEMO_PASSWORD, PLAN_RUN_TIMEOUT_MS, LiveServer

pytestmark = pytest.mark.e2e

ZH = "zh-CN"
EN = "en-US"
LANGUAGES = (ZH, EN)
HTML_LANG = {ZH: "zh-Hans-CN", EN: "en"}
# Hex digits written as ideographs: a Chinese customer name of each run's own.
IDEOGRAPH_DIGITS = dict(zip("0123456789abcdef", "零一二三四五六七八九甲乙丙丁戊己", strict=True))


@pytest.fixture(params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> str:
    """The language the browser asks for (Accept-Language and navigator.language)."""
    return str(request.param)


@pytest.fixture
def context(browser: Browser, live_server: LiveServer, language: str) -> Iterator[BrowserContext]:
    """A fresh browser profile in the journey's language (the conftest's ``page`` uses it)."""
    context = _new_context(browser, live_server, language)
    yield context
    context.close()


@pytest.fixture
def their_page(browser: Browser, live_server: LiveServer, language: str) -> Iterator[Page]:
    """A second person's browser (its own cookies) in the same language; screenshot
    on failure too (the conftest's report hook takes every page a test holds)."""
    context = _new_context(browser, live_server, language)
    yield context.new_page()
    context.close()


@pytest.fixture
def api(playwright_driver: Playwright, live_server: LiveServer) -> Iterator[APIRequestContext]:
    """An HTTP client of the live server's JSON API with no browser cookies."""
    request = playwright_driver.request.new_context(base_url=live_server.url)
    yield request
    request.dispose()


def _new_context(browser: Browser, live_server: LiveServer, language: str) -> BrowserContext:
    context = browser.new_context(
        base_url=live_server.url,
        locale=language,
        timezone_id="Asia/Shanghai",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    return context


def say(language: str, english: str, chinese: str) -> str:
    """What the page says in the journey's language."""
    return chinese if language == ZH else english


def _tag() -> str:
    """A short unique tag: the live database is shared by the whole session."""
    return uuid.uuid4().hex[:6].upper()


def _path(page: Page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url).split("?", 1)[0]


# --- signing in -----------------------------------------------------------------------------


def _fill_sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("form button[type=submit]").click()


def sign_in(page: Page, language: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the form; the header names the user and the page is in ``language``."""
    _fill_sign_in(page, username, password)
    expect(page.get_by_test_id("current-user")).to_have_text(username)
    expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[language])


def sign_in_refused(page: Page, language: str, username: str, password: str) -> None:
    _fill_sign_in(page, username, password)
    expect(page.get_by_role("alert")).to_have_text(
        say(language, "Unknown user or wrong password.", "用户名不存在或密码错误。")
    )
    expect(page.get_by_test_id("current-user")).to_have_count(0)


def sign_out(page: Page, language: str) -> None:
    page.get_by_role("button", name=say(language, "Sign out", "退出")).click()
    expect(page.locator("input[name=username]")).to_be_visible()


def nav(page: Page, language: str, english: str, chinese: str) -> None:
    """Follow a link of the main navigation, named in the page's language."""
    main = page.get_by_role("navigation", name=say(language, "Main", "主导航"))
    main.get_by_role("link", name=say(language, english, chinese), exact=True).click()


def posted(page: Page, act: Callable[[], None]) -> int:
    """Do ``act`` (a click or an Enter that submits a form); the status of its POST."""
    with page.expect_response(lambda response: response.request.method == "POST") as answer:
        act()
    return answer.value.status


def scan(page: Page, codes: list[str]) -> None:
    """Type each code and press Enter, as a handheld scanner does."""
    for code in codes:
        page.keyboard.type(code)
        page.keyboard.press("Enter")


# --- the API, for what a journey needs beforehand -------------------------------------------


class Api:
    """The live server's JSON API as one demo user (bearer token)."""

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

    def send(self, method: str, path: str, body: dict[str, Any]) -> Any:
        answer = self.request.fetch(path, method=method, data=body, headers=self.headers)
        assert answer.ok, f"{method} {path}: {answer.status} {answer.text()}"
        return answer.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.send("POST", path, body)


def _serialized_part_in_stock(api: Api, depot: str) -> str:
    """A serialized part the depot has most free units of."""
    serialized = {p["part_number"] for p in api.get("/api/v1/parts", limit=1000) if p["serialized"]}
    rows = api.get("/api/v1/stock", depot=depot, condition="good", limit=5000)
    candidates = sorted(
        (-row["available"], row["part_number"])
        for row in rows
        if row["part_number"] in serialized and row["available"] >= 3
    )
    assert candidates, f"no serialized part with free stock at {depot} in the demo data"
    return candidates[0][1]


def _customer_with_a_unit(api: Api, city: str, part_number: str) -> dict[str, str]:
    """A new customer (English and Chinese names) with a site in ``city``, a 5x8
    contract and a unit of ``part_number`` installed there, in warranty."""
    tag = _tag()
    zh_tag = "".join(IDEOGRAPH_DIGITS[c] for c in tag.lower())
    today = date.today()
    customer = api.post(
        "/api/v1/customers",
        {"code": f"E2E-D-{tag}", "name": f"Daily Works {tag}", "name_zh": f"日常工务{zh_tag}"},
    )
    site = api.post(
        "/api/v1/sites",
        {
            "customer_id": customer["id"],
            "name": f"Daily Works {tag} main site",
            "city": city,
            "contact_name": "Mr. Lin",
            "contact_phone": "0731-5555 0199",
        },
    )
    contract = api.post(
        "/api/v1/contracts",
        {
            "customer_id": customer["id"],
            "number": f"E2E-D-K-{tag}",
            "coverage": "5x8",
            "starts_on": (today - timedelta(days=30)).isoformat(),
            "ends_on": (today + timedelta(days=330)).isoformat(),
        },
    )
    serial = f"E2ED{tag}"
    api.post(
        "/api/v1/installed-units",
        {
            "serial": serial,
            "part_number": part_number,
            "site_id": site["id"],
            "shipped_on": (today - timedelta(days=100)).isoformat(),
            "warranty_end": (today + timedelta(days=600)).isoformat(),
            "phase": "in_warranty",
            "contract_id": contract["id"],
        },
    )
    return {
        "serial": serial,
        "name": customer["name"],
        "name_zh": customer["name_zh"],
        "site": site["name"],
        "customer_id": str(customer["id"]),
    }


# --- engineer: a C-1 case -------------------------------------------------------------------


def test_engineer_opens_a_c1_case_and_reads_why_the_emergency_courier_was_not_booked(
    page: Page, api: APIRequestContext, language: str
) -> None:
    # A Shanghai site and a part Shanghai holds: the same-city courier meets the due
    # time whenever the case is opened, so the emergency courier is weighed and declined.
    supervisor = Api(api, "supervisor")
    unit = _customer_with_a_unit(
        supervisor, "Shanghai", _serialized_part_in_stock(supervisor, "SH")
    )

    sign_in(page, language, "engineer")
    nav(page, language, "New RMA", "新建 RMA")
    expect(page.get_by_role("heading", name=say(language, "New RMA", "新建 RMA"))).to_be_visible()
    page.get_by_test_id("serial-search").click()
    scan(page, [unit["serial"]])
    match = page.get_by_test_id(f"match-{unit['serial']}")
    expect(match).to_contain_text(say(language, unit["name"], unit["name_zh"]))
    expect(match.get_by_test_id("entitlement-advance_replacement")).to_have_text(
        say(language, "free", "免费")
    )
    page.get_by_test_id("level-C-1").check()
    page.get_by_test_id("kind-advance_replacement").check()

    # No symptom: refused in the reader's language, and nothing is opened.
    assert 400 <= posted(page, page.get_by_test_id("open-rma").click) < 500
    expect(page.get_by_test_id("form-error")).to_contain_text(
        say(
            language,
            "Symptom: describe what the customer is seeing",
            "故障现象：请描述客户看到的情况",
        )
    )
    expect(page.get_by_test_id("rma-number")).to_have_count(0)

    page.get_by_test_id("symptom").fill(
        "核心交换机掉电，全网中断 / core switch down, whole network out"
    )
    page.get_by_test_id("open-rma").click()
    number = page.get_by_test_id("rma-number").inner_text()
    assert _path(page) == f"/rmas/{number}"
    depot = page.get_by_test_id("allocated-depot").inner_text()
    expect(page.get_by_role("status")).to_contain_text(
        say(
            language,
            f"{number} opened and allocated to {depot}",
            f"{number} 已创建并分配至 {depot}",
        )
    )
    expect(page.get_by_test_id("status")).to_have_text(say(language, "allocated", "已分配"))

    # The case says the emergency courier was considered, and why it was not booked.
    courier = page.get_by_test_id("courier-summary")
    expect(courier).to_have_attribute("data-state", "declined")
    expect(courier).to_contain_text(say(language, "Emergency courier (C-1):", "紧急快递（C-1）："))
    expect(courier).to_contain_text(
        say(
            language,
            f"considered, not booked: standard service from {depot} meets the due time.",
            f"已考虑，未预订：{depot} 的标准快递可按时送达。",
        )
    )
    expect(page.get_by_test_id(f"emergency-{depot}")).to_contain_text(
        say(
            language,
            f"not booked: standard service from {depot} meets the due time",
            f"未预订：{depot} 的标准快递可按时送达",
        )
    )
    expect(page.get_by_test_id(f"alternative-{depot}")).to_contain_text(
        say(language, "chosen", "已选定")
    )


# --- depot staff: pick and ship -------------------------------------------------------------


def test_depot_staff_pick_the_suggested_serial_from_its_bin_and_ship_it(
    page: Page, api: APIRequestContext, language: str
) -> None:
    supervisor = Api(api, "supervisor")
    unit = _customer_with_a_unit(
        supervisor, "Shanghai", _serialized_part_in_stock(supervisor, "SH")
    )
    case = Api(api, "engineer").post(
        "/api/v1/rmas",
        {
            "fault_level": "C-2",
            "kind": "advance_replacement",
            "serial": unit["serial"],
            "symptom": "Fan tray alarm; ports flapping.",
        },
    )
    number, depot = case["number"], (case["allocation"] or {}).get("depot")
    assert case["status"] == "allocated" and depot, f"{number} was not allocated: {case}"

    staff = Api(api, f"staff-{depot.lower()}")
    sign_in(page, language, f"staff-{depot.lower()}")
    nav(page, language, "Pick list", "拣货单")
    expect(page.get_by_role("heading", name=say(language, "Pick list", "拣货单"))).to_be_visible()
    row = page.get_by_test_id(f"pick-{number}")
    suggested = row.get_by_test_id("suggested-serial").inner_text()
    # The bin named is where the stock keeps that unit.
    shelf = staff.get(f"/api/v1/units/{suggested}")
    assert shelf["depot"] == depot and shelf["location"] == "depot" and shelf["bin"]
    expect(row.get_by_test_id("suggested-bin")).to_have_text(shelf["bin"])

    # A serial that is no unit here is refused in the reader's language; the row stays.
    serial_box = page.get_by_test_id(f"ship-serial-{number}")
    serial_box.fill(f"NOPE{_tag()}")
    assert 400 <= posted(page, lambda: serial_box.press("Enter")) < 500
    expect(page.get_by_test_id("form-error")).to_contain_text(
        say(language, "Nothing was changed.", "未做任何更改。")
    )
    expect(page.get_by_test_id(f"pick-{number}")).to_have_count(1)

    # The suggested serial ships: the row leaves the list, the unit is at the customer.
    serial_box.fill(suggested)
    serial_box.press("Enter")
    expect(page.get_by_role("status")).to_contain_text(
        say(
            language,
            f"{number} shipped from {depot}: unit {suggested} is on its way to the customer.",
            f"{number} 已从 {depot} 发运：设备 {suggested} 正在送往客户。",
        )
    )
    expect(page.get_by_test_id(f"pick-{number}")).to_have_count(0)
    page.goto(f"/units/{suggested}")
    expect(page.get_by_test_id("unit-where")).to_have_text(
        say(language, "at a customer", "在客户处")
    )
    expect(page.locator("[data-testid=unit-link] a", has_text=number)).to_be_visible()


# --- depot staff: a partial transfer and its late parcel ------------------------------------


def test_depot_staff_receive_a_transfer_short_and_then_its_late_parcel(
    page: Page, api: APIRequestContext, language: str
) -> None:
    part = "SFP-10G-SR-A"
    serials = [f"E2EL{_tag()}{n}" for n in range(3)]
    beijing = Api(api, "staff-bj")
    beijing.post(
        "/api/v1/stock/receipts",
        {"depot": "BJ", "part_number": part, "qty": 3, "serials": serials, "bin": "E2E-01"},
    )
    transfer = beijing.post(
        "/api/v1/transfers",
        {"from_depot": "BJ", "to_depot": "SH", "lines": [{"part_number": part, "qty": 3}]},
    )
    beijing.post(f"/api/v1/transfers/{transfer['id']}/ship", {"serials": {part: serials}})
    code = f"T{transfer['id']}"

    # Shanghai's box holds two of the three: received short, the third stays in transit.
    sign_in(page, language, "staff-sh")
    page.goto(f"/transfers/{code}")
    expect(page.get_by_test_id("status")).to_have_text(say(language, "shipped", "已发运"))
    page.get_by_test_id(re.compile(r"^serials-\d+$")).click()
    scan(page, serials[:2])
    page.get_by_test_id("receive").click()
    expect(page.get_by_role("status")).to_contain_text(
        say(
            language,
            f"Transfer {code} partially received: 1 unit is still missing",
            f"调拨单 {code} 部分收货：仍缺 1 件",
        )
    )
    expect(page.get_by_test_id("status")).to_have_text(
        say(language, "partially received", "部分收货")
    )
    expect(page.get_by_test_id("still-missing")).to_have_text(
        say(language, "1 unit in transit", "1 件在途")
    )
    expect(page.get_by_test_id(f"missing-serials-{part}")).to_have_text(serials[2])

    # An empty late parcel is not "everything arrived": refused, nothing changes.
    assert 400 <= posted(page, page.get_by_test_id("receive-late").click) < 500
    expect(page.get_by_test_id("form-error")).to_contain_text(
        say(
            language,
            "Scan or count what the late parcel holds",
            "请扫描或清点延迟到货包裹的内容",
        )
    )
    expect(page.get_by_test_id("status")).to_have_text(
        say(language, "partially received", "部分收货")
    )

    # The late parcel brings the third: the transfer is complete and the unit on the shelf.
    page.get_by_test_id(re.compile(r"^late-serials-\d+$")).click()
    scan(page, serials[2:])
    page.get_by_test_id("receive-late").click()
    expect(page.get_by_role("status")).to_contain_text(
        say(
            language,
            f"Late parcel received: {code} is complete, nothing is missing.",
            f"延迟到货已收货：{code} 已全部到齐。",
        )
    )
    expect(page.get_by_test_id("status")).to_have_text(say(language, "received", "已收货"))
    expect(page.get_by_test_id("still-missing")).to_have_count(0)
    page.goto(f"/units/{serials[2]}")
    expect(page.get_by_test_id("unit-where")).to_have_text(say(language, "at SH", "在 SH"))


# --- planner: approve a plan ----------------------------------------------------------------


def test_planner_runs_reviews_and_approves_a_rebalancing_plan(
    page: Page, api: APIRequestContext, language: str
) -> None:
    # A part of this journey's own: Beijing holds 5, Chengdu's target is 2.
    part = f"E2E-PLAN-{_tag()}"
    planner = Api(api, "planner")
    planner.post(
        "/api/v1/parts",
        {
            "part_number": part,
            "description": "Journey plan test patch cable",
            "family": "cable",
            "serialized": False,
            "unit_cost": 30,
        },
    )
    Api(api, "staff-bj").post(
        "/api/v1/stock/receipts", {"depot": "BJ", "part_number": part, "qty": 5}
    )
    planner.send("PUT", "/api/v1/targets", {"depot": "CD", "part_number": part, "override": 2})

    sign_in(page, language, "planner")
    nav(page, language, "Rebalancing", "调拨计划")
    page.get_by_test_id("run-plan").click()
    expect(page).to_have_url(re.compile(r"/rebalance/\d+$"), timeout=PLAN_RUN_TIMEOUT_MS)
    plan_id = int(_path(page).rsplit("/", 1)[1])
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        say(language, f"Rebalancing plan {plan_id}", f"调拨计划 {plan_id}")
    )
    expect(page.get_by_test_id("plan-status")).to_have_text(say(language, "proposed", "待审批"))

    # Review: this part's move, with stock and target at both ends before and after.
    move = page.get_by_test_id(f"move-BJ-CD-{part}")
    expect(move.get_by_test_id("move-qty")).to_have_text("2")
    expect(move.get_by_test_id("source-before")).to_have_text("5")
    expect(move.get_by_test_id("source-after")).to_have_text("3")
    expect(move.get_by_test_id("destination-before")).to_have_text("0")
    expect(move.get_by_test_id("destination-after")).to_have_text("2")
    expect(move.get_by_test_id("destination-target")).to_have_text("2")
    header = say(language, "Handling per unit (CNY)", "每件操作费（元）")
    expect(page.get_by_role("columnheader", name=header).first).to_be_visible()

    approve = page.get_by_test_id("approve-plan")
    lanes = int(approve.get_attribute("data-lanes") or "0")
    assert lanes >= 1
    approve.click()
    expect(page.get_by_role("status")).to_contain_text(
        say(language, f"Plan {plan_id} approved", f"计划 {plan_id} 已批准")
    )
    expect(page.get_by_test_id("plan-status")).to_have_text(say(language, "approved", "已批准"))
    expect(page.get_by_test_id("plan-transfer")).to_have_count(lanes)
    expect(page.get_by_test_id("approve-plan")).to_have_count(0)

    # Its draft transfer Beijing -> Chengdu carries the part, ready for Beijing to ship.
    drafts = planner.get("/api/v1/transfers", status="draft", depot="CD", limit=200)
    ours = [t for t in drafts if any(line["part_number"] == part for line in t["lines"])]
    assert len(ours) == 1, f"one draft transfer should carry {part}: {ours}"
    links = page.get_by_test_id("plan-transfers")
    links.get_by_role("link", name=f"T{ours[0]['id']}", exact=True).click()
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "draft")
    expect(page.get_by_test_id(f"line-{part}")).to_contain_text("2")
    expect(page.get_by_text(f"PLAN-{plan_id}").first).to_be_visible()


# --- admin: manage a user -------------------------------------------------------------------


def test_admin_manages_a_user_whose_sessions_end_when_deactivated_or_given_a_new_password(
    page: Page, their_page: Page, language: str
) -> None:
    username = f"e2e.daily.{_tag().lower()}"
    first_password, new_password = "first-password-1", "second-password-2"

    sign_in(page, language, "admin")
    nav(page, language, "Users", "用户管理")
    expect(page.get_by_role("heading", name=say(language, "Users", "用户管理"))).to_be_visible()
    page.get_by_test_id("new-user").click()
    page.locator("[name=username]").fill(username)
    page.locator("[name=full_name]").fill("林小梅")
    page.locator("[name=email]").fill(f"{username}@spares.example")
    page.locator("select[name=role]").select_option("engineer")
    page.locator("[name=password]").fill(first_password)
    page.get_by_role("button", name=say(language, "Create the user", "创建用户")).click()
    expect(page.get_by_role("status")).to_contain_text(
        say(language, f"User {username} created.", f"用户 {username} 已创建。")
    )
    expect(page.get_by_test_id("user-role")).to_have_text(
        say(language, "service engineer", "服务工程师")
    )
    user_url = _path(page)

    # Depot staff without a depot is refused next to the field; the role stays.
    page.locator("select[name=role]").select_option("depot_staff")
    save_role = page.get_by_role("button", name=say(language, "Save the role", "保存角色"))
    assert 400 <= posted(page, save_role.click) < 500
    expect(page.locator("[role=alert]").first).to_contain_text(
        say(language, "depot staff must be bound to a depot", "备件库人员必须指定所属备件库")
    )
    expect(page.get_by_test_id("user-role")).to_have_text(
        say(language, "service engineer", "服务工程师")
    )
    page.locator("select[name=role]").select_option("depot_staff")
    page.locator("select[name=depot]").select_option("GZ")
    page.get_by_role("button", name=say(language, "Save the role", "保存角色")).click()
    expect(page.get_by_role("status")).to_contain_text(
        say(
            language,
            f"{username} is now depot staff at GZ.",
            f"{username} 现为 GZ 的备件库人员。",
        )
    )
    expect(page.get_by_test_id("user-role")).to_have_text(
        say(language, "depot staff · GZ", "备件库人员 · GZ")
    )

    sign_in(their_page, language, username, first_password)
    expect(their_page.get_by_test_id("current-role")).to_have_text(
        say(language, "depot staff · GZ", "备件库人员 · GZ")
    )

    # Deactivated: their session ends at once and the form refuses them.
    page.get_by_role("button", name=say(language, "Deactivate", "停用")).click()
    expect(page.get_by_role("status")).to_contain_text(
        say(language, f"{username} is deactivated", f"{username} 已停用")
    )
    expect(page.get_by_test_id("user-status")).to_have_text(say(language, "inactive", "停用"))
    their_page.goto("/")
    assert _path(their_page) == "/login"
    sign_in_refused(their_page, language, username, first_password)

    # Reactivated: they sign in again with their password.
    page.get_by_role("button", name=say(language, "Reactivate", "重新启用")).click()
    expect(page.get_by_role("status")).to_contain_text(
        say(language, f"{username} can sign in again.", f"{username} 已重新启用，可以登录。")
    )
    expect(page.get_by_test_id("user-status")).to_have_text(say(language, "active", "启用"))
    sign_in(their_page, language, username, first_password)

    # A new password: signed out everywhere; only the new password works.
    page.locator("[name=password]").fill(new_password)
    page.get_by_role("button", name=say(language, "Set the new password", "设置新密码")).click()
    expect(page.get_by_role("status")).to_contain_text(
        say(language, f"New password set for {username}", f"已为 {username} 设置新密码")
    )
    their_page.goto("/")
    assert _path(their_page) == "/login"
    sign_in_refused(their_page, language, username, first_password)
    sign_in(their_page, language, username, new_password)

    # The list shows them active again, as depot staff at GZ.
    page.goto(f"/users?q={username}")
    row = page.get_by_test_id(f"row-{username}")
    expect(row.locator(".badge")).to_have_text(say(language, "active", "启用"))
    expect(row).to_contain_text(say(language, "depot staff", "备件库人员"))
    row.get_by_role("link", name=username).click()
    assert _path(page) == user_url


# --- anyone: search from the header ---------------------------------------------------------


def test_search_from_the_header_finds_a_city_its_customers_sites_and_open_cases(
    page: Page, api: APIRequestContext, language: str
) -> None:
    supervisor = Api(api, "supervisor")
    unit = _customer_with_a_unit(
        supervisor, "Changsha", _serialized_part_in_stock(supervisor, "WH")
    )
    # An open repair case at the new customer's Changsha site.
    case = Api(api, "engineer").post(
        "/api/v1/rmas",
        {"fault_level": "C-3", "kind": "repair", "serial": unit["serial"], "symptom": "CRC errors"},
    )
    number = case["number"]

    sign_in(page, language, "engineer")
    box = page.get_by_test_id("search-box")
    box.get_by_role("searchbox").fill("长沙")
    box.get_by_role("button", name=say(language, "Search", "搜索")).click()
    expect(
        page.get_by_role("heading", name=say(language, "Search", "搜索"), exact=True)
    ).to_be_visible()
    expect(page.get_by_test_id("result-count")).to_contain_text("长沙")

    # The city: Chinese first on a Chinese page; its page lists what is there.
    city = page.locator("section[data-kind=city]").get_by_test_id("hit").first
    expect(city).to_contain_text(say(language, "Changsha", "长沙 Changsha"))
    city.click()
    expect(page.get_by_test_id("place-title")).to_have_text(
        say(language, "Changsha", "长沙 Changsha")
    )
    customers = page.locator("section[data-kind=customer]")
    expect(customers.get_by_role("heading")).to_contain_text(say(language, "Customers", "客户"))
    expect(customers).to_contain_text(
        say(language, unit["name"], f"{unit['name_zh']} {unit['name']}")
    )
    expect(page.locator("section[data-kind=site]")).to_contain_text(unit["site"])
    open_cases = page.locator("section[data-kind=rma]")
    expect(open_cases.get_by_role("heading")).to_contain_text(
        say(language, "Open cases", "未结 RMA 单")
    )
    expect(open_cases.get_by_test_id("hit").filter(has_text=number)).to_have_count(1)

    # The customer by its Chinese name, and the city by pinyin, from the header box.
    box.get_by_role("searchbox").fill(unit["name_zh"])
    box.get_by_role("searchbox").press("Enter")
    hit = page.locator("section[data-kind=customer]").get_by_test_id("hit")
    expect(hit).to_have_count(1)
    expect(hit).to_contain_text(unit["name"])
    hit.click()
    expect(page.get_by_test_id("customer-name")).to_contain_text(
        say(language, unit["name"], unit["name_zh"])
    )
    expect(page.get_by_test_id("sites")).to_contain_text(unit["site"])
    expect(page.get_by_test_id(f"case-{number}")).to_be_visible()
    box.get_by_role("searchbox").fill("changsha")
    box.get_by_role("searchbox").press("Enter")
    expect(page.locator("section[data-kind=city]").get_by_test_id("hit").first).to_contain_text(
        "Changsha"
    )
    expect(
        page.locator("section[data-kind=rma]").get_by_test_id("hit").filter(has_text=number)
    ).to_have_count(1)
