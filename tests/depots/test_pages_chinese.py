"""The depots' pages in Chinese: depots, lanes, lane editing and calendars read in the
reader's language with Chinese names first, codes named by their labels, refusals
explained in Chinese and nothing changed; the API stays English."""

from __future__ import annotations

import re

from core.db import UnitOfWork
from depots.service import network
from tests.conftest import csrf_token

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _html(response) -> str:
    return response.get_data(as_text=True)


def test_the_depot_map_and_table_read_in_chinese(client, login):
    login("engineer")
    html = _html(client.get("/depots", headers=CHINESE))
    assert '<html lang="zh-Hans-CN">' in html
    assert "备件库列表" in html and "承运商揽收" in html and "每天 09:00–18:00" in html
    assert "拉萨 Lhasa" in html  # a remote city's map title, Chinese first
    assert "Carrier pickup" not in html and "road lane" not in html


def test_the_lanes_list_names_modes_and_kinds_in_chinese(client, login):
    login("planner")
    html = _html(client.get("/lanes?from=BJ&q=拉萨", headers=CHINESE))
    row = re.search(r'<tr data-testid="lane-BJ-Lhasa".*?</tr>', html, re.S).group(0)
    assert "拉萨 Lhasa" in row and "航空快运" in row and "客户城市" in row and "偏远" in row
    assert "共 1 条线路" in html and "在途时长（小时）" in html
    depots_only = _html(client.get("/lanes?from=BJ&kind=depot", headers=CHINESE))
    assert "SH 库房" not in depots_only and "SH 备件库 · 上海 Shanghai" in depots_only


def test_a_refused_lane_edit_is_explained_in_chinese_and_changes_nothing(client, login, engine):
    lane = network.find_lane(UnitOfWork(engine), "BJ", "Tianjin")
    login("planner")
    path = f"/lanes/{lane.id}/edit"
    answer = client.post(
        path,
        data={"csrf_token": csrf_token(client, path), "mode": "road", "hours": "0", "cost": "5"},
        headers=CHINESE,
    )
    assert answer.status_code == 422
    html = _html(answer)
    assert "未保存：请修正下列数值。" in html and "小时数须大于 0 且不超过 240" in html
    assert network.get_lane(UnitOfWork(engine), lane.id).hours == lane.hours

    saved = client.post(
        path,
        data={"csrf_token": csrf_token(client, path), "mode": "road", "hours": "3", "cost": "5"},
        headers=CHINESE,
        follow_redirects=True,
    )
    assert "线路 BJ → Tianjin 已保存。" in _html(saved)


def test_the_calendar_reads_in_chinese(client, login):
    login("supervisor")
    html = _html(
        client.get("/calendars?code=5x8&year=2026&start=2026-02-13T16:00&hours=10", headers=CHINESE)
    )
    assert "<caption>2月</caption>" in html and '<th scope="col">周一</th>' in html
    assert "春节" in html and "调休上班日" in html and "系统预置" in html
    assert "到期时间为 <strong>2026-02-24 10:00 周二</strong>" in html
    assert "Spring Festival" not in html and "Tue" not in html


def test_a_calculator_mistake_is_explained_in_chinese(client, login):
    login("engineer")
    answer = client.get("/calendars?start=soon&hours=2", headers=CHINESE)
    assert "&#39;soon&#39; 不是日期和时间，格式应如 2026-03-02T09:00" in _html(answer)


def test_the_api_answers_in_english_to_a_chinese_browser(client, auth_for):
    answer = client.get(
        "/api/v1/lanes/quote?from_depot=BJ&to=Atlantis",
        headers={**auth_for("engineer"), **CHINESE},
    )
    assert answer.status_code == 404
    assert answer.get_json()["detail"] == "unknown destination city or depot 'Atlantis'"
