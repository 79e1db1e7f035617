"""What other domains read about the depot network: the depots and the cities,
where they lie and what they are called, as small frozen dataclasses (one query
each), so that nobody else selects from ``depot`` or ``city``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from core.db import UnitOfWork, read_only
from depots.lanes import LaneTerms, PickupWindow
from depots.models import City, Depot
from depots.service.snapshot import network


@dataclass(frozen=True)
class DepotPlace:
    """A depot, its city's names (English and Chinese) and where it lies (degrees)."""

    code: str
    name: str
    city: str
    city_zh: str
    lat: float
    lon: float


@read_only
def depot_places(uow: UnitOfWork) -> list[DepotPlace]:
    """Every depot with its city, by code."""
    rows = uow.session.execute(
        select(Depot.code, Depot.name, City.name, City.name_zh, Depot.lat, Depot.lon)
        .join(City, City.id == Depot.city_id)
        .order_by(Depot.code)
    )
    return [DepotPlace(*row) for row in rows]


@dataclass(frozen=True)
class CityPlace:
    """A city (customer cities and the depots' own) and where it lies (degrees)."""

    id: int
    name: str
    lat: float
    lon: float


@read_only
def city_places(uow: UnitOfWork) -> list[CityPlace]:
    """Every city, by id."""
    rows = uow.session.execute(select(City.id, City.name, City.lat, City.lon).order_by(City.id))
    return [CityPlace(*row) for row in rows]


@read_only
def lane_terms_by_id(uow: UnitOfWork, lane_ids: Iterable[int]) -> dict[int, LaneTerms]:
    """{lane id: its stored terms} for the lanes asked about (from the network kept
    in memory, ``depots.service.snapshot``)."""
    terms = network(uow).terms_by_lane
    return {lane_id: terms[lane_id] for lane_id in set(lane_ids) if lane_id in terms}


@read_only
def pickup_window(uow: UnitOfWork, depot_code: str) -> PickupWindow:
    """When the carrier collects at a depot (from the network kept in memory)."""
    return network(uow).window(depot_code)
