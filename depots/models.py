"""Depots, customer cities, transport lanes and working-hours calendars."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Numeric, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from core import clock, generations
from core.db import UTCDateTime

LANE_MODES = ("courier", "road", "air")
# The generation of the reference data below (``core.generations``).
NETWORK = "network"


class Depot(SQLModel, table=True):
    code: str = Field(sa_column=Column(String(4), primary_key=True))
    name: str = Field(max_length=80)
    city_id: int = Field(foreign_key="city.id")
    lat: float
    lon: float
    timezone: str = Field(default="Asia/Shanghai", max_length=40)
    calendar_code: str = Field(default="5x8", foreign_key="calendar.code", max_length=16)
    # Latest carrier pickup, local hour; a parcel picked later leaves next morning.
    pickup_cutoff_hour: int = 18
    pickup_open_hour: int = 9


class City(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60)
    name_zh: str = Field(max_length=30)
    province: str = Field(max_length=60)
    lat: float
    lon: float
    # Lhasa, Urumqi, Xining, Haikou: last-mile delivery takes 12 hours more.
    remote: bool = False


class Lane(SQLModel, table=True):
    """How a shipment travels from a depot to a city or to another depot.

    ``hours`` is door-to-door once the carrier has picked the parcel up; remote
    last-mile time is included. ``cost`` is CNY per shipment (per unit for the
    rebalancing optimizer on depot-to-depot lanes).
    """

    __table_args__ = (
        CheckConstraint("(to_city_id IS NULL) <> (to_depot IS NULL)", name="one_destination"),
        CheckConstraint("hours > 0", name="hours_positive"),
        CheckConstraint("cost >= 0", name="cost_not_negative"),
        CheckConstraint("mode IN ('courier', 'road', 'air')", name="mode_known"),
        # A depot's own city is a courier lane; a lane to the depot itself means nothing.
        CheckConstraint("to_depot IS NULL OR to_depot <> from_depot", name="not_to_itself"),
        UniqueConstraint("from_depot", "to_city_id", name="uq_lane_from_depot_to_city"),
        UniqueConstraint("from_depot", "to_depot", name="uq_lane_from_depot_to_depot"),
    )

    id: int | None = Field(default=None, primary_key=True)
    from_depot: str = Field(foreign_key="depot.code", max_length=4, index=True)
    to_city_id: int | None = Field(default=None, foreign_key="city.id")
    to_depot: str | None = Field(default=None, foreign_key="depot.code", max_length=4)
    mode: str = Field(max_length=10)
    distance_km: float
    hours: Decimal = Field(sa_column=Column(Numeric(7, 2), nullable=False))
    cost: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    edited: bool = False
    updated_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)
    updated_by: str | None = Field(default=None, max_length=64)


class Calendar(SQLModel, table=True):
    """A working-hours calendar: 5x8 office hours with holidays, or 7x24.

    The arithmetic lives in ``depots.calendar``; these rows only hold its inputs.
    """

    __table_args__ = (
        CheckConstraint(
            "day_start_minute >= 0 AND day_start_minute < day_end_minute "
            "AND day_end_minute <= 1440",
            name="window_valid",
        ),
    )

    code: str = Field(sa_column=Column(String(16), primary_key=True))
    name: str = Field(max_length=80)
    timezone: str = Field(default="Asia/Shanghai", max_length=40)
    always_open: bool = False
    day_start_minute: int = 9 * 60
    day_end_minute: int = 17 * 60
    # ISO weekdays that are normally worked, e.g. "12345" for Monday to Friday.
    weekdays: str = Field(default="12345", max_length=7)
    # Years whose shipped holidays were loaded once ("2026,2027"): a later upgrade
    # then never re-adds a day an administrator deleted on purpose.
    seeded_years: str = Field(default="", max_length=200)


class CalendarDay(SQLModel, table=True):
    """An exception to a calendar's weekly pattern: a holiday or a make-up working day."""

    __tablename__ = "calendar_day"
    __table_args__ = (CheckConstraint("kind IN ('holiday', 'workday')", name="kind_known"),)

    calendar_code: str = Field(foreign_key="calendar.code", primary_key=True, max_length=16)
    day: date = Field(primary_key=True)
    kind: str = Field(max_length=8)
    name: str = Field(default="", max_length=80)
    # Who last set the day; None for days shipped with the software.
    updated_by: str | None = Field(default=None, max_length=64)
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# Every process keeps the network in memory (``depots.service.snapshot``); any change
# to these tables bumps the "network" generation in the same transaction, so the
# other processes reload it (``core.generations``).
generations.watch(NETWORK, Depot, City, Lane, Calendar, CalendarDay)
