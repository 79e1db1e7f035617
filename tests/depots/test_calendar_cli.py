"""`spares calendar ...`: import, export, hours and due, with their exit codes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from core.db import UnitOfWork
from depots.service import calendars
from tests.depots.test_calendar_data import expected_rows


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=["calendar", *args])


def test_list_shows_both_calendars(app) -> None:
    result = run(app, "list")
    assert result.exit_code == 0
    assert "5x8" in result.output and "7x24" in result.output
    assert "33 holidays, 6 make-up days" in result.output


def test_export_prints_the_2026_days_as_csv(app) -> None:
    result = run(app, "export", "--calendar", "5x8", "--year", "2026")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "calendar,day,kind,name"
    assert [tuple(line.split(",", 3)) for line in lines[1:]] == expected_rows()


def test_export_to_a_file(app, tmp_path: Path) -> None:
    out = tmp_path / "days.csv"
    result = run(app, "export", "--out", str(out))
    assert result.exit_code == 0
    assert len(out.read_text().splitlines()) == 40


def test_export_of_an_unknown_calendar_exits_3(app) -> None:
    result = run(app, "export", "--calendar", "9x9")
    assert result.exit_code == 3
    assert "unknown calendar" in result.output


def test_import_adds_the_days_of_a_file(app, engine, tmp_path: Path) -> None:
    path = tmp_path / "2027.csv"
    path.write_text(
        "calendar,day,kind,name\n5x8,2027-01-01,holiday,New Year's Day\n"
        "5x8,2027-01-02,holiday,New Year's Day\n"
    )
    result = run(app, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "2 days added" in result.output
    days = calendars.list_days(UnitOfWork(engine), "5x8", 2027)
    assert [(d.day, d.updated_by) for d in days] == [
        (date(2027, 1, 1), "cli"),
        (date(2027, 1, 2), "cli"),
    ]


def test_import_of_a_bad_file_lists_every_line_exits_2_and_imports_nothing(
    app, engine, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "calendar,day,kind,name\n5x8,2027-01-01,holiday,ok\n5x8,2027-13-01,holiday,x\n"
        "5x8,2027-01-04,workday,x\n"
    )
    result = run(app, "import", str(path))
    assert result.exit_code == 2
    assert "bad.csv: line 3, day:" in result.output
    assert "bad.csv: line 4, kind:" in result.output
    assert "nothing imported" in result.output
    assert calendars.list_days(UnitOfWork(engine), "5x8", 2027) == []


def test_import_as_a_named_admin_records_them(app, engine, make_user, tmp_path: Path) -> None:
    admin = make_user("admin")
    path = tmp_path / "one.csv"
    path.write_text("calendar,day,kind,name\n5x8,2027-01-01,holiday,x\n")
    assert run(app, "import", str(path), "--as", admin.username).exit_code == 0
    assert calendars.list_days(UnitOfWork(engine), "5x8", 2027)[0].updated_by == admin.username


def test_import_as_a_planner_exits_5(app, make_user, tmp_path: Path) -> None:
    planner = make_user("planner")
    path = tmp_path / "one.csv"
    path.write_text("calendar,day,kind,name\n5x8,2027-01-01,holiday,x\n")
    assert run(app, "import", str(path), "--as", planner.username).exit_code == 5


def test_import_of_a_missing_file_is_a_usage_error(app, tmp_path: Path) -> None:
    assert run(app, "import", str(tmp_path / "missing.csv")).exit_code == 2


def test_hours_prints_the_working_hours(app) -> None:
    result = run(
        app, "hours", "--start", "2026-02-13T12:00+08:00", "--end", "2026-02-24T12:00+08:00"
    )
    assert result.exit_code == 0
    assert result.output.strip() == "16"


def test_hours_under_7x24(app) -> None:
    result = run(
        app,
        "hours",
        "--start",
        "2026-02-13T12:00Z",
        "--end",
        "2026-02-13T13:30Z",
        "--calendar",
        "7x24",
    )
    assert result.output.strip() == "1.5"


def test_hours_read_a_naive_instant_as_shanghai_time(app) -> None:
    naive = run(app, "hours", "--start", "2026-02-13T12:00", "--end", "2026-02-24T12:00+08:00")
    aware = run(app, "hours", "--start", "2026-02-13T12:00+08:00", "--end", "2026-02-24T12:00")
    assert naive.exit_code == aware.exit_code == 0
    assert naive.output == aware.output == "16\n"


def test_hours_with_an_instant_before_2000_exits_2(app) -> None:
    result = run(app, "hours", "--start", "1999-02-13T12:00", "--end", "2026-02-24T12:00+08:00")
    assert result.exit_code == 2
    assert "2000" in result.output


def test_due_prints_shanghai_time(app) -> None:
    result = run(app, "due", "--start", "2026-02-13T08:00Z", "--hours", "10")
    assert result.exit_code == 0
    assert result.output.strip() == "2026-02-24T10:00:00+08:00"


def test_due_with_an_unknown_calendar_exits_3(app) -> None:
    result = run(app, "due", "--start", "2026-02-13T08:00Z", "--hours", "1", "--calendar", "9x9")
    assert result.exit_code == 3


def test_due_with_negative_hours_exits_2(app) -> None:
    assert run(app, "due", "--start", "2026-02-13T08:00Z", "--hours", "-1").exit_code == 2


def test_due_with_absurd_hours_exits_2_at_once(app) -> None:
    result = run(app, "due", "--start", "2026-02-13T08:00Z", "--hours", "1e9")
    assert result.exit_code == 2
    assert "at most 87600 hours" in result.output
