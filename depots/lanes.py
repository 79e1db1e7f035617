"""Transit between depots and customers: distances, the default lane rule, quotes.

Pure code: no database, no Flask. The service layer reads a stored lane and a
depot's pickup window and asks this module when a shipment leaves and arrives.

Decisions, so every caller reads the same promise:

* Distance is the great-circle (haversine) distance on a sphere of radius
  6371 km. It is what the default rule prices, not the road distance.
* Default lane (``default_terms``): d < 50 km courier, 4 h, 80 CNY;
  50 <= d <= 800 km road express, 3 + d/70 h, 60 + 0.35 d CNY;
  d > 800 km air express, 10 + d/700 h, 200 + 0.25 d CNY. A remote destination
  (Lhasa, Urumqi, Xining, Haikou) adds 12 h of last-mile. Hours and CNY are
  ``Decimal`` rounded half-up to 0.01.
* Lane hours are door to door once the carrier has the parcel.
* A depot-to-depot transfer is one shipment: it pays the lane's cost once plus
  ``TRANSFER_HANDLING_PER_UNIT`` (10 CNY) per unit, so units consolidated on a lane
  cost less than units sent apart (the rebalancing plan, ``optimizer.freight``).
* Carriers pick up at every depot every day of the week, weekends and public
  holidays included (the carriers work them; the depot's 5x8 calendar is about
  the service hotline, not about pickups). The window is 09:00 to 18:00 local
  (Asia/Shanghai) and the 18:00 cut-off is inclusive: a parcel ready at
  18:00:00 exactly leaves the same day, one ready a moment later leaves at
  09:00 the next morning.
* Standard service leaves at the ready instant when that falls inside the
  window, otherwise at the next window opening (09:00 local).
* Emergency courier leaves within one hour of the ready instant at any time of
  day. The quote promises the latest of that hour, except that it never leaves
  later than the standard pickup would (an emergency courier booked at 10:00
  does not wait until 11:00 when the regular carrier takes the parcel now).
  It travels the lane's transit hours and mode (only the departure changes)
  and costs three times the lane cost.
* Emergency courier is for C-1 cases only. ``quote`` itself quotes either
  service (planners use it as a what-if calculator); callers that book a
  shipment for a case check ``service_allowed(service, fault_level)`` and
  refuse otherwise. This keeps fault levels, an RMA concept, out of transit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from zoneinfo import ZoneInfo

from core.i18n import gettext

EARTH_RADIUS_KM = 6371.0
SAME_CITY_KM = 50.0  # below this a courier delivers across town
ROAD_MAX_KM = 800.0  # up to and including this, road express; beyond it, air
REMOTE_EXTRA_HOURS = Decimal(12)

MODES = ("courier", "road", "air")
MAX_LANE_HOURS = Decimal(240)  # ten days: anything longer is a typo, not a lane
MAX_LANE_COST = Decimal(1_000_000)  # CNY per shipment; guards the numeric(12,2) column
# A depot-to-depot transfer is one shipment: the lane's cost once, plus this much
# handling per unit it carries (DOMAIN.md). Editable per lane once lanes keep it.
TRANSFER_HANDLING_PER_UNIT = Decimal(10)

EMERGENCY_COST_FACTOR = Decimal(3)
EMERGENCY_PICKUP_WITHIN = timedelta(hours=1)
EMERGENCY_FAULT_LEVELS = frozenset({"C-1"})

SHANGHAI = ZoneInfo("Asia/Shanghai")
CENT = Decimal("0.01")


class Service(StrEnum):
    STANDARD = "standard"
    EMERGENCY = "emergency"


SERVICES = tuple(service.value for service in Service)


def money(value: Decimal) -> Decimal:
    """``value`` rounded half-up to 0.01 (CNY, or hours: both are kept to cents)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LaneTerms:
    """What a lane promises: carrier mode, door-to-door hours, CNY per shipment."""

    mode: str
    hours: Decimal
    cost: Decimal


@dataclass(frozen=True)
class PickupWindow:
    """When the carrier collects at a depot: every day, ``open_hour`` to ``cutoff_hour``.

    Hours are local to ``timezone``; the cut-off instant itself is inside the window.
    """

    open_hour: int = 9
    cutoff_hour: int = 18
    timezone: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        if not 0 <= self.open_hour < self.cutoff_hour <= 23:
            raise ValueError("pickup window must open before its cut-off, within one day")


@dataclass(frozen=True)
class Quote:
    """When and how a shipment travels. Instants are aware UTC; cost in CNY."""

    service: str
    ships_at: datetime
    arrives_at: datetime
    hours: Decimal
    cost: Decimal
    mode: str


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in km between two points given in decimal degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    # min() guards against a rounding overshoot past 1 for antipodal points.
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def default_terms(distance_km: float, *, remote: bool = False) -> LaneTerms:
    """The default lane for a great-circle distance (km); ``remote`` adds 12 h last-mile.

    Raises ``ValueError`` for a negative or non-finite distance.
    """
    if not math.isfinite(distance_km) or distance_km < 0:
        raise ValueError(f"distance must be a finite number of km >= 0, not {distance_km!r}")
    # Decimal from the shortest repr keeps 800.1 km as 800.1, not 800.0999999...
    d = Decimal(repr(float(distance_km)))
    if distance_km < SAME_CITY_KM:
        mode, hours, cost = "courier", Decimal(4), Decimal(80)
    elif distance_km <= ROAD_MAX_KM:
        mode, hours, cost = "road", 3 + d / 70, 60 + Decimal("0.35") * d
    else:
        mode, hours, cost = "air", 10 + d / 700, 200 + Decimal("0.25") * d
    if remote:
        hours += REMOTE_EXTRA_HOURS
    return LaneTerms(mode, money(hours), money(cost))


def check_terms(
    mode: object, hours: object, cost: object
) -> tuple[LaneTerms | None, dict[str, str]]:
    """Parse and validate lane values a planner typed (strings, numbers or Decimals).

    Returns the terms (hours and cost rounded to 0.01) and no errors, or ``None``
    and one message per bad field (``mode``, ``hours``, ``cost``). Rules: mode is
    courier, road or air; 0 < hours <= 240; 0 <= cost <= 1,000,000 CNY.
    """
    errors: dict[str, str] = {}
    mode_text = str(mode).strip().lower() if mode is not None else ""
    if mode_text not in MODES:
        errors["mode"] = gettext("mode must be one of %(modes)s", modes=", ".join(MODES))
    hours_value = _decimal(hours)
    if hours_value is None:
        errors["hours"] = gettext("hours must be a number")
    elif not Decimal(0) < money(hours_value) <= MAX_LANE_HOURS:
        errors["hours"] = gettext(
            "hours must be more than 0 and at most %(most)s", most=MAX_LANE_HOURS
        )
    cost_value = _decimal(cost)
    if cost_value is None:
        errors["cost"] = gettext("cost must be a number")
    elif not Decimal(0) <= money(cost_value) <= MAX_LANE_COST:
        errors["cost"] = gettext(
            "cost must be at least 0 and at most %(most)s CNY", most=MAX_LANE_COST
        )
    if errors:
        return None, errors
    assert hours_value is not None and cost_value is not None
    return LaneTerms(mode_text, money(hours_value), money(cost_value)), {}


def _decimal(value: object) -> Decimal | None:
    """A finite Decimal from user input, or None when it is not a number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def standard_pickup(ready_at: datetime, window: PickupWindow) -> datetime:
    """When the regular carrier collects a parcel ready at ``ready_at`` (aware).

    ``ready_at`` itself when it is within [open, cut-off] local time (both ends
    inclusive), else the next window opening. Returns aware UTC.
    """
    _require_aware(ready_at)
    zone = ZoneInfo(window.timezone)
    local = ready_at.astimezone(zone)
    opens = datetime.combine(local.date(), time(window.open_hour), tzinfo=zone)
    cutoff = datetime.combine(local.date(), time(window.cutoff_hour), tzinfo=zone)
    if local < opens:
        leaves = opens
    elif local <= cutoff:
        leaves = local
    else:
        tomorrow = local.date() + timedelta(days=1)
        leaves = datetime.combine(tomorrow, time(window.open_hour), tzinfo=zone)
    return leaves.astimezone(UTC)


def latest_pickup(ships_at: datetime, window: PickupWindow) -> datetime:
    """The last moment a parcel quoted to leave at ``ships_at`` still makes that
    day's collection: the carrier collects until the cut-off, so a departure inside
    the pick-up window holds until that day's cut-off; a departure outside it (the
    emergency courier at night) is booked for that very instant. Aware UTC.

    A promise's ship-by is this instant: a unit ready at 13:02 is not late at 13:03,
    it is late once the 18:00 collection has gone without it."""
    _require_aware(ships_at)
    zone = ZoneInfo(window.timezone)
    local = ships_at.astimezone(zone)
    opens = datetime.combine(local.date(), time(window.open_hour), tzinfo=zone)
    cutoff = datetime.combine(local.date(), time(window.cutoff_hour), tzinfo=zone)
    if opens <= local <= cutoff:
        return cutoff.astimezone(UTC)
    return ships_at.astimezone(UTC)


def quote(
    terms: LaneTerms,
    ready_at: datetime,
    service: Service | str = Service.STANDARD,
    window: PickupWindow | None = None,
) -> Quote:
    """Quote a shipment on a lane for a parcel ready to leave the depot at ``ready_at``.

    ``ready_at`` must be aware (any zone); the quote's instants are aware UTC.
    ``service`` is ``standard`` or ``emergency`` (see the module notes: the
    emergency courier changes the departure and triples the cost, never the
    transit hours). Raises ``ValueError`` for a naive instant or unknown service.
    Does not check who may book an emergency courier: see ``service_allowed``.
    """
    _require_aware(ready_at)
    try:
        service = Service(service)
    except ValueError:
        raise ValueError(f"service must be one of {', '.join(SERVICES)}, not {service!r}") from None
    window = window or PickupWindow()
    ready_utc = ready_at.astimezone(UTC)
    regular = standard_pickup(ready_utc, window)
    if service is Service.STANDARD:
        ships_at, cost = regular, terms.cost
    else:
        ships_at = min(ready_utc + EMERGENCY_PICKUP_WITHIN, regular)
        cost = money(terms.cost * EMERGENCY_COST_FACTOR)
    # Hours are kept to 0.01 h = 36 s, so whole seconds are exact.
    arrives_at = ships_at + timedelta(seconds=int(terms.hours * 3600))
    return Quote(service.value, ships_at, arrives_at, terms.hours, cost, terms.mode)


def service_allowed(service: Service | str, fault_level: str | None) -> bool:
    """Whether a case of ``fault_level`` (C-1, C-2, C-3) may book ``service``.

    Standard service is always allowed; the emergency courier only for C-1.
    """
    if str(service) == Service.STANDARD:
        return True
    return str(service) == Service.EMERGENCY and fault_level in EMERGENCY_FAULT_LEVELS


def _require_aware(value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("an aware datetime (with a time zone) is required")
