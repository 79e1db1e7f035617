"""`spares check`, `spares import parts|stock` and `spares export stock|ledger`."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import text

from core.db import UnitOfWork
from inventory.service import catalog, queries
from tests.conftest import bearer
from tests.inventory.conftest import new_serials


def test_check_is_clean_after_a_run_of_api_moves(app, client, api_token, make_part, engine):
    bulk, tracked = make_part(), make_part(serialized=True)
    bj = bearer(api_token("depot_staff", depot="BJ"))
    sh = bearer(api_token("depot_staff", depot="SH"))
    serials = new_serials(4)
    calls = [
        ("/api/v1/stock/receipts", {"depot": "BJ", "part_number": bulk, "qty": 20}, bj),
        (
            "/api/v1/stock/receipts",
            {"depot": "BJ", "part_number": tracked, "qty": 4, "serials": serials},
            bj,
        ),
        (
            "/api/v1/stock/adjustments",
            {"depot": "BJ", "part_number": bulk, "qty": -2, "reason": "damaged"},
            bj,
        ),
        ("/api/v1/reservations", {"depot": "BJ", "part_number": bulk, "qty": 3}, bj),
        ("/api/v1/reservations", {"depot": "BJ", "part_number": tracked, "qty": 1}, bj),
        (
            "/api/v1/stock/condition-changes",
            {
                "depot": "BJ",
                "part_number": bulk,
                "qty": 2,
                "from_condition": "good",
                "to_condition": "quarantine",
            },
            bj,
        ),
        (
            "/api/v1/transfers",
            {
                "from_depot": "BJ",
                "to_depot": "SH",
                "lines": [{"part_number": bulk, "qty": 5}, {"part_number": tracked, "qty": 2}],
            },
            bj,
        ),
    ]
    answers = [client.post(url, json=body, headers=headers) for url, body, headers in calls]
    assert [a.status_code for a in answers] == [201] * len(calls), [a.get_json() for a in answers]
    reservation, transfer = answers[4].get_json()["id"], answers[6].get_json()["id"]
    follow_up = [
        client.post(
            f"/api/v1/reservations/{reservation}/pick", json={"serials": [serials[3]]}, headers=bj
        ),
        client.post(
            f"/api/v1/transfers/{transfer}/ship",
            json={"serials": {tracked: serials[:2]}},
            headers=bj,
        ),
        client.post(
            f"/api/v1/transfers/{transfer}/receive",
            json={
                "lines": [
                    {"part_number": bulk, "qty": 4},
                    {"part_number": tracked, "serials": serials[:2]},
                ]
            },
            headers=sh,
        ),
        client.post(
            "/api/v1/stock/counts",
            json={"depot": "SH", "part_number": bulk, "counted": 3},
            headers=sh,
        ),
    ]
    assert [a.status_code for a in follow_up] == [200, 200, 200, 201], [
        a.get_json() for a in follow_up
    ]
    with engine.connect() as connection:
        balances = connection.execute(text("SELECT count(*) FROM stock_balance")).scalar()
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"books balance: {balances} balance rows checked"


@pytest.mark.tampers_with_books
def test_check_prints_each_discrepancy_and_fails_after_tampering(app, engine, make_part, stock_up):
    part = make_part()
    stock_up("GZ", part, 5)
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE stock_balance SET on_hand = on_hand + 2 "
                "WHERE depot_code = 'GZ' AND part_number = :p AND bucket = 'good'"
            ),
            {"p": part},
        )
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 1
    assert f"GZ {part} good: on hand is 7, the ledger says 5" in result.output
    assert "books balance" not in result.output


def test_import_parts_then_stock_prints_one_line_each(app, engine, tmp_path):
    parts = tmp_path / "parts.csv"
    parts.write_text(
        "part_number,description,family,serialized,unit_cost\n"
        "LC-48,48-port line card,line_card,yes,25000\n"
        "PWR-1,Power cord,cable,no,15\n",
        encoding="utf-8",
    )
    stock = tmp_path / "stock.csv"
    stock.write_text(
        "depot,part_number,qty,serials\nCD,LC-48,2,LC0001 LC0002\nCD,PWR-1,40,\n", encoding="utf-8"
    )
    runner = app.test_cli_runner()
    first = runner.invoke(args=["import", "parts", str(parts)])
    assert first.exit_code == 0, first.output
    assert first.output == "parts: 2 rows, 2 created, 0 updated, 0 unchanged\n"
    second = runner.invoke(args=["import", "stock", str(stock)])
    assert second.exit_code == 0, second.output
    assert second.output == "stock: 2 rows, 42 units booked in 1 receipt(s)\n"
    _, history = queries.get_unit(UnitOfWork(engine), "LC0002")
    assert history[0].actor.startswith("cli:")
    assert runner.invoke(args=["check"]).exit_code == 0


def test_a_bad_import_prints_every_problem_exits_2_and_imports_nothing(
    app, engine, tmp_path, make_part
):
    part = make_part()
    stock = tmp_path / "stock.csv"
    stock.write_text(
        "depot,part_number,qty\n"
        f"BJ,{part},1\n"
        f"BJ,{part},1\n"
        f"BJ,{part},1\n"
        f"BJ,{part},1\n"
        f"BJ,{part},1\n"
        f"BJ,{part},0\n"
        f"XX,{part},2\n",
        encoding="utf-8",
    )
    result = app.test_cli_runner().invoke(args=["import", "stock", str(stock)])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[:2] == [
        "line 7, column qty: must be a whole number > 0",
        "line 8, column depot: unknown depot 'XX'",
    ]
    assert lines[2].startswith("error: 2 problem(s) on 2 line(s)")
    assert queries.stock(UnitOfWork(engine), part_number=part) == []
    parts = tmp_path / "parts.csv"
    parts.write_text("part_number,description\nAB-1,x\n", encoding="utf-8")
    bad_header = app.test_cli_runner().invoke(args=["import", "parts", str(parts)])
    assert bad_header.exit_code == 2
    assert "line 1, column family: required column is missing" in bad_header.output
    assert [p.part_number for p in catalog.list_parts(UnitOfWork(engine))] == [part]


def test_export_stock_and_ledger_to_stdout_or_a_file(app, make_part, stock_up, tmp_path):
    part = make_part()
    stock_up("BJ", part, 3)
    stock_up("SH", part, 4)
    runner = app.test_cli_runner()
    printed = runner.invoke(args=["export", "stock", "--depot", "sh"])
    assert printed.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(printed.output)))
    assert [(r["depot"], r["part_number"], r["available"]) for r in rows] == [("SH", part, "4")]
    out = tmp_path / "ledger.csv"
    written = runner.invoke(args=["export", "ledger", "--part-number", part, "--out", str(out)])
    assert written.exit_code == 0
    assert "wrote 2 ledger entries" in written.output
    entries = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(e["depot"], e["qty"], e["kind"]) for e in entries] == [
        ("BJ", "3", "receipt"),
        ("SH", "4", "receipt"),
    ]
    unknown = runner.invoke(args=["export", "stock", "--depot", "ZZ"])
    assert unknown.exit_code == 3
    assert unknown.output.strip() == "error: unknown depot 'ZZ'"
