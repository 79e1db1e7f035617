"""The stock-status report on a small stock history worked out by hand.

Played through the real inventory services with the clock frozen:

* 2026-01-01: BJ receives 10 optics OPT (100 CNY) and 1 chassis CHS (5,000 CNY);
  SH receives 4 power supplies PWR (1,000 CNY).
* 2026-07-20: SH receives 3 OPT and ships 1 of them to GZ (in transit at GZ);
  1 PWR at SH turns defective; 2 OPT are reserved at BJ (a reservation moves
  nothing in the ledger).
* Targets: OPT 3 at BJ, 2 at GZ; PWR 4 at SH, 1 at XA (nothing there).
* The report is read on 2026-08-01 (180 days before: 2026-02-02).

Stock-health rule (position = available + in transit; short below target, excess
above twice the target):

==== ==== ========= ====== ======== ===== =====
depot part available transit position short excess
==== ==== ========= ====== ======== ===== =====
BJ   OPT  10-2 = 8  0      8 (t 3)  0     8-6 = 2   (200 CNY)
BJ   CHS  1         0      1 (t 0)  0     1         (5,000)
SH   OPT  3-1 = 2   0      2 (t 0)  0     2         (200)
GZ   OPT  0         1      1 (t 2)  1     0         (100 short)
SH   PWR  3         0      3 (t 4)  1     0         (1,000 short)
XA   PWR  0         0      0 (t 1)  1     0         (1,000 short)
==== ==== ========= ====== ======== ===== =====
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import openpyxl
import pandas as pd
import pytest

from core import clock
from core.db import UnitOfWork
from core.pdf import fonts
from inventory.service import moves, reservations, targets, transfers
from inventory.service.stock_figures import TARGET_SUM_COLUMNS
from inventory.service.transfers import LineIn
from reports.catalogue import kind_of
from reports.files import render
from reports.service.filters import Filters
from reports.service.report import Report
from reports.service.stock_status import stock_status
from reports.stock_status_pdf import cell_colour, heat_map
from tests.reports.test_report_render import (  # noqa: F401  (poppler is a fixture)
    assert_not_blank,
    pdf_pages,
    pdf_text,
    poppler,
)

OLD = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
RECENT = datetime(2026, 7, 20, 2, 0, tzinfo=UTC)
NOW = datetime(2026, 8, 1, 4, 0, tzinfo=UTC)
URL = "/api/v1/reports/stock-status"
CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}


@dataclass(frozen=True)
class Stock:
    opt: str
    chs: str
    pwr: str


@pytest.fixture
def stock(engine, staff, planner, make_part) -> Stock:
    uow = UnitOfWork(engine)
    with clock.frozen(OLD):
        opt = make_part(part_number="OPT", family="optic", unit_cost=Decimal("100.00"))
        chs = make_part(part_number="CHS", family="chassis", unit_cost=Decimal("5000.00"))
        pwr = make_part(part_number="PWR", family="power", unit_cost=Decimal("1000.00"))
        moves.receive(uow, staff("BJ"), "BJ", opt, 10)
        moves.receive(uow, staff("BJ"), "BJ", chs, 1)
        moves.receive(uow, staff("SH"), "SH", pwr, 4)
    with clock.frozen(RECENT):
        moves.receive(uow, staff("SH"), "SH", opt, 3)
        draft = transfers.create_transfer(uow, planner, "SH", "GZ", [LineIn(opt, 1)])
        transfers.ship_transfer(uow, staff("SH"), draft.transfer.id)
        moves.change_condition(
            uow, staff("SH"), "SH", pwr, 1, "good", "defective", reason="fails on test"
        )
        reservations.reserve(uow, staff("BJ"), "BJ", opt, 2, "RMA-TEST")
        for depot, part, target in (("BJ", opt, 3), ("GZ", opt, 2), ("SH", pwr, 4), ("XA", pwr, 1)):
            targets.set_override(uow, planner, depot, part, target)
    return Stock(opt, chs, pwr)


def build(engine, **filters: str) -> Report:
    uow = UnitOfWork(engine)
    with clock.frozen(NOW):
        chosen = Filters.parse(uow, applies=("depot", "family"), **filters)
        return stock_status(uow, chosen)


def rows(report: Report, table: str) -> list[dict]:
    return report.table(table).to_dict("records")


def headline(report: Report) -> dict:
    return {figure.key: figure.value for figure in report.figures}


def test_figures_match_the_hand_count(engine, stock: Stock):
    report = build(engine)
    assert headline(report) == {
        # BJ 10 x 100 + 5,000; SH 2 x 100 + 4 x 1,000 (the defective one counts)
        "on_hand_value_cny": 6000.0 + 4200.0,
        "on_hand_units": 11 + 6,
        "in_transit_units": 1,
        "units_short": 3,  # GZ OPT, SH PWR, XA PWR
        "short_value_cny": 100.0 + 1000.0 + 1000.0,
        "units_excess": 2 + 1 + 2,  # BJ OPT, BJ CHS, SH OPT
        "excess_value_cny": 200.0 + 5000.0 + 200.0,
        "unmoved_value_cny": 5000.0 + 1000.0,  # BJ CHS and BJ OPT (a hold is no move)
    }


def test_stock_by_depot_and_family(engine, stock: Stock):
    report = build(engine)
    by_depot = {row["depot"]: row for row in rows(report, "by_depot")}
    assert list(by_depot) == ["BJ", "CD", "GZ", "JN", "SH", "SY", "WH", "XA"]
    assert by_depot["BJ"] | {} == {
        "depot": "BJ",
        "depot_name": by_depot["BJ"]["depot_name"],
        "good_units": 11,
        "reserved": 2,
        "available": 9,
        "defective": 0,
        "in_repair": 0,
        "quarantine": 0,
        "on_hand": 11,
        "in_transit": 0,
        "on_hand_value_cny": 6000.0,
        "in_transit_value_cny": 0.0,
    }
    assert (by_depot["SH"]["good_units"], by_depot["SH"]["defective"]) == (2 + 3, 1)
    assert by_depot["SH"]["on_hand_value_cny"] == 4200.0
    assert (by_depot["GZ"]["on_hand"], by_depot["GZ"]["in_transit"]) == (0, 1)
    assert by_depot["GZ"]["in_transit_value_cny"] == 100.0
    by_family = {row["family"]: row for row in rows(report, "by_family")}
    assert by_family["optic"]["on_hand"] == 10 + 2
    assert by_family["power"]["defective"] == 1
    assert by_family["fan"]["on_hand"] == 0


def test_positions_and_the_heat_map_hold_the_same_numbers(engine, stock: Stock):
    report = build(engine)
    positions = {(r["depot"], r["family"]): r for r in rows(report, "positions")}
    assert len(positions) == 8 * 8
    bj_optic = positions[("BJ", "optic")]
    assert (bj_optic["target_units"], bj_optic["position_units"]) == (3, 8)
    assert (bj_optic["units_excess"], bj_optic["excess_value_cny"]) == (2, 200.0)
    assert (
        positions[("XA", "power")]["units_short"],
        positions[("XA", "power")]["parts_short"],
    ) == (1, 1)
    assert positions[("GZ", "optic")]["short_value_cny"] == 100.0
    heat = {row["depot"]: row for row in rows(report, "heat_map")}
    expected = {("BJ", "optic"): 2, ("BJ", "chassis"): 1, ("SH", "optic"): 2}
    expected |= {("GZ", "optic"): -1, ("SH", "power"): -1, ("XA", "power"): -1}
    for (depot, family), row in positions.items():
        assert heat[depot][family] == expected.get((depot, family), 0)
        assert heat[depot][family] == row["units_excess"] - row["units_short"]


def test_part_level_shortages_excess_and_unmoved(engine, stock: Stock):
    report = build(engine)
    shortages = [(r["depot"], r["part_number"], r["short"]) for r in rows(report, "shortages")]
    # By value short, then depot: SH and XA PWR (1,000), GZ OPT (100).
    assert shortages == [("SH", "PWR", 1), ("XA", "PWR", 1), ("GZ", "OPT", 1)]
    xa = rows(report, "shortages")[1]
    assert (xa["family"], xa["available"], xa["target"]) == ("power", 0, 1)
    excess = [(r["depot"], r["part_number"], r["excess"]) for r in rows(report, "excess")]
    assert excess == [("BJ", "CHS", 1), ("BJ", "OPT", 2), ("SH", "OPT", 2)]
    unmoved = rows(report, "unmoved")
    assert [(r["depot"], r["part_number"], r["on_hand"]) for r in unmoved] == [
        ("BJ", "CHS", 1),
        ("BJ", "OPT", 10),
    ]
    assert unmoved[1]["on_hand_value_cny"] == 1000.0
    assert unmoved[1]["last_moved_at"] == OLD
    assert unmoved[1]["days_unmoved"] == (NOW - OLD).days == 212


def test_unmoved_counts_from_more_than_180_days(engine, stock: Stock):
    # On 2026-06-30 10:00 (Shanghai) the January receipts are 180 days old: not more.
    uow = UnitOfWork(engine)
    with clock.frozen(datetime(2026, 6, 30, 2, 0, tzinfo=UTC)):
        report = stock_status(uow, Filters.parse(uow, applies=("depot", "family")))
    assert rows(report, "unmoved") == []
    with clock.frozen(datetime(2026, 6, 30, 2, 1, tzinfo=UTC)):
        report = stock_status(uow, Filters.parse(uow, applies=("depot", "family")))
    # BJ OPT and BJ CHS; SH PWR moved in July (the ledger's last entry, whenever read).
    assert [r["part_number"] for r in rows(report, "unmoved")] == ["CHS", "OPT"]


def test_filters_by_depot_and_family(engine, stock: Stock):
    bj = build(engine, depot="bj")
    assert [row["depot"] for row in rows(bj, "by_depot")] == ["BJ"]
    assert headline(bj)["units_short"] == 0 and headline(bj)["units_excess"] == 3
    assert headline(bj)["on_hand_value_cny"] == 6000.0
    assert [row["depot"] for row in rows(bj, "heat_map")] == ["BJ"]
    power = build(engine, family="power")
    assert [row["family"] for row in rows(power, "by_family")] == ["power"]
    assert list(power.table("heat_map").columns) == ["depot", "power"]
    assert (headline(power)["units_short"], headline(power)["short_value_cny"]) == (2, 2000.0)
    assert headline(power)["units_excess"] == 0
    assert headline(power)["unmoved_value_cny"] == 0.0
    both = build(engine, depot="XA", family="power")
    assert [r["part_number"] for r in rows(both, "shortages")] == ["PWR"]


def test_without_targets_shortage_and_excess_are_not_assessed(engine, staff, make_part):
    part = make_part(part_number="LONE", family="fan", unit_cost=Decimal("10.00"))
    moves.receive(UnitOfWork(engine), staff("CD"), "CD", part, 3)
    report = build(engine)
    figures = headline(report)
    assert figures["units_short"] is None and figures["excess_value_cny"] is None
    assert figures["on_hand_units"] == 3 and figures["on_hand_value_cny"] == 30.0
    assert rows(report, "shortages") == [] and rows(report, "excess") == []
    assert all(row["units_short"] is None for row in rows(report, "positions"))
    assert all(row["fan"] is None for row in rows(report, "heat_map"))
    assert any("not assessed" in note for note in report.notes)


def test_an_empty_network_renders_every_format(engine, poppler, tmp_path):  # noqa: F811
    kind = kind_of("stock-status")
    report = build(engine)
    assert headline(report)["on_hand_units"] == 0
    for fmt in ("pdf", "xlsx", "csv", "json"):
        assert render(kind, report, fmt).content
    for page in pdf_pages(render(kind, report, "pdf").content, tmp_path):
        assert_not_blank(page)


def test_the_heat_map_colours_short_red_and_excess_blue():
    assert cell_colour(-5, 5).red > cell_colour(-5, 5).blue
    assert cell_colour(5, 5).blue > cell_colour(5, 5).red
    assert cell_colour(0, 5) == cell_colour(0, 0)
    # Deeper the further from balance.
    assert cell_colour(-5, 5).green < cell_colour(-1, 5).green


def test_the_api_csv_and_xlsx_agree_with_the_json(client, auth_for, stock: Stock):
    headers = auth_for("planner")
    with clock.frozen(NOW):
        body = client.get(URL, headers=headers).get_json()
        archive = client.get(URL, query_string={"format": "csv"}, headers=headers)
        book = client.get(URL, query_string={"format": "xlsx"}, headers=headers)
    assert body["headline"]["units_short"] == 3
    assert body["headline"]["excess_value_cny"] == 5400.0
    assert body["filters"]["from"] is None and body["filters"]["depot"] is None
    with zipfile.ZipFile(io.BytesIO(archive.data)) as files:
        texts = {
            name.rsplit("-", 1)[-1].removesuffix(".csv"): files.read(name).decode("utf-8-sig")
            for name in files.namelist()
        }
    sheets = openpyxl.load_workbook(io.BytesIO(book.data))
    assert sheets.sheetnames == list(body["tables"])
    for table, records in body["tables"].items():
        parsed = list(csv.DictReader(io.StringIO(texts[table])))
        assert len(parsed) == len(records), table
        values = list(sheets[table].iter_rows(values_only=True))[1:]
        for record, line, cells in zip(records, parsed, values, strict=True):
            for column, (key, value) in enumerate(record.items()):
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    assert float(line[key]) == pytest.approx(value), (table, key)
                    assert float(cells[column]) == pytest.approx(value), (table, key)
    heat = {row["depot"]: row for row in body["tables"]["heat_map"]}
    assert heat["XA"]["power"] == -1 and heat["BJ"]["optic"] == 2


def test_the_api_refuses_filters_it_does_not_honour(client, auth_for, stock: Stock):
    headers = auth_for("planner")
    for query in ({"from": "2026-07-01"}, {"fault_level": "C-1"}, {"depot": "XX"}, {"family": "x"}):
        answer = client.get(URL, query_string=query, headers=headers)
        assert answer.status_code == 422, query
        assert answer.get_json()["error"] == "invalid"


def test_the_pdf_has_the_heat_map_and_no_blank_page(engine, stock: Stock, poppler, tmp_path):  # noqa: F811
    report = build(engine, depot="SH")
    pdf = render(kind_of("stock-status"), report, "pdf", generated_by="planner-1").content
    text = pdf_text(pdf, tmp_path)
    cover = text.split("\f")[0]
    assert "Stock status" in cover and "SH" in cover and "planner-1" in cover
    assert "2026-08-01 12:00" in cover  # generated (Asia/Shanghai)
    assert "Heat map: depot against part family" in text
    assert "−1 / +0" in text or "-1 / +0" in text  # SH power: 1 short, no excess
    pages = pdf_pages(pdf, tmp_path)
    assert f"Page 1 of {len(pages)}" in text
    for page in pages:
        assert_not_blank(page)


def test_heat_map_draws_no_data_without_rows():
    drawing = heat_map(
        pd.DataFrame(columns=["depot"]),
        pd.DataFrame(columns=["depot", "family", *TARGET_SUM_COLUMNS]),
        fonts(),
    )
    assert drawing.width > 0


def test_the_page_shows_figures_charts_and_tables_for_a_family(client, login, stock: Stock):
    login("planner")
    with clock.frozen(NOW):
        answer = client.get("/reports/stock-status", query_string={"family": "power"})
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert 'data-testid="kpi-units_short">2<' in html
    assert 'data-testid="kpi-short_value_cny">2,000<' in html
    assert 'data-testid="kpi-on_hand_units">4<' in html  # SH: 3 good, 1 defective
    assert html.count("<svg") >= 2 and "Shortage and excess: depot against part family" in html
    for table in ("by_depot", "by_family", "positions", "heat_map", "shortages", "excess"):
        assert f'data-testid="table-{table}"' in html
    assert 'name="from"' not in html and 'name="fault_level"' not in html


def test_the_page_in_chinese(client, login, stock: Stock):
    login("planner")
    with clock.frozen(NOW):
        html = client.get("/reports/stock-status", headers=CHINESE).get_data(as_text=True)
    assert "<h1>库存状况</h1>" in html
    for words in ("按备件库的库存", "停滞 180 天以上的库存", "缺货数量", "超储数量", "光模块"):
        assert words in html, words
    for english in ("Stock by depot", "Units short", "Largest shortages", "no targets"):
        assert english not in html, english


def test_the_cli_writes_files_and_refuses_a_period(app, stock: Stock, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "stock.json"
    with clock.frozen(NOW):
        result = runner.invoke(
            args=[
                "report",
                "stock-status",
                "--format",
                "json",
                "--out",
                str(out),
                "--family",
                "power",
            ]
        )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["headline"]["units_short"] == 2
    refused = tmp_path / "refused.pdf"
    result = runner.invoke(
        args=[
            "report",
            "stock-status",
            "--format",
            "pdf",
            "--out",
            str(refused),
            "--from",
            "2026-07-01",
        ]
    )
    assert result.exit_code == 2  # the report has no period option
    assert not refused.exists()
