"""The lanes list on the server: one depot's lanes a page at a time, sorted by their
columns, filtered by kind, mode, edited or not and destination text, with the
figures of the whole selection."""

from __future__ import annotations

import re

from core.db import UnitOfWork
from depots.service import lane_edits, network


def _html(response) -> str:
    return response.get_data(as_text=True)


def _destinations(html: str) -> list[str]:
    return [to for _origin, to in re.findall(r'<tr data-testid="lane-([A-Z]+)-([^"]+)"', html)]


def _costs(html: str) -> list[float]:
    rows = re.findall(r'<tr data-testid="lane-[^"]+"[^>]*>(.*?)</tr>', html, re.S)
    return [float(re.findall(r'<td class="num">([\d.]+)</td>', row)[2]) for row in rows]


def test_lanes_sort_by_cost_across_pages(client, login):
    login("planner")
    first = _html(client.get("/lanes?from=GZ&sort=cost&order=desc&per_page=25"))
    costs = _costs(first)
    assert len(costs) == 25 and costs == sorted(costs, reverse=True)
    second = _costs(_html(client.get("/lanes?from=GZ&sort=cost&order=desc&per_page=25&page=2")))
    assert max(second) <= min(costs)
    assert "64 lanes in this selection" in first and "1–25 of 64" in first


def test_lanes_filter_by_mode_and_count_the_whole_selection(client, login, engine):
    road = [
        lane.to
        for lane in network.list_lanes(UnitOfWork(engine), from_depot="BJ")
        if lane.mode == "road"
    ]
    login("planner")
    html = _html(client.get("/lanes?from=BJ&mode=road&per_page=100"))
    assert set(re.findall(r'data-mode="([a-z]+)"', html)) == {"road"}
    assert sorted(_destinations(html)) == sorted(road) and road
    assert f"{len(road)} lanes in this selection" in html
    bad = client.get("/lanes?from=BJ&mode=boat")
    assert bad.status_code == 422 and "mode must be one of courier, road, air" in _html(bad)


def test_lanes_filter_by_destination_text_in_either_language(client, login):
    login("planner")
    assert _destinations(_html(client.get("/lanes?from=BJ&q=lhas"))) == ["Lhasa"]
    assert _destinations(_html(client.get("/lanes?from=BJ&q=拉萨"))) == ["Lhasa"]
    depots_only = _destinations(_html(client.get("/lanes?from=BJ&q=sh&kind=depot")))
    assert depots_only == ["SH", "SY"]  # Shanghai, Shenyang
    assert _destinations(_html(client.get("/lanes?from=BJ&q=%25"))) == []  # a literal percent


def test_lanes_filter_edited_ones(client, login, engine, make_user):
    planner = make_user("planner")
    lane = network.find_lane(UnitOfWork(engine), "CD", "Lhasa")
    lane_edits.update_lane(UnitOfWork(engine), planner, lane.id, mode="air", hours="30", cost="9")
    login("planner")
    html = _html(client.get("/lanes?from=CD&edited=yes"))
    assert _destinations(html) == ["Lhasa"]
    assert "1 lane in this selection" in html and "1 edited" in html
    assert "Lhasa" not in _destinations(_html(client.get("/lanes?from=CD&edited=no&per_page=100")))


def test_the_header_links_keep_the_filters(client, login):
    login("engineer")
    html = _html(client.get("/lanes?from=XA&kind=city&mode=air"))
    link = re.search(r'data-sort-key="hours">\s*<a href="([^"]+)"', html).group(1)
    for expected in ("from=XA", "kind=city", "mode=air", "sort=hours"):
        assert expected in link
