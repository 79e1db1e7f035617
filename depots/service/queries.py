"""What other domains read about the depot network: the depots and the cities,
where they lie and what they are called, as small frozen dataclasses (one query
each), so that nobody else selects from ``depot`` or ``city``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from core.db import UnitOfWork, read_only
from depots.lanes import LaneTerms, PickupWindow
from depots.models import City, Depot, Lane
from depots.service.network import lane_terms


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
    """{lane id: its stored terms} for the lanes asked about (one query), so a page
    of cases reads the few lanes it needs, not the whole network."""
    wanted = sorted(set(lane_ids))
    if not wanted:
        return {}
    lanes = uow.session.scalars(select(Lane).where(Lane.id.in_(wanted)))  # type: ignore[union-attr]
    return {lane.id: lane_terms(lane) for lane in lanes if lane.id is not None}


@read_only
def pickup_window(uow: UnitOfWork, depot_code: str) -> PickupWindow:
    """When the carrier collects at a depot (one small query)."""
    row = uow.session.execute(
        select(Depot.pickup_open_hour, Depot.pickup_cutoff_hour, Depot.timezone).where(
            Depot.code == depot_code
        )
    ).one()
    return PickupWindow(*row)
