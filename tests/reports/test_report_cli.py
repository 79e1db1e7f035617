"""`spares report service-levels`: writes the report file of a period; bad dates
and options exit 2 with one line and write nothing."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest

from core import clock
from tests.reports.conftest import History

PERIOD = ["--start", "2026-03-02", "--end", "2026-03-15"]


def run(app, history: History | None, *args: str):
    with clock.frozen(history.now if history else clock.now()):
        return app.test_cli_runner().invoke(args=["report", "service-levels", *args])


def test_writes_a_pdf(app, history: History, tmp_path):
    out = tmp_path / "report.pdf"
    result = run(app, history, *PERIOD, "--format", "pdf", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes().startswith(b"%PDF-")
    assert "written to" in result.stderr


def test_writes_xlsx_and_json(app, history: History, tmp_path):
    xlsx = tmp_path / "report.xlsx"
    assert run(app, history, *PERIOD, "--format", "xlsx", "--out", str(xlsx)).exit_code == 0
    assert "Engineers" in openpyxl.load_workbook(io.BytesIO(xlsx.read_bytes())).sheetnames
    result = run(app, history, *PERIOD, "--format", "json", "--out", "-")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["headline"]["opened"] == 5
    assert document["headline"]["average_rating"] == 3.5


def test_csv_writes_one_table_or_a_zip(app, history: History, tmp_path):
    table = tmp_path / "engineers.csv"
    result = run(
        app, history, *PERIOD, "--format", "csv", "--table", "engineers", "--out", str(table)
    )
    assert result.exit_code == 0
    assert table.read_text(encoding="utf-8-sig").startswith("engineer,")
    archive = tmp_path / "all.zip"
    assert run(app, history, *PERIOD, "--format", "csv", "--out", str(archive)).exit_code == 0
    assert archive.read_bytes().startswith(b"PK")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2026-02-30"], "not a date"),
        (["--start", "2026-03-10", "--end", "2026-03-01"], "after end"),
        (["--start", "2020-01-01", "--end", "2026-01-01"], "longer than two years"),
        (["--table", "engineers"], "--table applies to"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(app, tmp_path, args, message):
    folder = tmp_path / "out"
    folder.mkdir()
    result = run(app, None, *args, "--format", "pdf", "--out", str(folder / "report.pdf"))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert list(folder.iterdir()) == []


def test_a_zip_is_not_written_under_a_csv_name(app, tmp_path):
    result = run(app, None, "--format", "csv", "--out", str(tmp_path / "all.csv"))
    assert result.exit_code == 2 and "--table" in result.stderr
