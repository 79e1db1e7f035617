"""The six reports in a real browser, in Chinese and in English (issue 14).

A planner opens Reports from the navigation and reads each report (headline, charts
as inline SVG, tables) in the browser's language; filters the ageing, stock-status
and service-levels reports and sees the scope line and the figures follow, and a bad
date refused with the form's error; downloads the PDF, the XLSX and the ZIP of CSVs;
runs a rebalancing plan and follows its page's link to the rebalancing report. A
supervisor reads the engineers report; an engineer is offered no Reports at all.

One browser context per language for the planner, shared by the module's journeys
(signing in and opening pages is most of a journey's time), so the whole module
stays near a minute on a busy two-core machine.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Download, Locator, Page, expect

from tests.e2e.conftest import ACTION_TIMEOUT_MS, DEMO_PASSWORD, LiveServer

pytestmark = pytest.mark.e2e

ZH = "zh-CN"
EN = "en-US"
LANGUAGES = (ZH, EN)
HTML_LANG = {ZH: "zh-Hans-CN", EN: "en"}
CJK = re.compile(r"[\u4e00-\u9fff]")
# A PDF of a large report takes a few seconds to draw on a busy machine.
DOWNLOAD_TIMEOUT_MS = 30_000

# Each report's heading in both languages, in the order of the Reports page.
TITLES: dict[str, tuple[str, str]] = {
    "rebalancing": ("Rebalancing plan", "调拨计划"),
    "service-levels": ("Service levels", "服务水平"),
    "ageing": ("Ageing", "账龄"),
    "stock-status": ("Stock status", "库存状况"),
    "engineers": ("Engineers", "工程师"),
    "coverage": ("24-hour coverage", "24 小时覆盖"),
}
# Headings that are the same words in Chinese (codes and symbols, not English).
SAME_IN_CHINESE = re.compile(r"^(RMA|#|[1-5]★|%|CSV)$")


def say(language: str, english: str, chinese: str) -> str:
    """What the page says in the journey's language."""
    return chinese if language == ZH else english


def _new_context(browser: Browser, live_server: LiveServer, language: str) -> BrowserContext:
    context = browser.new_context(
        base_url=live_server.url,
        locale=language,
        timezone_id="Asia/Shanghai",
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    return context


def sign_in(page: Page, language: str, username: str) -> None:
    """Sign in through the form; the header names the user and the page is in ``language``."""
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page.get_by_test_id("current-user")).to_have_text(username)
    expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[language])


def main_navigation(page: Page, language: str) -> Locator:
    return page.get_by_role("navigation", name=say(language, "Main", "主导航"))


@pytest.fixture(scope="module", params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> str:
    """The language the browser asks for (Accept-Language and navigator.language)."""
    return str(request.param)


@pytest.fixture(scope="module")
def planner_context(
    browser: Browser, live_server: LiveServer, language: str
) -> Iterator[BrowserContext]:
    context = _new_context(browser, live_server, language)
    yield context
    context.close()


@pytest.fixture(scope="module")
def planner_page(planner_context: BrowserContext, language: str) -> Page:
    """The planner's tab, signed in once per language (screenshot on failure)."""
    page = planner_context.new_page()
    sign_in(page, language, "planner")
    return page


@pytest.fixture
def other_page(browser: Browser, live_server: LiveServer, language: str) -> Iterator[Page]:
    """Another person's browser (its own cookies) in the same language."""
    context = _new_context(browser, live_server, language)
    yield context.new_page()
    context.close()


def download(page: Page, link: Locator, tmp_path: Path) -> tuple[str, bytes]:
    """Click a download link; the file's suggested name and its bytes."""
    with page.expect_download(timeout=DOWNLOAD_TIMEOUT_MS) as started:
        link.click()
    file: Download = started.value
    target = tmp_path / file.suggested_filename
    file.save_as(target)
    return file.suggested_filename, target.read_bytes()


def table_keys(page: Page) -> list[str]:
    """The keys of the tables the report page shows (``table-<key>`` test ids)."""
    ids = page.locator("main table[data-testid^=table-]").evaluate_all(
        "tables => tables.map(t => t.dataset.testid)"
    )
    return [str(test_id).removeprefix("table-") for test_id in ids]


def expect_words_in_language(page: Page, language: str) -> None:
    """On the Chinese page every column heading and figure label is Chinese (or a
    code such as RMA); chart words are checked where they are not data (names)."""
    if language != ZH:
        return
    headings = [
        text.strip() for text in page.locator("main th, main dt, main h2").all_inner_texts()
    ]
    english = [t for t in headings if t and not CJK.search(t) and not SAME_IN_CHINESE.match(t)]
    assert not english, f"English words on the Chinese page {page.url}: {english}"
    # Two columns with one heading (a name and its Chinese name) cannot be told apart.
    for table in page.locator("main table").all():
        names = [text.strip() for text in table.locator("thead th").all_inner_texts()]
        twice = sorted({name for name in names if name and names.count(name) > 1})
        assert not twice, f"{page.url}: a table heads two columns {twice}"


# --- the planner reads every report ---------------------------------------------------------


def test_planner_opens_each_report_from_the_navigation(planner_page: Page, language: str) -> None:
    page = planner_page
    page.goto("/")
    main_navigation(page, language).get_by_role(
        "link", name=say(language, "Reports", "报表"), exact=True
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(say(language, "Reports", "报表"))
    listed = page.get_by_test_id("reports").locator("> li")
    expect(listed).to_have_count(len(TITLES))

    for name, (english, chinese) in TITLES.items():
        page.goto("/reports")
        entry = page.get_by_test_id(f"report-{name}")
        entry.get_by_role("link", name=say(language, english, chinese), exact=True).click()
        expect(page).to_have_url(re.compile(rf"/reports/{name}(\?|$)"))
        expect(page.get_by_role("heading", level=1)).to_have_text(say(language, english, chinese))
        expect(page.get_by_test_id("headline").locator("dd").first).to_be_visible()
        charts = page.locator("main .charts svg")
        assert charts.count() >= 1, f"{name}: no chart on the page"
        for index in range(charts.count()):
            chart = charts.nth(index)
            expect(chart).to_be_visible()
            box = chart.bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 100, (
                f"{name}: chart {index} is drawn {box}"
            )
        assert table_keys(page), f"{name}: no table on the page"
        expect(page.locator("main table").first.locator("thead th").first).to_be_visible()
        expect_words_in_language(page, language)


# --- filters --------------------------------------------------------------------------------


def test_planner_filters_the_ageing_report_and_the_scope_and_figures_follow(
    planner_page: Page, language: str
) -> None:
    page = planner_page
    page.goto("/reports/ageing")
    scope = page.get_by_test_id("report-scope")
    expect(scope).to_contain_text(say(language, "all depots", "全部仓库"))
    open_all = int(page.get_by_test_id("kpi-open_cases").inner_text().replace(",", ""))

    form = page.get_by_test_id("report-filters")
    form.locator("select[name=depot]").select_option("SH")
    form.locator("select[name=fault_level]").select_option("C-2")
    form.locator("select[name=family]").select_option("optic")
    form.locator("input[name=from]").fill("2026-10-01")
    form.get_by_role("button", name=say(language, "Show", "显示")).click()

    expect(page).to_have_url(re.compile(r"depot=SH"))
    expect(scope).to_contain_text("SH")
    expect(scope).to_contain_text("C-2")
    expect(scope).to_contain_text("2026-10-01")
    expect(scope).not_to_contain_text(say(language, "all depots", "全部仓库"))
    open_filtered = int(page.get_by_test_id("kpi-open_cases").inner_text().replace(",", ""))
    assert open_filtered <= open_all
    # Every open case listed is Shanghai's, at fault level C-2.
    cases = page.get_by_test_id("table-open_cases")
    headers = [h.strip() for h in cases.locator("thead th").all_inner_texts()]
    depot_column = headers.index(say(language, "Depot", "仓库"))
    level_column = headers.index(say(language, "Fault level", "故障级别"))
    for row in cases.locator("tbody tr").all():
        cells = row.locator("td")
        if cells.count() == 1:  # "nothing to show with these filters"
            continue
        assert cells.nth(depot_column).inner_text() == "SH"
        assert cells.nth(level_column).inner_text() == "C-2"

    # A period that ends before it starts is the form's error, said in the language.
    form.locator("input[name=from]").fill("2026-03-01")
    form.locator("input[name=to]").fill("2026-02-01")
    with page.expect_response(re.compile(r"/reports/ageing\?")) as answer:
        form.get_by_role("button", name=say(language, "Show", "显示")).click()
    assert 400 <= answer.value.status < 500
    error = page.get_by_test_id("form-error")
    expect(error).to_be_visible()
    if language == ZH:
        assert CJK.search(error.inner_text()), error.inner_text()
    expect(page.get_by_test_id("downloads")).to_have_count(0)


def test_planner_filters_stock_status_by_depot_and_service_levels_by_dates(
    planner_page: Page, language: str
) -> None:
    page = planner_page
    page.goto("/reports/stock-status")
    form = page.get_by_test_id("report-filters")
    form.locator("select[name=depot]").select_option("CD")
    form.get_by_role("button", name=say(language, "Show", "显示")).click()
    expect(page.get_by_test_id("report-scope")).to_contain_text("CD")
    depots = page.get_by_test_id("table-by_depot").locator("tbody tr td:first-child")
    expect(depots).to_have_text(["CD"])

    page.goto("/reports/service-levels")
    form = page.get_by_test_id("period-form")
    form.locator("input[name=start]").fill("2026-11-01")
    form.locator("input[name=end]").fill("2026-11-30")
    form.get_by_role("button", name=say(language, "Show", "显示")).click()
    expect(page.get_by_test_id("report-scope")).to_contain_text("2026-11-01")
    expect(page.get_by_test_id("report-scope")).to_contain_text("30")
    # A period that ends before it starts: the form's error, and no files offered.
    form.locator("input[name=start]").fill("2026-12-01")
    form.get_by_role("button", name=say(language, "Show", "显示")).click()
    expect(page.get_by_test_id("form-error")).to_be_visible()
    expect(page.get_by_test_id("downloads")).to_have_count(0)


# --- downloads ------------------------------------------------------------------------------


def test_planner_downloads_a_filtered_report_as_pdf_xlsx_and_csv_zip(
    planner_page: Page, language: str, tmp_path: Path
) -> None:
    page = planner_page
    page.goto("/reports/engineers?from=2026-11-01&to=2026-11-30&depot=SH")
    expect(page.get_by_test_id("report-scope")).to_contain_text("SH")
    tables = table_keys(page)

    name, pdf = download(page, page.get_by_test_id("download-pdf"), tmp_path)
    assert name == "spares-engineers-2026-11-01_2026-11-30-SH.pdf", name
    assert pdf.startswith(b"%PDF")

    name, xlsx = download(page, page.get_by_test_id("download-xlsx"), tmp_path)
    assert name == "spares-engineers-2026-11-01_2026-11-30-SH.xlsx", name
    with zipfile.ZipFile(io.BytesIO(xlsx)) as book:  # an XLSX is a ZIP of XML parts
        assert "xl/workbook.xml" in book.namelist()

    name, archive = download(page, page.get_by_test_id("download-csv"), tmp_path)
    assert name == "spares-engineers-2026-11-01_2026-11-30-SH.zip", name
    with zipfile.ZipFile(io.BytesIO(archive)) as csvs:
        names = sorted(csvs.namelist())
    expected = sorted(f"spares-engineers-2026-11-01_2026-11-30-SH-{key}.csv" for key in tables)
    assert names == expected


def test_planner_downloads_the_service_levels_files(
    planner_page: Page, language: str, tmp_path: Path
) -> None:
    page = planner_page
    page.goto("/reports/service-levels?start=2026-11-01&end=2026-11-30")
    tables = table_keys(page)
    name, pdf = download(page, page.get_by_test_id("download-pdf"), tmp_path)
    assert name == "spares-service-levels-2026-11-01_2026-11-30.pdf", name
    assert pdf.startswith(b"%PDF")
    name, archive = download(page, page.get_by_test_id("download-csv"), tmp_path)
    assert name == "spares-service-levels-2026-11-01_2026-11-30.zip", name
    # One CSV per table: the page's tables, and those drawn as tiles and charts
    # (summary, weekly, ratings) as well.
    with zipfile.ZipFile(io.BytesIO(archive)) as csvs:
        keys = {
            entry.removeprefix("spares-service-levels-2026-11-01_2026-11-30-").removesuffix(".csv")
            for entry in csvs.namelist()
        }
        assert all(csvs.read(entry).strip() for entry in csvs.namelist())
    on_page = {key.replace("-", "_") for key in tables} - {"overdue"}
    assert on_page | {"summary", "weekly", "ratings", "overdue_returns"} == keys, (keys, tables)


# --- from a rebalancing plan to its report --------------------------------------------------


def test_planner_follows_a_plan_to_its_report_and_downloads_its_pdf(
    planner_page: Page, language: str, tmp_path: Path
) -> None:
    page = planner_page
    page.goto("/")
    main_navigation(page, language).get_by_role(
        "link", name=say(language, "Rebalancing", "调拨计划"), exact=True
    ).click()
    page.get_by_test_id("run-plan").click()
    expect(page).to_have_url(re.compile(r"/rebalance/\d+$"), timeout=DOWNLOAD_TIMEOUT_MS)
    plan_id = int(page.url.rsplit("/", 1)[1])

    page.get_by_test_id("plan-report").click()
    expect(page).to_have_url(re.compile(rf"/reports/rebalancing\?plan={plan_id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        say(language, "Rebalancing plan", "调拨计划")
    )
    expect(page.get_by_test_id("report-scope")).to_contain_text(str(plan_id))
    expect(page.get_by_test_id("kpi-units_moved")).to_be_visible()
    expect(page.locator("main .charts svg").first).to_be_visible()
    expect_words_in_language(page, language)

    name, pdf = download(page, page.get_by_test_id("download-pdf"), tmp_path)
    assert name == f"spares-rebalancing-plan-{plan_id}.pdf", name
    assert pdf.startswith(b"%PDF")


# --- who may read reports -------------------------------------------------------------------


def test_supervisor_reads_the_engineers_report_and_an_engineer_has_no_reports(
    other_page: Page, language: str
) -> None:
    page = other_page
    sign_in(page, language, "supervisor")
    main_navigation(page, language).get_by_role(
        "link", name=say(language, "Reports", "报表"), exact=True
    ).click()
    page.get_by_test_id("report-engineers").get_by_role(
        "link", name=say(language, "Engineers", "工程师"), exact=True
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(say(language, "Engineers", "工程师"))
    expect(page.get_by_test_id("table-engineers").locator("tbody tr").first).to_be_visible()
    expect_words_in_language(page, language)

    page.get_by_role("button", name=say(language, "Sign out", "退出")).click()
    expect(page.locator("input[name=username]")).to_be_visible()
    sign_in(page, language, "engineer")
    expect(
        main_navigation(page, language).get_by_role(
            "link", name=say(language, "Reports", "报表"), exact=True
        )
    ).to_have_count(0)
    answer = page.goto("/reports/engineers")
    assert answer is not None and answer.status == 403, answer and answer.status
