"""The report's period: Asia/Shanghai dates, both ends included, the last 30 days
by default, two years at most; bad input is refused with a clear message."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import clock
from core.errors import Invalid
from reports.service.period import MAX_SPAN_DAYS, Period


def test_default_is_the_thirty_days_before_today_and_today():
    with clock.frozen(datetime(2026, 11, 26, 3, 0, tzinfo=UTC)):
        period = Period.parse()
    assert (period.start, period.end) == (date(2026, 10, 27), date(2026, 11, 26))
    assert period.slug == "2026-10-27_2026-11-26"
    assert period.days == 31


def test_today_is_the_shanghai_date():
    # 2026-11-25 17:00 UTC is already 01:00 on the 26th in Shanghai.
    with clock.frozen(datetime(2026, 11, 25, 17, 0, tzinfo=UTC)):
        assert Period.parse().end == date(2026, 11, 26)


def test_only_an_end_starts_thirty_days_earlier():
    assert Period.parse(end="2026-03-31").start == date(2026, 3, 1)


def test_the_period_is_whole_shanghai_days():
    period = Period.parse("2026-03-02", "2026-03-02")
    assert period.start_at == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
    assert period.end_at == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-02-30", "2026-03-01", "not a date"),
        ("yesterday", None, "not a date"),
        ("2026-03-10", "2026-03-01", "after end"),
        ("2024-01-01", "2026-01-02", "longer than two years"),
        ("1999-12-31", "2000-01-05", "between"),
        (None, "2200-01-01", "between"),
    ],
)
def test_bad_periods_are_refused(start, end, message):
    with pytest.raises(Invalid, match=message):
        Period.parse(start, end)


@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2199, 12, 31)),
    span=st.integers(min_value=0, max_value=MAX_SPAN_DAYS + 5),
)
def test_any_span_up_to_two_years_is_accepted_and_longer_refused(start: date, span: int):
    end = start + timedelta(days=span)
    if end > date(2199, 12, 31):
        return
    if span + 1 > MAX_SPAN_DAYS:
        with pytest.raises(Invalid):
            Period.parse(start.isoformat(), end.isoformat())
        return
    period = Period.parse(start.isoformat(), end.isoformat())
    assert period.days == span + 1
    assert (period.end_at - period.start_at) == timedelta(days=span + 1)  # no DST in Shanghai
    assert clock.local(period.start_at).time().hour == 0
