"""Use cases of the transport network: depots, customer cities, lanes and quotes.

Lanes run from a depot to every customer city (the depot's own city included:
that is the same-city courier lane) and to every other depot. Until a planner
edits a lane it follows the default rule of ``depots.lanes``; an edited lane is
the planner's and nothing automatic ever changes it back (only "reset").

Everyone signed in may read depots, cities and lanes and ask for quotes.
Editing lanes (one, several at once, or from CSV) and exporting them as CSV is
``depots.service.lane_edits``; this module holds what both share: the lane as
people read it (``LaneInfo``), the lookup of depots and cities by the names
people use (``NetworkLookup``) and how terms are read from and set on a lane.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlmodel import select

from core import clock
from core.db import UnitOfWork, read_only, transactional
from core.errors import Invalid, NotFound
from core.i18n import gettext
from depots import lanes as rule
from depots.lanes import LaneTerms, PickupWindow, Quote, Service
from depots.models import Calendar, City, Depot, Lane

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DEFAULT_CALENDAR = "5x8"
LANE_KINDS = ("city", "depot")


# --- what the use cases answer ---------------------------------------------------------


@dataclass(frozen=True)
class DepotInfo:
    code: str
    name: str
    city: str
    city_zh: str
    province: str
    lat: float
    lon: float
    timezone: str
    calendar_code: str
    pickup_open_hour: int
    pickup_cutoff_hour: int

    @property
    def window(self) -> PickupWindow:
        return PickupWindow(self.pickup_open_hour, self.pickup_cutoff_hour, self.timezone)


@dataclass(frozen=True)
class CityInfo:
    id: int
    name: str
    name_zh: str
    province: str
    lat: float
    lon: float
    remote: bool
    depot: str | None  # the depot in this city, if any


@dataclass(frozen=True)
class LaneInfo:
    """A lane as people read it: ``to`` is a city name (kind city) or a depot code."""

    id: int
    from_depot: str
    kind: str
    to: str
    to_name: str  # English city name (for a depot lane, the depot's city)
    to_name_zh: str
    remote: bool
    mode: str
    distance_km: float
    hours: Decimal
    cost: Decimal
    edited: bool
    updated_at: datetime
    updated_by: str | None

    @property
    def label(self) -> str:
        return f"{self.from_depot} → {self.to}"

    @property
    def terms(self) -> LaneTerms:
        return LaneTerms(self.mode, self.hours, self.cost)


# --- reference data ----------------------------------------------------------------------


def _data_rows(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@transactional
def seed_network(uow: UnitOfWork) -> None:
    """Insert missing cities, depots and default lanes; safe to run any number of times.

    Lanes a planner edited are never touched. Unedited lanes follow the default
    rule, so a corrected rule or coordinate reaches them on the next run.
    Needs the depots' calendar (seeded by ``seed_calendars``) to exist already.
    """
    session = uow.session
    if session.get(Calendar, DEFAULT_CALENDAR) is None:
        raise RuntimeError(f"calendar {DEFAULT_CALENDAR!r} must be seeded before the depots")

    cities = {city.name: city for city in session.exec(select(City)).all()}
    for row in _data_rows("cities.csv"):
        if row["name"] not in cities:
            city = City(
                name=row["name"],
                name_zh=row["name_zh"],
                province=row["province"],
                lat=float(row["lat"]),
                lon=float(row["lon"]),
                remote=row["remote"].strip().lower() == "true",
            )
            session.add(city)
            cities[city.name] = city
    session.flush()

    depots = {depot.code: depot for depot in session.exec(select(Depot)).all()}
    for row in _data_rows("depots.csv"):
        if row["code"] not in depots:
            depot = Depot(
                code=row["code"],
                name=row["name"],
                city_id=cities[row["city"]].id,
                lat=float(row["lat"]),
                lon=float(row["lon"]),
                calendar_code=DEFAULT_CALENDAR,
            )
            session.add(depot)
            depots[depot.code] = depot
    session.flush()

    existing: dict[tuple[str, int | None, str | None], Lane] = {
        (lane.from_depot, lane.to_city_id, lane.to_depot): lane
        for lane in session.exec(select(Lane)).all()
    }
    now = clock.now()
    for origin in depots.values():
        targets: list[tuple[int | None, str | None, float, float, bool]] = [
            (city.id, None, city.lat, city.lon, city.remote) for city in cities.values()
        ]
        targets += [
            (None, other.code, other.lat, other.lon, False)
            for other in depots.values()
            if other.code != origin.code
        ]
        for city_id, depot_code, lat, lon, remote in targets:
            distance = rule.great_circle_km(origin.lat, origin.lon, lat, lon)
            terms = rule.default_terms(distance, remote=remote)
            lane = existing.get((origin.code, city_id, depot_code))
            if lane is None:
                session.add(
                    Lane(
                        from_depot=origin.code,
                        to_city_id=city_id,
                        to_depot=depot_code,
                        mode=terms.mode,
                        distance_km=distance,
                        hours=terms.hours,
                        cost=terms.cost,
                        updated_at=now,
                    )
                )
            elif not lane.edited and (lane_terms(lane) != terms or lane.distance_km != distance):
                apply_terms(lane, terms, edited=False, by=None, at=now)
                lane.distance_km = distance
                session.add(lane)


# --- reading -------------------------------------------------------------------------------


class NetworkLookup:
    """Depots and cities of one transaction, looked up by the names people use."""

    def __init__(self, uow: UnitOfWork) -> None:
        session = uow.session
        self.cities_by_id = {city.id: city for city in session.exec(select(City)).all()}
        self.cities = {city.name.casefold(): city for city in self.cities_by_id.values()}
        self.depots = {depot.code: depot for depot in session.exec(select(Depot)).all()}

    def depot(self, code: str | None) -> Depot | None:
        return self.depots.get((code or "").strip().upper())

    def require_depot(self, code: str) -> Depot:
        depot = self.depot(code)
        if depot is None:
            raise NotFound(
                gettext(
                    "unknown depot %(code)r; depots are %(depots)s",
                    code=code,
                    depots=", ".join(sorted(self.depots)),
                )
            )
        return depot

    def city(self, name: str | None) -> City | None:
        return self.cities.get((name or "").strip().casefold())

    def destination(self, to: str, kind: str | None = None) -> tuple[str, City | Depot] | None:
        """Resolve a city name or depot code; ``kind`` restricts which is accepted."""
        if kind in (None, "", "depot"):
            depot = self.depot(to)
            if depot is not None:
                return "depot", depot
        if kind in (None, "", "city"):
            city = self.city(to)
            if city is not None:
                return "city", city
        return None

    def require_destination(self, to: str, kind: str | None = None) -> tuple[str, City | Depot]:
        found = self.destination(to, kind)
        if found is None:
            if kind == "city":
                raise NotFound(gettext("unknown destination city %(to)r", to=to))
            if kind == "depot":
                raise NotFound(gettext("unknown destination depot %(to)r", to=to))
            raise NotFound(gettext("unknown destination city or depot %(to)r", to=to))
        return found

    def info(self, lane: Lane) -> LaneInfo:
        assert lane.id is not None
        if lane.to_depot is not None:
            depot = self.depots[lane.to_depot]
            city = self.cities_by_id[depot.city_id]
            kind, to = "depot", depot.code
        else:
            city = self.cities_by_id[lane.to_city_id]
            kind, to = "city", city.name
        return LaneInfo(
            id=lane.id,
            from_depot=lane.from_depot,
            kind=kind,
            to=to,
            to_name=city.name,
            to_name_zh=city.name_zh,
            remote=city.remote and kind == "city",
            mode=lane.mode,
            distance_km=lane.distance_km,
            hours=lane.hours,
            cost=lane.cost,
            edited=lane.edited,
            updated_at=clock.as_utc(lane.updated_at),
            updated_by=lane.updated_by,
        )

    def depot_info(self, depot: Depot) -> DepotInfo:
        city = self.cities_by_id[depot.city_id]
        return DepotInfo(
            code=depot.code,
            name=depot.name,
            city=city.name,
            city_zh=city.name_zh,
            province=city.province,
            lat=depot.lat,
            lon=depot.lon,
            timezone=depot.timezone,
            calendar_code=depot.calendar_code,
            pickup_open_hour=depot.pickup_open_hour,
            pickup_cutoff_hour=depot.pickup_cutoff_hour,
        )


def _to_clause(target: City | Depot) -> Any:
    """The WHERE clause selecting lanes to ``target`` (a city or a depot)."""
    if isinstance(target, City):
        return Lane.to_city_id == target.id
    return Lane.to_depot == target.code


def _sort_key(info: LaneInfo) -> tuple[str, int, str]:
    return info.from_depot, LANE_KINDS.index(info.kind), info.to.casefold()


@read_only
def list_depots(uow: UnitOfWork) -> list[DepotInfo]:
    """The depots, by code."""
    network = NetworkLookup(uow)
    return [network.depot_info(network.depots[code]) for code in sorted(network.depots)]


@read_only
def get_depot(uow: UnitOfWork, code: str) -> DepotInfo:
    """One depot by code (case-insensitive); ``NotFound`` if unknown."""
    network = NetworkLookup(uow)
    return network.depot_info(network.require_depot(code))


@read_only
def list_cities(uow: UnitOfWork) -> list[CityInfo]:
    """Customer cities (the depots' cities included), by English name."""
    network = NetworkLookup(uow)
    depot_of = {depot.city_id: depot.code for depot in network.depots.values()}
    cities = sorted(network.cities_by_id.values(), key=lambda city: city.name.casefold())
    return [
        CityInfo(
            id=city.id or 0,
            name=city.name,
            name_zh=city.name_zh,
            province=city.province,
            lat=city.lat,
            lon=city.lon,
            remote=city.remote,
            depot=depot_of.get(city.id or 0),
        )
        for city in cities
    ]


@read_only
def list_lanes(
    uow: UnitOfWork,
    *,
    from_depot: str | None = None,
    to: str | None = None,
    kind: str | None = None,
) -> list[LaneInfo]:
    """Lanes, optionally only from one depot, to one destination, of one kind.

    ``to`` is a city name or depot code (case-insensitive); ``kind`` is ``city``
    or ``depot``. Ordered by origin, city lanes before depot lanes, destination.
    Raises ``Invalid`` for an unknown kind, ``NotFound`` for an unknown depot or
    destination.
    """
    kind = kind or None
    if kind is not None and kind not in LANE_KINDS:
        raise Invalid(gettext("kind must be city or depot, not %(kind)r", kind=kind))
    network = NetworkLookup(uow)
    statement = select(Lane)
    if from_depot:
        statement = statement.where(Lane.from_depot == network.require_depot(from_depot).code)
    if to:
        _, target = network.require_destination(to, kind)
        statement = statement.where(_to_clause(target))
    if kind == "city":
        statement = statement.where(Lane.to_city_id.is_not(None))  # type: ignore[union-attr]
    elif kind == "depot":
        statement = statement.where(Lane.to_depot.is_not(None))  # type: ignore[union-attr]
    infos = [network.info(lane) for lane in uow.session.exec(statement).all()]
    return sorted(infos, key=_sort_key)


@read_only
def get_lane(uow: UnitOfWork, lane_id: int) -> LaneInfo:
    """One lane by id; ``NotFound`` if there is none."""
    lane = uow.session.get(Lane, lane_id)
    if lane is None:
        raise NotFound(gettext("no lane %(id)s", id=lane_id))
    return NetworkLookup(uow).info(lane)


@read_only
def find_lane(uow: UnitOfWork, from_depot: str, to: str, kind: str | None = None) -> LaneInfo:
    """The lane from a depot to a city name or depot code; ``NotFound`` if unknown."""
    network = NetworkLookup(uow)
    lane = _find(uow, network, from_depot, to, kind)
    return network.info(lane)


def _find(
    uow: UnitOfWork, network: NetworkLookup, from_depot: str, to: str, kind: str | None
) -> Lane:
    origin = network.require_depot(from_depot)
    _, target = network.require_destination(to, kind)
    if isinstance(target, Depot) and target.code == origin.code:
        raise NotFound(
            gettext(
                "no lane from depot %(code)s to itself; ask for its city instead",
                code=origin.code,
            )
        )
    lane = uow.session.exec(
        select(Lane).where(Lane.from_depot == origin.code, _to_clause(target))
    ).first()
    if lane is None:
        raise NotFound(gettext("no lane %(origin)s → %(to)s", origin=origin.code, to=to))
    return lane


def default_for(lane: LaneInfo) -> LaneTerms:
    """What the default rule gives for this lane (what "reset" would set).

    The stored distance is the unrounded great-circle distance, so this is exact.
    """
    return rule.default_terms(lane.distance_km, remote=lane.remote)


# --- a lane's terms --------------------------------------------------------------------------


def lane_terms(lane: Lane) -> LaneTerms:
    """The mode, hours and cost stored on a lane."""
    return LaneTerms(lane.mode, Decimal(lane.hours), Decimal(lane.cost))


def apply_terms(
    lane: Lane, terms: LaneTerms, *, edited: bool, by: str | None, at: datetime
) -> None:
    """Set a lane's terms and who changed it when (``edited``: a planner's, not the rule's)."""
    lane.mode = terms.mode
    lane.hours = terms.hours
    lane.cost = terms.cost
    lane.edited = edited
    lane.updated_by = by
    lane.updated_at = at


# --- quotes --------------------------------------------------------------------------------


@read_only
def quote(
    uow: UnitOfWork,
    from_depot: str,
    to: str,
    ready_at: datetime,
    service: Service | str = Service.STANDARD,
) -> Quote:
    """Quote a shipment from a depot to a city name or depot code, on the stored lane.

    ``ready_at`` is the aware instant the parcel is packed and waiting at the
    depot. Uses the depot's pickup window (daily, 09:00 to 18:00 local, cut-off
    inclusive; see ``depots.lanes``). Answers aware UTC instants. Raises
    ``Invalid`` for a naive ``ready_at`` or unknown service, ``NotFound`` for an
    unknown depot, destination or lane. Who may book an emergency courier
    (C-1 cases only) is the caller's rule: ``depots.lanes.service_allowed``.
    """
    if ready_at.tzinfo is None or ready_at.utcoffset() is None:
        raise Invalid(gettext("ready_at needs a time zone (e.g. 2026-03-06T17:30:00+08:00)"))
    if str(service) not in rule.SERVICES:
        raise Invalid(
            gettext("service must be standard or emergency, not %(service)r", service=service)
        )
    network = NetworkLookup(uow)
    lane = _find(uow, network, from_depot, to, None)
    depot = network.depot_info(network.depots[lane.from_depot])
    return rule.quote(lane_terms(lane), ready_at, service, depot.window)
