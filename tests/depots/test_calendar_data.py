"""The 2026 mainland China calendar as written in DOMAIN.md, spelt out independently of
the shipped CSV file: the other calendar tests import it, and the tests below check
the shipped file against it."""

from __future__ import annotations

import csv
from datetime import date, timedelta

from depots.calendar import SHANGHAI, WorkingCalendar
from depots.service.calendars import SHIPPED_DAYS

# (first, last, name): closed days of the State Council notice of 2025-11-04.
HOLIDAY_BLOCKS = (
    (date(2026, 1, 1), date(2026, 1, 3), "New Year's Day"),
    (date(2026, 2, 15), date(2026, 2, 23), "Spring Festival"),
    (date(2026, 4, 4), date(2026, 4, 6), "Qingming"),
    (date(2026, 5, 1), date(2026, 5, 5), "Labour Day"),
    (date(2026, 6, 19), date(2026, 6, 21), "Dragon Boat"),
    (date(2026, 9, 25), date(2026, 9, 27), "Mid-Autumn"),
    (date(2026, 10, 1), date(2026, 10, 7), "National Day"),
)
# Make-up working days: weekends worked as normal weekdays.
MAKE_UP_DAYS = (
    (date(2026, 1, 4), "New Year's Day"),  # Sunday
    (date(2026, 2, 14), "Spring Festival"),  # Saturday
    (date(2026, 2, 28), "Spring Festival"),  # Saturday
    (date(2026, 5, 9), "Labour Day"),  # Saturday
    (date(2026, 9, 20), "National Day"),  # Sunday
    (date(2026, 10, 10), "National Day"),  # Saturday
)


def days_of(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


HOLIDAYS = {day: name for first, last, name in HOLIDAY_BLOCKS for day in days_of(first, last)}
WORKDAYS = dict(MAKE_UP_DAYS)


def china_5x8() -> WorkingCalendar:
    return WorkingCalendar(
        code="5x8",
        timezone=SHANGHAI,
        day_start=9 * 60,
        day_end=17 * 60,
        weekdays=frozenset({1, 2, 3, 4, 5}),
        holidays=frozenset(HOLIDAYS),
        workdays=frozenset(WORKDAYS),
    )


def expected_rows() -> list[tuple[str, str, str, str]]:
    """The shipped CSV rows (calendar, day, kind, name), by date."""
    rows = [("5x8", day.isoformat(), "holiday", name) for day, name in HOLIDAYS.items()]
    rows += [("5x8", day.isoformat(), "workday", name) for day, name in WORKDAYS.items()]
    return sorted(rows, key=lambda row: row[1])


# --- the shipped data file is exactly the notice --------------------------------------------


def test_shipped_holidays_file_lists_exactly_the_2026_notice() -> None:
    with SHIPPED_DAYS.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        assert next(reader) == ["calendar", "day", "kind", "name"]
        rows = [tuple(row) for row in reader]
    assert sorted(rows, key=lambda row: row[1]) == expected_rows()


def test_make_up_days_of_2026_all_fall_on_weekends() -> None:
    assert [day.strftime("%a") for day, _name in MAKE_UP_DAYS] == [
        "Sun",
        "Sat",
        "Sat",
        "Sat",
        "Sun",
        "Sat",
    ]


def test_2026_has_33_closed_days_in_seven_blocks() -> None:
    assert len(HOLIDAYS) == 33
    assert len({name for _first, _last, name in HOLIDAY_BLOCKS}) == 7
