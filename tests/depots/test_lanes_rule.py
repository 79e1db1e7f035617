"""The pure transit rules: distance, the default lane, pickup windows and quotes."""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from depots.lanes import (
    SHANGHAI,
    LaneTerms,
    PickupWindow,
    check_terms,
    default_terms,
    great_circle_km,
    quote,
    service_allowed,
    standard_pickup,
)

BEIJING = (39.904, 116.407)
SHANGHAI_CITY = (31.230, 121.474)
GUANGZHOU = (23.129, 113.264)
LANE = LaneTerms("air", Decimal("11.52"), Decimal("466.84"))


def shanghai(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


# --- distance ------------------------------------------------------------------------------


def test_beijing_to_shanghai_is_about_1067_km():
    assert great_circle_km(*BEIJING, *SHANGHAI_CITY) == pytest.approx(1067, abs=3)


def test_beijing_to_guangzhou_is_about_1889_km():
    assert great_circle_km(*BEIJING, *GUANGZHOU) == pytest.approx(1889, abs=5)


def test_a_quarter_meridian_is_a_quarter_of_the_sphere_of_radius_6371():
    assert great_circle_km(0, 0, 90, 0) == pytest.approx(math.pi / 2 * 6371, rel=1e-12)


def test_distance_is_symmetric_and_zero_to_itself():
    assert great_circle_km(*BEIJING, *BEIJING) == 0
    there = great_circle_km(*BEIJING, *GUANGZHOU)
    assert great_circle_km(*GUANGZHOU, *BEIJING) == pytest.approx(there, rel=1e-12)


# --- the default lane at the band edges ----------------------------------------------------


def test_just_under_50_km_is_the_same_city_courier():
    assert default_terms(49.9) == LaneTerms("courier", Decimal("4.00"), Decimal("80.00"))


def test_50_km_is_already_road_express():
    # 3 + 50/70 = 3.714 h; 60 + 0.35 * 50 = 77.50 CNY
    assert default_terms(50) == LaneTerms("road", Decimal("3.71"), Decimal("77.50"))


def test_800_km_is_still_road_express():
    # 3 + 800/70 = 14.428 h; 60 + 280 = 340 CNY
    assert default_terms(800) == LaneTerms("road", Decimal("14.43"), Decimal("340.00"))


def test_just_over_800_km_flies():
    # 10 + 800.1/700 = 11.143 h; 200 + 200.025 = 400.025 -> 400.03 (half up)
    assert default_terms(800.1) == LaneTerms("air", Decimal("11.14"), Decimal("400.03"))


def test_zero_distance_is_the_courier():
    assert default_terms(0).mode == "courier"


@pytest.mark.parametrize("distance", [0.0, 49.9, 50.0, 300.0, 800.0, 800.1, 3000.0])
def test_a_remote_destination_adds_twelve_hours_and_nothing_else(distance):
    near, remote = default_terms(distance), default_terms(distance, remote=True)
    assert remote.hours - near.hours == 12
    assert (remote.mode, remote.cost) == (near.mode, near.cost)


@pytest.mark.parametrize("distance", [-0.1, math.inf, math.nan])
def test_a_distance_that_is_not_a_length_is_refused(distance):
    with pytest.raises(ValueError):
        default_terms(distance)


def test_money_and_hours_are_decimals_kept_to_cents():
    terms = default_terms(1234.567)
    assert terms.hours == Decimal("11.76") and terms.hours.as_tuple().exponent == -2
    assert terms.cost == Decimal("508.64") and terms.cost.as_tuple().exponent == -2


@given(
    st.floats(min_value=50, max_value=800),
    st.floats(min_value=50, max_value=800),
    st.booleans(),
)
def test_road_hours_and_cost_never_fall_as_distance_grows(a, b, remote):
    near, far = default_terms(min(a, b), remote=remote), default_terms(max(a, b), remote=remote)
    assert near.mode == far.mode == "road"
    assert near.hours <= far.hours and near.cost <= far.cost


@given(
    st.floats(min_value=800, max_value=6000, exclude_min=True),
    st.floats(min_value=800, max_value=6000, exclude_min=True),
    st.booleans(),
)
def test_air_hours_and_cost_never_fall_as_distance_grows(a, b, remote):
    near, far = default_terms(min(a, b), remote=remote), default_terms(max(a, b), remote=remote)
    assert near.mode == far.mode == "air"
    assert near.hours <= far.hours and near.cost <= far.cost


@given(st.floats(min_value=0, max_value=50, exclude_max=True))
def test_courier_terms_do_not_depend_on_distance(distance):
    assert default_terms(distance) == default_terms(0)


# --- what planners may type ----------------------------------------------------------------


def test_typed_values_are_parsed_and_rounded_to_cents():
    terms, errors = check_terms(" Road ", "9.5", "123.454")
    assert errors == {}
    assert terms == LaneTerms("road", Decimal("9.50"), Decimal("123.45"))


@pytest.mark.parametrize(
    ("hours", "ok"),
    [("0", False), ("-1", False), ("0.004", False), ("0.01", True), ("240", True),
     ("240.01", False), ("abc", False), ("NaN", False), ("Infinity", False), ("", False)],
)  # fmt: skip
def test_hours_must_be_more_than_zero_and_at_most_240(hours, ok):
    terms, errors = check_terms("road", hours, "10")
    assert (terms is not None) is ok
    assert ("hours" in errors) is not ok


@pytest.mark.parametrize(("cost", "ok"), [("0", True), ("-0.01", False), ("1e9", False)])
def test_cost_must_not_be_negative(cost, ok):
    _, errors = check_terms("air", "5", cost)
    assert ("cost" in errors) is not ok


def test_every_bad_field_is_reported_at_once():
    terms, errors = check_terms("boat", "-1", "x")
    assert terms is None
    assert set(errors) == {"mode", "hours", "cost"}


# --- the pickup window and the standard service ---------------------------------------------


@pytest.mark.parametrize(
    ("ready", "ships"),
    [
        (shanghai(2026, 3, 4, 17, 59), shanghai(2026, 3, 4, 17, 59)),
        (shanghai(2026, 3, 4, 18, 0), shanghai(2026, 3, 4, 18, 0)),  # cut-off is inclusive
        (shanghai(2026, 3, 4, 18, 0, 1), shanghai(2026, 3, 5, 9, 0)),
        (shanghai(2026, 3, 4, 18, 1), shanghai(2026, 3, 5, 9, 0)),
        (shanghai(2026, 3, 4, 8, 59), shanghai(2026, 3, 4, 9, 0)),
        (shanghai(2026, 3, 4, 9, 0), shanghai(2026, 3, 4, 9, 0)),
        (shanghai(2026, 3, 4, 0, 0), shanghai(2026, 3, 4, 9, 0)),
    ],
)
def test_standard_service_leaves_inside_the_window_or_at_the_next_opening(ready, ships):
    answer = quote(LANE, ready)
    assert answer.ships_at == ships
    assert answer.arrives_at == ships + timedelta(hours=11.52)


def test_friday_evening_leaves_saturday_morning_because_carriers_pick_up_daily():
    friday_evening = shanghai(2026, 3, 6, 19, 30)
    assert friday_evening.weekday() == 4
    assert quote(LANE, friday_evening).ships_at == shanghai(2026, 3, 7, 9, 0)


def test_a_ready_time_in_another_zone_is_judged_in_shanghai_time():
    # 10:30 UTC is 18:30 in Shanghai: after the cut-off although it is morning in London.
    after_cutoff = datetime(2026, 3, 6, 10, 30, tzinfo=UTC)
    assert quote(LANE, after_cutoff).ships_at == datetime(2026, 3, 7, 1, 0, tzinfo=UTC)
    # 17:30 in Shanghai, written in New York time (UTC-5): inside the window.
    new_york = timezone(timedelta(hours=-5))
    inside = datetime(2026, 3, 6, 4, 30, tzinfo=new_york)
    assert quote(LANE, inside).ships_at == inside


def test_quote_instants_are_utc_and_keep_the_lane_terms():
    answer = quote(LANE, shanghai(2026, 3, 4, 10, 0))
    assert answer.ships_at.tzinfo is UTC and answer.arrives_at.tzinfo is UTC
    assert (answer.service, answer.hours, answer.cost, answer.mode) == (
        "standard",
        LANE.hours,
        LANE.cost,
        LANE.mode,
    )


def test_a_naive_ready_time_is_refused():
    with pytest.raises(ValueError, match="aware"):
        quote(LANE, datetime(2026, 3, 4, 10, 0))


def test_an_unknown_service_is_refused():
    with pytest.raises(ValueError, match="service"):
        quote(LANE, shanghai(2026, 3, 4, 10, 0), "overnight")


def test_a_depot_window_can_differ_from_the_default():
    window = PickupWindow(open_hour=8, cutoff_hour=20)
    assert standard_pickup(shanghai(2026, 3, 4, 19, 30), window) == shanghai(2026, 3, 4, 19, 30)
    assert standard_pickup(shanghai(2026, 3, 4, 7, 30), window) == shanghai(2026, 3, 4, 8, 0)


def test_a_window_that_closes_before_it_opens_is_refused():
    with pytest.raises(ValueError):
        PickupWindow(open_hour=18, cutoff_hour=9)


# --- the emergency courier -------------------------------------------------------------------


def test_emergency_leaves_within_the_hour_after_the_cutoff_at_three_times_the_cost():
    ready = shanghai(2026, 3, 6, 18, 30)
    emergency = quote(LANE, ready, "emergency")
    assert emergency.service == "emergency"
    assert emergency.ships_at == shanghai(2026, 3, 6, 19, 30)
    assert emergency.cost == Decimal("1400.52")
    # Same carrier leg: only the departure changes.
    assert (emergency.hours, emergency.mode) == (LANE.hours, LANE.mode)
    assert emergency.arrives_at == emergency.ships_at + timedelta(hours=11.52)


def test_emergency_runs_in_the_middle_of_the_night():
    assert quote(LANE, shanghai(2026, 3, 7, 3, 0), "emergency").ships_at == shanghai(2026, 3, 7, 4)


def test_emergency_never_leaves_later_than_the_regular_pickup():
    assert quote(LANE, shanghai(2026, 3, 4, 10, 0), "emergency").ships_at == shanghai(
        2026, 3, 4, 10, 0
    )
    assert quote(LANE, shanghai(2026, 3, 4, 8, 30), "emergency").ships_at == shanghai(
        2026, 3, 4, 9, 0
    )


def test_only_c1_cases_may_book_the_emergency_courier():
    assert service_allowed("emergency", "C-1")
    assert not service_allowed("emergency", "C-2")
    assert not service_allowed("emergency", None)
    assert all(service_allowed("standard", level) for level in ("C-1", "C-2", "C-3", None))


# --- properties of every quote ---------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.timezones()
).filter(lambda value: value.utcoffset() is not None)
terms = st.builds(
    LaneTerms,
    st.sampled_from(["courier", "road", "air"]),
    st.decimals(min_value="0.01", max_value="240", places=2),
    st.decimals(min_value="0", max_value="100000", places=2),
)


@given(terms, instants, st.sampled_from(["standard", "emergency"]))
def test_nothing_arrives_before_it_is_ready(lane, ready, service):
    answer = quote(lane, ready, service)
    assert ready <= answer.ships_at < answer.arrives_at


@given(terms, instants)
def test_standard_always_ships_inside_the_pickup_window_within_a_day(lane, ready):
    ships = quote(lane, ready).ships_at
    local = ships.astimezone(SHANGHAI).time()
    assert time(9, 0) <= local <= time(18, 0)
    assert ships - ready < timedelta(hours=24)


@given(terms, instants)
def test_emergency_arrives_no_later_than_standard_and_ships_within_the_hour(lane, ready):
    standard, emergency = quote(lane, ready), quote(lane, ready, "emergency")
    assert emergency.arrives_at <= standard.arrives_at
    assert emergency.ships_at - ready <= timedelta(hours=1)
    assert emergency.cost == (lane.cost * 3).quantize(Decimal("0.01"))
