"""Use cases of the transport network: depots, customer cities, lanes and quotes.

Lanes run from a depot to every customer city (the depot's own city included:
that is the same-city courier lane) and to every other depot. Until a planner
edits a lane it follows the default rule of ``depots.lanes``; an edited lane is
the planner's and nothing automatic ever changes it back (only "reset").

Who may change lanes: planners and administrators. Everyone signed in may read
them and ask for quotes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlmodel import select

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, lock_for_update, read_only, transactional
from core.errors import Invalid, NotFound
from depots import lanes as rule
from depots.lanes import LaneTerms, PickupWindow, Quote, Service
from depots.models import Calendar, City, Depot, Lane

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DEFAULT_CALENDAR = "5x8"
LANE_KINDS = ("city", "depot")
CSV_COLUMNS = ("from_depot", "to", "kind", "mode", "hours", "cost")
CSV_ORDER = {column: index for index, column in enumerate(CSV_COLUMNS)}
MAX_IMPORT_ROWS = 20_000
EDITORS = (Role.PLANNER,)  # admins pass every role check as well


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


@dataclass(frozen=True)
class LaneChange:
    """One requested lane edit; ``kind`` may be omitted when ``to`` is unambiguous."""

    from_depot: str
    to: str
    mode: Any
    hours: Any
    cost: Any
    kind: str | None = None


@dataclass(frozen=True)
class ImportResult:
    rows: int
    changed: list[LaneInfo] = field(default_factory=list)

    @property
    def unchanged(self) -> int:
        return self.rows - len(self.changed)


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
            elif not lane.edited and (_terms_of(lane) != terms or lane.distance_km != distance):
                _apply(lane, terms, edited=False, by=None, at=now)
                lane.distance_km = distance
                session.add(lane)


# --- reading -------------------------------------------------------------------------------


class _Network:
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
            raise NotFound(f"unknown depot {code!r}; depots are {', '.join(sorted(self.depots))}")
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
            what = {"city": "city", "depot": "depot"}.get(kind or "", "city or depot")
            raise NotFound(f"unknown destination {what} {to!r}")
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
    network = _Network(uow)
    return [network.depot_info(network.depots[code]) for code in sorted(network.depots)]


@read_only
def get_depot(uow: UnitOfWork, code: str) -> DepotInfo:
    """One depot by code (case-insensitive); ``NotFound`` if unknown."""
    network = _Network(uow)
    return network.depot_info(network.require_depot(code))


@read_only
def list_cities(uow: UnitOfWork) -> list[CityInfo]:
    """Customer cities (the depots' cities included), by English name."""
    network = _Network(uow)
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
        raise Invalid(f"kind must be city or depot, not {kind!r}")
    network = _Network(uow)
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
        raise NotFound(f"no lane {lane_id}")
    return _Network(uow).info(lane)


@read_only
def find_lane(uow: UnitOfWork, from_depot: str, to: str, kind: str | None = None) -> LaneInfo:
    """The lane from a depot to a city name or depot code; ``NotFound`` if unknown."""
    network = _Network(uow)
    lane = _find(uow, network, from_depot, to, kind)
    return network.info(lane)


def _find(uow: UnitOfWork, network: _Network, from_depot: str, to: str, kind: str | None) -> Lane:
    origin = network.require_depot(from_depot)
    _, target = network.require_destination(to, kind)
    if isinstance(target, Depot) and target.code == origin.code:
        raise NotFound(f"no lane from depot {origin.code} to itself; ask for its city instead")
    lane = uow.session.exec(
        select(Lane).where(Lane.from_depot == origin.code, _to_clause(target))
    ).first()
    if lane is None:
        raise NotFound(f"no lane {origin.code} → {to}")
    return lane


def default_for(lane: LaneInfo) -> LaneTerms:
    """What the default rule gives for this lane (what "reset" would set).

    The stored distance is the unrounded great-circle distance, so this is exact.
    """
    return rule.default_terms(lane.distance_km, remote=lane.remote)


# --- changing lanes ----------------------------------------------------------------------


def _terms_of(lane: Lane) -> LaneTerms:
    return LaneTerms(lane.mode, Decimal(lane.hours), Decimal(lane.cost))


def _apply(lane: Lane, terms: LaneTerms, *, edited: bool, by: str | None, at: datetime) -> None:
    lane.mode = terms.mode
    lane.hours = terms.hours
    lane.cost = terms.cost
    lane.edited = edited
    lane.updated_by = by
    lane.updated_at = at


def _invalid_terms(errors: dict[str, str]) -> Invalid:
    detail = "; ".join(errors.values())
    return Invalid(detail, fields=[{"field": k, "message": v} for k, v in errors.items()])


def _locked_lane(uow: UnitOfWork, lane_id: int) -> Lane:
    lane = uow.session.exec(lock_for_update(select(Lane).where(Lane.id == lane_id), uow)).first()
    if lane is None:
        raise NotFound(f"no lane {lane_id}")
    return lane


@transactional
def update_lane(
    uow: UnitOfWork, actor: Actor, lane_id: int, *, mode: Any, hours: Any, cost: Any
) -> LaneInfo:
    """Set a lane's mode, hours and cost (CNY); the lane becomes ``edited``.

    Planners and administrators only (``Forbidden`` otherwise). Values may be
    strings as typed; hours and cost are rounded to 0.01. ``Invalid`` (with a
    ``fields`` list) when mode is unknown, hours not in (0, 240] or cost not in
    [0, 1,000,000]; ``NotFound`` for an unknown lane. Nothing changes on error.
    """
    actor.require_role(*EDITORS)
    terms, errors = rule.check_terms(mode, hours, cost)
    if terms is None:
        raise _invalid_terms(errors)
    lane = _locked_lane(uow, lane_id)
    _apply(lane, terms, edited=True, by=actor.username, at=clock.now())
    uow.session.add(lane)
    uow.session.flush()
    return _Network(uow).info(lane)


@transactional
def reset_lane(uow: UnitOfWork, actor: Actor, lane_id: int) -> LaneInfo:
    """Put a lane back on the default rule (no longer ``edited``). Planners/admins only."""
    actor.require_role(*EDITORS)
    lane = _locked_lane(uow, lane_id)
    network = _Network(uow)
    origin = network.depots[lane.from_depot]
    if lane.to_depot is not None:
        target = network.depots[lane.to_depot]
        lat, lon, remote = target.lat, target.lon, False
    else:
        city = network.cities_by_id[lane.to_city_id]
        lat, lon, remote = city.lat, city.lon, city.remote
    distance = rule.great_circle_km(origin.lat, origin.lon, lat, lon)
    lane.distance_km = distance
    _apply(
        lane,
        rule.default_terms(distance, remote=remote),
        edited=False,
        by=actor.username,
        at=clock.now(),
    )
    uow.session.add(lane)
    uow.session.flush()
    return network.info(lane)


@dataclass(frozen=True)
class _Problem:
    where: int  # list index (API) or line number (CSV)
    column: str
    reason: str


def _resolve_changes(
    uow: UnitOfWork, network: _Network, changes: Iterable[tuple[int, LaneChange]]
) -> tuple[list[tuple[int, LaneTerms, int]], list[_Problem]]:
    """Check every change; answer (lane id, terms, where) for the good ones and all problems."""
    lane_ids = {
        (lane.from_depot, lane.to_city_id, lane.to_depot): lane.id
        for lane in uow.session.exec(select(Lane)).all()
    }
    resolved: list[tuple[int, LaneTerms, int]] = []
    problems: list[_Problem] = []
    seen: dict[int, int] = {}
    for where, change in changes:
        row_problems: list[_Problem] = []
        origin = network.depot(change.from_depot)
        if origin is None:
            row_problems.append(
                _Problem(where, "from_depot", f"unknown depot {change.from_depot!r}")
            )
        kind = (change.kind or "").strip().lower() or None
        target = None
        if kind is not None and kind not in LANE_KINDS:
            row_problems.append(
                _Problem(where, "kind", f"kind must be city or depot, not {kind!r}")
            )
        else:
            target = network.destination(change.to, kind)
            if target is None:
                what = kind or "city or depot"
                row_problems.append(_Problem(where, "to", f"unknown {what} {change.to!r}"))
        terms, errors = rule.check_terms(change.mode, change.hours, change.cost)
        row_problems += [_Problem(where, column, reason) for column, reason in errors.items()]
        lane_id = None
        if origin is not None and target is not None:
            dest = target[1]
            key = (
                (origin.code, dest.id, None)
                if isinstance(dest, City)
                else (origin.code, None, dest.code)
            )
            lane_id = lane_ids.get(key)
            if lane_id is None:
                row_problems.append(
                    _Problem(where, "to", f"no lane from {origin.code} to {change.to!r}")
                )
            elif lane_id in seen:
                row_problems.append(
                    _Problem(where, "to", f"same lane as {seen[lane_id]}; give each lane once")
                )
            else:
                seen[lane_id] = where
        problems += row_problems
        if not row_problems and terms is not None and lane_id is not None:
            resolved.append((lane_id, terms, where))
    return resolved, problems


def _locked_lanes(uow: UnitOfWork, lane_ids: Sequence[int]) -> dict[int, Lane]:
    # Ordered by id so concurrent bulk edits lock rows in the same order (no deadlock).
    statement = select(Lane).where(Lane.id.in_(lane_ids)).order_by(Lane.id)  # type: ignore[union-attr]
    lanes = uow.session.exec(lock_for_update(statement, uow)).all()
    return {lane.id: lane for lane in lanes if lane.id is not None}


@transactional
def update_lanes(uow: UnitOfWork, actor: Actor, changes: Sequence[LaneChange]) -> list[LaneInfo]:
    """Apply several lane edits all-or-nothing; every lane given becomes ``edited``.

    Planners/admins only. ``Invalid`` lists every bad entry in ``errors``
    (``item`` = position in ``changes`` from 0, ``field``, ``reason``) and
    changes nothing. Answers the updated lanes in the order given.
    """
    actor.require_role(*EDITORS)
    if not changes:
        raise Invalid("give at least one lane update")
    network = _Network(uow)
    resolved, problems = _resolve_changes(uow, network, enumerate(changes))
    if problems:
        raise Invalid(
            f"{len({p.where for p in problems})} of {len(changes)} lane updates are invalid, "
            "nothing changed: "
            + "; ".join(f"item {p.where} {p.column}: {p.reason}" for p in problems),
            errors=[{"item": p.where, "field": p.column, "reason": p.reason} for p in problems],
        )
    lanes = _locked_lanes(uow, [lane_id for lane_id, _, _ in resolved])
    now = clock.now()
    for lane_id, terms, _ in resolved:
        _apply(lanes[lane_id], terms, edited=True, by=actor.username, at=now)
        uow.session.add(lanes[lane_id])
    uow.session.flush()
    return [network.info(lanes[lane_id]) for lane_id, _, _ in resolved]


# --- CSV -----------------------------------------------------------------------------------


@read_only
def export_lanes_csv(
    uow: UnitOfWork, *, from_depot: str | None = None, kind: str | None = None
) -> str:
    """Lanes as CSV text with the header ``from_depot,to,kind,mode,hours,cost``.

    Hours and cost are written with two decimals; the file imports back unchanged.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for lane in list_lanes(uow, from_depot=from_depot, kind=kind):
        writer.writerow([lane.from_depot, lane.to, lane.kind, lane.mode, lane.hours, lane.cost])
    return out.getvalue()


@transactional
def import_lanes_csv(uow: UnitOfWork, actor: Actor, text: str) -> ImportResult:
    """Import lanes from CSV text (header ``from_depot,to,kind,mode,hours,cost``).

    The file is checked as a whole: if any row is bad, ``Invalid`` lists every
    problem in ``errors`` (``line`` as an editor counts them, header = line 1,
    ``column``, ``reason``) and nothing is written. Otherwise each row whose
    values differ from the stored lane is applied and marked ``edited``; rows
    equal to the stored lane are left alone, so exporting and re-importing a
    file does not pin every lane. Planners/admins only.
    """
    actor.require_role(*EDITORS)
    text = text.removeprefix("\ufeff")  # spreadsheet programs like to add a BOM
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise Invalid(f"not a CSV file: {error}") from None
    if header is None:
        raise Invalid("the file is empty; expected the header " + ",".join(CSV_COLUMNS))
    names = [name.strip().lower() for name in header]
    missing = [column for column in CSV_COLUMNS if column not in names]
    if missing:
        raise Invalid(
            f"line 1: missing column(s) {', '.join(missing)}; "
            f"expected the header {','.join(CSV_COLUMNS)}",
            errors=[{"line": 1, "column": column, "reason": "missing"} for column in missing],
        )
    position = {column: names.index(column) for column in CSV_COLUMNS}

    rows: list[tuple[int, LaneChange]] = []
    problems: list[_Problem] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank lines are harmless
            if len(rows) >= MAX_IMPORT_ROWS:
                raise Invalid(f"too many rows: at most {MAX_IMPORT_ROWS} lanes per file")
            if len(cells) < len(names):
                problems.append(
                    _Problem(line, "", f"{len(cells)} cells, the header has {len(names)}")
                )
                continue
            value = {column: cells[index].strip() for column, index in position.items()}
            rows.append(
                (
                    line,
                    LaneChange(
                        from_depot=value["from_depot"],
                        to=value["to"],
                        kind=value["kind"] or None,
                        mode=value["mode"],
                        hours=value["hours"],
                        cost=value["cost"],
                    ),
                )
            )
    except csv.Error as error:
        problems.append(_Problem(reader.line_num, "", f"unreadable CSV: {error}"))

    network = _Network(uow)
    for line, change in rows:
        if change.kind is None:
            problems.append(_Problem(line, "kind", "kind is required (city or depot)"))
    resolved, more = _resolve_changes(uow, network, rows)
    problems = sorted(problems + more, key=lambda p: (p.where, CSV_ORDER.get(p.column, 99)))
    if problems:
        bad_lines = len({p.where for p in problems})
        raise Invalid(
            f"{bad_lines} bad row(s), nothing imported: "
            + "; ".join(
                f"line {p.where}" + (f" {p.column}" if p.column else "") + f": {p.reason}"
                for p in problems
            ),
            errors=[{"line": p.where, "column": p.column, "reason": p.reason} for p in problems],
        )
    if not rows:
        raise Invalid("the file has a header but no lanes")

    lanes = _locked_lanes(uow, [lane_id for lane_id, _, _ in resolved])
    now = clock.now()
    changed: list[Lane] = []
    for lane_id, terms, _ in resolved:
        lane = lanes[lane_id]
        if _terms_of(lane) == terms:
            continue
        _apply(lane, terms, edited=True, by=actor.username, at=now)
        uow.session.add(lane)
        changed.append(lane)
    uow.session.flush()
    return ImportResult(rows=len(rows), changed=[network.info(lane) for lane in changed])


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
        raise Invalid("ready_at needs a time zone (e.g. 2026-03-06T17:30:00+08:00)")
    if str(service) not in rule.SERVICES:
        raise Invalid(f"service must be standard or emergency, not {service!r}")
    network = _Network(uow)
    lane = _find(uow, network, from_depot, to, None)
    depot = network.depot_info(network.depots[lane.from_depot])
    return rule.quote(_terms_of(lane), ready_at, service, depot.window)
