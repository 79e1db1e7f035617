"""Calendar use cases on a real, migrated and seeded database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import update

from core.db import UnitOfWork
from core.errors import Forbidden, Invalid, NotFound
from depots.calendar import SHANGHAI
from depots.models import Calendar
from depots.service import calendars
from tests.depots.test_calendar_data import china_5x8, expected_rows


def sh(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)


def csv_of(*rows: str) -> str:
    return "\n".join(["calendar,day,kind,name", *rows]) + "\n"


# --- seeding ---------------------------------------------------------------------------------


def test_seeding_creates_the_5x8_and_7x24_calendars(uow: UnitOfWork) -> None:
    by_code = {item.code: item for item in calendars.list_calendars(uow)}
    assert set(by_code) == {"5x8", "7x24"}
    standard = by_code["5x8"]
    assert (standard.name, standard.timezone) == ("Standard hotline 5x8", "Asia/Shanghai")
    assert (standard.day_start, standard.day_end, standard.weekdays) == (
        "09:00",
        "17:00",
        (1, 2, 3, 4, 5),
    )
    assert (standard.holidays, standard.workdays) == (33, 6)
    assert by_code["7x24"].always_open
    assert (by_code["7x24"].holidays, by_code["7x24"].workdays) == (0, 0)


def test_the_seeded_5x8_calendar_is_the_2026_notice(uow: UnitOfWork) -> None:
    assert calendars.get_calendar(uow, "5x8") == china_5x8()
    rows = [
        (day.calendar, day.day.isoformat(), day.kind, day.name)
        for day in calendars.list_days(uow, "5x8", 2026)
    ]
    assert rows == expected_rows()


def test_seeding_again_changes_nothing(uow: UnitOfWork) -> None:
    before = calendars.export_days(uow)
    calendars.seed_calendars(uow)
    assert calendars.export_days(uow) == before


def test_seeding_again_keeps_an_administrators_deletions_and_edits(uow: UnitOfWork) -> None:
    calendars.delete_day(uow, None, "5x8", date(2026, 2, 23))
    calendars.set_day(uow, None, "5x8", date(2026, 2, 16), "holiday", "Chinese New Year")
    calendars.seed_calendars(uow)
    days = {day.day: day for day in calendars.list_days(uow, "5x8", 2026)}
    assert date(2026, 2, 23) not in days
    assert days[date(2026, 2, 16)].name == "Chinese New Year"


def test_seeding_loads_a_year_the_database_has_not_seen(uow: UnitOfWork) -> None:
    # As if the database predated the 2026 data: the year is loaded, hand-made days kept.
    with uow.transaction() as session:
        session.execute(update(Calendar).where(Calendar.code == "5x8").values(seeded_years=""))
    calendars.delete_day(uow, None, "5x8", date(2026, 1, 1))
    calendars.set_day(uow, None, "5x8", date(2026, 1, 2), "holiday", "kept")
    calendars.seed_calendars(uow)
    days = {day.day: day for day in calendars.list_days(uow, "5x8", 2026)}
    assert days[date(2026, 1, 1)].name == "New Year's Day"
    assert days[date(2026, 1, 2)].name == "kept"


# --- computing with a calendar code ------------------------------------------------------


def test_working_hours_by_code_uses_the_stored_days(uow: UnitOfWork) -> None:
    assert calendars.working_hours(uow, "5x8", sh(2026, 2, 13, 12), sh(2026, 2, 24, 12)) == 16
    assert calendars.working_hours(uow, "7x24", sh(2026, 2, 13, 12), sh(2026, 2, 14, 12)) == 24


def test_add_hours_by_code_returns_utc(uow: UnitOfWork) -> None:
    result = calendars.add_hours(uow, "5x8", sh(2026, 2, 13, 16), 10)
    assert result == sh(2026, 2, 24, 10)
    assert result.tzinfo is UTC


def test_an_edit_is_seen_by_the_next_computation(uow: UnitOfWork) -> None:
    start, end = sh(2026, 3, 2), sh(2026, 3, 3)
    assert calendars.working_hours(uow, "5x8", start, end) == 8
    calendars.set_day(uow, None, "5x8", date(2026, 3, 2), "holiday", "Typhoon")
    assert calendars.working_hours(uow, "5x8", start, end) == 0
    calendars.delete_day(uow, None, "5x8", date(2026, 3, 2))
    assert calendars.working_hours(uow, "5x8", start, end) == 8


def test_computing_with_an_unknown_calendar_is_not_found(uow: UnitOfWork) -> None:
    with pytest.raises(NotFound):
        calendars.working_hours(uow, "9x9", sh(2026, 3, 2), sh(2026, 3, 3))
    with pytest.raises(NotFound):
        calendars.add_hours(uow, "9x9", sh(2026, 3, 2), 1)
    with pytest.raises(NotFound):
        calendars.list_days(uow, "9x9")


def test_naive_instants_and_negative_hours_are_invalid(uow: UnitOfWork) -> None:
    with pytest.raises(Invalid, match="naive"):
        calendars.working_hours(uow, "5x8", datetime(2026, 3, 2), sh(2026, 3, 3))
    with pytest.raises(Invalid, match="naive"):
        calendars.add_hours(uow, "5x8", datetime(2026, 3, 2), 1)
    with pytest.raises(Invalid, match="negative"):
        calendars.add_hours(uow, "5x8", sh(2026, 3, 2), -1)


def test_computations_stay_within_the_years_1970_to_2199(uow: UnitOfWork) -> None:
    with pytest.raises(Invalid, match="1970-2199"):
        calendars.working_hours(uow, "5x8", sh(1969, 12, 31), sh(2026, 3, 3))
    with pytest.raises(Invalid, match="1970-2199"):
        calendars.working_hours(uow, "5x8", sh(2026, 3, 3), datetime(2200, 1, 1, tzinfo=UTC))
    with pytest.raises(Invalid, match="1970-2199"):
        calendars.add_hours(uow, "7x24", datetime(2200, 1, 1, tzinfo=UTC), 1)
    with pytest.raises(Invalid, match="87600"):
        calendars.add_hours(uow, "5x8", sh(2026, 3, 3), 87_601)
    assert calendars.working_hours(uow, "7x24", sh(1970, 1, 1, 8), sh(1970, 1, 2, 8)) == 24


# --- editing days ----------------------------------------------------------------------------


def test_an_admin_adds_then_replaces_a_day(uow: UnitOfWork, make_user) -> None:
    admin = make_user("admin")
    entry, created = calendars.set_day(uow, admin, "5x8", date(2027, 2, 6), "workday", "Spring")
    assert created
    assert (entry.kind, entry.name, entry.updated_by) == ("workday", "Spring", admin.username)
    entry, created = calendars.set_day(uow, admin, "5x8", date(2027, 2, 6), "holiday", "x")
    assert not created
    assert [(d.day, d.kind) for d in calendars.list_days(uow, "5x8", 2027)] == [
        (date(2027, 2, 6), "holiday")
    ]


@pytest.mark.parametrize("role", ["planner", "engineer", "depot_staff", "supervisor"])
def test_only_admins_change_days(uow: UnitOfWork, make_user, role: str) -> None:
    actor = make_user(role, depot="SH" if role == "depot_staff" else None)
    before = calendars.export_days(uow)
    with pytest.raises(Forbidden):
        calendars.set_day(uow, actor, "5x8", date(2027, 1, 1), "holiday", "x")
    with pytest.raises(Forbidden):
        calendars.delete_day(uow, actor, "5x8", date(2026, 1, 1))
    with pytest.raises(Forbidden):
        calendars.import_days(uow, actor, csv_of("5x8,2027-01-01,holiday,x"))
    assert calendars.export_days(uow) == before


@pytest.mark.parametrize(
    ("code", "day", "kind", "message"),
    [
        ("5x8", date(2026, 3, 3), "workday", "Tuesday"),
        ("5x8", date(2026, 3, 3), "closed", "kind"),
        ("7x24", date(2026, 3, 3), "holiday", "always open"),
        ("5x8", date(1999, 3, 3), "holiday", "outside"),
    ],
)
def test_bad_days_are_invalid_and_change_nothing(
    uow: UnitOfWork, code: str, day: date, kind: str, message: str
) -> None:
    before = calendars.export_days(uow)
    with pytest.raises(Invalid, match=message):
        calendars.set_day(uow, None, code, day, kind, "x")
    assert calendars.export_days(uow) == before


def test_a_name_over_80_characters_is_invalid(uow: UnitOfWork) -> None:
    with pytest.raises(Invalid, match="80"):
        calendars.set_day(uow, None, "5x8", date(2026, 3, 3), "holiday", "x" * 81)


def test_editing_an_unknown_calendar_or_missing_day_is_not_found(uow: UnitOfWork) -> None:
    with pytest.raises(NotFound):
        calendars.set_day(uow, None, "9x9", date(2026, 3, 3), "holiday", "x")
    with pytest.raises(NotFound):
        calendars.delete_day(uow, None, "5x8", date(2026, 3, 3))


def test_days_are_edited_alike_on_sqlite_and_postgresql(any_engine) -> None:
    uow = UnitOfWork(any_engine)
    calendars.set_day(uow, None, "5x8", date(2027, 10, 1), "holiday", "National Day")
    result = calendars.import_days(
        uow, None, csv_of("5x8,2027-10-01,holiday,National Day", "5x8,2027-10-09,workday,NDay")
    )
    assert (result.created, result.replaced, result.unchanged) == (1, 0, 1)
    calendars.delete_day(uow, None, "5x8", date(2027, 10, 9))
    assert [d.day for d in calendars.list_days(uow, "5x8", 2027)] == [date(2027, 10, 1)]


# --- CSV import and export -----------------------------------------------------------------


def test_export_then_import_round_trips_unchanged(uow: UnitOfWork) -> None:
    text = calendars.export_days(uow, "5x8", 2026)
    assert text.splitlines()[0] == "calendar,day,kind,name"
    assert len(text.splitlines()) == 1 + 39
    result = calendars.import_days(uow, None, text)
    assert (result.created, result.replaced, result.unchanged) == (0, 0, 39)
    assert calendars.export_days(uow, "5x8", 2026) == text


def test_export_filters_by_calendar_and_year(uow: UnitOfWork) -> None:
    assert calendars.export_days(uow, "5x8", 2025) == "calendar,day,kind,name\n"
    assert calendars.export_days(uow, "7x24") == "calendar,day,kind,name\n"
    with pytest.raises(NotFound):
        calendars.export_days(uow, "9x9")


def test_importing_adds_and_replaces_and_keeps_other_days(uow: UnitOfWork) -> None:
    result = calendars.import_days(
        uow,
        None,
        csv_of(
            "5x8,2027-01-01,holiday,New Year's Day",
            '5x8,2027-02-07,workday,"Spring Festival, make-up"',
            "5x8,2026-02-23,holiday,Spring Festival (renamed)",
        ),
    )
    assert (result.created, result.replaced, result.unchanged) == (2, 1, 0)
    days = {d.day: d for d in calendars.list_days(uow, "5x8")}
    assert days[date(2027, 2, 7)].name == "Spring Festival, make-up"
    assert days[date(2026, 2, 23)].name == "Spring Festival (renamed)"
    assert days[date(2026, 2, 23)].updated_by == "cli"
    assert len(days) == 39 + 2


def test_importing_accepts_a_byte_order_mark_and_any_column_order(uow: UnitOfWork) -> None:
    content = "\ufeffname,kind,day,calendar\r\nLabour Day,holiday,2027-05-03,5x8\r\n".encode()
    assert calendars.import_days(uow, None, content).created == 1


def test_a_file_with_bad_rows_lists_every_problem_and_imports_nothing(uow: UnitOfWork) -> None:
    before = calendars.export_days(uow)
    content = csv_of(
        "5x8,2027-01-01,holiday,New Year's Day",  # good, yet not imported
        "5x8,2027-02-30,holiday,x",  # no such date
        "9x9,2027-01-02,holiday,x",  # unknown calendar
        "5x8,2027-01-05,workday,x",  # a Tuesday is no make-up day
        "5x8,2027-01-03,off,x",  # unknown kind
        "5x8,01/04/2027,holiday,x",  # not ISO
        "5x8,2027-01-01,holiday,again",  # duplicate of line 2
        "5x8,2027-01-06",  # too few fields
        "7x24,2027-01-07,holiday,x",  # always open
        "5x8,2027-01-08,holiday," + "n" * 81,  # name too long
    )
    with pytest.raises(Invalid) as caught:
        calendars.import_days(uow, None, content)
    problems = [(e.line, e.field) for e in caught.value.fields]
    assert problems == [
        (3, "day"),
        (4, "calendar"),
        (5, "kind"),
        (6, "kind"),
        (7, "day"),
        (8, "day"),
        (9, ""),
        (10, "calendar"),
        (11, "name"),
    ]
    assert "nothing imported" in caught.value.detail
    assert all(e.message for e in caught.value.fields)
    assert calendars.export_days(uow) == before


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "empty"),
        ("calendar,day,kind,name\n", "no rows"),
        ("calendar,date,kind,name\n5x8,2027-01-01,holiday,x\n", "column missing"),
        ("calendar,day,kind,name,notes\n5x8,2027-01-01,holiday,x,y\n", "unknown column"),
        (b"calendar,day,kind,name\n5x8,2027-01-01,holiday,\xff\n", "not UTF-8"),
    ],
)
def test_a_malformed_file_is_invalid(uow: UnitOfWork, content: str | bytes, reason: str) -> None:
    with pytest.raises(Invalid) as caught:
        calendars.import_days(uow, None, content)
    assert any(reason in e.message for e in caught.value.fields)
