"""The planners' availability pages on the demo data: the exchange curve with today's
targets, the independent base stock and the proposal marked, the comparison by depot
and family, applying the proposal or a point of the curve (overrides kept, the same
targets on a second click), refusals that save nothing, engineers refused, the page
in Chinese, and the simulation form's result."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy.engine import Engine

from core.db import UnitOfWork
from demo.users import DEMO_PASSWORD
from inventory.service import targets
from planning.service import availability, availability_review, simulation
from tests.conftest import make_test_app
from tests.core.test_translation_coverage import ALLOWED_WORDS, ENGLISH_RUN

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
ENGLISH = {"Accept-Language": "en"}
GOAL = 0.9


@pytest.fixture(scope="module")
def demo_app(demo: Engine) -> Any:
    return make_test_app(demo)


def _signed_in(app: Any, username: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    answer = client.post(
        "/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token}
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return client


def _html(response: Any) -> str:
    return response.get_data(as_text=True)


def _form_fields(html: str, testid: str) -> dict[str, str]:
    """The hidden fields of the form marked ``data-testid=testid``."""
    form = re.search(rf'<form[^>]*data-testid="{testid}".*?</form>', html, re.S).group(0)
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form))


def _row(html: str, testid: str) -> str:
    return re.search(rf'<tr data-testid="{testid}">.*?</tr>', html, re.S).group(0)


def _cell(row: str, plan: str, figure: str) -> str:
    return re.search(rf'data-plan="{plan}" data-figure="{figure}">([^<]*)<', row).group(1)


def _effective(engine: Engine) -> dict[tuple[str, str], int]:
    return {pair: value for pair, value in targets.effective_targets(UnitOfWork(engine)).items()}


def test_the_page_draws_the_curve_and_compares_the_targets_depot_by_depot(
    demo_app: Any, demo: Engine
):
    client = _signed_in(demo_app, "planner")
    answer = client.get(f"/availability?goal={GOAL}&window_hours=24", headers=ENGLISH)
    assert answer.status_code == 200
    html = _html(answer)
    review = availability_review.review(UnitOfWork(demo), GOAL, 24)
    # The chart: inline SVG with the curve and the three marked plans in the legend.
    chart = re.search(r'<figure[^>]*data-testid="exchange-curve">(.*?)</figure>', html, re.S)
    svg = chart.group(1)
    assert svg.lstrip().startswith("<svg") and 'class="chart"' in svg
    for words in ("today's targets", "optimised", "independent base stock", "goal 90%"):
        assert words.replace("'", "&#39;") in svg or words in svg
    # The curve's points are the API's exchange curve, point for point.
    api_curve = availability.exchange_curve(UnitOfWork(demo), 24)
    assert len(review.curve) == len(api_curve) == availability.CURVE_POINTS
    for step, point in zip(review.curve, api_curve, strict=True):
        assert (step.inventory_value, step.within_window) == (
            point["inventory_value"],
            point["within_window"],
        )
        row = _row(html, f"curve-step-{step.step}")
        assert f"{step.inventory_value:,.2f}" in row and f"{step.within_window:.1%}" in row
    # The comparison by depot adds up to the proposal, and each depot's units and
    # value are its column of the targets times the unit costs.
    proposal = review.proposal
    body = proposal.as_dict()
    cost = proposal.network.unit_cost
    for d, depot in enumerate(proposal.network.depots):
        row = _row(html, f"by-depot-{depot}")
        for name, plan in (
            ("current", proposal.current),
            ("optimized", proposal.optimized),
            ("baseline", proposal.baseline),
        ):
            units = int(plan.base_stock[:, d].sum())
            value = float(plan.base_stock[:, d] @ cost)
            assert _cell(row, name, "units") == f"{units:,}"
            assert _cell(row, name, "value") == f"{value:,.2f}"
    assert (
        sum(row.plans["optimized"].units for row in review.by_depot) == (body["predicted"]["units"])
    )
    assert sum(row.plans["baseline"].units for row in review.by_family) == body["baseline"]["units"]
    # Service by depot region and by family, weighted by demand, make the whole.
    demand = proposal.network.demand_per_day
    total = review.totals.plans["optimized"].within_window
    assert total == pytest.approx(body["predicted"]["within_window"], abs=1e-6)
    assert total == pytest.approx(
        sum(
            row.plans["optimized"].within_window * demand[mask].sum()
            for row, mask in zip(
                review.by_family,
                [
                    np.array([_family(demo, part) == row.key for part in proposal.network.parts])
                    for row in review.by_family
                ],
                strict=True,
            )
            if row.plans["optimized"].within_window is not None
        )
        / demand.sum()
    )
    headline = re.search(r'data-testid="headline-optimized">(.*?)</div>', html, re.S).group(1)
    assert f"{body['predicted']['within_window']:.1%}" in headline


def _family(engine: Engine, part: str) -> str:
    from inventory.service import catalog

    return catalog.get_part(UnitOfWork(engine), part).family


def test_bad_input_is_refused_with_422_and_nothing_is_saved(demo_app: Any, demo: Engine):
    client = _signed_in(demo_app, "planner")
    for query, field in (("goal=1.5", None), ("goal=high", "goal"), ("window_hours=0", None)):
        answer = client.get(f"/availability?{query}", headers=ENGLISH)
        assert answer.status_code == 422, query
        html = _html(answer)
        assert 'data-testid="form-error"' in html
        if field:
            assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', html)
    page = _html(client.get(f"/availability?goal={GOAL}", headers=ENGLISH))
    fields = _form_fields(page, "apply-form")
    before = _effective(demo)
    refused = (
        ({**fields, "goal": "2"}, 422),
        ({**fields, "window_hours": "x"}, 422),
        ({**fields, "choice": "999"}, 422),
        ({**fields, "basis": "0" * 64}, 409),  # the figures the page showed changed
    )
    for data, status in refused:
        answer = client.post("/availability/apply", data=data, headers=ENGLISH)
        assert answer.status_code == status, data
        assert "Nothing was changed." in _html(answer)
    missing_token = {key: value for key, value in fields.items() if key != "csrf_token"}
    assert client.post("/availability/apply", data=missing_token).status_code == 400
    assert _effective(demo) == before


def test_engineers_may_not_see_or_apply(demo_app: Any, demo: Engine):
    client = _signed_in(demo_app, "engineer")
    before = _effective(demo)
    assert client.get("/availability").status_code == 403
    assert client.get("/availability/simulation?days=30").status_code == 403
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', _html(client.get("/login")))
    data = {"goal": "0.9", "window_hours": "24", "choice": "optimized", "basis": "x"}
    if token:
        data["csrf_token"] = token.group(1)
    assert client.post("/availability/apply", data=data).status_code in (400, 403)
    assert _effective(demo) == before


class _VisibleText(HTMLParser):
    """The words a reader sees in ``<main>``: text, titles and labels (not styles)."""

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self._main = self._style = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._main += tag == "main"
        self._style += tag in ("style", "script")
        if self._main:
            self.words += [v for k, v in attrs if k in ("title", "aria-label") and v]

    def handle_endtag(self, tag: str) -> None:
        self._main -= tag == "main"
        self._style -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if self._main and not self._style:
            self.words.append(data)


def _english_words(html: str, data: tuple[str, ...]) -> set[str]:
    """Runs of English words on the page once ``data`` (names as stored) is taken out."""
    parser = _VisibleText()
    parser.feed(html)
    text = " ".join(parser.words)
    for name in sorted(data, key=len, reverse=True):
        text = text.replace(name, " ")
    return {match.group(0) for match in ENGLISH_RUN.finditer(ALLOWED_WORDS.sub(" ", text))}


def test_the_page_reads_in_chinese(demo_app: Any, demo: Engine):
    client = _signed_in(demo_app, "planner")
    client.get("/availability/simulation")  # shows (and so drops) the sign-in message
    html = _html(client.get(f"/availability?goal={GOAL}", headers=CHINESE))
    assert '<html lang="zh-Hans-CN">' in html
    assert "<h1>按可用性计算目标库存</h1>" in html
    for words in (
        "应用这些目标",
        "在曲线上选一个点",
        "按备件库",
        "按备件类别",
        "当前目标",
        "独立基础库存",
    ):
        assert words in html, words
    for english in ("Apply these targets", "By depot", "Pick a point", "inventory value"):
        assert english not in html, english
    svg = re.search(r'data-testid="exchange-curve">(.*?)</figure>', html, re.S).group(1)
    assert "库存金额" in svg
    result = _html(
        client.get("/availability/simulation?targets=current&days=30&seed=1", headers=CHINESE)
    )
    assert "按城市" in result and "By city" not in result
    cities = availability.service_network(UnitOfWork(demo)).cities
    for page in (html, result):
        assert _english_words(page, cities) == set()
    fields = _form_fields(html, "apply-form")
    saved = client.post("/availability/apply", data=fields, headers=CHINESE, follow_redirects=True)
    assert saved.status_code == 200
    assert re.search(r"已保存 \d+ 个目标", _html(saved)) and "计划员的手工设定已保留" in _html(
        saved
    )
    refused = client.post("/availability/apply", data={**fields, "goal": "2"}, headers=CHINESE)
    assert refused.status_code == 422 and "目标必须" in _html(refused)


def test_the_simulation_form_returns_the_run(demo_app: Any, demo: Engine):
    client = _signed_in(demo_app, "planner")
    form = client.get("/availability/simulation", headers=ENGLISH)
    assert form.status_code == 200 and 'data-testid="simulation-result"' not in _html(form)
    answer = client.get("/availability/simulation?targets=current&days=120&seed=7", headers=ENGLISH)
    assert answer.status_code == 200
    html = _html(answer)
    run = simulation.run_simulation(UnitOfWork(demo), "current", days=120, seed=7)
    shown = re.search(r'data-testid="simulated-share">([^<]*)<', html).group(1)
    share = run.result.within_window
    assert shown == ("–" if share is None else f"{share:.1%}")
    cases = re.search(r'data-testid="simulated-cases">([^<]*)<', html).group(1)
    assert cases == f"{run.result.cases:,}"
    cities = re.search(r'<table data-testid="simulation-cities">.*?</table>', html, re.S).group(0)
    for city, tally in run.result.by_city.items():
        row = re.search(rf'<tr><td data-city="{re.escape(escape(city))}">.*?</tr>', cities).group(0)
        assert f'<td class="num">{tally.cases:,}</td><td class="num">{tally.within:,}</td>' in row
    assert sum(t.cases for t in run.result.by_city.values()) == run.result.cases
    assert '<figure class="chart-card" data-testid="simulation-chart"><svg' in html
    for bad in ("days=0", "days=abc", "seed=-1", "targets=nonsense&days=10"):
        refused = client.get(f"/availability/simulation?{bad}", headers=ENGLISH)
        assert refused.status_code == 422, bad
        assert 'data-testid="simulation-result"' not in _html(refused)


def test_applying_saves_the_proposal_keeps_overrides_and_a_second_click_changes_nothing(
    demo_app: Any, demo: Engine
):
    client = _signed_in(demo_app, "planner")
    review = availability_review.review(UnitOfWork(demo), GOAL, 24)
    rows = review.proposal.as_dict()["targets"]
    kept = next(row for row in rows if row["target"] > 0)
    planner = _planner(demo)
    targets.set_override(
        UnitOfWork(demo), planner, kept["depot"], kept["part_number"], kept["target"] + 3
    )
    page = _html(client.get(f"/availability?goal={GOAL}&window_hours=24", headers=ENGLISH))
    fields = _form_fields(page, "apply-form")
    assert fields["choice"] == "optimized" and fields["basis"] == review.basis
    saved = client.post("/availability/apply", data=fields, headers=ENGLISH)
    assert saved.status_code == 302
    assert f"goal={GOAL}" in saved.headers["Location"]
    flashed = _html(client.get(saved.headers["Location"], headers=ENGLISH))
    count = sum(1 for row in rows if row["target"] > 0)
    assert f"{count} targets saved" in flashed and "overrides were kept" in flashed
    effective = _effective(demo)
    proposed = {(row["depot"], row["part_number"]): row["target"] for row in rows}
    for pair, target in proposed.items():
        if pair != (kept["depot"], kept["part_number"]):
            assert effective.get(pair, 0) == target
    assert effective[(kept["depot"], kept["part_number"])] == kept["target"] + 3
    # The same form again: the same targets, nothing else changes.
    again = client.post("/availability/apply", data=fields, headers=ENGLISH)
    assert again.status_code == 302
    assert _effective(demo) == effective


def test_a_point_of_the_curve_saves_its_own_targets(demo_app: Any, demo: Engine):
    client = _signed_in(demo_app, "planner")
    page = _html(client.get(f"/availability?goal={GOAL}&window_hours=24", headers=ENGLISH))
    fields = _form_fields(page, "curve-form")
    review = availability_review.review(UnitOfWork(demo), GOAL, 24)
    step = 3
    plan = review.step_plan(step)
    assert plan.inventory_value == pytest.approx(review.curve[step].inventory_value)
    answer = client.post(
        "/availability/apply", data={**fields, "choice": str(step)}, headers=ENGLISH
    )
    assert answer.status_code == 302
    network = review.proposal.network
    overridden = {
        (t.depot_code, t.part_number): t.override
        for t in targets.list_targets(UnitOfWork(demo), limit=100_000)
        if t.override is not None
    }
    effective = _effective(demo)
    for p, part in enumerate(network.parts):
        for d, depot in enumerate(network.depots):
            expected = overridden.get((depot, part), int(plan.base_stock[p, d]))
            assert effective.get((depot, part), 0) == expected


def _planner(engine: Engine) -> Any:
    from core import auth

    return auth.authenticate(UnitOfWork(engine), "planner", DEMO_PASSWORD)


def test_a_network_without_demand_draws_an_empty_curve(client, login, make_part):
    make_part()
    login("planner")
    answer = client.get("/availability", headers=ENGLISH)
    assert answer.status_code == 200
    html = _html(answer)
    assert "no demand to stock for" in html
    assert 'data-testid="not-reached"' not in html
    assert re.search(r'data-testid="headline-optimized"><dt>[^<]*</dt><dd>–</dd>', html)


def test_a_goal_out_of_reach_says_so_in_the_readers_words(demo_app: Any, demo: Engine):
    client = _signed_in(demo_app, "planner")
    html = _html(client.get("/availability?goal=0.999&window_hours=24", headers=CHINESE))
    notice = re.search(r'data-testid="not-reached">([^<]*)<', html).group(1)
    ceiling = availability_review.review(UnitOfWork(demo), 0.999, 24).ceiling
    assert "无法达到目标 99.9%" in notice and f"最多 {ceiling:.1%}" in notice
    assert "cannot be reached" not in html
