"""GET /api/v1/reports/service-levels: who may read it, each format with its
content type and file name, and the refusals (422) for bad periods."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime

import openpyxl
import pytest

from core import clock
from reports.service.service_levels import TABLE_NAMES
from tests.conftest import bearer
from tests.reports.conftest import History

URL = "/api/v1/reports/service-levels"
PERIOD = {"start": "2026-03-02", "end": "2026-03-15"}
STEM = "spares-service-levels-2026-03-02_2026-03-15"


@pytest.fixture
def planner_headers(api_token) -> dict[str, str]:
    return bearer(api_token("planner"))


def get(client, headers, history: History | None = None, **query):
    moment = history.now if history else clock.now()
    with clock.frozen(moment):
        return client.get(URL, query_string=query, headers=headers)


@pytest.mark.parametrize("role", ["planner", "supervisor", "admin"])
def test_planners_supervisors_and_admins_read_the_report(client, api_token, role):
    answer = get(client, bearer(api_token(role)), **PERIOD)
    assert answer.status_code == 200, answer.get_json()
    assert answer.mimetype == "application/json"


@pytest.mark.parametrize("role", ["engineer", "depot_staff"])
def test_other_roles_are_refused(client, api_token, role):
    depot = "SH" if role == "depot_staff" else None
    answer = get(client, bearer(api_token(role, depot=depot)), **PERIOD)
    assert answer.status_code == 403
    assert answer.get_json()["error"] == "forbidden"


def test_without_a_token_it_is_401(client):
    assert client.get(URL).status_code == 401


def test_json_has_the_headline_and_all_tables(client, planner_headers, history: History):
    body = get(client, planner_headers, history, **PERIOD).get_json()
    assert body["period"]["start"] == "2026-03-02" and body["period"]["days"] == 14
    assert body["headline"]["opened"] == 5
    assert body["headline"]["replacement_met_pct"] == 66.7
    assert body["headline"]["escalations"] == {"C-1": 3, "C-2": 0, "C-3": 0}
    assert list(body["tables"]) == list(TABLE_NAMES)
    assert [e["name"] for e in body["tables"]["engineers"]] == ["Wang Wei", "Li Qiang"]
    only = get(client, planner_headers, history, table="engineers", **PERIOD).get_json()
    assert list(only["tables"]) == ["engineers"]


def test_pdf_is_an_attachment_named_after_the_period(client, planner_headers, history):
    answer = get(client, planner_headers, history, format="pdf", **PERIOD)
    assert answer.status_code == 200
    assert answer.mimetype == "application/pdf"
    assert answer.data.startswith(b"%PDF-")
    assert answer.headers["Content-Disposition"] == f'attachment; filename="{STEM}.pdf"'


def test_default_period_is_the_last_thirty_days(client, planner_headers):
    with clock.frozen(datetime(2026, 11, 26, 3, 0, tzinfo=UTC)):
        answer = client.get(URL, query_string={"format": "pdf"}, headers=planner_headers)
    assert answer.status_code == 200
    disposition = answer.headers["Content-Disposition"]
    assert 'filename="spares-service-levels-2026-10-27_2026-11-26.pdf"' in disposition


def test_xlsx_opens_with_the_report_sheets(client, planner_headers, history):
    answer = get(client, planner_headers, history, format="xlsx", **PERIOD)
    assert answer.status_code == 200
    assert answer.mimetype == ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert f'filename="{STEM}.xlsx"' in answer.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(answer.data))
    assert "Engineers" in book.sheetnames and "Stock" in book.sheetnames


def test_csv_of_one_table(client, planner_headers, history):
    answer = get(client, planner_headers, history, format="csv", table="depots", **PERIOD)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="{STEM}-depots.csv"' in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.data.decode("utf-8-sig"))))
    assert [r["depot"] for r in rows] == ["BJ", "CD", "GZ", "JN", "SH", "SY", "WH", "XA"]


def test_csv_without_a_table_is_a_zip_of_all(client, planner_headers, history):
    answer = get(client, planner_headers, history, format="csv", **PERIOD)
    assert answer.status_code == 200
    assert answer.mimetype == "application/zip"
    assert f'filename="{STEM}.zip"' in answer.headers["Content-Disposition"]
    assert len(zipfile.ZipFile(io.BytesIO(answer.data)).namelist()) == len(TABLE_NAMES)


def test_an_empty_period_answers_zeros(client, planner_headers):
    body = get(client, planner_headers, start="2025-01-01", end="2025-01-31").get_json()
    assert body["headline"]["opened"] == 0
    assert body["headline"]["replacement_met_pct"] is None
    assert body["tables"]["engineers"] == []


@pytest.mark.parametrize(
    "query",
    [
        {"start": "2026-02-30"},
        {"start": "not-a-date"},
        {"end": "20260301"},
        {"start": "2026-03-10", "end": "2026-03-01"},
        {"start": "2024-01-01", "end": "2026-03-01"},
        {"start": "1999-01-01", "end": "1999-01-31"},
        {"format": "docx"},
        {"table": "people"},
        {"format": "pdf", "table": "engineers"},
    ],
)
def test_bad_queries_are_422(client, planner_headers, query):
    answer = get(client, planner_headers, **query)
    assert answer.status_code == 422, answer.data[:200]
    body = answer.get_json()
    assert body["error"] == "invalid" and body["detail"]


def test_the_route_is_documented_with_its_formats(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/reports/service-levels"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"start", "end", "format", "table"}
    content = operation["responses"]["200"]["content"]
    assert {"application/json", "application/pdf", "text/csv", "application/zip"} <= set(content)
    assert "403" in operation["responses"] and "422" in operation["responses"]
