"""The service-levels report in the reader's language: the page, its errors and the
files downloaded from it come in Chinese for a Chinese reader (PDF words, XLSX sheet
names, headings and figure labels), while CSV and JSON keep their machine column
names, and the API and the command line stay English."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from core import clock
from core.pdf import fonts
from tests.reports.conftest import History
from tests.reports.test_report_render import pdf_text, poppler  # noqa: F401

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
PERIOD = {"start": "2026-03-02", "end": "2026-03-15"}


def _get(client, history: History, path: str, headers=None, **query):
    with clock.frozen(history.now):
        return client.get(path, query_string={**PERIOD, **query}, headers=headers or {})


def test_the_page_reads_in_chinese_with_chinese_names_first(client, login, history: History):
    login("planner")
    html = _get(client, history, "/reports/service-levels", CHINESE).get_data(as_text=True)
    assert '<html lang="zh-Hans-CN">' in html
    assert "<h1>服务水平</h1>" in html
    headings = ("各备件库的更换", "工程师考评", "逾期未返还的故障件（当前）", "发货数", "平均评分")
    for words in headings:
        assert words in html
    assert "哈尔滨 Harbin" in html  # the overdue return's city, Chinese first
    assert "Replacements by depot" not in html and "Avg rating" not in html
    assert 'data-testid="kpi-opened">5<' in html  # the figures are the same


def test_bad_dates_are_explained_in_chinese_and_in_english_to_the_api(
    client, login, auth_for, history: History
):
    login("supervisor")
    answer = _get(
        client, history, "/reports/service-levels", CHINESE, start="2026-03-15", end="2026-03-02"
    )
    assert answer.status_code == 422
    assert "开始日期 2026-03-15 晚于结束日期 2026-03-02" in answer.get_data(as_text=True)
    api = client.get(
        "/api/v1/reports/service-levels?start=2026-03-15&end=2026-03-02",
        headers={**auth_for("planner"), **CHINESE},
    )
    assert api.status_code == 422
    assert api.get_json()["error"] == "invalid"
    assert api.get_json()["detail"] == "start 2026-03-15 is after end 2026-03-02"


def test_the_spreadsheet_from_a_chinese_page_is_chinese(client, login, history: History):
    login("planner")
    answer = _get(client, history, "/reports/service-levels/download", CHINESE, format="xlsx")
    assert answer.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(answer.data))
    assert book.sheetnames[:3] == ["概要", "每周", "备件库"]
    engineers = book["工程师"]
    assert [cell.value for cell in engineers[1]][:4] == ["工程师", "名称", "新建工单", "结案"]
    labels = {row[0]: row[1] for row in book["概要"].iter_rows(min_row=2, values_only=True)}
    assert labels["opened"] == "新建 RMA"  # the key stays, the label is the reader's
    assert labels["period_start"] == "期间开始（Asia/Shanghai）"


def test_csv_keeps_machine_column_names_whatever_the_page_language(client, login, history: History):
    login("planner")
    chinese = _get(
        client, history, "/reports/service-levels/download", CHINESE, format="csv", table="depots"
    )
    english = _get(
        client, history, "/reports/service-levels/download", format="csv", table="depots"
    )
    header = next(csv.reader(io.StringIO(chinese.data.decode("utf-8-sig"))))
    assert header == next(csv.reader(io.StringIO(english.data.decode("utf-8-sig"))))
    assert header[:3] == ["depot", "depot_name", "city_zh"]


def test_the_api_answers_english_files_to_a_chinese_browser(auth_for, client, history: History):
    with clock.frozen(history.now):
        answer = client.get(
            "/api/v1/reports/service-levels",
            query_string={**PERIOD, "format": "xlsx"},
            headers={**auth_for("planner"), **CHINESE},
        )
    book = openpyxl.load_workbook(io.BytesIO(answer.data))
    assert book.sheetnames[:3] == ["Summary", "Weekly", "Depots"]


@pytest.mark.skipif(not fonts().cjk, reason="needs the Chinese font (fonts-wqy-microhei)")
def test_the_pdf_from_a_chinese_page_is_chinese_and_the_api_pdf_english(
    client,
    login,
    auth_for,
    history: History,
    poppler,  # noqa: F811  (the fixture, imported above)
    tmp_path,
):
    login("planner")
    chinese = _get(client, history, "/reports/service-levels/download", CHINESE, format="pdf")
    text = pdf_text(chinese.data, tmp_path)
    for words in ("服务水平报告", "主要指标", "统计口径", "各备件库的更换", "第 1 页"):
        assert words in text.replace("\u3000", " ")
    assert "Service levels report" not in text
    with clock.frozen(history.now):
        english = client.get(
            "/api/v1/reports/service-levels",
            query_string={**PERIOD, "format": "pdf"},
            headers={**auth_for("planner"), **CHINESE},
        )
    text = pdf_text(english.data, tmp_path)
    assert "Service levels report" in text and "How the numbers are counted" in text
    assert "服务水平报告" not in text
