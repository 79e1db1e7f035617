"""The Content-Security-Policy in a real browser: the pages with scripts, styles and
the depots map load without a single violation, and their scripts still work
(the scanner's Enter-to-next-field, select-on-focus of the CSV examples)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import login

# Pages with an inline script, a script file, <style> blocks, style attributes or the SVG map.
PAGES = (
    "/",
    "/depots",
    "/lanes",
    "/calendars",
    "/stock",
    "/stock/receive",
    "/transfers/new",
    "/rmas",
    "/reports",
    "/search?q=Lhasa",
    "/api/v1/swagger",
)


def _watch_violations(page: Page) -> list[str]:
    """Every policy violation the page reports, as the browser's console words it."""
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return seen


def test_pages_load_without_a_policy_violation(page: Page) -> None:
    violations = _watch_violations(page)
    login(page, "admin")
    for path in PAGES:
        page.goto(path)
        page.wait_for_load_state("load")
    if "swagger" in PAGES[-1]:
        expect(page.locator("#swagger-ui .info")).to_be_visible()  # Swagger UI ran
    assert violations == []


def test_the_scanner_script_runs_under_the_policy(page: Page) -> None:
    violations = _watch_violations(page)
    login(page, "staff-sh")
    page.goto("/stock/receive")
    part = page.locator("input[data-enter-next]").first
    part.focus()
    part.press("Enter")
    expect(part).not_to_be_focused()  # the script moved on instead of submitting
    assert violations == []


def test_csv_examples_select_themselves_under_the_policy(page: Page) -> None:
    violations = _watch_violations(page)
    login(page, "admin")
    page.goto("/calendars")
    example = page.get_by_test_id("day-csv-header")
    example.focus()
    selected = example.evaluate(
        "field => field.value.slice(field.selectionStart, field.selectionEnd)"
    )
    assert selected == "calendar,day,kind,name"
    assert violations == []
