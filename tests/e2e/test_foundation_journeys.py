"""First journeys: signing in and out, the depot map, editing a lane, an
administrator managing a user in Chinese, pages on a phone."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import ACTION_TIMEOUT_MS, LiveServer, fill_login_form, login

pytestmark = pytest.mark.e2e

DEPOT_CODES = ("BJ", "SH", "GZ", "CD", "WH", "XA", "SY", "JN")
CHINESE = "zh-CN"


@pytest.fixture
def context(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[BrowserContext]:
    """The shared fresh browser profile, in English unless a test asks for another
    browser language (``@pytest.mark.parametrize("context", [CHINESE], indirect=True)``)."""
    context = browser.new_context(
        base_url=live_server.url,
        locale=getattr(request, "param", "en-US"),
        timezone_id="Asia/Shanghai",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    yield context
    context.close()


def _path(page: Page) -> str:
    """The path of the page's URL, without host or query."""
    return re.sub(r"^https?://[^/]+", "", page.url).split("?", 1)[0]


def _open(page: Page, url: str) -> None:
    """Go to ``url`` and fail at once, with the status, unless the page answers 200."""
    response = page.goto(url)
    assert response is not None and response.status == 200, (
        f"GET {url} answered {response.status if response else 'nothing'}"
    )


def _submit(page: Page, button: str) -> int:
    """Click the form's ``button`` and return the status of the POST it sends."""
    with page.expect_response(lambda response: response.request.method == "POST") as answer:
        page.get_by_role("button", name=button).click()
    return answer.value.status


def test_planner_signs_in_with_the_form_and_signs_out(page: Page) -> None:
    login(page, "planner")
    expect(page.get_by_text("Signed in as planner.")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()

    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert _path(page) == "/login"
    expect(page.get_by_test_id("current-user")).to_have_count(0)
    # Signed out means signed out: the home page sends us back to the form.
    page.goto("/")
    assert _path(page) == "/login"


def test_wrong_password_shows_an_error_and_stays_on_the_login_page(page: Page) -> None:
    fill_login_form(page, "planner", "not-the-password")

    expect(page.get_by_role("alert")).to_have_text("Unknown user or wrong password.")
    assert _path(page) == "/login"
    expect(page.get_by_test_id("current-user")).to_have_count(0)


def test_depots_page_shows_a_map_with_all_eight_depots(page: Page) -> None:
    login(page, "planner")

    with page.expect_navigation() as navigation:
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Depots").click()
    assert navigation.value is not None and navigation.value.status == 200

    assert _path(page) == "/depots"
    depot_map = page.locator("svg[data-testid=depot-map]")
    expect(depot_map).to_be_visible()
    for code in DEPOT_CODES:
        expect(depot_map.get_by_test_id(f"depot-{code}")).to_have_count(1)


def test_planner_edits_a_lane_and_a_bad_value_changes_nothing(page: Page) -> None:
    login(page, "planner")
    _open(page, "/lanes?from=BJ")

    page.get_by_test_id("edit-lane-BJ-Shanghai").click()
    page.locator("[name=hours]").fill("9.5")
    page.locator("[name=cost]").fill("123.45")
    _submit(page, "Save lane")

    expect(page.get_by_text("Lane BJ → Shanghai saved.")).to_be_visible()
    row = page.get_by_test_id("lane-BJ-Shanghai")
    expect(row).to_contain_text(re.compile(r"\b9\.50?\b"))
    expect(row).to_contain_text("123.45")
    expect(row).to_contain_text(re.compile("edited", re.IGNORECASE))

    page.get_by_test_id("edit-lane-BJ-Shanghai").click()
    page.locator("[name=hours]").fill("-1")
    status = _submit(page, "Save lane")

    # The form comes back with an error (4xx) and the lane keeps its saved values.
    assert 400 <= status < 500, f"a negative duration was answered {status}"
    errors = page.locator("[role=alert], .field-error")
    expect(errors.filter(has_text=re.compile("hours", re.IGNORECASE)).first).to_be_visible()
    expect(page.locator("[name=hours]")).to_be_visible()
    expect(page.get_by_text("Lane BJ → Shanghai saved.")).to_have_count(0)
    _open(page, "/lanes?from=BJ")
    row = page.get_by_test_id("lane-BJ-Shanghai")
    expect(row).to_contain_text(re.compile(r"\b9\.50?\b"))
    expect(row).to_contain_text("123.45")


def test_depot_staff_opening_the_lane_editor_directly_is_refused(page: Page) -> None:
    login(page, "planner")
    _open(page, "/lanes?from=BJ")
    editor_url = page.get_by_test_id("edit-lane-BJ-Shanghai").get_attribute("href")
    assert editor_url, "the edit control should be a link to the lane editor"
    page.get_by_role("button", name="Sign out").click()

    login(page, "staff-sh")
    response = page.goto(editor_url)

    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.locator("[name=hours]")).to_have_count(0)


# --- users, in Chinese ----------------------------------------------------------------------


def _sign_in_in_chinese(page: Page, username: str, password: str = "spares-demo") -> None:
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="登录").click()


@pytest.mark.parametrize("context", [CHINESE], indirect=True)
def test_an_administrator_creates_and_deactivates_a_user_in_chinese(
    page: Page, browser: Browser, live_server: LiveServer
) -> None:
    _sign_in_in_chinese(page, "admin")
    expect(page.get_by_test_id("current-user")).to_have_text("admin")
    expect(page.get_by_test_id("current-role")).to_have_text("管理员")

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="用户管理").click()
    expect(page.get_by_role("heading", name="用户管理")).to_be_visible()
    page.get_by_test_id("new-user").click()
    page.locator("[name=username]").fill("e2e.wu.fang")
    page.locator("[name=full_name]").fill("吴芳")
    page.locator("[name=email]").fill("wu.fang@spares.example")
    page.locator("select[name=role]").select_option("engineer")
    page.locator("[name=password]").fill("short")
    assert _submit(page, "创建用户") == 422
    expect(page.get_by_test_id("error-password")).to_have_text("密码至少 10 个字符")

    page.locator("[name=password]").fill("wu-fang-initial-1")
    assert _submit(page, "创建用户") == 302
    expect(page.get_by_text("用户 e2e.wu.fang 已创建。")).to_be_visible()
    expect(page.get_by_test_id("user-role")).to_have_text("服务工程师")

    # The new engineer signs in, in a browser of their own.
    their_context = browser.new_context(
        base_url=live_server.url, locale=CHINESE, timezone_id="Asia/Shanghai"
    )
    their_context.set_default_timeout(ACTION_TIMEOUT_MS)
    try:
        theirs = their_context.new_page()
        _sign_in_in_chinese(theirs, "e2e.wu.fang", "wu-fang-initial-1")
        expect(theirs.get_by_test_id("current-user")).to_have_text("e2e.wu.fang")
        expect(theirs.locator("html")).to_have_attribute("lang", "zh-Hans-CN")

        assert _submit(page, "停用") == 302
        expect(page.get_by_text(re.compile(r"e2e\.wu\.fang 已停用"))).to_be_visible()
        expect(page.get_by_test_id("user-status")).to_have_text("停用")

        # Their session has ended: the next page is the sign-in form, and it refuses them.
        theirs.goto("/")
        assert _path(theirs) == "/login"
        expect(theirs.get_by_role("heading", name="登录")).to_be_visible()
        _sign_in_in_chinese(theirs, "e2e.wu.fang", "wu-fang-initial-1")
        expect(theirs.get_by_role("alert")).to_have_text("用户名不存在或密码错误。")
    finally:
        their_context.close()

    page.goto("/users?status=inactive&q=e2e.wu")
    expect(page.get_by_test_id("row-e2e.wu.fang")).to_contain_text("停用")


PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize(
    "path", ["/", "/users", "/users?per_page=25&page=1", "/users/new", "/profile"]
)
def test_pages_fit_a_phone_the_header_wraps_and_tables_scroll_in_their_card(
    page: Page, path: str
) -> None:
    page.set_viewport_size(PHONE)
    login(page, "admin")
    _open(page, path)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{path} is {width} px wide on a 390 px phone"
    header = page.locator("header.topbar").bounding_box()
    assert header is not None and header["width"] <= PHONE["width"]
    # A table wider than the phone scrolls inside its card, not the page.
    for card in page.locator(".card:has(table)").all():
        box = card.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
