"""`spares lanes`: export, import and quote from the terminal."""

from __future__ import annotations

from decimal import Decimal

from core.db import UnitOfWork
from depots.service import network


def _run(app, *args: str):
    return app.test_cli_runner().invoke(args=["lanes", *args])


def test_export_writes_csv_to_stdout_or_a_file(app, tmp_path):
    result = _run(app, "export", "--from", "SY")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "from_depot,to,kind,mode,hours,cost"
    assert all(line.startswith("SY,") for line in lines[1:]) and len(lines) > 50

    out = tmp_path / "lanes.csv"
    result = _run(app, "export", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").count("\n") == 1 + len(
        network.list_lanes(UnitOfWork(app.extensions["spares.engine"]))
    )


def test_import_applies_a_good_file_as_the_operator(app, engine, tmp_path):
    path = tmp_path / "lanes.csv"
    path.write_text(
        "from_depot,to,kind,mode,hours,cost\nGZ,Shenzhen,city,courier,3,60\n", encoding="utf-8"
    )
    result = _run(app, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "imported 1 rows: 1 lanes changed" in result.output
    lane = network.find_lane(UnitOfWork(engine), "GZ", "Shenzhen")
    assert (lane.mode, lane.hours, lane.edited, lane.updated_by) == (
        "courier",
        Decimal("3.00"),
        True,
        "cli",
    )


def test_import_as_a_named_planner_records_them(app, engine, make_user, tmp_path):
    planner = make_user("planner")
    path = tmp_path / "lanes.csv"
    path.write_text("from_depot,to,kind,mode,hours,cost\nGZ,Shenzhen,city,road,3,60\n")
    result = _run(app, "import", str(path), "--as", planner.username)
    assert result.exit_code == 0, result.output
    assert network.find_lane(UnitOfWork(engine), "GZ", "Shenzhen").updated_by == planner.username
    engineer = make_user("engineer")
    assert _run(app, "import", str(path), "--as", engineer.username).exit_code == 5


def test_import_of_a_bad_file_lists_every_bad_row_and_exits_2(app, engine, tmp_path):
    before = network.find_lane(UnitOfWork(engine), "GZ", "Shenzhen")
    path = tmp_path / "lanes.csv"
    path.write_text(
        "from_depot,to,kind,mode,hours,cost\n"
        "GZ,Shenzhen,city,courier,3,60\n"
        "GZ,Shenzhen2,city,courier,3,60\n"
        "GZ,Foshan,city,courier,0,60\n"
    )
    result = _run(app, "import", str(path))
    assert result.exit_code == 2
    assert f"{path}:line 3 to: unknown city 'Shenzhen2'" in result.output
    assert f"{path}:line 4 hours:" in result.output
    assert network.find_lane(UnitOfWork(engine), "GZ", "Shenzhen") == before


def test_quote_prints_departure_arrival_and_cost(app):
    result = _run(
        app, "quote", "--from", "BJ", "--to", "Lhasa", "--at", "2026-03-06T18:01", "--service",
        "emergency",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "ships    2026-03-06 19:01 Fri" in result.output
    assert "emergency, air" in result.output
    assert "CNY" in result.output


def test_quote_of_an_unknown_city_exits_3_with_one_line(app):
    result = _run(app, "quote", "--from", "BJ", "--to", "Gotham")
    assert result.exit_code == 3
    assert result.output.strip() == "error: unknown destination city or depot 'Gotham'"


def test_quote_with_a_bad_time_exits_2(app):
    assert _run(app, "quote", "--from", "BJ", "--to", "Lhasa", "--at", "teatime").exit_code == 2
