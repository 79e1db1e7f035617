"""The rebalancing report of one plan, on a small network worked out by hand.

Part A (a 10G optic) lies at BJ, 10 units, with a target of 4 there and 5 at SY,
which holds none; part B (a power module) lies at GZ, 3 units, with a target of 1
there and 4 at CD, which holds none. The plan moves 5 A from BJ to SY (BJ's
surplus is 6) and 2 B from GZ to CD (GZ's surplus), leaving CD 2 short. The
tests check the figures through the service, the API, the page and the command
line, the files in every format, the packing lists' codes and the Chinese page.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import openpyxl
import pytest
from reportlab.graphics.barcode.code128 import Code128

from core import clock
from core.db import UnitOfWork
from inventory.service import rebalancing, targets
from reports.catalogue import kind_of
from reports.rebalancing_pdf import PART_BARCODE_WIDTH, _bars
from reports.service.coverage import covered_share
from reports.service.filters import Filters
from reports.service.rebalancing import available_after
from reports.service.report import Report
from tests.reports.test_report_render import (  # noqa: F401  (poppler is a fixture)
    assert_not_blank,
    pdf_pages,
    pdf_text,
    poppler,
)

# Tuesday 2026-03-03 10:00 in Shanghai: a working morning, every depot's pickup ahead.
NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
URL = "/api/v1/reports/rebalancing"


@dataclass(frozen=True)
class World:
    plan_id: int
    optic: str
    power: str


@pytest.fixture
def frozen() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


@pytest.fixture
def world(engine, planner, make_part, stock_up, frozen) -> World:
    optic = make_part(description="10G SR optic")
    power = make_part(description="S7706 1200 W power module")
    stock_up("BJ", optic, 10)
    stock_up("GZ", power, 3)
    for depot, part, target in (
        ("BJ", optic, 4),
        ("SY", optic, 5),
        ("GZ", power, 1),
        ("CD", power, 4),
    ):
        targets.set_override(UnitOfWork(engine), planner, depot, part, target)
    plan_id = rebalancing.propose_plan(UnitOfWork(engine), planner).plan.id
    return World(plan_id, optic, power)


def build(engine, plan: int | None = None) -> Report:
    kind = kind_of("rebalancing")
    filters = Filters.parse(UnitOfWork(engine), plan=plan, applies=kind.filters)
    return kind.build(UnitOfWork(engine), filters)


def records(report: Report, table: str) -> list[dict]:
    return report.tables[table].to_dict("records")


def test_the_figures_match_the_hand_count(engine, world: World):
    report = build(engine, world.plan_id)
    # Freight is what the plan stores for each move (the optimizer's rule, not redone here).
    stored = {
        (move.from_depot, move.to_depot): move.cost
        for move in rebalancing.get_plan(UnitOfWork(engine), world.plan_id).moves
    }
    freight_sy, freight_cd = stored[("BJ", "SY")], stored[("GZ", "CD")]
    summary = {row["metric"]: row["value"] for row in records(report, "summary")}
    assert summary["plan_id"] == world.plan_id
    assert tuple(
        summary[k] for k in ("units_moved", "move_lines", "lanes_used", "parts_moved")
    ) == (
        7,
        2,
        2,
        2,
    )
    assert summary["freight_cny"] == pytest.approx(float(freight_sy + freight_cd))
    # Short before: SY 5 + CD 4; after: CD 4 - 2 = 2; covered 9 - 2.
    assert (summary["short_before"], summary["short_left"], summary["short_covered"]) == (9, 2, 7)
    # Above twice the target before: BJ 10 - 2x4 = 2, GZ 3 - 2x1 = 1; none after.
    assert (summary["excess_before"], summary["excess_after"]) == (3, 0)
    headline = {figure.key: figure.value for figure in report.figures}
    assert (headline["units_moved"], headline["short_covered"], headline["short_left"]) == (7, 7, 2)

    depots = {row["depot"]: row for row in records(report, "depots")}
    assert len(depots) == 8
    keys = ("target_units", "position_before", "position_after", "short_before", "short_after")
    assert tuple(depots["BJ"][k] for k in keys) == (4, 10, 5, 0, 0)
    assert tuple(depots["SY"][k] for k in keys) == (5, 0, 5, 5, 0)
    assert tuple(depots["GZ"][k] for k in keys) == (1, 3, 1, 0, 0)
    assert tuple(depots["CD"][k] for k in keys) == (4, 0, 2, 4, 2)
    assert (depots["BJ"]["excess_before"], depots["GZ"]["excess_before"]) == (2, 1)
    assert tuple(depots["SH"][k] for k in keys) == (0, 0, 0, 0, 0)

    lanes = records(report, "lanes")
    plan = world.plan_id
    assert [(r["lane"], r["from_depot"], r["to_depot"], r["lines"], r["units"]) for r in lanes] == [
        (f"PLAN{plan}-BJ-SY", "BJ", "SY", 1, 5),
        (f"PLAN{plan}-GZ-CD", "GZ", "CD", 1, 2),
    ]
    assert [r["freight_cny"] for r in lanes] == pytest.approx(
        [float(freight_sy), float(freight_cd)]
    )

    moves = records(report, "moves")
    assert [(m["lane"], m["part_number"], m["description"], m["qty"]) for m in moves] == [
        (f"PLAN{plan}-BJ-SY", world.optic, "10G SR optic", 5),
        (f"PLAN{plan}-GZ-CD", world.power, "S7706 1200 W power module", 2),
    ]
    assert records(report, "still_short") == [
        {
            "depot": "CD",
            "part_number": world.power,
            "description": "S7706 1200 W power module",
            "position_after": 2,
            "target": 4,
            "short": 2,
        }
    ]


def test_the_plans_own_shortage_figures_agree(engine, world: World):
    report = build(engine, world.plan_id)
    plan = rebalancing.get_plan(UnitOfWork(engine), world.plan_id).plan
    summary = {row["metric"]: row["value"] for row in records(report, "summary")}
    assert (summary["short_before"], summary["short_left"]) == (
        plan.shortage_before,
        plan.shortage_left,
    )
    assert summary["freight_cny"] == pytest.approx(float(plan.cost))


def test_coverage_before_and_after_come_from_the_coverage_rule(
    engine, world: World, account, install
):
    # One switch optic installed in Shenyang, one power module in Chengdu.
    install(account("Shenyang"), world.optic)
    install(account("Chengdu"), world.power)
    report = build(engine, world.plan_id)
    after_stock = {
        (world.optic, "BJ"): 5,
        (world.optic, "SY"): 5,
        (world.power, "GZ"): 1,
        (world.power, "CD"): 2,
    }
    moves = report.tables["moves"]
    assert {k: v for k, v in available_after(UnitOfWork(engine), moves).items() if v} == after_stock
    headline = {figure.key: figure.value for figure in report.figures}
    before = covered_share(UnitOfWork(engine))
    after = covered_share(UnitOfWork(engine), available=after_stock)
    assert headline["coverage_before_pct"] == pytest.approx(round(before, 1))
    # With the plan's units in Shenyang and Chengdu themselves, both cities are reached.
    assert headline["coverage_after_pct"] == pytest.approx(round(after, 1)) == 100.0


def test_the_newest_plan_is_the_default(engine, world: World, planner):
    assert build(engine).filters.plan == world.plan_id
    newer = rebalancing.propose_plan(UnitOfWork(engine), planner).plan.id
    assert build(engine).filters.plan == newer


def test_before_any_plan_the_report_is_empty_but_whole(engine, frozen):
    report = build(engine)
    assert report.filters.plan is None
    assert all(len(report.tables[t]) == 0 for t in ("lanes", "moves", "still_short"))
    assert "No rebalancing plan has been made yet." in report.notes


def test_an_approved_plan_names_its_draft_transfers_and_keeps_its_positions(
    engine, world: World, planner
):
    view = rebalancing.approve_plan(UnitOfWork(engine), planner, world.plan_id)
    report = build(engine, world.plan_id)
    codes = [f"T{number}" for number in view.transfer_ids]
    assert [r["lane"] for r in records(report, "lanes")] == codes
    # The drafts the plan made are not counted again in the positions before it.
    depots = {row["depot"]: row for row in records(report, "depots")}
    assert (depots["SY"]["position_before"], depots["SY"]["position_after"]) == (0, 5)
    assert (depots["BJ"]["position_before"], depots["BJ"]["position_after"]) == (10, 5)


def test_json_csv_and_xlsx_hold_the_same_numbers(client, auth_for, world: World):
    headers = auth_for("planner")
    query = {"plan": world.plan_id}
    body = client.get(URL, query_string=query, headers=headers).get_json()
    assert list(body["tables"]) == ["summary", "depots", "lanes", "moves", "still_short"]
    archive = client.get(URL, query_string={**query, "format": "csv"}, headers=headers)
    assert archive.content_type == "application/zip"
    book = openpyxl.load_workbook(
        io.BytesIO(client.get(URL, query_string={**query, "format": "xlsx"}, headers=headers).data)
    )
    with zipfile.ZipFile(io.BytesIO(archive.data)) as files:
        names = {name.rsplit("-", 1)[-1].removesuffix(".csv"): name for name in files.namelist()}
        for table, rows in body["tables"].items():
            text = files.read(names[table]).decode("utf-8-sig")
            from_csv = list(csv.DictReader(io.StringIO(text)))
            sheet = list(book[table].iter_rows(values_only=True))
            assert len(from_csv) == len(rows) == len(sheet) - 1, table
            for row, csv_row, sheet_row in zip(rows, from_csv, sheet[1:], strict=True):
                for column, (key, value) in enumerate(row.items()):
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        assert float(csv_row[key]) == pytest.approx(value), (table, key)
                        assert float(sheet_row[column]) == pytest.approx(value), (table, key)
                    elif value is not None:
                        assert csv_row[key] == str(value), (table, key)
    assert body["headline"]["units_moved"] == 7


@pytest.mark.usefixtures("poppler")
def test_the_pdf_has_packing_lists_with_codes_and_no_blank_page(
    client, auth_for, world: World, tmp_path
):
    answer = client.get(
        URL, query_string={"plan": world.plan_id, "format": "pdf"}, headers=auth_for("planner")
    )
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    text = pdf_text(answer.data, tmp_path)
    cover = text.split("\f")[0]
    assert "Rebalancing plan" in cover and str(world.plan_id) in cover and "Generated" in cover
    for words in ("Packing list", f"PLAN{world.plan_id}-BJ-SY", f"PLAN{world.plan_id}-GZ-CD"):
        assert words in text
    assert world.optic in text and "10G SR optic" in text
    assert "Page 1 of" in text
    pages = pdf_pages(answer.data, tmp_path)
    assert len(pages) >= 4
    for page in pages:
        assert_not_blank(page)


@pytest.mark.parametrize("value", ["BLK-000665", "QSFP28-100G-LR4-A", "pn 7/x"])
def test_the_packing_list_bars_are_reportlabs_code128(value):
    """The lines' bars, drawn as PDF paths for speed, are exactly those reportlab's
    own Code128 would draw at the same size."""
    from core.pdf import code128

    barcode = code128(value, max_width=PART_BARCODE_WIDTH - 4, bar_height=20)
    drawn: list[tuple[float, float]] = []
    barcode.rect = lambda x, y, w, h: drawn.append((x, w))  # type: ignore[method-assign]
    barcode.drawHumanReadable = lambda: None  # type: ignore[method-assign]
    barcode.draw()
    assert isinstance(barcode, Code128)
    flat = [number for bar in _bars(value) for number in bar]
    assert drawn and flat == pytest.approx([number for bar in drawn for number in bar])


def test_an_unknown_plan_is_404_on_the_page_and_api_and_exit_3(
    app, client, login, auth_for, world: World, tmp_path
):
    assert (
        client.get(URL, query_string={"plan": 999}, headers=auth_for("planner")).status_code == 404
    )
    assert (
        client.get(URL, query_string={"plan": "x"}, headers=auth_for("planner")).status_code == 422
    )
    login("planner")
    assert client.get("/reports/rebalancing?plan=999").status_code == 404
    assert client.get("/reports/rebalancing.pdf?plan=999").status_code == 404
    out = tmp_path / "plan.pdf"
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["report", "rebalancing", "--plan", "999", "--format", "pdf", "--out", str(out)]
    )
    assert result.exit_code == 3 and not out.exists()
    result = runner.invoke(
        args=["report", "rebalancing", "--plan", "0", "--format", "pdf", "--out", str(out)]
    )
    assert result.exit_code == 2 and not out.exists()
    result = runner.invoke(
        args=["report", "rebalancing", "--from", "2026-03-01", "--format", "pdf", "--out", str(out)]
    )
    assert result.exit_code == 2 and not out.exists()


def test_the_terminal_writes_every_format(app, world: World, tmp_path):
    runner = app.test_cli_runner()
    for fmt, name in (("pdf", "r.pdf"), ("xlsx", "r.xlsx"), ("csv", "r.zip"), ("json", "r.json")):
        out = tmp_path / name
        result = runner.invoke(
            args=[
                "report",
                "rebalancing",
                "--plan",
                str(world.plan_id),
                "--format",
                fmt,
                "--out",
                str(out),
            ]
        )
        assert result.exit_code == 0, result.stderr
        assert out.stat().st_size > 0


def test_the_page_shows_the_plan_in_chinese(client, login, world: World):
    login("planner")
    html = client.get(f"/reports/rebalancing?plan={world.plan_id}", headers=CHINESE)
    assert html.status_code == 200
    page = html.get_data(as_text=True)
    for words in (
        "调拨计划",
        "按线路的调拨",
        "计划后仍短缺",
        "线路编号",
        "计划前库存位置",
        "计划前",
    ):
        assert words in page, words
    assert "<svg" in page and f"PLAN{world.plan_id}-BJ-SY" in page
    english = client.get(f"/reports/rebalancing?plan={world.plan_id}").get_data(as_text=True)
    assert "Transfers by lane" in english and "Still short after the plan" in english


def test_the_plan_page_links_to_the_report_files(client, login, world: World):
    login("planner")
    page = client.get(f"/rebalance/{world.plan_id}").get_data(as_text=True)
    for fmt in ("pdf", "xlsx", "csv"):
        assert f'href="/reports/rebalancing.{fmt}?plan={world.plan_id}"' in page
    pdf = client.get(f"/reports/rebalancing.pdf?plan={world.plan_id}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")


def test_the_plans_api_answer_links_to_the_report(client, auth_for, world: World):
    headers = auth_for("planner")
    plan = client.get(f"/api/v1/rebalance/plans/{world.plan_id}", headers=headers).get_json()
    n = world.plan_id
    assert plan["reports"] == {
        "page": f"/reports/rebalancing?plan={n}",
        "pdf": f"/reports/rebalancing.pdf?plan={n}",
        "xlsx": f"/reports/rebalancing.xlsx?plan={n}",
        "csv": f"/reports/rebalancing.csv?plan={n}",
    }
    listed = client.get("/api/v1/rebalance/plans", headers=headers).get_json()
    assert listed[0]["reports"]["pdf"] == f"/reports/rebalancing.pdf?plan={n}"
    document = client.get("/api/v1/openapi.json").get_json()
    summary = document["components"]["schemas"]["PlanSummaryOut"]
    assert "reports" in summary["required"]
