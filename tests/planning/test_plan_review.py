"""Reviewing a rebalancing plan: each move shows the stock and target at both depots
before and after the plan (while it is proposed and current), the freight named as
freight, and the plan as a CSV file with stable columns from its page and the API."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest

from core.db import UnitOfWork
from depots.service.network import list_lanes
from inventory.service import rebalancing, targets, transfers
from planning.service.plans import CSV_COLUMNS
from tests.conftest import csrf_token


def _html(response) -> str:
    return response.get_data(as_text=True)


def _cell(row: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</td>', row, re.S)
    assert match, f"no cell {testid}"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def _row(html: str, testid: str) -> str:
    match = re.search(rf'<tr data-testid="{re.escape(testid)}"[^>]*>.*?</tr>', html, re.S)
    assert match, f"no row {testid}"
    return match.group(0)


def _csv(data: bytes) -> list[dict[str, str]]:
    text = data.decode("utf-8").removeprefix("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    return list(reader)


def _lane_cost(engine, source: str, destination: str) -> Decimal:
    """CNY per shipment on the depot-to-depot lane, as the database holds it."""
    lanes = list_lanes(UnitOfWork(engine), kind="depot")
    return next(lane.cost for lane in lanes if (lane.from_depot, lane.to) == (source, destination))


@pytest.fixture
def short_at_sy(engine, planner, make_part, stock_up) -> str:
    """BJ holds 10 with a target of 4; SY holds none with a target of 5, and one unit
    is already drafted from BJ to SY: the plan moves the other 4."""
    part = make_part(description="10G SR optic")
    stock_up("BJ", part, 10)
    targets.set_override(UnitOfWork(engine), planner, "BJ", part, 4)
    targets.set_override(UnitOfWork(engine), planner, "SY", part, 5)
    transfers.create_transfer(
        UnitOfWork(engine), planner, "BJ", "SY", [transfers.LineIn(part, 1)], note="earlier"
    )
    return part


def test_each_move_shows_stock_and_target_before_and_after_at_both_depots(
    client, login, engine, planner, short_at_sy
):
    plan_id = rebalancing.propose_plan(UnitOfWork(engine), planner).plan.id
    login("planner")
    html = _html(client.get(f"/rebalance/{plan_id}"))
    row = _row(html, f"move-BJ-SY-{short_at_sy}")
    assert _cell(row, "move-qty") == "4"
    # BJ: 10 on the shelf less the 1 already drafted out; 4 leave with the plan.
    assert (_cell(row, "source-before"), _cell(row, "source-after")) == ("9", "5")
    assert _cell(row, "source-target") == "4"
    # SY: the drafted unit is on its way in; with the plan's 4 it reaches its target.
    assert (_cell(row, "destination-before"), _cell(row, "destination-after")) == ("1", "5")
    assert _cell(row, "destination-target") == "5"
    assert "10G SR optic" in row
    # Freight as charged (issue 13): the per-unit column is the lane's handling now.
    assert "Handling per unit (CNY)" in html and "Unit cost" not in html
    assert "Freight per unit (CNY)" not in html


def test_the_plan_downloads_as_csv_from_its_page_and_the_api(
    client, login, engine, planner, auth_for, short_at_sy
):
    plan_id = rebalancing.propose_plan(UnitOfWork(engine), planner).plan.id
    # Freight as charged (issue 13): the lane's shipment once, plus 10 CNY per unit.
    shipment = _lane_cost(engine, "BJ", "SY")
    login("planner")
    page = _html(client.get(f"/rebalance/{plan_id}"))
    assert f'href="/rebalance/{plan_id}/moves.csv"' in page
    download = client.get(f"/rebalance/{plan_id}/moves.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert f"rebalancing-plan-{plan_id}.csv" in download.headers["Content-Disposition"]
    [line] = _csv(download.data)
    assert line == {
        "plan_id": str(plan_id),
        "plan_status": "proposed",
        "from_depot": "BJ",
        "to_depot": "SY",
        "part_number": short_at_sy,
        "description": "10G SR optic",
        "qty": "4",
        "handling_per_unit_cny": "10.00",
        "shipment_share_cny": f"{shipment:.2f}",
        "freight_cny": f"{shipment + 40:.2f}",
        "from_stock_before": "9",
        "from_stock_after": "5",
        "from_target": "4",
        "to_stock_before": "1",
        "to_stock_after": "5",
        "to_target": "5",
        "lane_units": "4",
        "lane_shipment_cny": f"{shipment:.2f}",
        "lane_handling_cny": "40.00",
        "lane_freight_cny": f"{shipment + 40:.2f}",
    }

    from_api = client.get(
        f"/api/v1/rebalance/plans/{plan_id}/moves.csv", headers=auth_for("planner")
    )
    assert from_api.status_code == 200 and _csv(from_api.data) == [line]
    plan = client.get(f"/api/v1/rebalance/plans/{plan_id}", headers=auth_for("planner"))
    [move] = plan.get_json()["moves"]
    assert (move["from_stock_before"], move["from_stock_after"], move["from_target"]) == (9, 5, 4)
    assert (move["to_stock_before"], move["to_stock_after"], move["to_target"]) == (1, 5, 5)


def test_a_decided_plan_keeps_its_moves_without_figures_of_now(
    client, login, engine, planner, auth_for, short_at_sy
):
    plan_id = rebalancing.propose_plan(UnitOfWork(engine), planner).plan.id
    login("planner")
    approved = client.post(
        f"/rebalance/{plan_id}/approve",
        data={"csrf_token": csrf_token(client, f"/rebalance/{plan_id}")},
        follow_redirects=True,
    )
    html = _html(approved)
    row = _row(html, f"move-BJ-SY-{short_at_sy}")
    assert _cell(row, "move-qty") == "4" and _cell(row, "source-before") == ""
    assert "shown while the plan is proposed and current" in html
    [line] = _csv(client.get(f"/rebalance/{plan_id}/moves.csv").data)
    assert line["plan_status"] == "approved" and line["qty"] == "4"
    assert line["from_stock_before"] == "" and line["to_target"] == ""
    [move] = client.get(
        f"/api/v1/rebalance/plans/{plan_id}", headers=auth_for("planner")
    ).get_json()["moves"]
    assert move["from_stock_before"] is None and move["qty"] == 4


def test_a_stale_plan_shows_no_figures_and_cannot_be_approved(
    client, login, engine, planner, short_at_sy
):
    plan_id = rebalancing.propose_plan(UnitOfWork(engine), planner).plan.id
    targets.set_override(UnitOfWork(engine), planner, "SY", short_at_sy, 6)
    login("planner")
    html = _html(client.get(f"/rebalance/{plan_id}"))
    assert 'data-testid="stale-notice"' in html and 'data-testid="approve-plan"' not in html
    assert _cell(_row(html, f"move-BJ-SY-{short_at_sy}"), "destination-before") == ""


def test_the_csv_of_an_unknown_plan_is_404(client, login, auth_for):
    login("planner")
    assert client.get("/rebalance/999999/moves.csv").status_code == 404
    answer = client.get("/api/v1/rebalance/plans/999999/moves.csv", headers=auth_for("planner"))
    assert answer.status_code == 404 and answer.get_json()["error"] == "not_found"


def test_other_roles_may_not_download_a_plan_page(client, login, engine, planner, short_at_sy):
    plan_id = rebalancing.propose_plan(UnitOfWork(engine), planner).plan.id
    login("engineer")
    assert client.get(f"/rebalance/{plan_id}/moves.csv").status_code == 403
