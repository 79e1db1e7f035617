"""The planners' pages in Chinese: targets, rebalancing plans, batch dispatch and the
depot choice read in the reader's language, flashes and refusals too (nothing
changes on a refusal); the API and the CLI stay English."""

from __future__ import annotations

import re

import pytest

from core.db import UnitOfWork
from inventory.labels import FAMILY_LABELS
from inventory.service import rebalancing, targets
from tests.conftest import csrf_token

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _html(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def shortage(engine, planner, make_part, stock_up) -> str:
    """BJ holds 10 of an optic with a target of 4; SY has none and a target of 5."""
    part = make_part(family="optic")
    stock_up("BJ", part, 10)
    targets.set_override(UnitOfWork(engine), planner, "BJ", part, 4)
    targets.set_override(UnitOfWork(engine), planner, "SY", part, 5)
    return part


def _post(client, path: str, data: dict, form_path: str, **kwargs):
    token = csrf_token(client, form_path)
    return client.post(path, data={"csrf_token": token, **data}, headers=CHINESE, **kwargs)


def test_the_targets_page_reads_in_chinese(app, client, login, shortage):
    with app.test_request_context(headers=CHINESE):
        optic = str(FAMILY_LABELS["optic"])  # the inventory's word for the family
    login("planner")
    html = _html(client.get("/targets", headers=CHINESE))
    assert '<html lang="zh-Hans-CN">' in html and "<h1>目标库存</h1>" in html
    for words in ("月需求", "手工设定", "共 2 个目标库存", "低于目标 1 个", "重新计算目标库存"):
        assert words in html
    row = re.search(rf'<tr data-testid="target-row-SY-{shortage}".*?</tr>', html, re.S).group(0)
    assert f'data-family="optic">{optic}<' in row and 'title="可用库存低于目标"' in row
    assert "Demand / month" not in html and "Recompute targets" not in html


def test_an_override_flashes_in_chinese_and_a_bad_one_is_refused_in_chinese(
    client, login, engine, shortage
):
    login("planner")
    saved = _post(
        client,
        "/targets/override",
        {"depot": "SY", "part_number": shortage, "override": "7"},
        "/targets",
        follow_redirects=True,
    )
    assert f"SY 的 {shortage}：目标库存已设为 7。" in _html(saved)
    refused = _post(
        client,
        "/targets/override",
        {"depot": "SY", "part_number": shortage, "override": "lots"},
        "/targets",
    )
    assert refused.status_code == 422
    html = _html(refused)
    assert "未做任何更改。" in html and "手工设定：&#39;lots&#39; 不是整数件数" in html
    assert targets.effective_targets(UnitOfWork(engine))[("SY", shortage)] == 7


def test_recompute_settings_are_refused_in_chinese_on_the_page(client, login):
    login("planner")
    answer = _post(client, "/targets/compute", {"window_days": "3"}, "/targets")
    assert answer.status_code == 422
    assert "需求统计期须为 7 至 3650 天" in _html(answer)


def test_a_plan_is_reviewed_and_approved_in_chinese(client, login, engine, planner, shortage):
    plan_id = rebalancing.propose_plan(UnitOfWork(engine), planner).plan.id
    login("planner")
    html = _html(client.get(f"/rebalance/{plan_id}", headers=CHINESE))
    assert f"调拨计划 {plan_id}" in html and "待审批" in html
    # Freight as charged (issue 13): handling per unit and the lane's shipment charge.
    for words in (
        "每件操作费（元）",
        "单票运费",
        "操作费",
        "调拨前库存",
        "调拨后库存",
        "BJ（调出）",
        "SY（调入）",
    ):
        assert words in html
    assert "批准：生成 1 张调拨单草稿" in html
    approved = _post(
        client, f"/rebalance/{plan_id}/approve", {}, f"/rebalance/{plan_id}", follow_redirects=True
    )
    assert f"计划 {plan_id} 已批准：已生成 1 张待发货的调拨单草稿。" in _html(approved)
    listing = _html(client.get("/rebalance?status=approved", headers=CHINESE))
    assert "共 1 份计划" in listing and "已批准" in listing


def test_the_depot_choice_says_why_in_chinese(client, login, make_part, stock_up):
    part = make_part()
    stock_up("CD", part, 2)
    login("engineer")
    html = _html(
        client.get(
            f"/depot-choice?part_number={part}&city=Chengdu&fault_level=C-2&at=2026-03-02T10:00",
            headers=CHINESE,
        )
    )
    assert "由哪个库房发货" not in html  # the heading names the house term
    assert "由哪个备件库发货？" in html
    bj = re.search(r'<tr data-testid="alternative-BJ".*?</tr>', html, re.S).group(0)
    assert 'data-reason="no stock"' in bj and ">无库存<" in bj
    assert "成都 Chengdu" in html


def test_the_dispatch_page_reads_in_chinese(client, login):
    login("planner")
    html = _html(client.get("/dispatch", headers=CHINESE))
    assert "<h1>批量调度</h1>" in html and "未结更换单" in html
    assert "没有等待发货的未结更换单。" in html


def test_the_api_and_the_cli_stay_english(client, auth_for, app, shortage):
    answer = client.get(
        "/api/v1/targets?part_number=NO-SUCH-PART", headers={**auth_for("planner"), **CHINESE}
    )
    assert answer.status_code == 404 and "unknown part" in answer.get_json()["detail"]
    result = app.test_cli_runner().invoke(args=["targets", "compute", "--window-days", "3"])
    assert result.exit_code == 2
    assert "demand window must be 7 to 3650 days" in result.output
