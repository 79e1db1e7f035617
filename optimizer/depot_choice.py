"""Which depot ships ONE replacement unit, and why every other depot lost.

The caller (the RMA service) gathers, for each candidate depot, the good units of
the requested part or a part that supersedes it, the depot's target stock of that
part, and the transit quotes it computed for the customer's site: always the
standard carrier service and, only when the case may book it (C-1), the emergency
courier. This module ranks them; it never calls a solver: it is a sort over at
most eight candidates and answers in microseconds.

The rule, in this order
-----------------------
1. Meets the due time (arrival at or before ``due``; the instant itself is in time).
2. Leaves the depot at or above its target stock after shipping one unit
   (``available - 1 >= target``), so a replacement does not strip a depot that
   is needed for its own region when another depot can serve as fast.
3. Lowest cost (CNY, exact ``Decimal`` comparison).
4. Earliest arrival.
5. Depot code, so equal candidates always give the same answer.

Which service each depot offers (``offered_options``, the one rule for a single
case and for batch dispatch alike; emergency quotes are only ever given for C-1):

* when some depot with stock meets the due time by standard service, every
  depot offers standard service: the emergency courier (3x the cost) is not
  booked while the standard carrier keeps the promise;
* otherwise each depot offers whichever arrives sooner, the emergency courier
  included (standard on a tie, being cheaper). So a C-1 case gets the
  emergency courier wherever it rescues the due time, and when nothing can meet
  it, the earliest arrival possible: a C-1 request in Urumqi at 19:00 is not
  left waiting for the next morning's standard pick-up.

The depots then compete under the rule above with the option they offer.

When no depot meets the due time, the replacement is still shipped and flagged
``at_risk``: the earliest arrival wins (then target protection, cost, code).
When no depot has a unit (or no depot with a unit has a lane), the decision is
a ``backorder`` with no depot. ``at_risk`` and ``backorder`` are never both set.

Every candidate comes back in ``alternatives`` (the chosen one first, then in rank
order, then depots that could not ship, by code) with its arrival, cost, whether
it meets the due time, its emergency quote (when given) with a note on why it
was or was not used, and a short English reason, e.g. "arrives 2026-03-02 14:00,
after the due time", "would fall below target stock (2 < 3)", "costs 412.00 CNY,
120.00 more", "no stock". Times in reasons are Asia/Shanghai wall-clock time.

Each reason and emergency note also comes as a machine-readable code with its
arguments (``reason_code``/``reason_args``, ``emergency_code``/``emergency_args``),
so a reader in another language gets the same sentence in words of their own; the
English text stays for the API. Arguments are JSON values: instants as ISO 8601
with their offset, durations in whole minutes, money as text with two decimals.

=============================  =======================================================
reason code                    arguments
=============================  =======================================================
``chosen``                     (none)
``no_stock``                   (none)
``no_lane``                    (none)
``late``                       ``arrival``
``later_than_winner``          ``arrival``, ``later_minutes``, ``winner``
``below_target``               ``left``, ``target``
``costlier``                   ``cost``, ``extra``
``later_same_cost``            ``arrival``, ``later_minutes``
``tie_by_code``                ``winner``
=============================  =======================================================

=================================  =====================================
emergency code                     arguments
=================================  =====================================
``not_booked_standard_on_time``    ``depot`` (the depot meeting it)
``booked_sooner``                  ``arrival``, ``sooner_minutes``
``not_booked_no_sooner``           (none)
=================================  =====================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

STANDARD = "standard"
EMERGENCY = "emergency"
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
CENT = Decimal("0.01")

# Reason codes (see the module notes for their arguments).
CHOSEN = "chosen"
NO_STOCK = "no_stock"
NO_LANE = "no_lane"
LATE = "late"
LATER_THAN_WINNER = "later_than_winner"
BELOW_TARGET = "below_target"
COSTLIER = "costlier"
LATER_SAME_COST = "later_same_cost"
TIE_BY_CODE = "tie_by_code"
# Emergency-courier note codes.
NOT_BOOKED_STANDARD_ON_TIME = "not_booked_standard_on_time"
BOOKED_SOONER = "booked_sooner"
NOT_BOOKED_NO_SOONER = "not_booked_no_sooner"

Args = Mapping[str, str | int]


@dataclass(frozen=True)
class TransitOption:
    """A quote for carrying the unit from the depot to the site: aware instants, CNY."""

    ships_at: datetime
    arrives_at: datetime
    cost: Decimal

    def __post_init__(self) -> None:
        _require_aware("ships_at", self.ships_at)
        _require_aware("arrives_at", self.arrives_at)
        if self.arrives_at < self.ships_at:
            raise ValueError("arrives_at must not be before ships_at")
        if not isinstance(self.cost, Decimal) or not self.cost.is_finite() or self.cost < 0:
            raise ValueError("cost must be a finite Decimal >= 0 (CNY)")


@dataclass(frozen=True)
class Candidate:
    """One depot that might ship: good units on hand, target stock, transit quotes.

    ``standard`` is None when the depot has no lane to the site. ``emergency`` is
    given only when the case may book an emergency courier (C-1); it needs a
    standard quote on the same lane.
    """

    depot: str
    available: int
    target: int
    standard: TransitOption | None
    emergency: TransitOption | None = None

    def __post_init__(self) -> None:
        if not self.depot:
            raise ValueError("depot code must not be empty")
        if self.available < 0 or self.target < 0:
            raise ValueError(f"{self.depot}: available and target must be >= 0")
        if self.emergency is not None and self.standard is None:
            raise ValueError(f"{self.depot}: an emergency quote needs a standard quote")


@dataclass(frozen=True)
class Alternative:
    """How one candidate fared: the option it would use and why it lost (or "chosen").

    ``emergency`` is the depot's emergency-courier quote when one was given (C-1),
    whether or not it is the option used; ``emergency_note`` says why it was or
    was not used ("" without a quote). ``reason_code``/``reason_args`` and
    ``emergency_code``/``emergency_args`` say the same as codes (module notes).
    """

    depot: str
    service: str | None
    ships_at: datetime | None
    arrives_at: datetime | None
    cost: Decimal | None
    meets_due: bool
    chosen: bool
    reason: str
    emergency: TransitOption | None = None
    emergency_note: str = ""
    reason_code: str = ""
    reason_args: Args = field(default_factory=dict)
    emergency_code: str = ""
    emergency_args: Args = field(default_factory=dict)


@dataclass(frozen=True)
class Offer:
    """The option one depot offers a case under the service rule, and why (the note
    in English and as a code with arguments; empty without an emergency quote)."""

    service: str
    option: TransitOption
    emergency_note: str
    emergency_code: str = ""
    emergency_args: Args = field(default_factory=dict)


@dataclass(frozen=True)
class DepotDecision:
    """The answer for one replacement.

    ``depot``/``service``/``ships_at``/``promised_delivery``/``cost`` are None for a
    backorder. ``promised_delivery`` is the chosen quote's arrival (aware).
    """

    due: datetime
    depot: str | None
    service: str | None
    ships_at: datetime | None
    promised_delivery: datetime | None
    cost: Decimal | None
    at_risk: bool
    backorder: bool
    alternatives: tuple[Alternative, ...]

    @property
    def meets_due(self) -> bool:
        """True when a depot ships and its promised delivery is at or before the due time."""
        return self.depot is not None and not self.at_risk


@dataclass(frozen=True)
class _Ranked:
    candidate: Candidate
    service: str
    option: TransitOption
    meets_due: bool
    keeps_target: bool
    emergency_note: str
    emergency_code: str
    emergency_args: Args


def can_ship(candidate: Candidate) -> bool:
    """A depot can ship when it has a unit and a lane to the site."""
    return candidate.available >= 1 and candidate.standard is not None


def offered_options(candidates: Iterable[Candidate], due: datetime) -> dict[str, Offer]:
    """The option each depot that can ship offers, by the service rule in the module
    notes: standard everywhere when some depot meets ``due`` by standard service,
    otherwise the sooner of standard and emergency at each depot."""
    usable = [c for c in candidates if can_ship(c)]
    standard_on_time = next(
        (c.depot for c in usable if c.standard is not None and c.standard.arrives_at <= due), None
    )
    offers: dict[str, Offer] = {}
    for candidate in usable:
        standard, emergency = candidate.standard, candidate.emergency
        assert standard is not None
        if emergency is None:
            offers[candidate.depot] = Offer(STANDARD, standard, "")
        elif standard_on_time is not None:
            # A depot on time by standard is its own reason; naming another on-time
            # depot there told the reader of the chosen depot the wrong one.
            on_time = candidate.depot if standard.arrives_at <= due else standard_on_time
            note = f"not booked: standard service from {on_time} meets the due time"
            offers[candidate.depot] = Offer(
                STANDARD,
                standard,
                note,
                NOT_BOOKED_STANDARD_ON_TIME,
                {"depot": on_time},
            )
        elif emergency.arrives_at < standard.arrives_at:
            sooner = standard.arrives_at - emergency.arrives_at
            offers[candidate.depot] = Offer(
                EMERGENCY,
                emergency,
                f"booked: arrives {_local(emergency.arrives_at)}, {_duration(sooner)} sooner "
                "than standard",
                BOOKED_SOONER,
                {"arrival": emergency.arrives_at.isoformat(), "sooner_minutes": _minutes(sooner)},
            )
        else:
            note = "not booked: it arrives no sooner than standard service"
            offers[candidate.depot] = Offer(STANDARD, standard, note, NOT_BOOKED_NO_SOONER)
    return offers


def choose_depot(candidates: Iterable[Candidate], due: datetime) -> DepotDecision:
    """Pick the depot that ships one unit by the rule in the module notes.

    ``due`` must be aware. Raises ``ValueError`` for a naive ``due`` or a depot
    listed twice. Never raises for "nothing can ship": that is a backorder decision.
    """
    _require_aware("due", due)
    pool = list(candidates)
    codes = [c.depot for c in pool]
    if len(set(codes)) != len(codes):
        raise ValueError("each depot may be a candidate only once")

    offers = offered_options(pool, due)
    ranked: list[_Ranked] = []
    unusable: list[Alternative] = []
    for candidate in pool:
        if candidate.available < 1:
            unusable.append(_unusable(candidate.depot, "no stock", NO_STOCK))
        elif candidate.standard is None:
            unusable.append(_unusable(candidate.depot, "no transit lane to the site", NO_LANE))
        else:
            ranked.append(_rank(candidate, offers[candidate.depot], due))
    unusable.sort(key=lambda alt: alt.depot)

    if not ranked:
        return DepotDecision(due, None, None, None, None, None, False, True, tuple(unusable))

    on_time = any(r.meets_due for r in ranked)
    ranked.sort(key=_on_time_key if on_time else _late_key)
    winner = ranked[0]
    alternatives = [_describe(winner, winner, on_time)]
    alternatives += [_describe(r, winner, on_time) for r in ranked[1:]]
    alternatives += unusable
    return DepotDecision(
        due=due,
        depot=winner.candidate.depot,
        service=winner.service,
        ships_at=winner.option.ships_at,
        promised_delivery=winner.option.arrives_at,
        cost=winner.option.cost,
        at_risk=not on_time,
        backorder=False,
        alternatives=tuple(alternatives),
    )


def _rank(candidate: Candidate, offer: Offer, due: datetime) -> _Ranked:
    return _Ranked(
        candidate=candidate,
        service=offer.service,
        option=offer.option,
        meets_due=offer.option.arrives_at <= due,
        keeps_target=candidate.available - 1 >= candidate.target,
        emergency_note=offer.emergency_note,
        emergency_code=offer.emergency_code,
        emergency_args=offer.emergency_args,
    )


def _on_time_key(r: _Ranked) -> tuple[bool, bool, Decimal, datetime, str]:
    option = r.option
    return (not r.meets_due, not r.keeps_target, option.cost, option.arrives_at, r.candidate.depot)


def _late_key(r: _Ranked) -> tuple[datetime, bool, Decimal, str]:
    return (r.option.arrives_at, not r.keeps_target, r.option.cost, r.candidate.depot)


def _describe(r: _Ranked, winner: _Ranked, on_time: bool) -> Alternative:
    chosen = r is winner
    reason, code, args = ("chosen", CHOSEN, {}) if chosen else _why_lost(r, winner, on_time)
    return Alternative(
        depot=r.candidate.depot,
        service=r.service,
        ships_at=r.option.ships_at,
        arrives_at=r.option.arrives_at,
        cost=r.option.cost,
        meets_due=r.meets_due,
        chosen=chosen,
        reason=reason,
        emergency=r.candidate.emergency,
        emergency_note=r.emergency_note,
        reason_code=code,
        reason_args=args,
        emergency_code=r.emergency_code,
        emergency_args=r.emergency_args,
    )


def _why_lost(r: _Ranked, w: _Ranked, on_time: bool) -> tuple[str, str, dict[str, str | int]]:
    """The first rule on which ``r`` ranks after the winner ``w``: in words, as a code,
    and the code's arguments."""
    arrives = _local(r.option.arrives_at)
    arrival = r.option.arrives_at.isoformat()
    if on_time and not r.meets_due:
        return f"arrives {arrives}, after the due time", LATE, {"arrival": arrival}
    if not on_time and r.option.arrives_at > w.option.arrives_at:
        later = r.option.arrives_at - w.option.arrives_at
        return (
            f"arrives {arrives}, after the due time and {_duration(later)} after "
            f"{w.candidate.depot}",
            LATER_THAN_WINNER,
            {"arrival": arrival, "later_minutes": _minutes(later), "winner": w.candidate.depot},
        )
    if w.keeps_target and not r.keeps_target:
        left = r.candidate.available - 1
        return (
            f"would fall below target stock ({left} < {r.candidate.target})",
            BELOW_TARGET,
            {"left": left, "target": r.candidate.target},
        )
    if r.option.cost > w.option.cost:
        extra = r.option.cost - w.option.cost
        return (
            f"costs {_cny(r.option.cost)} CNY, {_cny(extra)} more",
            COSTLIER,
            {"cost": _cny(r.option.cost), "extra": _cny(extra)},
        )
    if r.option.arrives_at > w.option.arrives_at:
        later = r.option.arrives_at - w.option.arrives_at
        return (
            f"same cost, arrives {arrives}, {_duration(later)} later",
            LATER_SAME_COST,
            {"arrival": arrival, "later_minutes": _minutes(later)},
        )
    return (
        f"same cost and arrival as {w.candidate.depot}, which comes first by code",
        TIE_BY_CODE,
        {"winner": w.candidate.depot},
    )


def _unusable(depot: str, reason: str, code: str) -> Alternative:
    return Alternative(depot, None, None, None, None, False, False, reason, reason_code=code)


def _local(instant: datetime) -> str:
    return instant.astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M")


def _cny(amount: Decimal) -> str:
    return f"{amount.quantize(CENT):.2f}"


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _duration(delta: timedelta) -> str:
    minutes = _minutes(delta)
    if minutes < 1:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


def _require_aware(name: str, value: datetime) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a time zone)")
