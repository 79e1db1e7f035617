"""JSON API of the transport network: depots, cities, lanes and transit quotes.

Every route needs a bearer token; changing lanes needs a planner or an admin.
Instants are answered in Asia/Shanghai with their offset; instants given follow
the one rule of ``core.schemas.Instant`` (without an offset, Asia/Shanghai
wall-clock time; years 2000-2199).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from flask import jsonify
from flask_openapi3 import Tag
from pydantic import BaseModel, Field, RootModel

from core import auth, clock
from core.errors import ErrorOut
from core.schemas import Hours, Instant, Money
from core.web import uow
from depots.api import api
from depots.service import lane_edits, network
from depots.service.lane_edits import LaneChange
from depots.service.network import CityInfo, DepotInfo, LaneInfo

TAG = Tag(name="network", description="Depots, customer cities, lanes and transit quotes")

# The same values as depots.lanes.MODES and SERVICES, spelt out for the OpenAPI schema.
Mode = Literal["courier", "road", "air"]
Kind = Literal["city", "depot"]
ServiceName = Literal["standard", "emergency"]


class DepotOut(BaseModel):
    code: str
    name: str
    city: str
    city_zh: str
    province: str
    lat: float
    lon: float
    timezone: str
    calendar_code: str
    pickup_open_hour: int = Field(description="local hour the carrier's daily pickup window opens")
    pickup_cutoff_hour: int = Field(description="local cut-off hour, inclusive")

    @classmethod
    def of(cls, depot: DepotInfo) -> DepotOut:
        return cls(**depot.__dict__)


class CityOut(BaseModel):
    id: int
    name: str
    name_zh: str
    province: str
    lat: float
    lon: float
    remote: bool = Field(description="last-mile delivery takes 12 hours more")
    depot: str | None = Field(description="code of the depot in this city, if any")

    @classmethod
    def of(cls, city: CityInfo) -> CityOut:
        return cls(**city.__dict__)


class LaneOut(BaseModel):
    id: int
    from_depot: str
    kind: Kind
    to: str = Field(description="city name (kind city) or depot code (kind depot)")
    to_name: str
    to_name_zh: str
    remote: bool
    mode: Mode
    distance_km: float = Field(description="great-circle distance")
    hours: Hours = Field(description="door-to-door transit hours once picked up")
    cost: Money = Field(description="CNY per shipment")
    edited: bool = Field(description="set by a planner; the default rule no longer applies")
    updated_at: datetime
    updated_by: str | None

    @classmethod
    def of(cls, lane: LaneInfo) -> LaneOut:
        return cls(**lane.__dict__)


DepotList = RootModel[list[DepotOut]]
CityList = RootModel[list[CityOut]]
LaneList = RootModel[list[LaneOut]]


class LaneQuery(BaseModel):
    from_depot: str | None = Field(default=None, max_length=8, description="origin depot code")
    to: str | None = Field(default=None, max_length=80, description="city name or depot code")
    kind: Kind | None = None


class LaneTermsIn(BaseModel):
    mode: Mode
    hours: Decimal = Field(gt=0, le=240, description="door-to-door hours, at most 240")
    cost: Decimal = Field(ge=0, le=1_000_000, description="CNY per shipment")


class LaneUpdateIn(LaneTermsIn):
    from_depot: str = Field(min_length=1, max_length=8)
    to: str = Field(min_length=1, max_length=80, description="city name or depot code")
    kind: Kind | None = Field(default=None, description="only needed to disambiguate")


LaneUpdates = RootModel[list[LaneUpdateIn]]


class LanePath(BaseModel):
    lane_id: int = Field(ge=1)


class QuoteQuery(BaseModel):
    from_depot: str = Field(min_length=1, max_length=8)
    to: str = Field(min_length=1, max_length=80, description="city name or depot code")
    ready_at: Instant | None = Field(
        default=None,
        description="when the parcel is ready at the depot (ISO 8601; without an offset it is "
        "read as Asia/Shanghai time); default now",
    )
    service: ServiceName = "standard"


class QuoteOut(BaseModel):
    from_depot: str
    to: str
    service: ServiceName
    ready_at: datetime
    ships_at: datetime
    arrives_at: datetime
    hours: Hours = Field(description="transit hours (the same for both services)")
    cost: Money = Field(description="CNY; the emergency courier costs three times the lane")
    mode: Mode


@api.get(
    "/depots",
    tags=[TAG],
    responses={200: DepotList, 401: ErrorOut},
    summary="The eight depots with their pickup windows",
)
@auth.api_roles()
def get_depots() -> Any:
    return jsonify([DepotOut.of(depot).model_dump() for depot in network.list_depots(uow())])


@api.get(
    "/cities",
    tags=[TAG],
    responses={200: CityList, 401: ErrorOut},
    summary="Customer cities (the depots' cities included)",
)
@auth.api_roles()
def get_cities() -> Any:
    return jsonify([CityOut.of(city).model_dump() for city in network.list_cities(uow())])


@api.get(
    "/lanes",
    tags=[TAG],
    responses={200: LaneList, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Lanes, filtered by origin depot, destination and kind",
)
@auth.api_roles()
def get_lanes(query: LaneQuery) -> Any:
    lanes = network.list_lanes(uow(), from_depot=query.from_depot, to=query.to, kind=query.kind)
    return jsonify([LaneOut.of(lane).model_dump() for lane in lanes])


@api.put(
    "/lanes",
    tags=[TAG],
    responses={200: LaneList, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    summary="Edit several lanes at once, all or nothing (planners)",
)
@auth.api_roles("planner")
def put_lanes(body: LaneUpdates) -> Any:
    changes = [
        LaneChange(
            from_depot=item.from_depot,
            to=item.to,
            kind=item.kind,
            mode=item.mode,
            hours=item.hours,
            cost=item.cost,
        )
        for item in body.root
    ]
    lanes = lane_edits.update_lanes(uow(), auth.api_actor(), changes)
    return jsonify([LaneOut.of(lane).model_dump() for lane in lanes])


@api.put(
    "/lanes/<int:lane_id>",
    tags=[TAG],
    responses={200: LaneOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Edit one lane's mode, hours and cost (planners)",
)
@auth.api_roles("planner")
def put_lane(path: LanePath, body: LaneTermsIn) -> Any:
    lane = lane_edits.update_lane(
        uow(), auth.api_actor(), path.lane_id, mode=body.mode, hours=body.hours, cost=body.cost
    )
    return jsonify(LaneOut.of(lane).model_dump())


@api.get(
    "/lanes/quote",
    tags=[TAG],
    responses={200: QuoteOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="When a parcel ready at a depot ships and arrives, and what it costs",
)
@auth.api_roles()
def get_quote(query: QuoteQuery) -> Any:
    ready_at = query.ready_at if query.ready_at is not None else clock.now()
    answer = network.quote(uow(), query.from_depot, query.to, ready_at, query.service)
    lane = network.find_lane(uow(), query.from_depot, query.to)
    out = QuoteOut(
        from_depot=lane.from_depot,
        to=lane.to,
        service=answer.service,  # type: ignore[arg-type]
        ready_at=ready_at,
        ships_at=answer.ships_at,
        arrives_at=answer.arrives_at,
        hours=answer.hours,
        cost=answer.cost,
        mode=answer.mode,  # type: ignore[arg-type]
    )
    return jsonify(out.model_dump())
