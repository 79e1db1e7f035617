"""Working-hours arithmetic: pure functions over a ``WorkingCalendar``, no database.

A calendar is either *always open* (7x24: every real hour counts, holidays do
not apply) or a daily window ``[day_start, day_end)`` in the calendar's own time
zone on its working days. A date is a working day when it is a make-up working
day, or else when it is not a holiday and its ISO weekday is in ``weekdays``.

Rules every function here keeps:

* Instants must be timezone-aware; a naive datetime raises ``ValueError``. Any
  zone may come in; days and windows are decided in the calendar's zone, and
  every instant returned is in UTC.
* Hours are real elapsed hours (a window that a daylight-saving change shortens
  counts what really passed). Internally everything is whole microseconds, so
  the functions agree with each other exactly and only the final division into
  float hours rounds.
* ``working_hours_between`` is signed: ``between(a, b) == -between(b, a)``, so
  ``between(a, c) == between(a, b) + between(b, c)`` for any three instants,
  and a negative answer means ``end`` lies before ``start`` (e.g. "overdue by").
* ``add_working_hours(s, h)`` with ``h > 0`` is the *earliest* instant by which
  ``h`` working hours have elapsed from ``s``: it lies inside working time or
  exactly at a closing time (8 hours from Monday 09:00 is Monday 17:00, not
  Tuesday 09:00). With ``h == 0`` it is ``next_opening(s)``: ``s`` itself when
  ``s`` is working time, else the next opening. So ``between(s, add(s, h)) == h``,
  ``add`` never decreases in ``s`` or in ``h``, and the result of adding zero is
  the instant the work can start. Negative hours raise ``ValueError``.

Cost: one step per day at the two ends of a span and per day in the rare years
where daylight-saving changes alter a window; every other stretch is counted
arithmetically (whole weeks plus a binary search over the sorted holidays), so
measuring across a year or adding 72 hours is a handful of operations (tens of
microseconds). The first use of a year in a zone checks its windows once
(about a millisecond, then cached).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.i18n import gettext

SHANGHAI = ZoneInfo("Asia/Shanghai")
MINUTES_PER_DAY = 24 * 60
MICROSECONDS_PER_HOUR = 3_600_000_000
ONE_DAY = timedelta(days=1)
MONDAY_TO_FRIDAY = frozenset({1, 2, 3, 4, 5})


@dataclass(frozen=True)
class WorkingCalendar:
    """When work happens: a weekly pattern of daily windows plus dated exceptions.

    ``day_start`` and ``day_end`` are minutes after local midnight (0-1440,
    start before end); ``weekdays`` are ISO weekdays (1 = Monday .. 7 = Sunday);
    ``holidays`` close a day that is normally worked; ``workdays`` (make-up
    working days) open a day that is normally closed. A date cannot be both.
    ``always_open`` ignores everything else: all hours of all days count.
    ``timezone`` may also be given as a zone name ("Asia/Shanghai"). Frozen and
    hashable: load it once and reuse it. Raises ``ValueError`` for an
    inconsistent definition.
    """

    code: str
    timezone: ZoneInfo = SHANGHAI
    always_open: bool = False
    day_start: int = 9 * 60
    day_end: int = 17 * 60
    weekdays: frozenset[int] = MONDAY_TO_FRIDAY
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    # Derived indexes for counting without walking every day; not part of equality.
    _closed_pattern_days: tuple[date, ...] = field(
        init=False, repr=False, compare=False, default=()
    )
    _opened_off_days: tuple[date, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        if not self.code:
            raise ValueError("a calendar needs a code")
        zone = self.timezone
        if isinstance(zone, str):
            try:
                zone = ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError) as error:
                raise ValueError(f"unknown time zone {zone!r}") from error
            object.__setattr__(self, "timezone", zone)
        if not isinstance(zone, ZoneInfo):
            raise ValueError("timezone must be a ZoneInfo, e.g. ZoneInfo('Asia/Shanghai')")
        if not 0 <= self.day_start < self.day_end <= MINUTES_PER_DAY:
            raise ValueError(
                f"working window must satisfy 0 <= start < end <= {MINUTES_PER_DAY} minutes; "
                f"got {self.day_start}-{self.day_end}"
            )
        weekdays = frozenset(self.weekdays)
        if not weekdays <= frozenset(range(1, 8)):
            raise ValueError(f"weekdays must be ISO weekdays 1-7; got {sorted(weekdays)}")
        holidays = frozenset(self.holidays)
        workdays = frozenset(self.workdays)
        both = holidays & workdays
        if both:
            listed = ", ".join(sorted(day.isoformat() for day in both))
            raise ValueError(f"a day cannot be both a holiday and a make-up working day: {listed}")
        object.__setattr__(self, "weekdays", weekdays)
        object.__setattr__(self, "holidays", holidays)
        object.__setattr__(self, "workdays", workdays)
        # Only exceptions that change the weekly pattern matter for counting: a
        # holiday on a Sunday closes nothing, a make-up day on a Tuesday opens nothing.
        object.__setattr__(
            self,
            "_closed_pattern_days",
            tuple(sorted(day for day in holidays if day.isoweekday() in weekdays)),
        )
        object.__setattr__(
            self,
            "_opened_off_days",
            tuple(sorted(day for day in workdays if day.isoweekday() not in weekdays)),
        )

    @property
    def daily_hours(self) -> float:
        """Length of one working day's window in hours (24 for an always-open calendar)."""
        return 24.0 if self.always_open else (self.day_end - self.day_start) / 60


# --- public functions --------------------------------------------------------------------


def is_working_day(calendar: WorkingCalendar, day: date) -> bool:
    """True when ``day`` (a date in the calendar's zone) has a working window."""
    if calendar.always_open or day in calendar.workdays:
        return True
    if day in calendar.holidays:
        return False
    return day.isoweekday() in calendar.weekdays


def is_working_time(calendar: WorkingCalendar, instant: datetime) -> bool:
    """True when ``instant`` (aware) falls inside a working window (opening inclusive,
    closing exclusive: 09:00 is working time, 17:00 is not). Raises ``ValueError`` if naive."""
    moment = _utc(instant, "instant")
    if calendar.always_open:
        return True
    try:
        today = moment.astimezone(calendar.timezone).date()
        for day in (today - ONE_DAY, today):
            window = _working_window(calendar, day)
            if window is not None and window[0] <= moment < window[1]:
                return True
    except OverflowError as error:
        raise ValueError(
            gettext("%(instant)s is beyond the supported dates", instant=instant)
        ) from error
    return False


def next_opening(calendar: WorkingCalendar, instant: datetime) -> datetime:
    """``instant`` in UTC when it is working time, else the next opening (UTC).

    Raises ``ValueError`` for a naive instant or a calendar that never opens again.
    """
    return add_working_hours(calendar, instant, 0)


def working_hours_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> float:
    """Working hours elapsed from ``start`` to ``end`` (aware instants, any zone).

    Signed: negative when ``end`` is before ``start``, zero when equal. Raises
    ``ValueError`` for a naive instant or a span beyond the supported dates.
    """
    first = _utc(start, "start")
    last = _utc(end, "end")
    if last < first:
        return -working_hours_between(calendar, last, first)
    try:
        return _working_us_between(calendar, first, last) / MICROSECONDS_PER_HOUR
    except OverflowError as error:
        raise ValueError(gettext("span reaches beyond the supported dates")) from error


def add_working_hours(
    calendar: WorkingCalendar, start: datetime, hours: float | Decimal
) -> datetime:
    """The UTC instant at which ``hours`` working hours have elapsed from ``start``.

    Starting outside working time counts from the next opening; for ``hours > 0``
    the result is the earliest such instant, so it may be a closing time; for
    ``hours == 0`` it is ``next_opening(start)``. Raises ``ValueError`` for a
    naive ``start``, negative or non-finite ``hours``, a calendar with no
    working time left, or a result beyond the supported dates.
    """
    moment = _utc(start, "start")
    remaining = _hours_to_us(hours)
    try:
        if calendar.always_open:
            return moment + timedelta(microseconds=remaining)
        return _add_us(calendar, moment, remaining)
    except OverflowError as error:
        raise ValueError(
            gettext(
                "%(hours)s working hours from %(start)s lie beyond the supported dates",
                hours=hours,
                start=start,
            )
        ) from error


def count_working_days(calendar: WorkingCalendar, first: date, last: date) -> int:
    """Number of working days in ``first..last`` inclusive (0 when ``last < first``)."""
    if last < first:
        return 0
    span = (last - first).days + 1
    if calendar.always_open:
        return span
    weeks, rest = divmod(span, 7)
    count = weeks * len(calendar.weekdays)
    weekday = first.isoweekday()
    for offset in range(rest):
        if (weekday - 1 + offset) % 7 + 1 in calendar.weekdays:
            count += 1
    count -= _count_in(calendar._closed_pattern_days, first, last)
    count += _count_in(calendar._opened_off_days, first, last)
    return count


# --- internals ----------------------------------------------------------------------------


def _utc(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{what} must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            gettext(
                "%(what)s %(value)s is naive; give it a time zone",
                what=what,
                value=value.isoformat(),
            )
        )
    try:
        return value.astimezone(UTC)
    except OverflowError as error:  # 0001-01-01T00:00+08:00 has no UTC equivalent
        raise ValueError(
            gettext(
                "%(what)s %(value)s is beyond the supported dates",
                what=what,
                value=value.isoformat(),
            )
        ) from error


def _hours_to_us(hours: float | Decimal) -> int:
    # Decimal too: lane and SLA hours are stored as numeric(7, 2) elsewhere.
    if isinstance(hours, bool) or not isinstance(hours, int | float | Decimal):
        raise ValueError(gettext("hours must be a number"))
    if not math.isfinite(hours):
        raise ValueError(gettext("hours must be a finite number"))
    if hours < 0:
        raise ValueError(gettext("hours must not be negative; got %(hours)s", hours=hours))
    return round(hours * MICROSECONDS_PER_HOUR)


def _count_in(days: tuple[date, ...], first: date, last: date) -> int:
    return bisect.bisect_right(days, last) - bisect.bisect_left(days, first)


def _window_bounds(
    zone: ZoneInfo, day_start: int, day_end: int, day: date
) -> tuple[datetime, datetime]:
    # Wall-clock arithmetic on an aware datetime keeps the wall time, so
    # midnight + 1440 minutes is the next local midnight; each end then gets
    # the offset in force at that wall time.
    midnight = datetime.combine(day, time(0), tzinfo=zone)
    opens = (midnight + timedelta(minutes=day_start)).astimezone(UTC)
    closes = (midnight + timedelta(minutes=day_end)).astimezone(UTC)
    # A window squeezed into a spring-forward gap can come out inverted: it is empty.
    return opens, max(opens, closes)


def _working_window(calendar: WorkingCalendar, day: date) -> tuple[datetime, datetime] | None:
    if not is_working_day(calendar, day):
        return None
    return _window_bounds(calendar.timezone, calendar.day_start, calendar.day_end, day)


@lru_cache(maxsize=4096)
def _uniform_year(zone: ZoneInfo, day_start: int, day_end: int, year: int) -> bool:
    """True when every window of ``year`` lasts exactly its wall-clock length.

    Then that year's days can be counted instead of walked. Checked once per
    zone, window and year (about a millisecond); Asia/Shanghai has had no
    daylight saving since 1991, so its years are always uniform.
    """
    if year <= date.min.year or year >= date.max.year:
        return False
    wall = timedelta(minutes=day_end - day_start)
    day = date(year, 1, 1)
    while day.year == year:
        opens, closes = _window_bounds(zone, day_start, day_end, day)
        if closes - opens != wall:
            return False
        day += ONE_DAY
    return True


def _uniform(calendar: WorkingCalendar, year: int) -> bool:
    return _uniform_year(calendar.timezone, calendar.day_start, calendar.day_end, year)


def _daily_us(calendar: WorkingCalendar) -> int:
    return (calendar.day_end - calendar.day_start) * 60_000_000


def _overlap_us(window: tuple[datetime, datetime] | None, start: datetime, end: datetime) -> int:
    if window is None:
        return 0
    lower, upper = max(window[0], start), min(window[1], end)
    return _us(upper - lower) if upper > lower else 0


def _us(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _full_days_us(calendar: WorkingCalendar, first: date, last: date) -> int:
    """Working microseconds of the whole days ``first..last``, counted year by year."""
    total = 0
    day = first
    while day <= last:
        year_end = min(last, date(day.year, 12, 31))
        if _uniform(calendar, day.year):
            total += count_working_days(calendar, day, year_end) * _daily_us(calendar)
        else:
            probe = day
            while probe <= year_end:
                window = _working_window(calendar, probe)
                if window is not None:
                    total += _us(window[1] - window[0])
                probe += ONE_DAY
        if year_end == date.max:
            break
        day = year_end + ONE_DAY
    return total


def _working_us_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> int:
    if calendar.always_open:
        return _us(end - start)
    zone = calendar.timezone
    first_day = start.astimezone(zone).date()
    last_day = end.astimezone(zone).date()
    # The days at both ends are clipped window by window; the day before the
    # first is included because a window reaching midnight may end after it.
    edges = {first_day - ONE_DAY, first_day, last_day}
    total = sum(_overlap_us(_working_window(calendar, day), start, end) for day in edges)
    # Every day strictly between lies wholly inside the span.
    if last_day - first_day > ONE_DAY:
        total += _full_days_us(calendar, first_day + ONE_DAY, last_day - ONE_DAY)
    return total


def _days_within(calendar: WorkingCalendar, day: date, remaining: int) -> tuple[int, int]:
    """How many whole days from ``day`` (not past the year's end) hold less than
    ``remaining`` working microseconds, and how many they hold. Uniform years only."""
    daily = _daily_us(calendar)
    lower, upper = 0, (date(day.year, 12, 31) - day).days + 1
    # count_working_days grows with the span, so search the longest span that stays short.
    while lower < upper:
        middle = (lower + upper + 1) // 2
        if count_working_days(calendar, day, day + timedelta(days=middle - 1)) * daily < remaining:
            lower = middle
        else:
            upper = middle - 1
    return lower, count_working_days(calendar, day, day + timedelta(days=lower - 1)) * daily


def _add_us(calendar: WorkingCalendar, start: datetime, remaining: int) -> datetime:
    today = start.astimezone(calendar.timezone).date()
    for day in (today - ONE_DAY, today):
        window = _working_window(calendar, day)
        if window is None:
            continue
        begin = max(window[0], start)
        if begin < window[1]:
            available = _us(window[1] - begin)
            if remaining <= available:
                return begin + timedelta(microseconds=remaining)
            remaining -= available
    day = today + ONE_DAY
    last_opened = calendar._opened_off_days[-1] if calendar._opened_off_days else None
    while True:
        if not calendar.weekdays and (last_opened is None or day > last_opened):
            raise ValueError(
                gettext(
                    "calendar %(code)s has no working time after %(start)s",
                    code=calendar.code,
                    start=start,
                )
            )
        if remaining > 0 and _uniform(calendar, day.year):
            days_left_in_year = (date(day.year, 12, 31) - day).days + 1
            skipped, used = _days_within(calendar, day, remaining)
            remaining -= used
            day += timedelta(days=skipped)
            if skipped == days_left_in_year:
                continue  # the whole year was short of the target: re-check the next one
        window = _working_window(calendar, day)
        if window is not None and window[0] < window[1]:
            available = _us(window[1] - window[0])
            if remaining <= available:
                return window[0] + timedelta(microseconds=remaining)
            remaining -= available
        day += ONE_DAY
