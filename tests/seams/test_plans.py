"""Defect: a rebalancing move could be drafted twice.

A plan keeps the fingerprint of the state it was computed from (stock, transfers
under way, targets, lanes); approving it once that state has changed is refused
with 409 "plan N is stale: make a new plan", and nothing is drafted. The API, the
pages and the CLI all say so. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, event, inspect, text

from core import auth, schema
from core.db import UnitOfWork
from inventory.service import moves, rebalancing, targets
from tests.conftest import csrf_token
from tests.planning.runs import follow_plan_run
from tests.planning.world import World, make_world

PART = "OPT-10G-SR"


class Shortage(World):
    """BJ holds 10 of ``PART`` with a target of 4; SY holds none and wants 5."""

    def plan(self) -> dict[str, Any]:
        return self.call("POST", "/api/v1/rebalance/plans", 201)

    def read(self, plan_id: int) -> dict[str, Any]:
        return self.call("GET", f"/api/v1/rebalance/plans/{plan_id}", 200)

    def approve(self, plan_id: int, status: int) -> dict[str, Any]:
        return self.call("POST", f"/api/v1/rebalance/plans/{plan_id}/approve", status)

    def drafts(self) -> list[dict[str, Any]]:
        return self.call("GET", "/api/v1/transfers?status=draft", 200)

    def draft_lines(self) -> list[tuple[str, str, str, int]]:
        """(from, to, part, qty) of every line of every draft transfer."""
        return sorted(
            (t["from_depot"], t["to_depot"], line["part_number"], line["qty"])
            for t in self.drafts()
            for line in t["lines"]
        )


@pytest.fixture
def shortage(any_engine) -> Shortage:
    world = make_world(any_engine)
    state = Shortage(world.engine, world.app, world.client)
    state.part(PART)
    state.receive("BJ", PART, 10)
    for depot, target in (("BJ", 4), ("SY", 5)):
        body = {"depot": depot, "part_number": PART, "override": target}
        state.call("PUT", "/api/v1/targets", 200, json=body)
    return state


def test_two_plans_from_the_same_state_draft_their_moves_once(shortage):
    first, second = shortage.plan(), shortage.plan()
    assert first["moves"] == second["moves"] and first["units_moved"] == 5
    assert not first["stale"] and not second["stale"]

    approved = shortage.approve(first["id"], 200)
    refused = shortage.approve(second["id"], 409)

    assert refused == {
        "error": "conflict",
        "detail": f"plan {second['id']} is stale: make a new plan",
    }
    assert [t["id"] for t in shortage.drafts()] == approved["transfer_ids"]
    assert shortage.draft_lines() == [("BJ", "SY", PART, 5)]
    after = shortage.read(second["id"])
    assert (after["status"], after["stale"], after["transfer_ids"]) == ("proposed", True, [])
    assert shortage.read(first["id"])["stale"] is False  # a decided plan is never stale
    listed = shortage.call("GET", "/api/v1/rebalance/plans", 200)
    assert {p["id"]: p["stale"] for p in listed} == {first["id"]: False, second["id"]: True}


def test_two_plans_from_the_same_state_approved_at_once_draft_their_moves_once(shortage):
    plans = [shortage.plan()["id"], shortage.plan()["id"]]
    headers = [shortage.headers("planner"), shortage.headers("admin")]
    barrier = threading.Barrier(2)
    answers: list[Any] = [None, None]

    def approve(index: int) -> None:
        client = shortage.app.test_client()
        barrier.wait()
        answers[index] = client.post(
            f"/api/v1/rebalance/plans/{plans[index]}/approve", headers=headers[index]
        )

    threads = [threading.Thread(target=approve, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(a.status_code for a in answers) == [200, 409], [a.get_json() for a in answers]
    refused = next(a for a in answers if a.status_code == 409).get_json()
    assert refused["detail"].endswith("is stale: make a new plan")
    assert shortage.draft_lines() == [("BJ", "SY", PART, 5)]


# --- each input a plan depends on ------------------------------------------------------------


def _nothing(world: Shortage, notes: dict[str, Any]) -> None:
    """No change before the plan is made."""


def _receive_stock(world: Shortage, notes: dict[str, Any]) -> None:
    body = {"depot": "GZ", "part_number": PART, "qty": 2}
    world.call("POST", "/api/v1/stock/receipts", 201, role="depot_staff", depot="GZ", json=body)


def _draft_transfer(world: Shortage, notes: dict[str, Any]) -> None:
    body = {"from_depot": "BJ", "to_depot": "WH", "lines": [{"part_number": PART, "qty": 1}]}
    notes["transfer"] = world.call("POST", "/api/v1/transfers", 201, json=body)["id"]


def _cancel_that_transfer(world: Shortage, notes: dict[str, Any]) -> None:
    world.call("POST", f"/api/v1/transfers/{notes['transfer']}/cancel", 200)


def _change_override(world: Shortage, notes: dict[str, Any]) -> None:
    body = {"depot": "SY", "part_number": PART, "override": 6}
    world.call("PUT", "/api/v1/targets", 200, json=body)


def _change_lane_cost(world: Shortage, notes: dict[str, Any]) -> None:
    [lane] = world.call("GET", "/api/v1/lanes?from_depot=BJ&to=SY&kind=depot", 200)
    cost = Decimal(str(lane["cost"])) + 25
    body = {"mode": lane["mode"], "hours": lane["hours"], "cost": str(cost)}
    world.call("PUT", f"/api/v1/lanes/{lane['id']}", 200, json=body)


def _hold_stock(world: Shortage, notes: dict[str, Any]) -> None:
    body = {"depot": "BJ", "part_number": PART, "qty": 1, "reference": "RMA-HOLD"}
    notes["hold"] = world.call("POST", "/api/v1/reservations", 201, json=body)["id"]


def _release_that_hold(world: Shortage, notes: dict[str, Any]) -> None:
    world.call("POST", f"/api/v1/reservations/{notes['hold']}/release", 200, json={})


def _replace_computed_targets(world: Shortage, notes: dict[str, Any]) -> None:
    targets.replace_computed(
        world.uow,
        [targets.ComputedTarget("GZ", PART, 3, 0.2)],
        targets.Computation(datetime(2026, 12, 1, tzinfo=UTC), 14.0, 0.95),
    )


CHANGES = {
    "a stock move": (_nothing, _receive_stock),
    "a hold": (_nothing, _hold_stock),
    "a hold released": (_hold_stock, _release_that_hold),
    "a transfer drafted": (_nothing, _draft_transfer),
    "a transfer cancelled": (_draft_transfer, _cancel_that_transfer),
    "a target override changed": (_nothing, _change_override),
    "computed targets replaced": (_nothing, _replace_computed_targets),
    "a lane cost changed": (_nothing, _change_lane_cost),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_plan_goes_stale_when_its_inputs_change_and_is_refused(shortage, change):
    before, after = CHANGES[change]
    notes: dict[str, Any] = {}
    before(shortage, notes)
    plan = shortage.plan()
    assert plan["moves"] and plan["stale"] is False

    after(shortage, notes)

    assert shortage.read(plan["id"])["stale"] is True
    drafts = shortage.drafts()
    refused = shortage.approve(plan["id"], 409)
    assert refused["detail"] == f"plan {plan['id']} is stale: make a new plan"
    assert shortage.drafts() == drafts  # nothing drafted
    assert shortage.read(plan["id"])["status"] == "proposed"
    # A plan made from the state as it is now is approved.
    fresh = shortage.plan()
    assert shortage.approve(fresh["id"], 200)["status"] == "approved"


def test_an_unchanged_plan_still_approves(shortage):
    plan = shortage.plan()
    # Reading, and a change outside the plan's inputs (a part with no stock and no
    # target), leave it as it was.
    shortage.read(plan["id"])
    shortage.part("NOT-STOCKED")
    shortage.call("GET", "/api/v1/stock", 200)
    assert shortage.read(plan["id"])["stale"] is False
    approved = shortage.approve(plan["id"], 200)
    assert approved["status"] == "approved" and approved["stale"] is False
    assert shortage.draft_lines() == [("BJ", "SY", PART, 5)]


def _ship_that_transfer(world: Shortage, notes: dict[str, Any]) -> None:
    path = f"/api/v1/transfers/{notes['transfer']}/ship"
    world.call("POST", path, 200, role="depot_staff", depot="BJ", json={})


def _supersede(world: Shortage, notes: dict[str, Any]) -> None:
    successor = world.part("OPT-10G-SR2")
    part = world.call("GET", f"/api/v1/parts/{PART}", 200)
    fields = ("description", "family", "serialized", "unit_cost", "criticality")
    body = {key: part[key] for key in fields if key in part} | {"superseded_by": successor}
    world.call("PUT", f"/api/v1/parts/{PART}", 200, json=body)


SAME_INPUTS = {
    # Shipping a draft moves its units from "spoken for at the source" to "in transit
    # to the target": the plan's inputs read the same (its mark does not).
    "a draft shipped": (_draft_transfer, _ship_that_transfer),
    # The supersession map is not an input of the rebalancing.
    "a supersession": (_nothing, _supersede),
}


@pytest.mark.parametrize("change", list(SAME_INPUTS))
def test_a_change_that_leaves_the_inputs_as_they_were_keeps_the_plan_current(shortage, change):
    before, after = SAME_INPUTS[change]
    notes: dict[str, Any] = {}
    before(shortage, notes)
    plan = shortage.plan()

    after(shortage, notes)

    assert shortage.read(plan["id"])["stale"] is False
    assert shortage.approve(plan["id"], 200)["status"] == "approved"


class Statements:
    """The SQL an engine runs while listening (``before_cursor_execute``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.seen = engine, []

    def _note(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.seen.append(statement)

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._note)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._note)

    def reading(self, table: str) -> list[str]:
        return [s for s in self.seen if re.search(rf"\b{table}\b", s)]

    def reading_all_of(self, table: str) -> list[str]:
        """Statements on ``table`` not limited to some parts (the plan's page reads the
        positions of the parts it shows)."""
        return [s for s in self.reading(table) if not re.search(r"part_number IN", s)]


def test_an_unchanged_plan_is_told_current_without_reading_the_balances_or_targets(shortage):
    plan = shortage.plan()
    shortage.login("planner")
    with Statements(shortage.engine) as statements:
        assert shortage.read(plan["id"])["stale"] is False
        listed = shortage.call("GET", "/api/v1/rebalance/plans", 200)
        page = _html(shortage.client.get(f"/rebalance/{plan['id']}"))
        listing = _html(shortage.client.get("/rebalance"))
    assert {p["id"]: p["stale"] for p in listed} == {plan["id"]: False}
    assert 'data-testid="approve-plan"' in page and 'data-testid="stale-notice"' not in page
    assert 'data-testid="plan-stale"' not in listing
    assert statements.seen and statements.reading("movement")
    assert statements.reading_all_of("stock_balance") == []
    assert statements.reading_all_of("stock_target") == []

    # Once its mark differs, the inputs are read and compared exactly.
    _receive_stock(shortage, {})
    with Statements(shortage.engine) as statements:
        assert shortage.read(plan["id"])["stale"] is True
    assert statements.reading_all_of("stock_balance")
    assert statements.reading_all_of("stock_target")


def test_a_plan_saved_before_plans_kept_an_inputs_mark_is_checked_exactly(shortage):
    plan = shortage.plan()
    with shortage.engine.begin() as connection:  # as a plan stored before migration 0014
        connection.execute(
            text("UPDATE rebalance_plan SET inputs_mark = NULL WHERE id = :id"), {"id": plan["id"]}
        )
    with Statements(shortage.engine) as statements:
        assert shortage.read(plan["id"])["stale"] is False
    assert statements.reading_all_of("stock_balance")
    listed = shortage.call("GET", "/api/v1/rebalance/plans?stale=no", 200)
    assert [p["id"] for p in listed] == [plan["id"]]

    _change_override(shortage, {})

    assert shortage.read(plan["id"])["stale"] is True
    assert shortage.call("GET", "/api/v1/rebalance/plans?stale=yes", 200)[0]["id"] == plan["id"]
    shortage.approve(plan["id"], 409)


@pytest.mark.parametrize("any_engine", ["postgres"], indirect=True)
def test_a_change_committed_while_the_plan_is_solved_makes_it_stale(shortage):
    """PostgreSQL reads each statement afresh: stock received after the plan read its
    inputs, before it was saved, must not be hidden by a mark read too late."""
    received: list[int] = []

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "saving" and not received:
            moves.receive(UnitOfWork(shortage.engine), auth.system_actor(), "GZ", PART, 2, [])
            received.append(2)

    planner = auth.Actor(id=0, username="planner-x", role=auth.Role.PLANNER)
    view = rebalancing.propose_plan(UnitOfWork(shortage.engine), planner, progress=progress)

    assert received and view.moves
    assert shortage.read(view.plan.id)["stale"] is True
    shortage.approve(view.plan.id, 409)


def test_migration_0014_goes_down_and_up_keeping_the_plans(shortage):
    plan = shortage.plan()
    columns = lambda: {c["name"] for c in inspect(shortage.engine).get_columns("rebalance_plan")}  # noqa: E731
    schema.downgrade(shortage.engine, "0013")
    assert "inputs_mark" not in columns()
    schema.upgrade(shortage.engine)
    assert "inputs_mark" in columns()
    # The plan is back without its mark: checked exactly, and still current.
    assert shortage.read(plan["id"])["stale"] is False
    assert shortage.approve(plan["id"], 200)["status"] == "approved"


def test_a_plan_saved_before_plans_kept_their_basis_is_stale(shortage):
    plan = shortage.plan()
    # As a plan stored before the basis column existed.
    with shortage.engine.begin() as connection:
        connection.execute(
            text("UPDATE rebalance_plan SET basis = NULL WHERE id = :id"), {"id": plan["id"]}
        )
    assert shortage.read(plan["id"])["stale"] is True
    shortage.approve(plan["id"], 409)
    assert shortage.drafts() == []


# --- pages ----------------------------------------------------------------------------------


def _html(response: Any) -> str:
    return response.get_data(as_text=True)


def test_the_plan_page_says_a_stale_plan_cannot_be_approved(shortage):
    plan = shortage.plan()
    client = shortage.client
    shortage.login("planner")
    page = _html(client.get(f"/rebalance/{plan['id']}"))
    assert 'data-testid="approve-plan"' in page and 'data-testid="stale-notice"' not in page
    token = csrf_token(client, f"/rebalance/{plan['id']}")  # the form as loaded now

    _receive_stock(shortage, {})

    page = _html(client.get(f"/rebalance/{plan['id']}"))
    assert 'data-testid="stale-notice"' in page and "This plan is stale." in page
    assert 'data-testid="make-new-plan"' in page
    assert 'data-testid="approve-plan"' not in page
    listing = _html(client.get("/rebalance"))
    row = listing[listing.index(f'data-testid="plan-row-{plan["id"]}"') :]
    assert 'data-testid="plan-stale"' in row[: row.index("</tr>")]

    # The form of the page loaded before the change is refused on the page.
    refused = client.post(f"/rebalance/{plan['id']}/approve", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "Nothing was changed." in _html(refused)
    assert f"plan {plan['id']} is stale: make a new plan" in _html(refused)
    assert shortage.drafts() == []

    # "Make a new plan" plans from the state as it is now; that plan can be approved.
    response = follow_plan_run(client, client.post("/rebalance", data={"csrf_token": token}))
    fresh = _html(response)
    assert response.request.path != f"/rebalance/{plan['id']}"
    assert 'data-testid="approve-plan"' in fresh and 'data-testid="stale-notice"' not in fresh


# --- CLI ------------------------------------------------------------------------------------


def test_the_cli_refuses_a_stale_plan_with_exit_4(shortage):
    runner = shortage.app.test_cli_runner()
    made = runner.invoke(args=["rebalance"])
    assert made.exit_code == 0, made.output
    plan_id = int(made.stdout.split(":", 1)[0].removeprefix("plan "))
    assert f"--approve-plan {plan_id}" in made.stdout

    _receive_stock(shortage, {})

    refused = runner.invoke(args=["rebalance", "--approve-plan", str(plan_id)])
    assert refused.exit_code == 4
    assert refused.stderr == f"error: plan {plan_id} is stale: make a new plan\n"
    assert shortage.drafts() == []

    again = runner.invoke(args=["rebalance", "--approve"])
    assert again.exit_code == 0, again.output
    assert shortage.draft_lines() == [("BJ", "SY", PART, 5)]
    late = runner.invoke(args=["rebalance", "--approve-plan", str(plan_id)])
    assert late.exit_code == 4 and len(late.stderr.splitlines()) == 1


def test_the_cli_approves_a_saved_plan_that_is_still_current(shortage):
    plan_id = shortage.plan()["id"]
    result = shortage.app.test_cli_runner().invoke(
        args=["rebalance", "--approve-plan", str(plan_id)]
    )
    assert result.exit_code == 0, result.output
    [draft] = shortage.drafts()
    assert result.stdout == f"plan {plan_id} approved: draft transfers {draft['id']}\n"


OFFLINE_FILES = ("--stock", "s.csv", "--targets", "t.csv", "--lanes", "l.csv", "--out", "p.csv")


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["--approve-plan", "999999"], 3, "error: unknown rebalancing plan 999999"),
        (["--approve-plan", "0"], 2, "Invalid value for '--approve-plan'"),
        (["--approve-plan", "1", "--approve"], 2, "give one"),
        (["--approve-plan", "1", *OFFLINE_FILES], 2, "not from files"),
    ],
)
def test_the_cli_refuses_a_plan_it_cannot_approve_and_drafts_nothing(
    shortage, args, exit_code, message
):
    result = shortage.app.test_cli_runner().invoke(args=["rebalance", *args])
    assert result.exit_code == exit_code
    assert message in result.stderr
    assert shortage.drafts() == []
