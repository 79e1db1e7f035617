"""JSON API of the working-hours calendars: list, edit days, compute working hours.

Every route needs a bearer token; any role may read and compute, only
administrators change days. Instants follow the one rule of
``core.schemas.Instant`` (without an offset, Asia/Shanghai time; years
2000-2199); answers are in Asia/Shanghai.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from flask import jsonify
from flask_openapi3 import Tag
from pydantic import BaseModel, Field, RootModel, field_validator

from core import auth
from core.errors import ErrorOut
from core.schemas import Instant
from core.web import uow
from depots.api import api
from depots.service import calendars
from depots.service.calendars import MAX_HOURS, CalendarSummary, DayEntry

TAG = Tag(name="calendars", description="Working-hours calendars, holidays and SLA arithmetic")


CalendarCode = Annotated[
    str, Field(min_length=1, max_length=16, description="calendar code, e.g. 5x8")
]


class CalendarOut(BaseModel):
    code: str
    name: str
    timezone: str
    always_open: bool = Field(description="every hour counts; holidays do not apply")
    day_start: str = Field(description="local opening time, HH:MM")
    day_end: str = Field(description="local closing time, HH:MM (24:00 = midnight)")
    weekdays: list[int] = Field(description="ISO weekdays normally worked, 1 = Monday")
    holidays: int = Field(description="number of holidays on record")
    workdays: int = Field(description="number of make-up working days on record")

    @classmethod
    def of(cls, summary: CalendarSummary) -> CalendarOut:
        return cls(**{**summary.__dict__, "weekdays": list(summary.weekdays)})


class DayOut(BaseModel):
    calendar: str
    day: date
    kind: Literal["holiday", "workday"] = Field(
        description="holiday: closed although a weekday; workday: worked although a weekend"
    )
    name: str
    updated_by: str | None = Field(description="who set it; null for shipped days")
    updated_at: datetime | None

    @classmethod
    def of(cls, entry: DayEntry) -> DayOut:
        return cls(**entry.__dict__)


CalendarList = RootModel[list[CalendarOut]]
DayList = RootModel[list[DayOut]]


class CalendarPath(BaseModel):
    code: CalendarCode


class DayPath(BaseModel):
    code: CalendarCode
    day: date = Field(description="YYYY-MM-DD")

    @field_validator("day", mode="before")
    @classmethod
    def _iso_day(cls, value: Any) -> Any:
        if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError("day must be written YYYY-MM-DD")
        return value


class DaysQuery(BaseModel):
    year: int | None = Field(default=None, ge=2000, le=2199, description="only this year")


class DayIn(BaseModel):
    kind: Literal["holiday", "workday"]
    name: str = Field(default="", max_length=80, examples=["Spring Festival"])


class WorkingHoursQuery(BaseModel):
    start: Instant
    end: Instant
    calendar: CalendarCode = "5x8"


class WorkingHoursOut(BaseModel):
    calendar: str
    start: datetime
    end: datetime
    working_hours: float = Field(description="negative when end is before start")


class DueQuery(BaseModel):
    start: Instant
    hours: float = Field(ge=0, le=MAX_HOURS, allow_inf_nan=False, description="working hours")
    calendar: CalendarCode = "5x8"


class DueOut(BaseModel):
    calendar: str
    start: datetime
    hours: float
    due: datetime = Field(
        description="earliest instant by which the hours have elapsed; for 0 hours the next "
        "opening (or start itself during working time)"
    )


@api.get(
    "/calendars",
    tags=[TAG],
    responses={200: CalendarList, 401: ErrorOut},
    summary="The working-hours calendars",
)
@auth.api_roles()
def get_calendars() -> Any:
    return jsonify([CalendarOut.of(item).model_dump() for item in calendars.list_calendars(uow())])


@api.get(
    "/calendars/<code>/days",
    tags=[TAG],
    responses={200: DayList, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="A calendar's holidays and make-up working days, by date",
)
@auth.api_roles()
def get_calendar_days(path: CalendarPath, query: DaysQuery) -> Any:
    days = calendars.list_days(uow(), path.code, query.year)
    return jsonify([DayOut.of(day).model_dump() for day in days])


@api.put(
    "/calendars/<code>/days/<day>",
    tags=[TAG],
    responses={
        200: DayOut,
        201: DayOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        422: ErrorOut,
    },
    summary="Add (201) or replace (200) a holiday or make-up working day (administrators)",
)
@auth.api_roles("admin")
def put_calendar_day(path: DayPath, body: DayIn) -> Any:
    entry, created = calendars.set_day(
        uow(), auth.api_actor(), path.code, path.day, body.kind, body.name
    )
    return jsonify(DayOut.of(entry).model_dump()), 201 if created else 200


@api.delete(
    "/calendars/<code>/days/<day>",
    tags=[TAG],
    responses={204: None, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Remove a holiday or make-up working day (administrators)",
)
@auth.api_roles("admin")
def delete_calendar_day(path: DayPath) -> Any:
    calendars.delete_day(uow(), auth.api_actor(), path.code, path.day)
    return "", 204


@api.get(
    "/calendar/working-hours",
    tags=[TAG],
    responses={200: WorkingHoursOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Working hours elapsed between two instants under a calendar",
)
@auth.api_roles()
def get_working_hours(query: WorkingHoursQuery) -> Any:
    hours = calendars.working_hours(uow(), query.calendar, query.start, query.end)
    out = WorkingHoursOut(
        calendar=query.calendar, start=query.start, end=query.end, working_hours=hours
    )
    return jsonify(out.model_dump())


@api.get(
    "/calendar/add-working-hours",
    tags=[TAG],
    responses={200: DueOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="When a number of working hours from an instant will have elapsed",
)
@auth.api_roles()
def get_add_working_hours(query: DueQuery) -> Any:
    due = calendars.add_hours(uow(), query.calendar, query.start, query.hours)
    out = DueOut(calendar=query.calendar, start=query.start, hours=query.hours, due=due)
    return jsonify(out.model_dump())
