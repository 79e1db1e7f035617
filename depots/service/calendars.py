"""Working-hours calendars: the stored calendars and their dated exceptions.

The arithmetic is in ``depots.calendar`` (pure); this module loads a stored
calendar into a ``WorkingCalendar``, lets administrators keep the holidays and
make-up working days up to date (one at a time or as a CSV file), and offers
``working_hours`` / ``add_hours`` for callers that only know a calendar code.

Write use cases take the acting ``Actor`` and require an administrator. The
terminal passes ``actor=None``: whoever runs ``spares`` on the server already
holds the database, and the change is recorded as made by ``"cli"``.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from core import clock
from core.auth import Actor
from core.csv_files import csv_text, read_cell
from core.db import UnitOfWork, lock_for_update, read_only, transactional
from core.errors import FieldProblem, Invalid, NotFound
from core.i18n import gettext, lazy_gettext, ngettext
from depots.calendar import WorkingCalendar, add_working_hours, working_hours_between
from depots.models import Calendar, CalendarDay

SHIPPED_DAYS = Path(__file__).resolve().parent.parent / "data" / "holidays.csv"
CSV_COLUMNS = ("calendar", "day", "kind", "name")
DAY_KINDS = ("holiday", "workday")
CLI_ACTOR = "cli"
MAX_IMPORT_ROWS = 10_000
# Dates outside this range are almost certainly typos (0226 for 2026) rather than plans.
FIRST_YEAR, LAST_YEAR = 2000, 2199
# Instants the computations accept, and the most hours one may add (10 years round the
# clock): far beyond any service commitment, and it keeps every computation quick.
FIRST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
LAST_INSTANT = datetime(2200, 1, 1, tzinfo=UTC)
MAX_HOURS = 87_600
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NAME_MAX = 80
WEEKDAY_NAMES = (
    lazy_gettext("Monday"),
    lazy_gettext("Tuesday"),
    lazy_gettext("Wednesday"),
    lazy_gettext("Thursday"),
    lazy_gettext("Friday"),
    lazy_gettext("Saturday"),
    lazy_gettext("Sunday"),
)

# The calendars every installation has; administrators edit their days, not these rows.
DEFAULT_CALENDARS: tuple[dict[str, Any], ...] = (
    {
        "code": "5x8",
        "name": "Standard hotline 5x8",
        "timezone": "Asia/Shanghai",
        "always_open": False,
        "day_start_minute": 9 * 60,
        "day_end_minute": 17 * 60,
        "weekdays": "12345",
    },
    {
        "code": "7x24",
        "name": "7x24 contract coverage",
        "timezone": "Asia/Shanghai",
        "always_open": True,
        "day_start_minute": 0,
        "day_end_minute": 24 * 60,
        "weekdays": "1234567",
    },
)


@dataclass(frozen=True)
class CalendarSummary:
    """A calendar as people read it: its pattern and how many exceptions it holds."""

    code: str
    name: str
    timezone: str
    always_open: bool
    day_start: str  # "09:00", local to ``timezone``
    day_end: str  # "17:00"; "24:00" means midnight at the end of the day
    weekdays: tuple[int, ...]  # ISO weekdays, 1 = Monday
    holidays: int
    workdays: int


@dataclass(frozen=True)
class DayEntry:
    """One holiday or make-up working day of a calendar."""

    calendar: str
    day: date
    kind: str
    name: str
    updated_by: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class RowError:
    """Why one cell of an imported CSV file was refused (line 1 is the header)."""

    line: int
    column: str
    reason: str


@dataclass(frozen=True)
class ImportResult:
    created: int
    replaced: int
    unchanged: int

    def __str__(self) -> str:
        return gettext(
            "%(created)s days added, %(replaced)s replaced, %(unchanged)s unchanged",
            created=self.created,
            replaced=self.replaced,
            unchanged=self.unchanged,
        )


# --- reading ------------------------------------------------------------------------------


@read_only
def list_calendars(uow: UnitOfWork) -> list[CalendarSummary]:
    """Every calendar, by code, with its number of holidays and make-up days."""
    calendars = uow.session.exec(select(Calendar).order_by(col(Calendar.code))).all()
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for code, kind in uow.session.exec(select(CalendarDay.calendar_code, CalendarDay.kind)).all():
        counts[(code, kind)] += 1
    return [
        _summary(row, counts[(row.code, "holiday")], counts[(row.code, "workday")])
        for row in calendars
    ]


@read_only
def get_calendar(uow: UnitOfWork, code: str) -> WorkingCalendar:
    """The calendar ``code`` ready for ``depots.calendar``'s functions; ``NotFound`` if unknown.

    Loaded fresh on every call (one row and a few dozen days), so an edit is
    seen at once; callers doing many computations should keep the result.
    """
    row = _calendar_row(uow, code)
    days = uow.session.exec(select(CalendarDay).where(CalendarDay.calendar_code == row.code)).all()
    return WorkingCalendar(
        code=row.code,
        timezone=row.timezone,  # type: ignore[arg-type]  # WorkingCalendar accepts a zone name
        always_open=row.always_open,
        day_start=row.day_start_minute,
        day_end=row.day_end_minute,
        weekdays=frozenset(int(digit) for digit in row.weekdays),
        holidays=frozenset(day.day for day in days if day.kind == "holiday"),
        workdays=frozenset(day.day for day in days if day.kind == "workday"),
    )


@read_only
def list_days(uow: UnitOfWork, code: str, year: int | None = None) -> list[DayEntry]:
    """The holidays and make-up days of calendar ``code`` (of ``year`` if given), by date.

    Raises ``NotFound`` for an unknown calendar.
    """
    row = _calendar_row(uow, code)
    statement = select(CalendarDay).where(CalendarDay.calendar_code == row.code)
    if year is not None:
        statement = statement.where(
            col(CalendarDay.day) >= date(year, 1, 1), col(CalendarDay.day) <= date(year, 12, 31)
        )
    rows = uow.session.exec(statement.order_by(col(CalendarDay.day))).all()
    return [_entry(day) for day in rows]


@read_only
def export_days(uow: UnitOfWork, code: str | None = None, year: int | None = None) -> str:
    """The days as CSV (``calendar,day,kind,name``), the format ``import_days`` reads.

    All calendars unless ``code`` is given (``NotFound`` if unknown); all years
    unless ``year`` is given.
    """
    codes = [code] if code is not None else [summary.code for summary in list_calendars(uow)]
    return csv_text(
        CSV_COLUMNS,
        (
            (entry.calendar, entry.day.isoformat(), entry.kind, entry.name)
            for calendar_code in codes
            for entry in list_days(uow, calendar_code, year)
        ),
    )


# --- computing ------------------------------------------------------------------------------


@read_only
def working_hours(uow: UnitOfWork, code: str, start: datetime, end: datetime) -> float:
    """Working hours of calendar ``code`` from ``start`` to ``end`` (aware instants).

    Negative when ``end`` is earlier. ``NotFound`` for an unknown calendar,
    ``Invalid`` for naive instants or instants outside 1970-2199.
    """
    calendar = get_calendar(uow, code)
    try:
        _check_instant(start, "start")
        _check_instant(end, "end")
        return working_hours_between(calendar, start, end)
    except ValueError as error:
        raise Invalid(str(error)) from error


@read_only
def add_hours(uow: UnitOfWork, code: str, start: datetime, hours: float) -> datetime:
    """The UTC instant when ``hours`` working hours of calendar ``code`` have passed
    since ``start`` (see ``depots.calendar.add_working_hours`` for the exact rule).

    ``NotFound`` for an unknown calendar, ``Invalid`` for a naive start or one
    outside 1970-2199, or hours that are negative, not finite or over 87,600.
    """
    calendar = get_calendar(uow, code)
    try:
        _check_instant(start, "start")
        if hours > MAX_HOURS:
            raise ValueError(
                gettext(
                    "at most %(most)s hours may be added; got %(hours)s",
                    most=MAX_HOURS,
                    hours=hours,
                )
            )
        return add_working_hours(calendar, start, hours)
    except ValueError as error:
        raise Invalid(str(error)) from error


# --- administering -----------------------------------------------------------------------


@transactional
def set_day(
    uow: UnitOfWork, actor: Actor | None, code: str, day: date, kind: str, name: str = ""
) -> tuple[DayEntry, bool]:
    """Add or replace the exception on ``day``; returns it and whether it was new.

    Administrators only (``Forbidden``); ``NotFound`` for an unknown calendar;
    ``Invalid`` for an unknown kind, a name over 80 characters, a date outside
    2000-2199, a day on an always-open calendar, or a make-up working day on a
    day the calendar works anyway.
    """
    _require_admin(actor)
    row = _calendar_row(uow, code, lock=True)
    kind, name = kind.strip().lower(), name.strip()
    problems = _day_problems(row, day, kind, name)
    if problems:
        raise Invalid("; ".join(reason for _column, reason in problems))
    existing = uow.session.get(CalendarDay, (row.code, day))
    created = existing is None
    target = existing or CalendarDay(calendar_code=row.code, day=day, kind=kind)
    target.kind, target.name = kind, name
    target.updated_by, target.updated_at = _who(actor), clock.now()
    uow.session.add(target)
    uow.session.flush()
    return _entry(target), created


@transactional
def delete_day(uow: UnitOfWork, actor: Actor | None, code: str, day: date) -> None:
    """Remove the exception on ``day``, so the weekly pattern applies again.

    Administrators only (``Forbidden``); ``NotFound`` for an unknown calendar or day.
    """
    _require_admin(actor)
    row = _calendar_row(uow, code, lock=True)
    existing = uow.session.get(CalendarDay, (row.code, day))
    if existing is None:
        raise NotFound(
            gettext(
                "calendar %(code)s has no holiday or make-up day on %(day)s",
                code=row.code,
                day=day.isoformat(),
            )
        )
    uow.session.delete(existing)


@transactional
def import_days(uow: UnitOfWork, actor: Actor | None, content: str | bytes) -> ImportResult:
    """Add or replace every day listed in a CSV file (``calendar,day,kind,name``).

    Days not in the file are kept. The file is checked as a whole first: any bad
    row raises ``Invalid`` whose ``fields`` list every problem (``line``, 1 is
    the header; ``field``, the column; ``message``), and nothing is imported.
    Administrators only (``Forbidden``).
    """
    _require_admin(actor)
    calendars = {
        row.code: row
        for row in uow.session.exec(
            lock_for_update(select(Calendar).order_by(col(Calendar.code)), uow)
        ).all()
    }
    rows, errors = _parse_days(content, calendars)
    if errors:
        raise Invalid(
            ngettext(
                "%(num)d problem in the file; nothing imported",
                "%(num)d problems in the file; nothing imported",
                len(errors),
            ),
            fields=[FieldProblem(error.column, error.reason, line=error.line) for error in errors],
        )
    created = replaced = unchanged = 0
    for entry in rows:
        existing = uow.session.get(CalendarDay, (entry.calendar, entry.day))
        if existing is None:
            created += 1
            existing = CalendarDay(calendar_code=entry.calendar, day=entry.day, kind=entry.kind)
        elif (existing.kind, existing.name) == (entry.kind, entry.name):
            unchanged += 1
            continue
        else:
            replaced += 1
        existing.kind, existing.name = entry.kind, entry.name
        existing.updated_by, existing.updated_at = _who(actor), clock.now()
        uow.session.add(existing)
    return ImportResult(created=created, replaced=replaced, unchanged=unchanged)


@transactional
def seed_calendars(uow: UnitOfWork) -> None:
    """Insert the 5x8 and 7x24 calendars and the shipped holidays when missing.

    Idempotent and respectful of edits: an existing calendar row is left alone,
    and a calendar's shipped days of a year are loaded only the first time that
    year is seen (recorded in ``Calendar.seeded_years``), so a day an
    administrator changed or deleted stays that way across upgrades.
    """
    session = uow.session
    for definition in DEFAULT_CALENDARS:
        if session.get(Calendar, definition["code"]) is None:
            session.add(Calendar(**definition))
    session.flush()
    calendars = {row.code: row for row in session.exec(select(Calendar)).all()}
    rows, errors = _parse_days(SHIPPED_DAYS.read_text(encoding="utf-8"), calendars)
    if errors:
        raise Invalid(f"shipped {SHIPPED_DAYS.name} is invalid: {errors[0]}")
    by_calendar_year: dict[tuple[str, int], list[DayEntry]] = defaultdict(list)
    for entry in rows:
        by_calendar_year[(entry.calendar, entry.day.year)].append(entry)
    for (code, year), entries in sorted(by_calendar_year.items()):
        calendar = calendars[code]
        seeded = _seeded_years(calendar)
        if year in seeded:
            continue
        for entry in entries:
            # A day entered by hand before this year's data shipped wins.
            if session.get(CalendarDay, (code, entry.day)) is None:
                session.add(
                    CalendarDay(calendar_code=code, day=entry.day, kind=entry.kind, name=entry.name)
                )
        calendar.seeded_years = ",".join(str(value) for value in sorted(seeded | {year}))
        session.add(calendar)
    session.flush()


# --- internals ----------------------------------------------------------------------------


def _check_instant(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            gettext(
                "%(what)s %(value)s is naive; give it a time zone",
                what=what,
                value=value.isoformat(),
            )
        )
    if not FIRST_INSTANT <= value < LAST_INSTANT:
        raise ValueError(
            gettext(
                "%(what)s %(value)s is outside the years 1970-2199",
                what=what,
                value=value.isoformat(),
            )
        )


def _require_admin(actor: Actor | None) -> None:
    if actor is not None:
        actor.require_role("admin")


def _who(actor: Actor | None) -> str:
    return actor.username if actor is not None else CLI_ACTOR


def _calendar_row(uow: UnitOfWork, code: str, *, lock: bool = False) -> Calendar:
    statement = select(Calendar).where(Calendar.code == code)
    if lock:
        # Serialises edits of one calendar's days, so two admins adding the same
        # day cannot both insert it (PostgreSQL; SQLite's writer lock does it already).
        statement = lock_for_update(statement, uow)
    row = uow.session.exec(statement).first()
    if row is None:
        raise NotFound(gettext("unknown calendar %(code)r", code=code))
    return row


def _seeded_years(calendar: Calendar) -> set[int]:
    return {int(value) for value in calendar.seeded_years.split(",") if value.strip()}


def _clock_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _summary(row: Calendar, holidays: int, workdays: int) -> CalendarSummary:
    return CalendarSummary(
        code=row.code,
        name=row.name,
        timezone=row.timezone,
        always_open=row.always_open,
        day_start=_clock_text(row.day_start_minute),
        day_end=_clock_text(row.day_end_minute),
        weekdays=tuple(int(digit) for digit in row.weekdays),
        holidays=holidays,
        workdays=workdays,
    )


def _entry(row: CalendarDay) -> DayEntry:
    return DayEntry(
        calendar=row.calendar_code,
        day=row.day,
        kind=row.kind,
        name=row.name,
        updated_by=row.updated_by,
        updated_at=clock.as_utc(row.updated_at) if row.updated_at is not None else None,
    )


def _kind_problem(kind: str) -> str:
    return gettext("kind must be 'holiday' or 'workday', not %(kind)r", kind=kind)


def _name_problem(length: int) -> str:
    return gettext("name is %(length)s characters; at most %(most)s", length=length, most=NAME_MAX)


def _day_problems(calendar: Calendar, day: date, kind: str, name: str) -> list[tuple[str, str]]:
    """(column, reason) for everything wrong with one day of ``calendar``."""
    problems: list[tuple[str, str]] = []
    if calendar.always_open:
        problems.append(
            (
                "calendar",
                gettext(
                    "calendar %(code)s is always open; holidays and make-up days do not apply",
                    code=calendar.code,
                ),
            )
        )
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        problems.append(
            (
                "day",
                gettext(
                    "%(day)s is outside %(first)s-%(last)s",
                    day=day.isoformat(),
                    first=FIRST_YEAR,
                    last=LAST_YEAR,
                ),
            )
        )
    if kind not in DAY_KINDS:
        problems.append(("kind", _kind_problem(kind)))
    elif kind == "workday" and str(day.isoweekday()) in calendar.weekdays:
        problems.append(
            (
                "kind",
                gettext(
                    "%(day)s is a %(weekday)s, already a working day of %(code)s; a make-up "
                    "working day falls on a normally closed day",
                    day=day.isoformat(),
                    weekday=WEEKDAY_NAMES[day.weekday()],
                    code=calendar.code,
                ),
            )
        )
    if len(name) > NAME_MAX:
        problems.append(("name", _name_problem(len(name))))
    return problems


def _parse_days(
    content: str | bytes, calendars: dict[str, Calendar]
) -> tuple[list[DayEntry], list[RowError]]:
    """Every row of a days CSV file, or every problem with it (never a partial answer)."""
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            return [], [RowError(1, "", gettext("the file is not UTF-8 text"))]
    content = content.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as error:
        return [], [RowError(1, "", gettext("unreadable CSV: %(error)s", error=error))]
    if header is None:
        return [], [
            RowError(
                1, "", gettext("the file is empty; expected the header calendar,day,kind,name")
            )
        ]
    names = [cell.strip().lower() for cell in header]
    missing = [column for column in CSV_COLUMNS if column not in names]
    unknown = [name for name in names if name not in CSV_COLUMNS]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    header_errors = [RowError(1, column, gettext("column missing")) for column in missing]
    header_errors += [
        RowError(1, name or gettext("(blank)"), gettext("unknown column")) for name in unknown
    ]
    header_errors += [RowError(1, name, gettext("column appears twice")) for name in duplicated]
    if header_errors:
        return [], header_errors
    position = {column: names.index(column) for column in CSV_COLUMNS}

    entries: list[DayEntry] = []
    errors: list[RowError] = []
    first_line: dict[tuple[str, date], int] = {}
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank lines are harmless
            if len(entries) + len(errors) >= MAX_IMPORT_ROWS:
                errors.append(
                    RowError(line, "", gettext("more than %(most)s rows", most=MAX_IMPORT_ROWS))
                )
                break
            if len(cells) != len(names):
                errors.append(
                    RowError(
                        line,
                        "",
                        gettext(
                            "expected %(expected)s fields, found %(found)s",
                            expected=len(names),
                            found=len(cells),
                        ),
                    )
                )
                continue
            entry, row_errors = _parse_row(
                line,
                {column: read_cell(cells[index].strip()) for column, index in position.items()},
                calendars,
            )
            errors.extend(row_errors)
            if entry is None:
                continue
            key = (entry.calendar, entry.day)
            if key in first_line:
                errors.append(
                    RowError(
                        line,
                        "day",
                        gettext(
                            "%(day)s already on line %(line)s",
                            day=entry.day.isoformat(),
                            line=first_line[key],
                        ),
                    )
                )
                continue
            first_line[key] = line
            entries.append(entry)
    except csv.Error as error:
        errors.append(
            RowError(reader.line_num, "", gettext("unreadable CSV: %(error)s", error=error))
        )
    if not entries and not errors:
        errors.append(RowError(1, "", gettext("the file has a header but no rows")))
    return (entries, []) if not errors else ([], errors)


def _parse_row(
    line: int, cells: dict[str, str], calendars: dict[str, Calendar]
) -> tuple[DayEntry | None, list[RowError]]:
    errors: list[RowError] = []
    calendar = calendars.get(cells["calendar"])
    if calendar is None:
        known = ", ".join(sorted(calendars))
        errors.append(
            RowError(
                line,
                "calendar",
                gettext(
                    "unknown calendar %(code)r; one of %(known)s",
                    code=cells["calendar"],
                    known=known,
                ),
            )
        )
    day: date | None = None
    if not ISO_DAY.match(cells["day"]):
        errors.append(
            RowError(
                line, "day", gettext("%(day)r is not a date like 2026-02-14", day=cells["day"])
            )
        )
    else:
        try:
            day = date.fromisoformat(cells["day"])
        except ValueError:
            errors.append(
                RowError(line, "day", gettext("%(day)s is not a real date", day=cells["day"]))
            )
    kind = cells["kind"].lower()
    if kind not in DAY_KINDS:
        errors.append(RowError(line, "kind", _kind_problem(kind)))
    if calendar is not None and day is not None:
        for column, reason in _day_problems(calendar, day, kind, cells["name"]):
            if column != "kind" or kind in DAY_KINDS:  # an unknown kind is reported once
                errors.append(RowError(line, column, reason))
    elif len(cells["name"]) > NAME_MAX:
        errors.append(RowError(line, "name", _name_problem(len(cells["name"]))))
    if errors or calendar is None or day is None:
        return None, errors
    return DayEntry(calendar=calendar.code, day=day, kind=kind, name=cells["name"]), []
