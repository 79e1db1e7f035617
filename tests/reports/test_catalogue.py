"""Every report of the catalogue, on the demo data, through its public surfaces.

The demo data set is loaded once. For each report: the page shows in English and
Chinese; the JSON, CSV (the ZIP of every table, and one table), XLSX and PDF
downloads render; the numbers agree across formats (each table's rows as JSON,
as its CSV in the ZIP, and as its XLSX sheet); every PDF page turned into a PNG
is not blank and the cover names the filters and the generation time; bad
filters answer 422 on the page, the API and the terminal and write nothing.
"""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from typing import Any

import openpyxl
import pytest
from sqlalchemy.engine import Engine

from reports.catalogue import REPORT_NAMES, kinds
from tests.conftest import csrf_token, make_test_app
from tests.core.api_fuzz import token_for
from tests.reports.test_report_render import (  # noqa: F401  (poppler is a fixture)
    assert_not_blank,
    pdf_pages,
    pdf_text,
    poppler,
)

DEMO_PASSWORD = "spares-demo"
CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
# The reports built on the catalogue's own page and files (the service levels have
# their own, tested in test_report_*.py).
GENERIC = [name for name, kind in kinds().items() if kind.render is None]


@pytest.fixture(scope="module")
def demo_app(demo: Engine) -> Any:
    return make_test_app(demo)


@pytest.fixture(scope="module")
def headers(demo_app: Any) -> dict[str, str]:
    token = token_for(demo_app.test_client(), "planner", DEMO_PASSWORD)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def browser(demo_app: Any) -> Any:
    client = demo_app.test_client()
    answer = client.post(
        "/login",
        data={"username": "planner", "password": DEMO_PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert answer.status_code == 302
    return client


def test_the_catalogue_holds_the_six_reports_and_the_reports_page_lists_them(browser):
    assert tuple(kinds()) == REPORT_NAMES
    html = browser.get("/reports").get_data(as_text=True)
    for name in REPORT_NAMES:
        assert f'data-testid="report-{name}"' in html


def _api(demo_app: Any, headers: dict[str, str], name: str, **query: str) -> Any:
    return demo_app.test_client().get(
        f"/api/v1/reports/{name}", query_string=query, headers=headers
    )


def _same(a: Any, b: Any) -> bool:
    """Cells equal across formats: numbers within rounding, n/a as empty, text as text."""
    if a in (None, "") and b in (None, ""):
        return True
    try:
        x, y = float(a), float(b)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(a).lstrip("'") == str(b).lstrip("'")
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=0.005)


@pytest.mark.parametrize("name", GENERIC)
def test_json_csv_and_xlsx_hold_the_same_numbers(demo_app, headers, name):
    answer = _api(demo_app, headers, name)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["report"] == name and body["tables"], body
    tables = body["tables"]
    kind = kinds()[name]
    assert list(tables) == list(kind.tables)

    archive = _api(demo_app, headers, name, format="csv")
    assert archive.status_code == 200 and archive.content_type == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.data)) as files:
        by_table = {
            file.rsplit("-", 1)[-1].removesuffix(".csv"): files.read(file).decode("utf-8-sig")
            for file in files.namelist()
        }
    # Table keys may hold dashes only as underscores, so the last part names the table.
    assert sorted(by_table) == sorted(tables)

    book = openpyxl.load_workbook(io.BytesIO(_api(demo_app, headers, name, format="xlsx").data))
    assert book.sheetnames == [table[:31] for table in tables]

    for table, rows in tables.items():
        reader = list(csv.reader(io.StringIO(by_table[table])))
        assert len(reader) - 1 == len(rows), table
        sheet = list(book[table[:31]].iter_rows(values_only=True))
        assert len(sheet) - 1 == len(rows), table
        if not rows:
            continue
        keys = list(rows[0])
        assert reader[0] == keys, table
        for number, row in enumerate(rows):
            for column, key in enumerate(keys):
                value = row[key]
                assert _same(value, reader[number + 1][column]), (table, key, value)
                cell = sheet[number + 1][column]
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    assert _same(value, cell), (table, key, value, cell)

    one = _api(demo_app, headers, name, format="csv", table=next(iter(tables)))
    assert one.status_code == 200 and one.content_type.startswith("text/csv")


@pytest.mark.parametrize("name", GENERIC)
def test_the_pdf_has_a_cover_with_filters_and_time_and_no_blank_page(
    demo_app,
    headers,
    name,
    poppler,  # noqa: F811  (the fixture, imported above)
    tmp_path,
):
    answer = _api(demo_app, headers, name, format="pdf")
    assert answer.status_code == 200 and answer.data.startswith(b"%PDF-")
    text = pdf_text(answer.data, tmp_path)
    cover = text.split("\f")[0]
    kind = kinds()[name]
    assert str(kind.title) in cover
    assert "Generated" in cover and "Asia/Shanghai" in cover
    pages = pdf_pages(answer.data, tmp_path)
    assert len(pages) >= 2
    for page in pages:
        assert_not_blank(page)
    assert f"Page 1 of {len(pages)}" in text


@pytest.mark.parametrize("name", GENERIC)
def test_the_page_shows_the_report_in_english_and_in_chinese(browser, name):
    kind = kinds()[name]
    english = browser.get(f"/reports/{name}")
    assert english.status_code == 200
    html = english.get_data(as_text=True)
    assert 'data-testid="report-filters"' in html and 'data-testid="download-pdf"' in html
    for table in kind.tables:
        assert f'data-testid="table-{table}"' in html
    chinese = browser.get(f"/reports/{name}", headers=CHINESE).get_data(as_text=True)
    title = str(kind.title)
    assert f"<h1>{title}</h1>" not in chinese, "the title is not translated"
    assert "下载" in chinese or "PDF" in chinese


@pytest.mark.parametrize("name", GENERIC)
def test_bad_filters_answer_422_everywhere_and_write_nothing(
    demo_app, headers, browser, name, tmp_path
):
    kind = kinds()[name]
    bad = {"depot": "XX"} if "depot" in kind.filters else {"plan": "x"}
    if "depot" not in kind.filters and "plan" not in kind.filters:
        bad = {"from": "2026-13-01"}
    answer = _api(demo_app, headers, name, **bad)
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["error"]
    page = browser.get(f"/reports/{name}", query_string=bad)
    assert page.status_code == 422 and 'data-testid="form-error"' in page.get_data(as_text=True)
    assert browser.get(f"/reports/{name}.pdf", query_string=bad).status_code == 422

    not_honoured = next(
        (f for f in ("depot", "fault_level", "family", "plan") if f not in kind.filters), None
    )
    if not_honoured:
        value = {"depot": "SH", "fault_level": "C-1", "family": "fan", "plan": "1"}[not_honoured]
        refused = _api(demo_app, headers, name, **{not_honoured: value})
        assert refused.status_code == 422, refused.get_json()

    out = tmp_path / "report.pdf"
    option = next(iter(bad))
    flag = {"from": "--from", "depot": "--depot", "plan": "--plan"}[option]
    result = demo_app.test_cli_runner().invoke(
        args=["report", name, "--format", "pdf", "--out", str(out), flag, bad[option]]
    )
    assert result.exit_code == 2, result.output
    assert not out.exists()


@pytest.mark.parametrize("name", GENERIC)
def test_the_terminal_writes_every_format(demo_app, name, tmp_path):
    runner = demo_app.test_cli_runner()
    for fmt, suffix in (("pdf", "pdf"), ("xlsx", "xlsx"), ("csv", "zip"), ("json", "json")):
        out = tmp_path / f"report.{suffix}"
        result = runner.invoke(args=["report", name, "--format", fmt, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 0
    assert json.loads((tmp_path / "report.json").read_text())["report"] == name


def test_an_unknown_report_is_404(demo_app, headers, browser):
    assert browser.get("/reports/nothing").status_code == 404
    assert _api(demo_app, headers, "nothing").status_code in (404, 422)
