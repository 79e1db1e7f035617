"""The planners' pages through the test client: targets with inline overrides and the
recompute form, rebalancing plans from run to draft transfers, batch dispatch, the
depot-choice calculator, and the targets beside stock. Errors are shown on the page
with a 4xx status and change nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from core import clock
from core.db import UnitOfWork
from inventory.service import queries, rebalancing, targets, transfers
from rma.service import opening
from rma.service.opening import OpenRequest
from tests.conftest import csrf_token
from tests.planning.runs import follow_plan_run

MONDAY_10_SHANGHAI = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def _html(response) -> str:
    return response.get_data(as_text=True)


def _row(html: str, testid: str) -> str:
    match = re.search(rf'<tr data-testid="{re.escape(testid)}"[^>]*>.*?</tr>', html, re.S)
    assert match, f"no row {testid}"
    return match.group(0)


def _post(client, path: str, data: dict, *, form_path: str = "/targets", **kwargs):
    return client.post(path, data={"csrf_token": csrf_token(client, form_path), **data}, **kwargs)


def _effective(engine, depot: str, part: str) -> int | None:
    return targets.effective_targets(UnitOfWork(engine)).get((depot, part))


@pytest.fixture
def shortage(engine, planner, make_part, stock_up) -> str:
    """BJ holds 10 of a part with a target of 4; SY has none and a target of 5."""
    part = make_part()
    stock_up("BJ", part, 10)
    targets.set_override(UnitOfWork(engine), planner, "BJ", part, 4)
    targets.set_override(UnitOfWork(engine), planner, "SY", part, 5)
    return part


# --- navigation and access ------------------------------------------------------------------


def test_planners_find_their_pages_in_the_navigation(client, login):
    login("planner")
    html = _html(client.get("/"))
    for label, path in [
        ("Targets", "/targets"),
        ("Rebalancing", "/rebalance"),
        ("Dispatch", "/dispatch"),
        ("Depot choice", "/depot-choice"),
    ]:
        assert f'href="{path}"' in html and label in html
        assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/targets", "/rebalance", "/dispatch"])
def test_other_roles_may_not_open_the_planning_pages(client, login, path):
    login("engineer")
    assert client.get(path).status_code == 403
    assert 'href="/targets"' not in _html(client.get("/"))


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/rebalance")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- targets --------------------------------------------------------------------------------


def test_the_inline_form_overrides_a_target_and_blank_removes_it(client, login, engine, shortage):
    login("planner")
    html = _html(client.get("/targets"))
    assert 'data-testid="effective">5<' in _row(html, f"target-row-SY-{shortage}")

    response = _post(
        client,
        "/targets/override",
        {"depot": "SY", "part_number": shortage, "override": "8", "list_depot": "SY"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert response.request.path == "/targets" and response.request.args["depot"] == "SY"
    html = _html(response)
    assert "target set to 8" in html
    assert 'data-testid="effective">8<' in _row(html, f"target-row-SY-{shortage}")
    assert f"target-row-BJ-{shortage}" not in html  # the filter was kept

    response = _post(
        client,
        "/targets/override",
        {"depot": "SY", "part_number": shortage, "override": ""},
        follow_redirects=True,
    )
    assert "override removed" in _html(response)
    assert _effective(engine, "SY", shortage) == 0


def test_a_row_below_its_target_is_highlighted(client, login, shortage):
    login("planner")
    html = _html(client.get("/targets"))
    assert 'class="low"' in _row(html, f"target-row-SY-{shortage}")  # 0 available, target 5
    assert 'class="low"' not in _row(html, f"target-row-BJ-{shortage}")  # 10 available


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"depot": "SY", "override": "lots"}, 422, "is not a whole number"),
        ({"depot": "SY", "override": "-2"}, 422, "is not a whole number"),
        ({"depot": "QQ", "override": "2"}, 404, "unknown depot"),
        ({"depot": "SY", "part_number": "NO-SUCH-PART", "override": "2"}, 404, "unknown part"),
        ({"depot": "SY", "override": "999999999"}, 422, "whole number from 0"),
    ],
)
def test_a_bad_override_is_shown_on_the_page_and_changes_nothing(
    client, login, engine, shortage, data, status, message
):
    login("planner")
    response = _post(client, "/targets/override", {"part_number": shortage, **data})
    assert response.status_code == status
    html = _html(response)
    assert "Nothing was changed." in html and message in html
    assert _effective(engine, "SY", shortage) == 5


def test_the_recompute_form_recomputes_every_target(
    client, login, engine, make_part, account, install
):
    part = make_part(serialized=True)
    region = account("Shenzhen", coverage=None)
    for _ in range(60):
        install(region, part)
    login("planner")
    response = _post(
        client,
        "/targets/compute",
        {"fill_rate": "90", "lead_time_days": "30", "window_days": "120"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    html = _html(response)
    assert "Targets recomputed" in html and "fill rate 90%" in html
    assert "lead time 30 days" in html and "demand window 120 days" in html
    [stored] = targets.list_targets(UnitOfWork(engine), depot="GZ", part_number=part)
    assert stored.computed >= 1 and stored.fill_rate == 0.9
    assert f'data-testid="effective">{stored.computed}<' in _row(html, f"target-row-GZ-{part}")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"fill_rate": "100"}, "fill_rate"),
        ({"fill_rate": "ninety"}, "fill_rate"),
        ({"lead_time_days": "0"}, None),
        ({"window_days": "14.5"}, "window_days"),
        ({"window_days": "3"}, None),
    ],
)
def test_impossible_recompute_settings_are_refused_on_the_page(
    client, login, engine, shortage, data, field
):
    login("planner")
    response = _post(client, "/targets/compute", data)
    assert response.status_code == 422
    html = _html(response)
    assert "Nothing was changed." in html
    if field:
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', html)
    assert all(t.computed_at is None for t in targets.list_targets(UnitOfWork(engine)))


def test_a_filter_naming_an_unknown_part_shows_why(client, login):
    login("planner")
    response = client.get("/targets?part_number=NO-SUCH-PART")
    assert response.status_code == 404
    assert "unknown part" in _html(response)


def test_forms_without_the_csrf_token_are_refused(client, login, engine, shortage):
    login("planner")
    response = client.post(
        "/targets/override", data={"depot": "SY", "part_number": shortage, "override": "1"}
    )
    assert response.status_code == 400
    assert _effective(engine, "SY", shortage) == 5


def test_the_stock_page_shows_each_depots_target_beside_its_stock(client, login, shortage):
    login("planner")
    html = _html(client.get("/stock?depot=BJ"))
    assert '<th class="num">Target</th>' in html
    row = _row(html, f"stock-row-BJ-{shortage}")
    assert '<td class="num">4</td>' in row and 'class="low"' not in row


# --- rebalancing ----------------------------------------------------------------------------


def test_a_planner_runs_reviews_and_approves_a_plan(client, login, engine, shortage):
    login("planner")
    response = follow_plan_run(client, _post(client, "/rebalance", {}, form_path="/rebalance"))
    assert response.status_code == 200
    [plan] = [p.plan for p in rebalancing.list_plans(UnitOfWork(engine))]
    assert response.request.path == f"/rebalance/{plan.id}"
    html = _html(response)
    assert f"Plan {plan.id}: 5 units to move" in html
    assert 'data-testid="units-moved">5<' in html
    assert 'data-testid="shortage-before">5<' in html and 'data-testid="shortage-left">0<' in html
    assert 'data-testid="lane-BJ-SY"' in html
    move = _row(html, f"move-BJ-SY-{shortage}")
    assert 'data-testid="move-qty">5<' in move

    listing = _html(client.get("/rebalance"))
    assert "proposed" in _row(listing, f"plan-row-{plan.id}")

    response = _post(
        client,
        f"/rebalance/{plan.id}/approve",
        {},
        form_path=f"/rebalance/{plan.id}",
        follow_redirects=True,
    )
    html = _html(response)
    assert "approved: 1 draft transfer" in html
    [transfer_id] = rebalancing.get_plan(UnitOfWork(engine), plan.id).transfer_ids
    assert f'href="/transfers/T{transfer_id}"' in html
    assert 'data-testid="approve-plan"' not in html
    draft = transfers.get_transfer(UnitOfWork(engine), transfer_id).transfer
    assert (draft.from_depot, draft.to_depot, draft.status) == ("BJ", "SY", "draft")


def test_approving_a_decided_plan_is_refused_on_its_page(client, login, engine, planner, shortage):
    plan_id = rebalancing.propose_plan(UnitOfWork(engine), planner).plan.id
    rebalancing.discard_plan(UnitOfWork(engine), planner, plan_id)
    login("planner")
    response = _post(client, f"/rebalance/{plan_id}/approve", {}, form_path=f"/rebalance/{plan_id}")
    assert response.status_code == 409
    assert "only a proposed plan can be approved" in _html(response)
    assert rebalancing.get_plan(UnitOfWork(engine), plan_id).plan.status == "discarded"


def test_a_planner_discards_a_plan(client, login, engine, shortage):
    login("planner")
    follow_plan_run(client, _post(client, "/rebalance", {}, form_path="/rebalance"))
    [plan] = [p.plan for p in rebalancing.list_plans(UnitOfWork(engine))]
    response = _post(
        client,
        f"/rebalance/{plan.id}/discard",
        {},
        form_path=f"/rebalance/{plan.id}",
        follow_redirects=True,
    )
    assert "discarded" in _html(response)
    assert rebalancing.get_plan(UnitOfWork(engine), plan.id).plan.status == "discarded"


def test_a_plan_that_moves_nothing_offers_no_approval(client, login):
    login("planner")
    html = _html(follow_plan_run(client, _post(client, "/rebalance", {}, form_path="/rebalance")))
    assert "moves nothing" in html and 'data-testid="no-moves"' in html
    assert 'data-testid="approve-plan"' not in html


def test_an_unknown_plan_is_404(client, login):
    login("planner")
    assert client.get("/rebalance/999999").status_code == 404


# --- dispatch -------------------------------------------------------------------------------


def test_the_dispatch_page_lists_open_replacements_and_reports_a_re_plan(
    client, login, engine, make_user, make_part, stock_up, account, install
):
    engineer = make_user("engineer")
    part = make_part(serialized=True)
    stock_up("CD", part, 1, serialized=True)
    numbers = []
    with clock.frozen(MONDAY_10_SHANGHAI):
        for city, level in [("Chengdu", "C-3"), ("Chongqing", "C-1")]:
            unit = install(account(city), part)
            request = OpenRequest(
                fault_level=level, kind="advance_replacement", symptom="down", serial=unit.serial
            )
            numbers.append(opening.open_rma(UnitOfWork(engine), engineer, request).number)
    first, urgent = numbers
    login("planner")
    html = _html(client.get("/dispatch"))
    assert "backorder" in _row(html, f"case-{urgent}")
    assert 'data-testid="case-depot" data-depot="CD"' in _row(html, f"case-{first}")

    assert 'data-testid="to-change">2<' in html
    basis = re.search(r'name="basis" value="([0-9a-f]{64})"', html).group(1)
    with clock.frozen(MONDAY_10_SHANGHAI):
        response = _post(
            client, "/dispatch", {"basis": basis}, form_path="/dispatch", follow_redirects=True
        )
    html = _html(response)
    assert response.request.path == "/dispatch"
    assert 'data-testid="dispatch-report"' in html and "2 open replacements re-planned" in html
    assert 'data-testid="nothing-to-change"' in html
    assert 'data-testid="case-depot" data-depot="CD"' in _row(html, f"case-{urgent}")
    assert "backorder" in _row(html, f"case-{first}")
    assert 'data-testid="dispatch-report"' not in _html(client.get("/dispatch"))  # shown once
    rows = queries.stock(UnitOfWork(engine), depot="CD", part_number=part, nonzero=False)
    assert (rows[0].good, rows[0].reserved) == (1, 1)


# --- depot choice ---------------------------------------------------------------------------


def test_the_calculator_shows_the_choice_and_why_the_others_lost(
    client, login, make_part, stock_up
):
    part = make_part()
    stock_up("CD", part, 2)
    login("engineer")
    response = client.get(
        f"/depot-choice?part_number={part.lower()}&city=Chengdu&fault_level=C-2&at=2026-03-02T10:00"
    )
    assert response.status_code == 200
    html = _html(response)
    assert 'data-testid="chosen-depot">CD<' in html
    assert "chosen" in _row(html, "alternative-CD")
    assert "no stock" in _row(html, "alternative-BJ")
    assert "2026-03-03 10:00" in html  # due 24 hours after the time asked about


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("part_number=NO-SUCH&city=Chengdu&fault_level=C-1", 404, "unknown part"),
        ("part_number={part}&city=Atlantis&fault_level=C-1", 404, "unknown city"),
        ("part_number={part}&city=Chengdu&fault_level=C-7", 422, "Fault level"),
        ("part_number={part}&city=Chengdu&fault_level=C-1&at=soon", 422, "not a date"),
        ("part_number={part}&fault_level=C-1", 422, "choose the customer"),
    ],
)
def test_the_calculator_shows_bad_input_on_the_page(
    client, login, make_part, query, status, message
):
    part = make_part()
    login("planner")
    response = client.get("/depot-choice?" + query.replace("{part}", part))
    assert response.status_code == status
    assert message in _html(response)


def test_the_calculator_without_stock_says_backorder(client, login, make_part):
    part = make_part()
    login("planner")
    html = _html(client.get(f"/depot-choice?part_number={part}&city=Harbin&fault_level=C-1"))
    assert "Backorder" in html
