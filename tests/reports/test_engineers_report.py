"""The engineers' report on the hand-built history of ``conftest.py`` (the figures
worked out by hand next to each assertion), through the service, the API, the
page, the command line and the files; and on the demo data set, where the
months of each engineer must add up to their row of the period.

The history over 2026-03-02..15 (Asia/Shanghai), by engineer:

* Wang Wei (eng-wang): opened A and B in the period (Z on 02-27, before it);
  closed Z (repair back on time, rating 3), A (on time, 5) and B (30 h, late, 2).
* Li Qiang (eng-li): opened C, D and E; closed C (repair back on time, rating 4,
  no remark); D (C-1, Beijing) escalated to steps 1-3 on 03-11; E cancelled.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from markupsafe import escape
from sqlalchemy import update

from core import clock
from core.db import UnitOfWork
from core.errors import Invalid
from reports.files import render
from reports.kinds.engineers import KIND
from reports.service.engineers_report import TABLE_NAMES, engineers_report, months_of
from reports.service.filters import Filters
from reports.service.period import Period
from rma.models import Rma
from tests.reports.conftest import History
from tests.reports.test_report_render import (  # noqa: F401  (poppler is a fixture)
    assert_not_blank,
    pdf_pages,
    pdf_text,
    poppler,
)

API = "/api/v1/reports/engineers"
PAGE = "/reports/engineers"
PERIOD = {"from": "2026-03-02", "to": "2026-03-15"}
STEM = "spares-engineers-2026-03-02_2026-03-15"
CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
FORMULA = '=HYPERLINK("http://evil.example","click me")'


def build(engine, history: History, **given: Any) -> Any:
    uow = UnitOfWork(engine)
    with clock.frozen(history.now):
        filters = Filters.parse(
            uow,
            start=given.pop("start", "2026-03-02"),
            end=given.pop("end", "2026-03-15"),
            applies=KIND.filters,
            **given,
        )
        return engineers_report(uow, filters)


def rows(report: Any, table: str) -> dict[str, dict[str, Any]]:
    return {row["engineer"]: row for row in report.tables[table].to_dict("records")}


def figures(report: Any) -> dict[str, Any]:
    return {figure.key: figure.value for figure in report.figures}


# --- the figures, by hand ----------------------------------------------------------------------


def test_engineers_of_the_period(engine, history: History):
    report = build(engine, history)
    assert list(report.tables) == list(TABLE_NAMES)
    engineers = report.tables["engineers"]
    assert list(engineers["engineer"]) == ["eng-wang", "eng-li"]  # the most closed first
    wang, li = rows(report, "engineers")["eng-wang"], rows(report, "engineers")["eng-li"]
    assert wang["name"] == "Wang Wei" and li["name"] == "Li Qiang"
    # Wang: opened A, B; closed Z, A, B; judged all three, met Z and A: 2/3.
    assert (wang["cases"], wang["closed"]) == (2, 3)
    assert (wang["promise_judged"], wang["promise_met"], wang["on_time_pct"]) == (3, 2, 66.7)
    # Ratings 3, 5, 2: (3 + 5 + 2) / 3 = 3.33.
    assert (wang["ratings"], wang["average_rating"]) == (3, 3.33)
    assert wang["escalations"] == 0
    # Li: opened C, D, E; closed C only, on time, rated 4; D escalated to steps 1, 2, 3.
    assert (li["cases"], li["closed"], li["promise_judged"], li["promise_met"]) == (3, 1, 1, 1)
    assert (li["on_time_pct"], li["ratings"], li["average_rating"]) == (100.0, 1, 4.0)
    assert (li["escalations"], li["at_risk"], li["step_1"], li["step_2"], li["step_3"]) == (
        3,
        0,
        1,
        1,
        1,
    )


def test_headline_adds_up_the_tables(engine, history: History):
    report = build(engine, history)
    # Two engineers; 2 + 3 cases opened; (2 + 1) met of (3 + 1) judged = 75 %;
    # ratings 3, 5, 2, 4 average 3.5; three escalations, all on D.
    assert figures(report) == {
        "engineers": 2,
        "cases": 5,
        "on_time_pct": 75.0,
        "average_rating": 3.5,
        "escalations": 3,
    }
    shown = {figure.key: figure.shown for figure in report.figures}
    assert shown["on_time_pct"] == "75.0%" and shown["average_rating"] == "3.50"


def test_signed_records_list_every_closed_case_newest_first(engine, history: History):
    remarks = build(engine, history).tables["remarks"]
    cases = history.cases
    # B closed 03-06 11:00; A and C both 03-05 10:00 (by RMA number); Z 03-03 10:00.
    assert list(remarks["rma"]) == [cases[key].number for key in ("B", "A", "C", "Z")]
    assert list(remarks["rating"]) == [2, 5, 4, 3]
    assert list(remarks["signed_by"]) == ["Mr. Sun", "Mr. Zhao", "Ms. Wu", "Ms. Chen"]
    assert list(remarks["remarks"]) == [
        "Replacement came a day late",
        "Fast and friendly",
        "",
        "Repaired well",
    ]
    assert str(remarks["closed_at"].iloc[0]) == "2026-03-06 11:00:00+08:00"


def test_escalations_list_each_rung_on_the_engineers_cases(engine, history: History):
    escalations = build(engine, history).tables["escalations"]
    d = history.cases["D"].number
    assert escalations[
        ["engineer", "name", "rma", "fault_level", "depot"]
    ].drop_duplicates().to_dict("records") == [
        {"engineer": "eng-li", "name": "Li Qiang", "rma": d, "fault_level": "C-1", "depot": "BJ"}
    ]
    assert list(escalations["step"]) == [1, 2, 3]
    assert all(str(at).startswith("2026-03-11") for at in escalations["raised_at"])


def test_months_split_the_period_and_add_up_to_it(engine, history: History):
    # From 02-20: Z (opened Fri 02-27) counts in February, everything else in March.
    report = build(engine, history, start="2026-02-20")
    monthly = report.tables["monthly"]
    wang = monthly[monthly["engineer"] == "eng-wang"].set_index("month_start")
    assert list(wang.index) == [date(2026, 2, 1), date(2026, 3, 1)]
    assert (wang.loc[date(2026, 2, 1), "cases"], wang.loc[date(2026, 2, 1), "closed"]) == (1, 0)
    assert (wang.loc[date(2026, 3, 1), "cases"], wang.loc[date(2026, 3, 1), "closed"]) == (2, 3)
    period = report.tables["engineers"].set_index("engineer")
    sums = monthly.groupby("engineer")[["cases", "closed", "ratings", "escalations"]].sum()
    for column in sums.columns:
        assert sums[column].to_dict() == period.loc[sums.index, column].to_dict()


def test_months_of_a_period_are_cut_to_it():
    months = months_of(Period(date(2026, 1, 20), date(2026, 3, 5)))
    assert [(m.start, m.end) for m in months] == [
        (date(2026, 1, 20), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 5)),
    ]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # Beijing ships only D: Li's case, not closed, three escalations.
        ({"depot": "BJ"}, {"eng-li": (1, 0, 3)}),
        # C-1: D again.
        ({"fault_level": "C-1"}, {"eng-li": (1, 0, 3)}),
        # C-3: Z, B (Wang; Z opened before the period), C, E (Li).
        ({"fault_level": "C-3"}, {"eng-wang": (1, 2, 0), "eng-li": (2, 1, 0)}),
        # Every part of the history is an optic; none is a cable.
        ({"family": "optic"}, {"eng-wang": (2, 3, 0), "eng-li": (3, 1, 3)}),
        ({"family": "cable"}, {}),
    ],
)
def test_filters_pick_the_cases_and_their_escalations(
    engine, history: History, given: dict[str, str], expected: dict[str, tuple[int, int, int]]
):
    report = build(engine, history, **given)
    found = {
        person: (row["cases"], row["closed"], row["escalations"])
        for person, row in rows(report, "engineers").items()
    }
    assert found == expected
    assert len(report.tables["escalations"]) == sum(e for _, _, e in expected.values())


def test_a_depot_takes_the_repairs_it_receives(engine, history: History):
    # Shanghai ships A, B (and held E) and receives the repairs Z and C.
    report = build(engine, history, depot="SH")
    assert set(report.tables["remarks"]["rma"]) == {
        history.cases[key].number for key in ("Z", "A", "B", "C")
    }
    assert report.tables["escalations"].empty


def test_an_empty_period_has_no_rows_and_no_figures(engine, history: History):
    report = build(engine, history, start="2025-01-01", end="2025-01-31")
    assert all(frame.empty for frame in report.tables.values())
    assert figures(report) == {
        "engineers": 0,
        "cases": 0,
        "on_time_pct": None,
        "average_rating": None,
        "escalations": 0,
    }


def test_the_queries_read_every_database(any_engine):
    # The cases with their parts' families and the escalations with their cases: one
    # query each, on SQLite and PostgreSQL alike; nothing yet, so nothing to count.
    uow = UnitOfWork(any_engine)
    filters = Filters.parse(
        uow, start="2026-03-01", end="2026-03-31", depot="SH", family="optic", applies=KIND.filters
    )
    report = engineers_report(uow, filters)
    assert all(frame.empty for frame in report.tables.values())
    assert figures(report)["engineers"] == 0


# --- the surfaces ------------------------------------------------------------------------------


def get(client, history: History, path: str, headers: dict[str, str] | None = None, **query):
    with clock.frozen(history.now):
        return client.get(path, query_string={**PERIOD, **query}, headers=headers or {})


def test_json_csv_and_xlsx_agree(client, auth_for, history: History):
    headers = auth_for("planner")
    body = get(client, history, API, headers).get_json()
    assert body["headline"]["on_time_pct"] == 75.0
    answer = get(client, history, API, headers, format="csv")
    assert answer.mimetype == "application/zip"
    assert answer.headers["Content-Disposition"] == f'attachment; filename="{STEM}.zip"'
    archive = zipfile.ZipFile(io.BytesIO(answer.data))
    book = openpyxl.load_workbook(
        io.BytesIO(get(client, history, API, headers, format="xlsx").data)
    )
    assert book.sheetnames == list(TABLE_NAMES)
    for name in TABLE_NAMES:
        records = body["tables"][name]
        text = archive.read(f"{STEM}-{name}.csv").decode("utf-8-sig")
        from_csv = list(csv.DictReader(io.StringIO(text)))
        sheet = list(book[name].iter_rows(values_only=True))
        assert len(from_csv) == len(records) == len(sheet) - 1, name
        for record, line, cells in zip(records, from_csv, sheet[1:], strict=True):
            for (key, value), cell in zip(record.items(), cells, strict=True):
                if value is None:
                    assert line[key] == "" and cell in (None, ""), (name, key)
                elif isinstance(value, int | float):
                    assert float(line[key]) == value == float(cell), (name, key)
                elif key.endswith("_at"):
                    assert line[key] == value
                    assert cell.isoformat(timespec="seconds") == value[:19], (name, key)
                elif key == "month_start":
                    assert line[key] == value == cell.date().isoformat()
                else:
                    assert line[key] == value == (cell or ""), (name, key)


def test_one_table_as_csv_or_json(client, auth_for, history: History):
    headers = auth_for("planner")
    answer = get(client, history, API, headers, format="csv", table="escalations")
    assert answer.headers["Content-Disposition"] == (
        f'attachment; filename="{STEM}-escalations.csv"'
    )
    lines = answer.data.decode("utf-8-sig").splitlines()
    assert lines[0] == "engineer,name,rma,fault_level,depot,step,raised_at"
    assert len(lines) == 4 and lines[1].endswith(",1,2026-03-11T10:00:00+08:00")
    only = get(client, history, API, headers, table="remarks").get_json()
    assert list(only["tables"]) == ["remarks"]


def test_customers_remarks_never_become_formulas(engine, client, auth_for, history: History):
    uow = UnitOfWork(engine)
    with uow.transaction() as session:  # a customer typed a formula into the record
        session.execute(
            update(Rma).where(Rma.number == history.cases["A"].number).values(remarks=FORMULA)
        )
    headers = auth_for("planner")
    text = get(client, history, API, headers, format="csv", table="remarks").data.decode(
        "utf-8-sig"
    )
    by_rma = {row["rma"]: row for row in csv.DictReader(io.StringIO(text))}
    assert by_rma[history.cases["A"].number]["remarks"] == "'" + FORMULA
    book = openpyxl.load_workbook(
        io.BytesIO(get(client, history, API, headers, format="xlsx").data)
    )
    sheet = book["remarks"]
    header = [cell.value for cell in sheet[1]]
    cells = [row[header.index("Remarks")] for row in sheet.iter_rows(min_row=2)]
    formula_cell = next(cell for cell in cells if cell.value == FORMULA)
    assert formula_cell.data_type == "s"  # text, not a formula
    assert get(client, history, API, headers).get_json()["tables"]["remarks"][1]["remarks"] == (
        FORMULA
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"depot": "XX"}, "depot"),
        ({"fault_level": "C-9"}, "fault_level"),
        ({"family": "teapot"}, "family"),
        ({"plan": "3"}, "plan"),
        ({"from": "2026-03-15", "to": "2026-03-02"}, "from"),
        ({"table": "nothing"}, "table"),
    ],
)
def test_bad_filters_are_refused(client, auth_for, history: History, query, field):
    answer = get(client, history, API, auth_for("planner"), **query)
    assert answer.status_code == 422
    assert [problem["field"] for problem in answer.get_json()["fields"]] == [field]


@pytest.mark.parametrize(
    ("query", "english", "chinese"),
    [
        (
            {"depot": " xx "},
            "depot 'XX' is not one of BJ, CD, GZ, JN, SH, SY, WH, XA",
            "仓库 'XX' 不在以下仓库中：BJ, CD, GZ, JN, SH, SY, WH, XA",
        ),
        (
            {"fault_level": "c-9"},
            "fault level 'C-9' is not one of C-1, C-2, C-3",
            "故障级别 'C-9' 不在以下级别中：C-1, C-2, C-3",
        ),
        (
            {"family": "Teapot"},
            "part family 'teapot' is not one of chassis, line_card, supervisor, power, fan, "
            "optic, cable, module",
            "备件类别 'teapot' 不在以下类别中：chassis, line_card, supervisor, power, fan, "
            "optic, cable, module",
        ),
    ],
)
def test_an_unknown_value_is_refused_naming_it_and_the_known_ones(
    engine, client, login, history: History, query, english, chinese
):
    with pytest.raises(Invalid) as refused:
        build(engine, history, **query)
    assert str(refused.value) == english
    assert [problem.field for problem in refused.value.fields] == list(query)
    login("planner")
    page = get(client, history, PAGE, CHINESE, **query)
    assert page.status_code == 422
    assert str(escape(chinese)) in page.get_data(as_text=True)


def test_the_page_shows_figures_charts_names_and_tables(client, login, history: History):
    login("planner")
    answer = get(client, history, PAGE, depot="BJ")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert 'data-testid="kpi-escalations">3<' in html
    assert html.count('<svg class="chart"') == 3
    for table in TABLE_NAMES:
        assert f'data-testid="table-{table}"' in html
    assert "Li Qiang" in html and "Wang Wei" not in html  # Beijing: Li's case only
    assert f"/reports/engineers.pdf?from={PERIOD['from']}" in html and "depot=BJ" in html


def test_the_page_reads_in_chinese(client, login, history: History):
    login("supervisor")
    html = get(client, history, PAGE, CHINESE).get_data(as_text=True)
    assert '<html lang="zh-Hans-CN">' in html
    for words in ("工程师", "按时", "平均评分", "升级", "已签署的服务记录", "按月"):
        assert words in html, words
    for english in ("Engineers by month", "Signed service records", "Average rating"):
        assert english not in html, english
    assert "Wang Wei" in html  # names are data


@pytest.mark.usefixtures("poppler")
def test_the_downloads_read_in_chinese(client, login, history: History, tmp_path: Path):
    login("planner")
    pdf = get(client, history, "/reports/engineers.pdf", CHINESE).data
    text = pdf_text(pdf, tmp_path)
    for words in ("工程师考评", "工程师按月统计", "已签署的服务记录", "按工程师统计的客户平均评分"):
        assert words in text, words
    book = openpyxl.load_workbook(
        io.BytesIO(get(client, history, "/reports/engineers.xlsx", CHINESE).data)
    )
    assert [cell.value for cell in book["engineers"][1]][:3] == ["工程师", "名称", "新建工单"]


def test_bad_filters_on_the_page_show_the_form_again(client, login, history: History):
    login("planner")
    answer = get(client, history, PAGE, family="teapot")
    assert answer.status_code == 422
    assert 'data-testid="form-error"' in answer.get_data(as_text=True)


def test_the_command_line_writes_each_format(app, history: History, tmp_path: Path):
    def run(*args: str):
        with clock.frozen(history.now):
            return app.test_cli_runner().invoke(
                args=["report", "engineers", "--from", "2026-03-02", "--to", "2026-03-15", *args]
            )

    out = tmp_path / "engineers.json"
    assert run("--format", "json", "--out", str(out)).exit_code == 0
    assert json.loads(out.read_text())["headline"]["average_rating"] == 3.5
    pdf = tmp_path / "engineers.pdf"
    assert run("--format", "pdf", "--out", str(pdf), "--depot", "BJ").exit_code == 0
    assert pdf.read_bytes().startswith(b"%PDF-")
    folder = tmp_path / "bad"
    folder.mkdir()
    result = run("--format", "pdf", "--out", str(folder / "x.pdf"), "--family", "teapot")
    assert result.exit_code == 2 and "teapot" in result.stderr
    assert list(folder.iterdir()) == []


# --- the PDF -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("poppler")
def test_pdf_has_a_cover_sections_names_and_pages_that_are_not_blank(
    engine, history: History, tmp_path: Path
):
    report = build(engine, history)
    pdf = render(KIND, report, "pdf", generated_by="planner-1").content
    text = pdf_text(pdf, tmp_path)
    cover = text.split("\f")[0]
    assert "Engineers" in cover and "2026-03-02 to 2026-03-15" in cover
    assert "2026-03-20 12:00" in cover and "planner-1" in cover  # generated, by whom
    assert "75.0%" in cover and "3.50" in cover
    for heading in (
        "Engineers' evaluations",
        "Engineers by month",
        "Signed service records",
        "Escalations on the engineers' cases",
        "Closed cases on time, by engineer",
        "How the numbers are counted",
    ):
        assert heading in text, heading
    assert "Wang Wei" in text and "Li Qiang" in text
    assert "Replacement came a day late" in text and "66.7%" in text
    pages = text.count("\f") or 1
    assert f"Page {pages} of {pages}" in text
    for page in pdf_pages(pdf, tmp_path):
        assert_not_blank(page)


@pytest.mark.usefixtures("poppler")
def test_an_empty_pdf_still_renders(engine, history: History, tmp_path: Path):
    report = build(engine, history, family="cable")
    pdf = render(KIND, report, "pdf").content
    text = pdf_text(pdf, tmp_path)
    assert "Nothing with these filters in this period." in text
    assert "no closed case could be judged in this period" in text
    for page in pdf_pages(pdf, tmp_path):
        assert_not_blank(page)


# --- the demo data -----------------------------------------------------------------------------


@pytest.mark.usefixtures("poppler")
def test_the_demo_renders_in_every_format_and_its_months_add_up(demo: Any, tmp_path: Path):
    uow = UnitOfWork(demo)
    today = clock.local(clock.now()).date()
    filters = Filters.parse(
        uow, start=today.replace(day=1, month=1 if today.month > 6 else 7), applies=KIND.filters
    )
    report = engineers_report(uow, filters)
    engineers = report.tables["engineers"]
    assert len(engineers) >= 2 and int(engineers["closed"].sum()) > 0
    assert all(engineers["name"] != engineers["engineer"])  # full names, not usernames
    sums = report.tables["monthly"].groupby("engineer")[["cases", "closed", "escalations"]].sum()
    period = engineers.set_index("engineer").loc[sums.index, sums.columns]
    pd.testing.assert_frame_equal(sums, period, check_dtype=False, check_index_type=False)
    assert int(engineers["ratings"].sum()) == int(report.tables["remarks"]["rating"].notna().sum())
    for fmt in ("json", "csv", "xlsx", "pdf"):
        assert render(KIND, report, fmt).content
    for page in pdf_pages(render(KIND, report, "pdf").content, tmp_path):
        assert_not_blank(page)
