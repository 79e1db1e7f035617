"""First journeys: signing in and out, the depot map, editing a lane."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import fill_login_form, login

pytestmark = pytest.mark.e2e

DEPOT_CODES = ("BJ", "SH", "GZ", "CD", "WH", "XA", "SY", "JN")


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
