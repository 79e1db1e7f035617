"""The planners' lists on the server: the targets and the rebalancing plans a page at
a time, sorted by their columns, filtered, with the figures of the whole selection;
demand read per month in plain numbers (page, API and CLI)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from core import clock
from core.db import UnitOfWork
from inventory.models import StockTarget
from inventory.service import rebalancing, targets
from planning.service.queries import DAYS_PER_MONTH


def _html(response) -> str:
    return response.get_data(as_text=True)


def _target_rows(html: str) -> list[str]:
    """``DEPOT-PART`` of each target row shown, in order."""
    return re.findall(r'data-testid="target-row-([A-Z]{2}-[^"]+)"', html)


def _set_demand(engine, depot: str, part: str, per_day: float) -> None:
    """A computed demand rate, as a computation would have stored it."""
    with UnitOfWork(engine).transaction() as session:
        session.execute(
            update(StockTarget)
            .where(StockTarget.depot_code == depot, StockTarget.part_number == part)
            .values(demand_per_day=per_day, computed_at=clock.now())
        )


@pytest.fixture
def cli_runner(app):
    return app.test_cli_runner()


@pytest.fixture
def thirty_targets(engine, planner, make_part, stock_up) -> list[str]:
    """30 parts with a target at SH (1 to 30 units), 3 of them cables; SH
    holds 10 of every part, so the targets above 10 are below target."""
    parts = []
    for n in range(1, 31):
        part = make_part(family="cable" if n % 10 == 0 else "optic")
        stock_up("SH", part, 10)
        targets.set_override(UnitOfWork(engine), planner, "SH", part, n)
        parts.append(part)
    return parts


def test_the_targets_list_pages_on_the_server_with_totals_of_the_whole_selection(
    client, login, thirty_targets
):
    login("planner")
    html = _html(client.get("/targets?per_page=25"))
    assert len(_target_rows(html)) == 25
    totals = re.search(r'data-testid="target-totals">(.*?)</p>', html, re.S).group(1)
    assert "30 targets in this selection" in totals and "30 overridden" in totals
    assert f"{sum(range(1, 31))} units of target" in totals  # 465, not the page's sum
    assert "20 below target" in totals
    assert "1–25 of 30" in html and 'rel="next"' in html

    second = _html(client.get("/targets?per_page=25&page=2"))
    assert len(_target_rows(second)) == 5
    assert set(_target_rows(html)).isdisjoint(_target_rows(second))
    assert "26–30 of 30" in second and 'rel="next"' not in second


def test_the_targets_list_sorts_by_a_column_and_keeps_the_filters(client, login, thirty_targets):
    login("planner")
    html = _html(client.get("/targets?depot=SH&sort=target&order=desc&per_page=25"))
    shown = _target_rows(html)
    assert shown[0] == f"SH-{thirty_targets[29]}" and shown[1] == f"SH-{thirty_targets[28]}"
    assert re.search(r'aria-sort="descending" data-sort-key="target"', html)
    # The header links keep the depot filter and go back to the first page.
    link = re.search(r'data-sort-key="available">\s*<a href="([^"]+)"', html).group(1)
    assert "depot=SH" in link and "sort=available" in link and "page=1" in link

    ascending = _target_rows(_html(client.get("/targets?sort=target&order=asc")))
    assert ascending[0] == f"SH-{thirty_targets[0]}"


def test_the_targets_list_filters_by_family_and_counts_only_that(client, login, thirty_targets):
    login("planner")
    html = _html(client.get("/targets?family=cable"))
    assert sorted(_target_rows(html)) == sorted(f"SH-{thirty_targets[n - 1]}" for n in (10, 20, 30))
    assert "3 targets in this selection" in html
    assert client.get("/targets?family=no-such-family").status_code == 404


def test_zero_targets_are_listed_only_when_asked(client, login, engine, planner, thirty_targets):
    targets.set_override(UnitOfWork(engine), planner, "BJ", thirty_targets[0], 0)
    login("planner")
    assert f"target-row-BJ-{thirty_targets[0]}" not in _html(client.get("/targets"))
    everything = _html(client.get("/targets?all=1&depot=BJ"))
    assert f"target-row-BJ-{thirty_targets[0]}" in everything
    assert "1 target in this selection" in everything


def test_an_override_posted_from_a_sorted_page_comes_back_to_it(
    client, login, engine, thirty_targets
):
    from tests.conftest import csrf_token

    login("planner")
    part = thirty_targets[4]
    response = client.post(
        "/targets/override",
        data={
            "csrf_token": csrf_token(client, "/targets"),
            "depot": "SH",
            "part_number": part,
            "override": "12",
            "list_sort": "target",
            "list_order": "desc",
            "list_page": "2",
            "list_family": "optic",
        },
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    for expected in ("sort=target", "order=desc", "page=2", "family=optic"):
        assert expected in location
    assert targets.effective_targets(UnitOfWork(engine))[("SH", part)] == 12


def test_demand_is_read_per_month_in_plain_numbers(
    client, login, engine, planner, make_part, cli_runner
):
    part = make_part()
    trickle = make_part()
    targets.set_override(UnitOfWork(engine), planner, "GZ", part, 2)
    targets.set_override(UnitOfWork(engine), planner, "GZ", trickle, 1)
    _set_demand(engine, "GZ", part, 0.1)  # 3.04 a month
    _set_demand(engine, "GZ", trickle, 2.74e-05)  # under a hundredth a month
    login("planner")
    html = _html(client.get("/targets?depot=GZ"))
    assert "Demand / month" in html and "Demand / day" not in html
    assert re.search(
        r'data-testid="demand-per-month"[^>]*>3\.04<', _row(html, f"target-row-GZ-{part}")
    )
    trickle_row = _row(html, f"target-row-GZ-{trickle}")
    assert re.search(r'data-testid="demand-per-month"[^>]*>&lt;0\.01<', trickle_row)
    assert "e-05" not in html and "e-0" not in trickle_row

    answer = cli_runner.invoke(args=["targets", "list", "--depot", "GZ"])
    assert answer.exit_code == 0, answer.output
    assert "demand/month" in answer.output and "e-05" not in answer.output
    assert re.search(rf"{part}\s.*\s3\.04\s", answer.output)


def test_the_api_answers_demand_per_day_and_per_month(engine, planner, make_part, auth_for, client):
    part = make_part()
    targets.set_override(UnitOfWork(engine), planner, "GZ", part, 2)
    _set_demand(engine, "GZ", part, 0.25)
    [row] = client.get(
        f"/api/v1/targets?depot=GZ&part_number={part}", headers=auth_for("planner")
    ).get_json()
    assert row["demand_per_day"] == 0.25
    assert row["demand_per_month"] == pytest.approx(0.25 * DAYS_PER_MONTH)


def _row(html: str, testid: str) -> str:
    match = re.search(rf'<tr data-testid="{re.escape(testid)}"[^>]*>.*?</tr>', html, re.S)
    assert match, f"no row {testid}"
    return match.group(0)


# --- plans ----------------------------------------------------------------------------------


@pytest.fixture
def four_plans(engine, planner, make_part, stock_up) -> dict[str, int]:
    """An approved, a discarded, a stale proposed and a current proposed plan."""
    part = make_part()
    stock_up("BJ", part, 10)
    targets.set_override(UnitOfWork(engine), planner, "BJ", part, 4)
    targets.set_override(UnitOfWork(engine), planner, "SY", part, 2)
    approved = rebalancing.propose_plan(UnitOfWork(engine), planner).plan.id
    rebalancing.approve_plan(UnitOfWork(engine), planner, approved)
    discarded = rebalancing.propose_plan(UnitOfWork(engine), planner).plan.id
    rebalancing.discard_plan(UnitOfWork(engine), planner, discarded)
    stale = rebalancing.propose_plan(UnitOfWork(engine), planner).plan.id
    targets.set_override(UnitOfWork(engine), planner, "SY", part, 5)  # the inputs change
    current = rebalancing.propose_plan(UnitOfWork(engine), planner).plan.id
    return {"approved": approved, "discarded": discarded, "stale": stale, "current": current}


def _plan_rows(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-testid="plan-row-(\d+)"', html)]


def test_the_plans_list_filters_by_status_and_staleness_with_counts(client, login, four_plans):
    login("planner")
    html = _html(client.get("/rebalance"))
    assert _plan_rows(html) == sorted(four_plans.values(), reverse=True)  # newest first
    totals = re.search(r'data-testid="plan-totals">(.*?)</p>', html, re.S).group(1)
    assert "4 plans in this selection" in totals
    assert "2 proposed" in totals and "1 stale" in totals
    assert "1 approved" in totals and "1 discarded" in totals

    assert _plan_rows(_html(client.get("/rebalance?status=proposed&stale=yes"))) == [
        four_plans["stale"]
    ]
    assert _plan_rows(_html(client.get("/rebalance?status=proposed&stale=no"))) == [
        four_plans["current"]
    ]
    approved = _html(client.get("/rebalance?status=approved"))
    assert _plan_rows(approved) == [four_plans["approved"]]
    assert "1 plan in this selection" in approved


def test_the_plans_list_sorts_by_a_column_and_pages(client, login, engine, planner, four_plans):
    login("planner")
    oldest_first = _plan_rows(_html(client.get("/rebalance?sort=id&order=asc")))
    assert oldest_first == sorted(four_plans.values())
    by_status = _plan_rows(_html(client.get("/rebalance?sort=status&order=asc")))
    assert by_status[0] == four_plans["approved"] and by_status[1] == four_plans["discarded"]
    for _ in range(30):  # 34 plans in all
        rebalancing.propose_plan(UnitOfWork(engine), planner)
    page = _html(client.get("/rebalance?per_page=25&page=2"))
    assert len(_plan_rows(page)) == 9 and "26–34 of 34" in page


def test_the_api_lists_plans_by_status_and_staleness(client, auth_for, four_plans):
    headers = auth_for("planner")
    stale = client.get("/api/v1/rebalance/plans?stale=true", headers=headers).get_json()
    assert [p["id"] for p in stale] == [four_plans["stale"]] and stale[0]["stale"] is True
    approved = client.get("/api/v1/rebalance/plans?status=approved", headers=headers).get_json()
    assert [p["id"] for p in approved] == [four_plans["approved"]]
    wrong = client.get("/api/v1/rebalance/plans?status=maybe", headers=headers)
    assert wrong.status_code == 422 and wrong.get_json()["error"] == "invalid"


def test_the_lists_shrug_off_unknown_sort_and_page_arguments(client, login, four_plans):
    login("planner")
    for path in ("/rebalance?sort=nonsense&order=sideways&page=x", "/targets?sort=%3Cb%3E&page=-1"):
        assert client.get(path).status_code == 200
    assert _plan_rows(_html(client.get("/rebalance?page=99"))) != []  # the last page
