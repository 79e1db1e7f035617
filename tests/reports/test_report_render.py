"""The report as files: a real PDF (title page, engineers' names, Chinese city
names, pages that are not blank), an XLSX with one sheet per table, CSV that
parses (one table, or a ZIP of all), JSON records; an empty period renders too."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import zipfile
from dataclasses import replace
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from PIL import Image, ImageStat

from core.db import UnitOfWork
from reports import render
from reports.render import sheet_names
from reports.service.period import Period
from reports.service.service_levels import TABLE_NAMES, ServiceLevels, service_levels
from tests.reports.conftest import History

ENSURE_TOOLS = Path(__file__).resolve().parents[2] / "tools" / "ensure-chromium.sh"


@pytest.fixture(scope="module")
def poppler() -> None:
    """pdftoppm/pdftotext (poppler-utils), installed on first use when missing."""
    if shutil.which("pdftoppm") is None:
        subprocess.run(["sh", str(ENSURE_TOOLS)], capture_output=True, check=False)
    if shutil.which("pdftoppm") is None:
        pytest.fail("these tests need poppler-utils (pdftoppm); run tools/ensure-chromium.sh")


@pytest.fixture
def report(engine, history: History) -> ServiceLevels:
    return service_levels(UnitOfWork(engine), history.period, now=history.now)


@pytest.fixture
def empty_report(engine) -> ServiceLevels:
    return service_levels(UnitOfWork(engine), Period(date(2025, 1, 1), date(2025, 1, 31)))


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def pdf_pages(pdf: bytes, tmp_path: Path) -> list[Image.Image]:
    path = tmp_path / "pages.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "page")], check=True)
    return [Image.open(p).convert("L") for p in sorted(tmp_path.glob("page-*.png"))]


def assert_not_blank(page: Image.Image) -> None:
    # A blank page is one flat colour; printed text and tables spread the grey levels.
    assert ImageStat.Stat(page).stddev[0] > 5, "blank page"


def test_pdf_has_a_title_page_sections_and_every_engineer(
    report: ServiceLevels, history: History, poppler, tmp_path
):
    pdf = render.to_pdf(report, generated_by="planner-1")
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    text = pdf_text(pdf, tmp_path)
    first_page = text.split("\f")[0]
    assert "Service levels report" in first_page
    assert "2026-03-02 to 2026-03-15" in first_page and "14 days" in first_page
    assert "2026-03-20 12:00" in first_page  # generated (Asia/Shanghai)
    assert "planner-1" in first_page
    for heading in (
        "Headline",
        "Replacements by depot",
        "By fault level and kind",
        "Engineers' evaluations",
        "Stock health",
        "Overdue defective returns",
    ):
        assert heading in text
    assert "Wang Wei" in text and "Li Qiang" in text
    assert "Replacement came a day late" in text
    assert history.cases["D"].number in text
    assert "哈尔滨" in text  # the overdue unit's city, in Chinese
    assert "66.7%" in text  # the 24-hour promise
    pages = text.count("\f") or 1
    assert f"Page {pages} of {pages}" in text


def test_pdf_pages_render_and_are_not_blank(report: ServiceLevels, poppler, tmp_path):
    pages = pdf_pages(render.to_pdf(report), tmp_path)
    assert len(pages) >= 4
    for page in pages:
        width, height = page.size
        assert height > width  # A4 portrait
        assert_not_blank(page)


def test_an_empty_period_still_renders_a_whole_pdf(empty_report: ServiceLevels, poppler, tmp_path):
    pdf = render.to_pdf(empty_report)
    text = pdf_text(pdf, tmp_path)
    assert "No engineer opened or closed a case in this period." in text
    assert "no replacements delivered in this period" in text
    for page in pdf_pages(pdf, tmp_path):
        assert_not_blank(page)


def test_xlsx_has_one_sheet_per_table_with_a_bold_frozen_header(report: ServiceLevels):
    book = openpyxl.load_workbook(io.BytesIO(render.to_xlsx(report)))
    assert book.sheetnames == [sheet_names()[name] for name in TABLE_NAMES]
    engineers = book["Engineers"]
    header = [cell.value for cell in engineers[1]]
    assert header[:4] == ["Engineer", "Name", "Cases opened", "Closed"]
    assert all(cell.font.b for cell in engineers[1])
    assert engineers.freeze_panes == "A2"
    rows = {row[0]: row for row in engineers.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"eng-wang", "eng-li"}
    assert rows["eng-wang"][header.index("Average rating")] == 3.33
    summary = {row[0]: row[2] for row in book["Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["opened"] == 5 and summary["replacement_met_pct"] == 66.7
    overdue = book["Overdue returns"]
    due = next(overdue.iter_rows(min_row=2, values_only=True))[9]
    assert due.isoformat() == "2026-03-18T10:00:00"  # Shanghai wall-clock time


def test_csv_table_parses_with_keys_as_header(report: ServiceLevels):
    content = render.csv_table(report, "engineers")
    assert content.startswith("\ufeff".encode())  # BOM: Excel reads the UTF-8
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert [r["engineer"] for r in rows] == ["eng-wang", "eng-li"]
    assert rows[0]["average_rating"] == "3.33" and rows[0]["rating_5"] == "1"
    overdue = list(
        csv.DictReader(io.StringIO(render.csv_table(report, "overdue_returns").decode("utf-8-sig")))
    )
    assert overdue[0]["due"] == "2026-03-18T10:00:00+08:00"
    assert overdue[0]["city_zh"] == "哈尔滨"
    depots = list(
        csv.DictReader(io.StringIO(render.csv_table(report, "depots").decode("utf-8-sig")))
    )
    assert next(d for d in depots if d["depot"] == "CD")["met_pct"] == ""  # n/a


def test_csv_zip_holds_every_table(report: ServiceLevels):
    archive = zipfile.ZipFile(io.BytesIO(render.csv_zip(report)))
    names = archive.namelist()
    assert names == [
        f"spares-service-levels-2026-03-02_2026-03-15-{table}.csv" for table in TABLE_NAMES
    ]
    for name in names:
        reader = csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig")))
        assert next(reader)  # a header row at least


def test_json_has_the_headline_and_records(report: ServiceLevels):
    document = json.loads(render.render(report, "json").content)
    assert document["period"] == {
        "start": "2026-03-02",
        "end": "2026-03-15",
        "days": 14,
        "time_zone": "Asia/Shanghai",
    }
    assert document["generated_at"] == "2026-03-20T12:00:00+08:00"
    assert document["headline"]["replacement_met_pct"] == 66.7
    assert set(document["tables"]) == set(TABLE_NAMES)
    cd = next(d for d in document["tables"]["depots"] if d["depot"] == "CD")
    assert cd["met_pct"] is None  # n/a, never NaN
    one = json.loads(render.render(report, "json", "ratings").content)
    assert list(one["tables"]) == ["ratings"]


def test_file_names_carry_the_period(report: ServiceLevels):
    stem = "spares-service-levels-2026-03-02_2026-03-15"
    assert render.render(report, "pdf").filename == f"{stem}.pdf"
    assert render.render(report, "xlsx").filename.endswith("2026-03-15.xlsx")
    assert render.render(report, "csv").filename.endswith("2026-03-15.zip")
    single = render.render(report, "csv", "engineers")
    assert single.filename == "spares-service-levels-2026-03-02_2026-03-15-engineers.csv"
    assert single.media_type.startswith("text/csv")


def test_remarks_that_look_like_formulas_stay_text(report: ServiceLevels):
    remarks = report.tables["remarks"].copy()
    remarks.loc[0, "remarks"] = '=HYPERLINK("http://evil.example","click")'
    tampered = replace(report, tables={**report.tables, "remarks": remarks})
    sheet = openpyxl.load_workbook(io.BytesIO(render.to_xlsx(tampered)))["Remarks"]
    cell = sheet.cell(row=2, column=7)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    rows = list(
        csv.DictReader(io.StringIO(render.csv_table(tampered, "remarks").decode("utf-8-sig")))
    )
    assert rows[0]["remarks"] == "'" + '=HYPERLINK("http://evil.example","click")'
