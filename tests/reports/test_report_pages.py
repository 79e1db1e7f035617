"""The /reports page: planners and supervisors see the period's headline, charts
and tables and can download the same report; bad dates show the form again."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from core import clock
from tests.reports.conftest import History

PERIOD = {"start": "2026-03-02", "end": "2026-03-15"}
STEM = "spares-service-levels-2026-03-02_2026-03-15"


def page(client, history: History | None = None, path: str = "/reports/service-levels", **query):
    with clock.frozen(history.now if history else clock.now()):
        return client.get(path, query_string=query)


@pytest.mark.parametrize("role", ["planner", "supervisor"])
def test_report_is_in_the_navigation_of_planners_and_supervisors(client, login, role):
    login(role)
    html = page(client).get_data(as_text=True)
    assert '<a href="/reports" aria-current="page">Reports</a>' in html


def test_engineers_may_not_read_it(client, login):
    login("engineer")
    assert page(client).status_code == 403
    assert 'href="/reports"' not in client.get("/").get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_sign_in(client):
    answer = client.get("/reports")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_page_shows_headline_charts_and_tables(client, login, history: History):
    login("planner")
    answer = page(client, history, **PERIOD)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert 'data-testid="kpi-opened">5<' in html
    assert 'data-testid="kpi-replacement">66.7%<' in html
    assert 'data-testid="kpi-overdue">1<' in html
    assert html.count('<svg class="chart"') == 4
    for table in ("depots", "engineers", "remarks", "stock", "shortages", "overdue"):
        assert f'data-testid="table-{table}"' in html
    assert "Wang Wei" in html and "Li Qiang" in html
    assert "Replacement came a day late" in html
    assert "哈尔滨" in html and history.cases["D"].number in html
    assert f"/reports/service-levels/download?format=pdf&amp;start={PERIOD['start']}" in html


def test_bad_dates_show_the_form_again_with_the_error(client, login):
    login("supervisor")
    answer = page(client, start="2026-03-10", end="2026-03-01")
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert 'data-testid="form-error"' in html and "after end" in html
    assert 'data-testid="headline"' not in html
    assert 'value="2026-03-10"' in html  # what was typed is kept


def test_downloads_give_the_same_report_as_files(client, login, history: History):
    login("planner")
    path = "/reports/service-levels/download"
    pdf = page(client, history, path, format="pdf", **PERIOD)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert pdf.headers["Content-Disposition"] == f'attachment; filename="{STEM}.pdf"'
    xlsx = page(client, history, path, format="xlsx", **PERIOD)
    assert openpyxl.load_workbook(io.BytesIO(xlsx.data)).sheetnames[0] == "Summary"
    archive = page(client, history, path, format="csv", **PERIOD)
    assert archive.mimetype == "application/zip"
    assert len(zipfile.ZipFile(io.BytesIO(archive.data)).namelist()) == 11
    one = page(client, history, path, format="csv", table="engineers", **PERIOD)
    assert one.data.decode("utf-8-sig").startswith("engineer,name,cases,closed")
    assert f'filename="{STEM}-engineers.csv"' in one.headers["Content-Disposition"]


@pytest.mark.parametrize(
    "query",
    [{"format": "docx"}, {"format": "csv", "table": "people"}, {"start": "2026-13-01"}],
)
def test_bad_download_requests_are_422(client, login, query):
    login("planner")
    answer = page(client, path="/reports/service-levels/download", **query)
    assert answer.status_code == 422


def test_engineers_may_not_download(client, login):
    login("engineer")
    answer = page(client, path="/reports/service-levels/download", format="pdf")
    assert answer.status_code == 403
