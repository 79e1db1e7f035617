"""A large plan's page (issue 12): every lane's totals, and the lines of one lane a
page at a time (``?lane=BJ-SH&page=N``), with the positions after the whole plan;
the CSV file keeps every move. "Large" is lowered to a few lines here."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest

from core.db import UnitOfWork
from inventory.service import rebalancing, targets
from planning.service import plans


def _html(response) -> str:
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _text(html: str, testid: str, tag: str = "td") -> str:
    """The words of the first element ``tag`` marked ``testid`` (a cell, or a row)."""
    match = re.search(rf'data-testid="{re.escape(testid)}"[^>]*>(.*?)</{tag}>', html, re.S)
    assert match, f"no {testid}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def _moves_shown(html: str) -> list[str]:
    return re.findall(r'<tr data-testid="move-([A-Z]+-[A-Z]+-[^"]+)"', html)


@pytest.fixture
def wide_plan(engine, planner, make_part, stock_up) -> tuple[int, list[str]]:
    """BJ holds 20 of each of three parts with a target of 4; SY wants 5 of each and
    GZ 3 of the first: the plan sends 5 of each BJ -> SY and 3 of the first BJ -> GZ."""
    parts = [make_part() for _ in range(3)]
    for part in parts:
        stock_up("BJ", part, 20)
        targets.set_override(UnitOfWork(engine), planner, "BJ", part, 4)
        targets.set_override(UnitOfWork(engine), planner, "SY", part, 5)
    targets.set_override(UnitOfWork(engine), planner, "GZ", parts[0], 3)
    plan_id = rebalancing.propose_plan(UnitOfWork(engine), planner).plan.id
    return plan_id, sorted(parts)


@pytest.fixture
def large(monkeypatch) -> None:
    """Plans of more than 2 lines are large; a lane shows 2 lines a page."""
    monkeypatch.setattr(plans, "SMALL_PLAN_LINES", 2)
    monkeypatch.setattr(plans, "LINES_PER_PAGE", 2)


def test_lane_totals_are_the_sums_of_the_stored_moves(engine, wide_plan):
    plan_id, _ = wide_plan
    moves = rebalancing.get_plan(UnitOfWork(engine), plan_id).moves
    totals = {lane.key: lane for lane in plans.lane_totals(UnitOfWork(engine), plan_id)}
    assert list(totals) == ["BJ-GZ", "BJ-SY"]
    for key, lane in totals.items():
        mine = [m for m in moves if f"{m.from_depot}-{m.to_depot}" == key]
        assert lane.line_count == len(mine)
        assert lane.units == sum(m.qty for m in mine)
        assert lane.handling == sum((m.qty * m.unit_cost for m in mine), Decimal("0"))
        assert lane.freight == sum((m.cost for m in mine), Decimal("0"))
    assert (totals["BJ-GZ"].units, totals["BJ-SY"].units) == (3, 15)
    # Handling is 10 CNY a unit; the rest of the freight is the lane's one shipment.
    assert totals["BJ-SY"].handling == Decimal("150.00")
    assert totals["BJ-SY"].shipment == totals["BJ-SY"].freight - Decimal("150.00")


def test_a_small_plan_shows_every_lane_and_line_on_one_page(client, login, wide_plan):
    plan_id, _ = wide_plan
    login("planner")
    html = _html(client.get(f"/rebalance/{plan_id}"))
    assert 'data-testid="pager"' not in html and 'data-testid="lane-totals"' not in html
    assert len(_moves_shown(html)) == 4


def test_a_large_plan_shows_lane_totals_and_one_page_of_one_lane(client, login, wide_plan, large):
    plan_id, parts = wide_plan
    login("planner")
    first = _html(client.get(f"/rebalance/{plan_id}"))
    # Every lane's totals; the first lane's lines (it has one).
    assert _text(first, "lane-total-BJ-GZ", "tr").split()[:5] == ["BJ", "→", "GZ", "1", "3"]
    assert _text(first, "lane-total-BJ-SY", "tr").split()[:5] == ["BJ", "→", "SY", "3", "15"]
    assert _moves_shown(first) == [f"BJ-GZ-{parts[0]}"]
    assert f'href="/rebalance/{plan_id}?lane=BJ-SY"' in first
    assert 'data-testid="plan-cost"' in first and 'data-testid="approve-plan"' in first

    page_one = _html(client.get(f"/rebalance/{plan_id}?lane=BJ-SY"))
    assert _moves_shown(page_one) == [f"BJ-SY-{part}" for part in parts[:2]]
    assert "1–2 of 3" in page_one and "Page 1 of 2" in page_one
    # The lane's header counts the whole lane, not the page.
    assert "15 units" in page_one
    page_two = _html(client.get(f"/rebalance/{plan_id}?lane=BJ-SY&page=2"))
    assert _moves_shown(page_two) == [f"BJ-SY-{parts[2]}"]
    previous = re.search(r'href="([^"]+)" rel="prev"', page_two)
    assert previous and "lane=BJ-SY" in previous.group(1) and "page=1" in previous.group(1)

    # After the whole plan: BJ sends 5 of the first part to SY and 3 to GZ.
    row = re.search(rf'<tr data-testid="move-BJ-SY-{parts[0]}".*?</tr>', page_one, re.S)
    assert row
    assert _text(row.group(0), "source-before") == "20"
    assert _text(row.group(0), "source-after") == "12"
    assert (
        _text(row.group(0), "destination-before"),
        _text(row.group(0), "destination-after"),
    ) == (
        "0",
        "5",
    )

    # An unknown lane shows the first; a page past the end the last.
    assert _moves_shown(_html(client.get(f"/rebalance/{plan_id}?lane=XX-YY"))) == [
        f"BJ-GZ-{parts[0]}"
    ]
    assert _moves_shown(_html(client.get(f"/rebalance/{plan_id}?lane=BJ-SY&page=9"))) == [
        f"BJ-SY-{parts[2]}"
    ]


def test_a_large_plan_downloads_every_move_as_csv(client, login, wide_plan, large, monkeypatch):
    monkeypatch.setattr(plans, "CSV_BLOCK_ROWS", 3)
    plan_id, parts = wide_plan
    login("planner")
    download = client.get(f"/rebalance/{plan_id}/moves.csv")
    assert download.status_code == 200
    text = download.data.decode("utf-8").removeprefix("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["from_depot"], r["to_depot"], r["part_number"]) for r in rows] == [
        ("BJ", "GZ", parts[0]),
        *(("BJ", "SY", part) for part in parts),
    ]
    assert text.count("plan_id") == 1
    assert {r["from_stock_after"] for r in rows if r["part_number"] == parts[0]} == {"12"}


def test_a_large_plan_in_chinese_names_its_lane_table(client, login, wide_plan, large):
    plan_id, _ = wide_plan
    login("planner")
    html = _html(client.get(f"/rebalance/{plan_id}", headers={"Accept-Language": "zh-CN"}))
    table = re.search(r'<table data-testid="lane-totals">.*?</thead>', html, re.S)
    assert table
    assert not re.search(r"[A-Za-z]{3,}", re.sub(r"<[^>]+>|CNY", "", table.group(0)))
