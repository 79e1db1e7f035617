"""Planning the whole network in the background: stages reported, a page that follows them."""

from __future__ import annotations

import time

import pytest

from core.auth import Actor, Role
from core.db import UnitOfWork
from core.errors import NotFound
from inventory.service import rebalancing, targets
from planning.service.plan_runs import PlanRuns, RunState
from tests.conftest import csrf_token
from tests.planning.runs import follow_plan_run

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture
def shortage(engine, planner, make_part, stock_up) -> str:
    """BJ holds 10 of a part with a target of 4; SY has none and a target of 5."""
    part = make_part()
    stock_up("BJ", part, 10)
    targets.set_override(UnitOfWork(engine), planner, "BJ", part, 4)
    targets.set_override(UnitOfWork(engine), planner, "SY", part, 5)
    return part


@pytest.fixture
def runs_folder(tmp_path, monkeypatch):
    """The instance folder of the app under test, where the pages keep their runs."""
    monkeypatch.setenv("SPARES_INSTANCE", str(tmp_path))
    return tmp_path / "plan_runs"


def finished(runs: PlanRuns, run_id: str) -> RunState:
    deadline = time.monotonic() + 120  # a guard only: the run takes well under a second
    while not (state := runs.state(run_id)).finished:
        assert time.monotonic() < deadline, "the plan run never finished"
        time.sleep(0.02)
    return state


def test_planning_reports_each_stage_in_order(engine, planner, shortage):
    heard: list[tuple[str, int, int]] = []
    view = rebalancing.propose_plan(
        UnitOfWork(engine), planner, progress=lambda *report: heard.append(report)
    )
    stages = list(dict.fromkeys(stage for stage, _, _ in heard))
    assert stages == ["reading", "building", "solving", "saving"]
    assert all(0 <= done <= total for _, done, total in heard)
    assert heard[-1] == ("saving", 1, 1)
    assert {(m.from_depot, m.to_depot, m.qty) for m in view.moves} == {("BJ", "SY", 5)}


def test_a_background_run_ends_with_the_saved_plan(engine, planner, shortage, tmp_path):
    runs = PlanRuns(tmp_path / "runs")
    state = finished(runs, runs.start(engine, planner))
    assert (state.stage, state.percent, state.units_moved) == ("done", 100, 5)
    saved = rebalancing.get_plan(UnitOfWork(engine), state.plan_id)
    assert saved.plan.units_moved == 5 and saved.plan.status == "proposed"
    assert [(m.from_depot, m.to_depot, m.qty) for m in saved.moves] == [("BJ", "SY", 5)]
    assert state.cost == f"{saved.plan.cost:.2f}"


def test_a_run_refused_by_the_use_case_ends_failed_with_its_reason(engine, shortage, tmp_path):
    runs = PlanRuns(tmp_path / "runs")
    depot_staff = Actor(id=0, username="someone", role=Role.DEPOT_STAFF, depot_code="BJ")
    state = finished(runs, runs.start(engine, depot_staff))
    assert state.stage == "failed" and state.error and state.plan_id is None
    assert rebalancing.list_plans(UnitOfWork(engine)) == []


@pytest.mark.parametrize("run_id", ["0123456789abcdef", "../../etc/passwd", "", "ABC"])
def test_an_unknown_run_is_not_found(tmp_path, run_id):
    with pytest.raises(NotFound):
        PlanRuns(tmp_path).state(run_id)


def test_the_page_runs_a_plan_in_the_background_and_opens_it(client, login, shortage, runs_folder):
    login("planner")
    started = client.post("/rebalance", data={"csrf_token": csrf_token(client, "/rebalance")})
    assert started.status_code == 302 and "/rebalance/runs/" in started.headers["Location"]
    page = follow_plan_run(client, started)
    assert page.request.path.startswith("/rebalance/") and "/runs/" not in page.request.path
    assert "5 units to move" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ({}, ("Finding the cheapest moves", "52% done")),
        (CHINESE, ("正在计算最省的调拨", "已完成 52%")),
    ],
)
def test_the_run_page_shows_the_stage_and_refreshes_itself(
    client, login, runs_folder, headers, words
):
    runs = PlanRuns(runs_folder)
    runs_folder.mkdir(parents=True)
    runs.save(RunState(run_id="00000000000000aa", started_by="p", stage="solving"))
    login("planner")
    page = client.get("/rebalance/runs/00000000000000aa", headers=headers)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Refresh"] == "1"
    assert 'value="52"' in html and all(word in html for word in words)


def test_a_failed_run_shows_why_and_stops_refreshing(client, login, runs_folder):
    runs = PlanRuns(runs_folder)
    runs_folder.mkdir(parents=True)
    runs.save(RunState("00000000000000bb", "p", stage="failed", error="no lanes"))
    login("planner")
    page = client.get("/rebalance/runs/00000000000000bb", headers=CHINESE)
    html = page.get_data(as_text=True)
    assert "Refresh" not in page.headers and "no lanes" in html and "无法生成调拨计划" in html


def test_an_unknown_run_page_is_404(client, login, runs_folder):
    login("planner")
    assert client.get("/rebalance/runs/0123456789abcdef").status_code == 404
