"""Working-hours arithmetic (depots.calendar): examples from the 2026 China calendar,
other time zones, and properties checked with hypothesis against a day-by-day oracle."""

from __future__ import annotations

import contextlib
import math
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from functools import partial
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import depots.calendar as calendar_module
from core.clock import read_instant
from depots.calendar import (
    SHANGHAI,
    WorkingCalendar,
    add_working_hours,
    count_working_days,
    is_working_day,
    is_working_time,
    next_opening,
    working_hours_between,
)
from tests.depots.test_calendar_data import HOLIDAY_BLOCKS, MAKE_UP_DAYS, china_5x8, days_of

CN = china_5x8()
ALWAYS = WorkingCalendar(code="7x24", always_open=True, day_start=0, day_end=1440)
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # half-hour daylight saving
SANTIAGO = ZoneInfo("America/Santiago")  # changes clocks at midnight
ONE_US = timedelta(microseconds=1)
TOLERANCE = 1e-6  # hours; the functions are exact to the microsecond


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def hours(start: datetime, end: datetime, calendar: WorkingCalendar = CN) -> float:
    return working_hours_between(calendar, start, end)


def due(start: datetime, amount: float, calendar: WorkingCalendar = CN) -> datetime:
    return add_working_hours(calendar, start, amount)


# --- ordinary weeks ---------------------------------------------------------------------


def test_a_weekday_counts_eight_hours_however_wide_the_span() -> None:
    assert hours(sh(2026, 3, 2, 9), sh(2026, 3, 2, 17)) == 8
    assert hours(sh(2026, 3, 2), sh(2026, 3, 3)) == 8


def test_a_weekend_counts_nothing() -> None:
    assert hours(sh(2026, 3, 7), sh(2026, 3, 9)) == 0
    assert not is_working_time(CN, sh(2026, 3, 7, 10))
    assert not is_working_time(CN, sh(2026, 3, 8, 10))


def test_a_normal_week_counts_forty_hours() -> None:
    assert hours(sh(2026, 3, 2), sh(2026, 3, 9)) == 40


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ((8, 0), (9, 0), 0),  # before opening
        ((17, 0), (18, 0), 0),  # after closing
        ((8, 30), (9, 30), 0.5),  # across opening
        ((16, 30), (17, 30), 0.5),  # across closing
        ((9, 0), (9, 0), 0),  # empty span
        ((12, 15), (13, 45), 1.5),  # inside
    ],
)
def test_only_the_part_of_a_span_inside_09_to_17_counts(
    start: tuple[int, int], end: tuple[int, int], expected: float
) -> None:
    assert hours(sh(2026, 3, 3, *start), sh(2026, 3, 3, *end)) == expected


def test_opening_is_working_time_and_closing_is_not() -> None:
    opening, closing = sh(2026, 3, 3, 9), sh(2026, 3, 3, 17)
    assert is_working_time(CN, opening)
    assert not is_working_time(CN, opening - ONE_US)
    assert is_working_time(CN, closing - ONE_US)
    assert not is_working_time(CN, closing)


# --- the 2026 holidays and make-up days ---------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last", "name"), HOLIDAY_BLOCKS, ids=[b[2] for b in HOLIDAY_BLOCKS]
)
def test_every_day_of_each_2026_holiday_block_is_closed(first: date, last: date, name: str) -> None:
    start = datetime.combine(first, datetime.min.time(), tzinfo=SHANGHAI)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)
    assert hours(start, end) == 0
    for day in days_of(first, last):
        assert not is_working_day(CN, day)
        assert not is_working_time(
            CN, datetime.combine(day, datetime.min.time(), SHANGHAI) + timedelta(hours=10)
        )


@pytest.mark.parametrize(
    ("first", "last", "name"), HOLIDAY_BLOCKS, ids=[b[2] for b in HOLIDAY_BLOCKS]
)
def test_the_weekday_before_and_after_each_holiday_block_is_worked(
    first: date, last: date, name: str
) -> None:
    before = first - timedelta(days=1)
    while before.isoweekday() > 5:
        before -= timedelta(days=1)
    after = last + timedelta(days=1)
    while after.isoweekday() > 5:
        after += timedelta(days=1)
    for day in (before, after):
        start = datetime.combine(day, datetime.min.time(), tzinfo=SHANGHAI)
        assert hours(start, start + timedelta(days=1)) == 8, day


@pytest.mark.parametrize(
    ("day", "name"), MAKE_UP_DAYS, ids=[d.isoformat() for d, _ in MAKE_UP_DAYS]
)
def test_each_2026_make_up_day_is_worked_although_a_weekend(day: date, name: str) -> None:
    assert day.isoweekday() in (6, 7)
    start = datetime.combine(day, datetime.min.time(), tzinfo=SHANGHAI)
    assert hours(start, start + timedelta(days=1)) == 8
    assert is_working_time(CN, start + timedelta(hours=9))
    assert not is_working_time(CN, start + timedelta(hours=17))


def test_saturday_14_february_is_worked_and_monday_16_is_not() -> None:
    assert is_working_time(CN, sh(2026, 2, 14, 10))
    assert not is_working_time(CN, sh(2026, 2, 16, 10))
    assert hours(sh(2026, 2, 14), sh(2026, 2, 15)) == 8
    assert hours(sh(2026, 2, 16), sh(2026, 2, 17)) == 0


def test_a_span_across_the_spring_festival_counts_the_make_up_saturday_only() -> None:
    # Fri 13 Feb 12:00 -> Tue 24 Feb 12:00: Fri 5 h + Sat 14 Feb 8 h + Tue 3 h.
    assert hours(sh(2026, 2, 13, 12), sh(2026, 2, 24, 12)) == 16


def test_adding_hours_over_the_spring_festival_skips_the_closed_block() -> None:
    assert due(sh(2026, 2, 13, 16), 9) == sh(2026, 2, 14, 17)
    assert due(sh(2026, 2, 13, 16), 10) == sh(2026, 2, 24, 10)


def test_adding_hours_over_national_day_skips_the_week_and_uses_saturday_10_october() -> None:
    assert due(sh(2026, 9, 30, 16), 2) == sh(2026, 10, 8, 10)
    assert due(sh(2026, 10, 9, 17), 8) == sh(2026, 10, 10, 17)
    # Fri 9 Oct 09:00 + 24 h: Fri, Sat 10 Oct (make-up), Mon 12 Oct.
    assert due(sh(2026, 10, 9, 9), 24) == sh(2026, 10, 12, 17)


def test_a_span_across_national_day_counts_sunday_20_september_and_saturday_10_october() -> None:
    # Mon 14 Sep .. Sun 11 Oct: 4 weeks, less Fri 25 Sep and Oct 1-2, 5-7, plus two make-up days.
    assert hours(sh(2026, 9, 14), sh(2026, 10, 12)) == (20 - 1 - 5 + 2) * 8


def test_2026_has_248_working_days_of_8_hours() -> None:
    assert count_working_days(CN, date(2026, 1, 1), date(2026, 12, 31)) == 248
    assert hours(sh(2026, 1, 1), sh(2027, 1, 1)) == 248 * 8


def test_72_working_hours_from_new_years_day_run_to_14_january() -> None:
    # Jan 1-3 closed; Sun 4 Jan is a make-up day; nine working days end Wed 14 Jan 17:00.
    assert due(sh(2026, 1, 1, 10), 72) == sh(2026, 1, 14, 17)


# --- what adding means ---------------------------------------------------------------------


def test_adding_a_full_day_from_opening_ends_at_closing_not_next_morning() -> None:
    assert due(sh(2026, 3, 2, 9), 8) == sh(2026, 3, 2, 17)


def test_starting_outside_working_hours_counts_from_the_next_opening() -> None:
    assert due(sh(2026, 3, 7, 10), 1) == sh(2026, 3, 9, 10)  # Saturday
    assert due(sh(2026, 3, 3, 7), 1) == sh(2026, 3, 3, 10)  # before opening
    assert due(sh(2026, 3, 3, 17), 1) == sh(2026, 3, 4, 10)  # at closing


def test_adding_zero_during_working_time_is_the_start_itself() -> None:
    start = sh(2026, 3, 3, 11, 17)
    assert due(start, 0) == start
    assert next_opening(CN, start) == start


def test_adding_zero_when_closed_is_the_next_opening() -> None:
    assert due(sh(2026, 3, 6, 17), 0) == sh(2026, 3, 9, 9)
    assert due(sh(2026, 2, 13, 17), 0) == sh(2026, 2, 14, 9)  # make-up Saturday
    assert next_opening(CN, sh(2026, 2, 15, 12)) == sh(2026, 2, 24, 9)


def test_results_are_in_utc() -> None:
    result = due(sh(2026, 3, 3, 10), 1)
    assert result.tzinfo is UTC
    assert result == datetime(2026, 3, 3, 3, tzinfo=UTC)
    assert next_opening(CN, sh(2026, 3, 7)).tzinfo is UTC


def test_decimal_hours_are_accepted() -> None:
    assert due(sh(2026, 3, 2, 16), Decimal("1.25")) == sh(2026, 3, 3, 9, 15)
    with pytest.raises(ValueError, match="finite"):
        due(sh(2026, 3, 2, 16), Decimal("NaN"))


def test_working_hours_are_signed() -> None:
    assert hours(sh(2026, 3, 3, 17), sh(2026, 3, 2, 9)) == -16


@pytest.mark.parametrize("bad", [-1, -1e-9, math.nan, math.inf, -math.inf])
def test_negative_or_non_finite_hours_are_refused(bad: float) -> None:
    with pytest.raises(ValueError):
        due(sh(2026, 3, 3, 10), bad)


def test_naive_instants_are_refused_everywhere() -> None:
    naive = datetime(2026, 3, 3, 10)
    aware = sh(2026, 3, 3, 10)
    with pytest.raises(ValueError, match="naive"):
        working_hours_between(CN, naive, aware)
    with pytest.raises(ValueError, match="naive"):
        working_hours_between(CN, aware, naive)
    with pytest.raises(ValueError, match="naive"):
        add_working_hours(CN, naive, 1)
    with pytest.raises(ValueError, match="naive"):
        is_working_time(CN, naive)
    with pytest.raises(ValueError, match="naive"):
        next_opening(ALWAYS, naive)


# --- instants from other zones ------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(2026, 3, 2, 1, tzinfo=UTC), datetime(2026, 3, 2, 9, tzinfo=UTC)),
        (
            datetime(2026, 3, 1, 20, tzinfo=NEW_YORK),  # EST, UTC-5: Monday 09:00 in Shanghai
            datetime(2026, 3, 2, 4, tzinfo=NEW_YORK),
        ),
        (
            datetime(2026, 3, 2, 6, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            datetime(2026, 3, 2, 14, 30, tzinfo=KOLKATA),
        ),
    ],
    ids=["UTC", "America/New_York", "+05:30"],
)
def test_instants_in_other_zones_are_judged_in_shanghai(start: datetime, end: datetime) -> None:
    assert hours(start, end) == 8
    assert is_working_time(CN, start)
    assert not is_working_time(CN, end)
    assert due(start, 8) == end


def test_a_monday_morning_in_new_york_is_already_closed_tuesday_evening_in_shanghai() -> None:
    monday_9_new_york = datetime(2026, 3, 2, 9, tzinfo=NEW_YORK)  # 22:00 Monday in Shanghai
    assert not is_working_time(CN, monday_9_new_york)
    assert next_opening(CN, monday_9_new_york) == sh(2026, 3, 3, 9)


# --- 7x24 -----------------------------------------------------------------------------------


def test_7x24_counts_every_hour_including_holidays() -> None:
    assert hours(sh(2026, 2, 15), sh(2026, 2, 24), ALWAYS) == 9 * 24
    assert due(sh(2026, 10, 1, 3), 24, ALWAYS) == sh(2026, 10, 2, 3)
    assert is_working_time(ALWAYS, sh(2026, 10, 1, 3))
    assert next_opening(ALWAYS, sh(2026, 10, 1, 3)) == sh(2026, 10, 1, 3)


def test_7x24_ignores_holidays_it_is_given() -> None:
    calendar = WorkingCalendar(code="x", always_open=True, holidays=frozenset({date(2026, 3, 3)}))
    assert hours(sh(2026, 3, 3), sh(2026, 3, 4), calendar) == 24


# --- the calendar's own rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"day_start": 600, "day_end": 600},
        {"day_start": 700, "day_end": 600},
        {"day_start": -1},
        {"day_end": 1441},
        {"weekdays": frozenset({0, 1})},
        {"weekdays": frozenset({8})},
        {"holidays": frozenset({date(2026, 3, 7)}), "workdays": frozenset({date(2026, 3, 7)})},
        {"timezone": "Mars/Olympus_Mons"},
        {"code": ""},
    ],
)
def test_inconsistent_calendars_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        WorkingCalendar(**{"code": "x", **kwargs})  # type: ignore[arg-type]


def test_a_zone_name_is_accepted_for_the_time_zone() -> None:
    assert WorkingCalendar(code="x", timezone="Asia/Shanghai").timezone == SHANGHAI  # type: ignore[arg-type]


def test_a_calendar_that_never_opens_again_is_an_error_not_a_hang() -> None:
    only_once = WorkingCalendar(
        code="once", weekdays=frozenset(), workdays=frozenset({date(2026, 3, 7)})
    )
    assert due(sh(2026, 3, 7, 9), 8, only_once) == sh(2026, 3, 7, 17)
    with pytest.raises(ValueError, match="no working time"):
        due(sh(2026, 3, 7, 9), 9, only_once)
    with pytest.raises(ValueError, match="no working time"):
        next_opening(only_once, sh(2026, 3, 8))


def test_results_past_year_9999_are_an_error() -> None:
    with pytest.raises(ValueError, match="supported"):
        due(datetime(9999, 12, 30, tzinfo=UTC), 100)
    with pytest.raises(ValueError, match="supported"):
        due(datetime(9999, 12, 31, tzinfo=UTC), 1000, ALWAYS)


@pytest.mark.parametrize("calendar", [CN, ALWAYS], ids=["5x8", "7x24"])
@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00+08:00",
        "0001-01-01T10:00+08:00",
        "9999-12-31T23:59:59.999999+00:00",
        "9999-12-31T23:59-08:00",
    ],
)
def test_instants_at_the_ends_of_time_give_value_errors_only(
    calendar: WorkingCalendar, text: str
) -> None:
    instant = datetime.fromisoformat(text)
    attempts = (
        partial(read_instant, text),
        partial(working_hours_between, calendar, instant, sh(2026, 1, 1)),
        partial(add_working_hours, calendar, instant, 1),
        partial(is_working_time, calendar, instant),
        partial(next_opening, calendar, instant),
    )
    for attempt in attempts:
        with contextlib.suppress(ValueError):
            attempt()


def test_long_spans_are_counted_not_walked_day_by_day(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = calendar_module._working_window

    def counting(calendar: WorkingCalendar, day: date) -> object:
        nonlocal calls
        calls += 1
        return real(calendar, day)

    monkeypatch.setattr(calendar_module, "_working_window", counting)
    assert hours(sh(2020, 1, 1), sh(2036, 1, 1)) > 0
    assert due(sh(2026, 1, 1, 10), 20_000) > sh(2030, 1, 1)
    assert calls < 30


# --- daylight saving (a calendar in another zone) ------------------------------------------------


def test_a_round_the_clock_window_in_new_york_counts_the_real_hours_of_dst_days() -> None:
    every_day = WorkingCalendar(
        code="ny", timezone=NEW_YORK, day_start=0, day_end=1440, weekdays=frozenset(range(1, 8))
    )
    spring = datetime(2026, 3, 8, tzinfo=NEW_YORK)
    autumn = datetime(2026, 11, 1, tzinfo=NEW_YORK)
    assert hours(spring, spring + timedelta(days=1), every_day) == 23
    assert hours(autumn, autumn + timedelta(days=1), every_day) == 25
    year = working_hours_between(
        every_day, datetime(2026, 1, 1, tzinfo=NEW_YORK), datetime(2027, 1, 1, tzinfo=NEW_YORK)
    )
    assert year == 365 * 24
    assert due(spring, 23, every_day) == datetime(2026, 3, 9, tzinfo=NEW_YORK)


def test_office_hours_in_new_york_stay_eight_hours_across_dst() -> None:
    office = WorkingCalendar(code="ny", timezone=NEW_YORK)
    start = datetime(2026, 3, 6, 9, tzinfo=NEW_YORK)  # Friday before spring forward
    assert hours(start, datetime(2026, 3, 9, 17, tzinfo=NEW_YORK), office) == 16
    assert due(start, 16, office) == datetime(2026, 3, 9, 17, tzinfo=NEW_YORK)


# --- properties ------------------------------------------------------------------------------

ZONES = (SHANGHAI, UTC, NEW_YORK, KOLKATA, LORD_HOWE, SANTIAGO)
INTERESTING_MINUTES = (0, 1, 539, 540, 541, 720, 1019, 1020, 1021, 1439)


@st.composite
def instants(
    draw: st.DrawFn, first: date = date(2025, 10, 1), last: date = date(2027, 3, 31)
) -> datetime:
    """Aware instants in several zones, often right at a 5x8 opening or closing."""
    day = draw(st.dates(first, last))
    minute = draw(st.sampled_from(INTERESTING_MINUTES) | st.integers(0, 1439))
    micro = draw(st.sampled_from((0, 0, 0, 1, 999_999)) | st.integers(0, 59_999_999))
    local = datetime.combine(day, datetime.min.time(), tzinfo=SHANGHAI) + timedelta(
        minutes=minute, microseconds=micro
    )
    return local.astimezone(draw(st.sampled_from(ZONES)))


@st.composite
def calendars(draw: st.DrawFn, need_weekdays: bool = False) -> WorkingCalendar:
    """Random calendars in zones with and without daylight saving."""
    zone = draw(st.sampled_from((SHANGHAI, SHANGHAI, NEW_YORK, LORD_HOWE, SANTIAGO, KOLKATA)))
    start = draw(st.sampled_from((0, 540, 480, 90, 1380)) | st.integers(0, 1439))
    end = draw(
        st.sampled_from((1440, 1020)).filter(lambda value: value > start)
        | st.integers(start + 1, 1440)
    )
    weekdays = draw(st.frozensets(st.integers(1, 7), min_size=1 if need_weekdays else 0))
    exceptions = draw(
        st.dictionaries(st.dates(date(2025, 9, 1), date(2027, 4, 30)), st.booleans(), max_size=40)
    )
    return WorkingCalendar(
        code="random",
        timezone=zone,
        day_start=start,
        day_end=end,
        weekdays=weekdays,
        holidays=frozenset(day for day, closed in exceptions.items() if closed),
        workdays=frozenset(day for day, closed in exceptions.items() if not closed),
    )


def oracle_hours(calendar: WorkingCalendar, start: datetime, end: datetime) -> float:
    """Day by day, window by window: slow, simple, and independent of the fast paths."""
    if end < start:
        return -oracle_hours(calendar, end, start)
    if calendar.always_open:
        return (end - start) / timedelta(hours=1)
    total = timedelta()
    day = start.astimezone(calendar.timezone).date() - timedelta(days=1)
    while day <= end.astimezone(calendar.timezone).date():
        if is_working_day(calendar, day):
            midnight = datetime.combine(day, datetime.min.time(), tzinfo=calendar.timezone)
            opens = (midnight + timedelta(minutes=calendar.day_start)).astimezone(UTC)
            closes = (midnight + timedelta(minutes=calendar.day_end)).astimezone(UTC)
            lower, upper = max(opens, start), min(closes, end)
            if upper > lower:
                total += upper - lower
        day += timedelta(days=1)
    return total / timedelta(hours=1)


work_hours = st.sampled_from((0.0, 1.0, 8.0, 24.0, 72.0, 1e-6)) | st.floats(0, 3000)
core = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@core
@given(start=instants(), amount=work_hours)
def test_adding_then_measuring_gives_back_the_hours(start: datetime, amount: float) -> None:
    assert working_hours_between(CN, start, due(start, amount)) == pytest.approx(
        amount, abs=TOLERANCE
    )


@core
@given(start=instants(), amount=work_hours)
def test_the_due_instant_is_the_earliest_and_lies_in_working_time(
    start: datetime, amount: float
) -> None:
    result = due(start, amount)
    assert result >= start
    if round(amount * 3.6e9) > 0:
        assert is_working_time(CN, result - ONE_US)
        assert working_hours_between(CN, start, result - ONE_US) < amount
    else:
        assert is_working_time(CN, result)
        assert result == (start if is_working_time(CN, start) else next_opening(CN, start))


@core
@given(start=instants(), first=work_hours, second=work_hours)
def test_adding_more_hours_never_finishes_earlier(
    start: datetime, first: float, second: float
) -> None:
    low, high = sorted((first, second))
    assert due(start, low) <= due(start, high)


@core
@given(one=instants(), other=instants(), amount=work_hours)
def test_starting_later_never_finishes_earlier(
    one: datetime, other: datetime, amount: float
) -> None:
    early, late = sorted((one, other))
    assert due(early, amount) <= due(late, amount)


@core
@given(points=st.lists(instants(), min_size=3, max_size=3))
def test_working_hours_add_up_over_consecutive_spans(points: list[datetime]) -> None:
    a, b, c = sorted(points)
    whole = hours(a, c)
    assert whole == pytest.approx(hours(a, b) + hours(b, c), abs=1e-9)
    assert 0 <= whole <= (c - a) / timedelta(hours=1) + 1e-9


@core
@given(one=instants(), other=instants())
def test_swapping_the_ends_negates_the_hours(one: datetime, other: datetime) -> None:
    assert hours(other, one) == -hours(one, other)


@core
@given(
    one=instants(date(2024, 1, 1), date(2030, 12, 31)),
    other=instants(date(2024, 1, 1), date(2030, 12, 31)),
)
def test_the_2026_calendar_agrees_with_the_day_by_day_oracle(
    one: datetime, other: datetime
) -> None:
    assert hours(one, other) == pytest.approx(oracle_hours(CN, one, other), abs=1e-9)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendar=calendars(), one=instants(), other=instants())
def test_any_calendar_agrees_with_the_day_by_day_oracle(
    calendar: WorkingCalendar, one: datetime, other: datetime
) -> None:
    assert working_hours_between(calendar, one, other) == pytest.approx(
        oracle_hours(calendar, one, other), abs=1e-9
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    calendar=calendars(need_weekdays=True),
    start=instants(),
    weeks=st.sampled_from((0.0, 1.0)) | st.floats(0, 30),
)
def test_any_calendar_round_trips_and_finishes_in_working_time(
    calendar: WorkingCalendar, start: datetime, weeks: float
) -> None:
    # Up to 30 weeks of the calendar's own hours, so the oracle's day walk stays short.
    amount = weeks * calendar.daily_hours * len(calendar.weekdays)
    result = add_working_hours(calendar, start, amount)
    assert oracle_hours(calendar, start, result) == pytest.approx(amount, abs=TOLERANCE)
    if round(amount * 3.6e9) > 0:
        assert is_working_time(calendar, result - ONE_US)
        assert oracle_hours(calendar, start, result - ONE_US) < amount
    else:
        assert is_working_time(calendar, result)


@settings(max_examples=100, deadline=None)
@given(start=instants(), amount=work_hours)
def test_7x24_adds_plain_hours(start: datetime, amount: float) -> None:
    result = due(start, amount, ALWAYS)
    assert result == start.astimezone(UTC) + timedelta(microseconds=round(amount * 3.6e9))
    assert hours(start, result, ALWAYS) == pytest.approx(amount, abs=TOLERANCE)


@settings(max_examples=100, deadline=None)
@given(start=instants())
def test_next_opening_is_working_time_and_nothing_is_worked_before_it(start: datetime) -> None:
    opening = next_opening(CN, start)
    assert is_working_time(CN, opening)
    assert hours(start, opening) == 0
    assume(opening > start)
    assert not is_working_time(CN, opening - ONE_US)
