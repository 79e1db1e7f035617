"""The depot network as every process keeps it in memory: depots, cities and lanes.

Opening an RMA asks where each depot is, when its carrier collects, and the lane
from each depot to the customer's city; before this cache it read the depot and
city tables four and three times and the lanes twice per opening. The network is
loaded in three queries and kept per process while its generation
(``depots.models.NETWORK``, ``core.generations``) stays the same; any committed
change to depots, cities, lanes or calendars, by any process, bumps it in the same
transaction, and the next transaction anywhere reloads.

Everything here is frozen: requests in every thread share it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from sqlmodel import select

from core.db import UnitOfWork, read_only
from core.generations import Cached
from depots.lanes import LaneTerms, PickupWindow
from depots.models import NETWORK, Lane
from depots.service.network import CityInfo, DepotInfo, LaneInfo, NetworkLookup, lane_terms


@dataclass(frozen=True)
class Network:
    """The network at one generation."""

    depots: tuple[DepotInfo, ...]  # by code
    depot_by_code: Mapping[str, DepotInfo]
    city_by_id: Mapping[int, CityInfo]
    # {city id: {depot code: lane from that depot to the city}}
    lanes_to_city: Mapping[int, Mapping[str, LaneInfo]]
    terms_by_lane: Mapping[int, LaneTerms]

    def window(self, depot_code: str) -> PickupWindow:
        return self.depot_by_code[depot_code].window


def _load(uow: UnitOfWork) -> Network:
    session = uow.session
    network = NetworkLookup(uow)  # depots and cities: one query each
    depots = tuple(network.depot_info(network.depots[code]) for code in sorted(network.depots))
    depot_of = {depot.city_id: depot.code for depot in network.depots.values()}
    cities = {
        city.id: CityInfo(
            id=city.id,
            name=city.name,
            name_zh=city.name_zh,
            province=city.province,
            lat=city.lat,
            lon=city.lon,
            remote=city.remote,
            depot=depot_of.get(city.id),
        )
        for city in network.cities_by_id.values()
        if city.id is not None
    }
    to_city: dict[int, dict[str, LaneInfo]] = {}
    terms: dict[int, LaneTerms] = {}
    for lane in session.exec(select(Lane)).all():
        assert lane.id is not None
        terms[lane.id] = lane_terms(lane)
        if lane.to_city_id is not None:
            to_city.setdefault(lane.to_city_id, {})[lane.from_depot] = network.info(lane)
    return Network(
        depots=depots,
        depot_by_code=MappingProxyType({depot.code: depot for depot in depots}),
        city_by_id=MappingProxyType(cities),
        lanes_to_city=MappingProxyType(
            {city: MappingProxyType(lanes) for city, lanes in to_city.items()}
        ),
        terms_by_lane=MappingProxyType(terms),
    )


_network: Cached[Network] = Cached(NETWORK, _load)


@read_only
def network(uow: UnitOfWork) -> Network:
    """The network as committed (from memory while nothing changed it)."""
    return _network.get(uow)


def forget() -> None:
    """Drop this process's copy (after SQL written by hand on the network's tables)."""
    _network.clear()
