"""Defect: stale targets lived forever.

A computation never lists the pairs it finds 0, so a target whose demand had gone
was kept from the computation before. Recomputing now replaces every computed
target; planners' overrides stay; the rebalancing and the depot choice read the
new figures. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import clock
from tests.planning.world import World, make_world

PART = "OPT-40G-LR"
AT = "2026-03-02T10:00:00%2B08:00"  # a Monday, 10:00 in Shanghai
RMAS_PER_REGION = 6
# Six requests in a 90-day window (plus 90 days of prior): 1/30 a day; over 14 days of
# lead time 0.47 units on order on average, and 3 units reach a 95 % fill rate.
TARGET_FROM_DEMAND = 3


@pytest.fixture
def world(any_engine) -> World:
    """``PART`` asked for by six replacement requests in each of Chengdu's and
    Shenyang's regions, all reported 60 days ago; no installed base."""
    world = make_world(any_engine)
    world.part(PART)
    sixty_days_ago = clock.now() - timedelta(days=60)
    for city in ("Chengdu", "Shenyang"):
        world.request_replacements(world.site(city), PART, RMAS_PER_REGION, sixty_days_ago)
    return world


def _targets(world: World, query: str = "") -> list[dict]:
    return world.call("GET", f"/api/v1/targets?part_number={PART}{query}", 200)


def test_a_target_whose_demand_has_gone_is_dropped_and_an_override_stays(world):
    world.receive("CD", PART, 1)
    world.receive("XA", PART, 1)
    world.receive("SH", PART, 4)
    world.call("POST", "/api/v1/targets/compute", 200, json={"window_days": 90})
    assert {(t["depot"], t["computed"]) for t in _targets(world)} == {
        ("CD", TARGET_FROM_DEMAND),
        ("SY", TARGET_FROM_DEMAND),
    }
    override = {"depot": "SY", "part_number": PART, "override": 2}
    world.call("PUT", "/api/v1/targets", 200, json=override)

    choice_path = f"/api/v1/depot-choice?part_number={PART}&city=Chengdu&fault_level=C-3&at={AT}"
    choice = world.call("GET", choice_path, 200)
    cd = next(a for a in choice["alternatives"] if a["depot"] == "CD")
    assert choice["depot"] != "CD" and "below target" in cd["reason"]
    old_plan = world.call("POST", "/api/v1/rebalance/plans", 201)
    assert {m["to_depot"] for m in old_plan["moves"]} == {"CD", "SY"}

    # A 30-day window: the requests, 60 days old, are no demand any more.
    report = world.call("POST", "/api/v1/targets/compute", 200, json={"window_days": 30})
    assert report["rows"] == 0 and report["total_target"] == 0

    [sy] = _targets(world)  # CD's row has gone with its computed target
    assert (sy["depot"], sy["target"], sy["source"]) == ("SY", 2, "override")
    assert (sy["computed"], sy["demand_per_day"]) == (0, 0)
    [cd_target] = _targets(world, "&depot=CD")
    assert (cd_target["target"], cd_target["computed"], cd_target["computed_at"]) == (0, 0, None)

    assert world.call("GET", choice_path, 200)["depot"] == "CD"
    new_plan = world.call("POST", "/api/v1/rebalance/plans", 201)
    assert {m["to_depot"] for m in new_plan["moves"]} == {"SY"}
    assert new_plan["units_moved"] == 2 and new_plan["shortage_left"] == 0
    # The plan made from the old targets is stale now.
    world.call("POST", f"/api/v1/rebalance/plans/{old_plan['id']}/approve", 409)


def test_spares_targets_compute_drops_a_target_whose_demand_has_gone(world):
    runner = world.app.test_cli_runner()
    first = runner.invoke(args=["targets", "compute", "--window-days", "90"])
    assert first.exit_code == 0, first.output
    assert len(_targets(world)) == 2

    again = runner.invoke(args=["targets", "compute", "--window-days", "30"])
    assert again.exit_code == 0, again.output
    assert "0 units in all" in again.stdout
    assert _targets(world) == []
    listed = runner.invoke(args=["targets", "list", "--all", "--part-number", PART])
    assert listed.exit_code == 0 and PART not in listed.stdout
