"""Pages of the working-hours calendars: the year view, day editing, CSV in and out,
and a small working-hours calculator.

Planners, supervisors and engineers may look and calculate (their SLAs run on
these calendars); only administrators change days. The calculator reads times
by the one rule for instants (``core.clock.read_instant``): without an offset,
Asia/Shanghai time, as the rest of the site shows them.
"""

from __future__ import annotations

import calendar as month_layout
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import pgettext
from flask_login import current_user
from markupsafe import Markup, escape

from core import auth, clock
from core.errors import DomainError, Invalid
from core.i18n import gettext, lazy_gettext
from core.web import add_nav, uow
from depots.calendar import WorkingCalendar, count_working_days, is_working_day
from depots.labels import DAY_KIND_LABELS, MONTH_NAMES, WEEKDAY_SHORT, label, shipped_name
from depots.service import calendars
from depots.service.calendars import DAY_KINDS, FIRST_YEAR, LAST_YEAR, DayEntry
from depots.views import views

READERS = ("planner", "supervisor", "engineer")  # admins pass every role check
add_nav(lazy_gettext("Calendars"), "depots.calendars", *READERS, order=60)

DEFAULT_CALENDAR = "5x8"


@dataclass(frozen=True)
class DayCell:
    """One square of the month grid."""

    day: date
    in_month: bool
    state: str  # open, closed, holiday, workday
    label: str  # tooltip: the holiday's name or what the state means


@dataclass(frozen=True)
class Month:
    name: str
    weeks: list[list[DayCell]]


def _actor() -> auth.Actor:
    """The signed-in actor itself (services are given values, not request proxies)."""
    return current_user._get_current_object()  # type: ignore[attr-defined, no-any-return]


def _is_admin() -> bool:
    return current_user.is_authenticated and current_user.role == "admin"


def _year_months(calendar: WorkingCalendar, year: int, days: list[DayEntry]) -> list[Month]:
    names = {entry.day: shipped_name(entry.name) for entry in days}
    layout = month_layout.Calendar(firstweekday=0)
    months = []
    for number in range(1, 13):
        weeks = []
        for week in layout.monthdatescalendar(year, number):
            cells = []
            for day in week:
                if day in calendar.holidays:
                    state, text = "holiday", names.get(day) or gettext("holiday")
                elif day in calendar.workdays:
                    state = "workday"
                    text = gettext("make-up working day (%(name)s)", name=names.get(day) or "-")
                elif is_working_day(calendar, day):
                    state, text = "open", gettext("working day")
                else:
                    state, text = "closed", pgettext("calendar day", "closed")
                cells.append(DayCell(day, day.month == number, state, text))
            weeks.append(cells)
        months.append(Month(str(MONTH_NAMES[number - 1]), weeks))
    return months


def _when(instant: datetime) -> str:
    """An instant as Asia/Shanghai wall-clock time with the weekday: ``2026-02-13 16:00 Fri``."""
    local = clock.local(instant)
    return f"{local:%Y-%m-%d %H:%M} {WEEKDAY_SHORT[local.weekday()]}"


def _strong(text: str) -> Markup:
    """``text`` in bold, to put into a translated sentence."""
    return Markup("<strong>%s</strong>") % escape(text)


def _required_instant(text: str, what: str) -> datetime:
    """A calculator field, by the one rule for instants (``core.clock.read_instant``)."""
    instant = clock.read_optional_instant(text, what)
    if instant is None:
        raise Invalid(gettext("%(field)s: enter a date and time", field=what))
    return instant


def _calculate(code: str, args: Any) -> dict[str, Any]:
    """The calculator's answers (or errors) for the query string; empty when unused."""
    result: dict[str, Any] = {"errors": []}
    start_text, end_text, hours_text = (args.get(name, "") for name in ("start", "end", "hours"))
    if not (start_text or end_text or hours_text):
        return result
    try:
        start = _required_instant(start_text, pgettext("calculator", "From"))
        result["start"] = start
        if end_text.strip():
            end = _required_instant(end_text, pgettext("calculator", "To"))
            result["end"] = end
            result["working_hours"] = calendars.working_hours(uow(), code, start, end)
        if hours_text.strip():
            try:
                hours = float(hours_text)
            except ValueError:
                raise Invalid(gettext("Hours: %(text)r is not a number", text=hours_text)) from None
            result["hours"] = hours
            result["due"] = calendars.add_hours(uow(), code, start, hours)
        if not end_text.strip() and not hours_text.strip():
            raise Invalid(gettext("enter either a 'To' time or a number of hours"))
    except DomainError as error:
        result["errors"].append(error.detail)
    return result


def _selected_year() -> int:
    raw = request.args.get("year", "")
    if not raw:
        return clock.local(clock.now()).year
    if not raw.isdigit() or not FIRST_YEAR <= int(raw) <= LAST_YEAR:
        raise Invalid(
            gettext(
                "year must be a number from %(first)s to %(last)s", first=FIRST_YEAR, last=LAST_YEAR
            )
        )
    return int(raw)


def _render(
    code: str,
    year: int,
    *,
    status: int = 200,
    day_form: dict[str, str] | None = None,
    day_error: str | None = None,
    import_errors: list[dict[str, Any]] | None = None,
    import_detail: str | None = None,
    page_error: str | None = None,
) -> tuple[str, int]:
    summaries = calendars.list_calendars(uow())
    calendar = calendars.get_calendar(uow(), code)  # NotFound for an unknown code
    summary = next(item for item in summaries if item.code == calendar.code)
    days = calendars.list_days(uow(), calendar.code, year)
    calculator = _calculate(calendar.code, request.args)
    return (
        render_template(
            "depots/calendars.html",
            summaries=summaries,
            summary=summary,
            calendar=calendar,
            year=year,
            first_year=FIRST_YEAR,
            last_year=LAST_YEAR,
            months=[] if calendar.always_open else _year_months(calendar, year, days),
            weekday_labels=[str(name) for name in WEEKDAY_SHORT],
            when=_when,
            strong=_strong,
            days=days,
            working_days_in_year=count_working_days(calendar, date(year, 1, 1), date(year, 12, 31)),
            working_hours_in_year=calendars.working_hours(
                uow(),
                calendar.code,
                datetime(year, 1, 1, tzinfo=calendar.timezone),
                datetime(year + 1, 1, 1, tzinfo=calendar.timezone),
            ),
            is_admin=_is_admin(),
            kinds=DAY_KINDS,
            day_form=day_form or {},
            day_error=day_error,
            import_errors=import_errors,
            import_detail=import_detail,
            page_error=page_error,
            calculator=calculator,
            calc_args={name: request.args.get(name, "") for name in ("start", "end", "hours")},
        ),
        status,
    )


def _back(code: str, year: int) -> Any:
    return redirect(url_for("depots.calendars", code=code, year=year))


# Endpoint "depots.calendars": the function name would clash with the service module.
@views.route("/calendars", endpoint="calendars")
@auth.page_roles(*READERS)
def calendars_page() -> Any:
    return _render(request.args.get("code") or DEFAULT_CALENDAR, _selected_year())


@views.route("/calendars/<code>/days", methods=["POST"])
@auth.page_roles("admin")
def calendar_day_set(code: str) -> Any:
    form = {name: request.form.get(name, "").strip() for name in ("day", "kind", "name")}
    year = _selected_year()
    try:
        try:
            day = date.fromisoformat(form["day"])
        except ValueError:
            raise Invalid(
                gettext(
                    "Day: %(day)s is not a date like 2026-10-08",
                    day=form["day"] or gettext("(empty)"),
                )
            ) from None
        entry, created = calendars.set_day(uow(), _actor(), code, day, form["kind"], form["name"])
    except Invalid as error:
        return _render(code, year, status=422, day_form=form, day_error=error.detail)
    values = {
        "day": entry.day.isoformat(),
        "kind": label(DAY_KIND_LABELS, entry.kind),
        "name": shipped_name(entry.name),
    }
    if created and entry.name:
        message = gettext("Added %(day)s as %(kind)s (%(name)s).", **values)
    elif created:
        message = gettext("Added %(day)s as %(kind)s.", **values)
    elif entry.name:
        message = gettext("Replaced %(day)s as %(kind)s (%(name)s).", **values)
    else:
        message = gettext("Replaced %(day)s as %(kind)s.", **values)
    flash(message, "ok")
    return _back(entry.calendar, entry.day.year)


@views.route("/calendars/<code>/days/<day>/delete", methods=["POST"])
@auth.page_roles("admin")
def calendar_day_delete(code: str, day: str) -> Any:
    year = _selected_year()
    try:
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            raise Invalid(gettext("%(day)r is not a date", day=day)) from None
        calendars.delete_day(uow(), _actor(), code, parsed)
    except DomainError as error:
        return _render(code, year, status=error.status, page_error=error.detail)
    flash(
        gettext("Removed %(day)s; the weekly pattern applies again.", day=parsed.isoformat()),
        "ok",
    )
    return _back(code, parsed.year)


@views.route("/calendars/import", methods=["POST"])
@auth.page_roles("admin")
def calendar_import() -> Any:
    code = request.form.get("code") or DEFAULT_CALENDAR
    year = _selected_year()
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise Invalid(gettext("choose a CSV file to upload"))
        result = calendars.import_days(uow(), _actor(), upload.read())
    except Invalid as error:
        return _render(
            code,
            year,
            status=422,
            import_errors=error.fields,
            import_detail=error.detail,
        )
    flash(gettext("Imported: %(result)s.", result=result), "ok")
    return _back(code, year)


@views.route("/calendars/export.csv")
@auth.page_roles(*READERS)
def calendar_export() -> Any:
    code = request.args.get("code") or None
    year = _selected_year() if request.args.get("year") else None
    text = calendars.export_days(uow(), code, year)
    name = "-".join(["calendar-days", *([code] if code else []), *([str(year)] if year else [])])
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
