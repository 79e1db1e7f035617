"""Editing lanes: one lane's terms, several lanes at once, back to the default
rule ("reset"), and lanes out to and in from CSV.

Who may change lanes: planners and administrators (``Forbidden`` otherwise).
Every edit is all-or-nothing: a bulk edit or a CSV file with any bad entry
lists every problem and changes nothing. An edited lane is the planner's, and
nothing automatic changes it back (see ``depots.service.network``); importing
a file equal to the stored lanes changes, and pins, nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import select

from core import clock
from core.auth import Actor, Role
from core.csv_files import csv_text, read_cell
from core.db import UnitOfWork, lock_for_update, read_only, transactional
from core.errors import FieldProblem, Invalid, NotFound
from core.i18n import gettext
from depots import lanes as rule
from depots.lanes import LaneTerms
from depots.models import City, Lane
from depots.service.network import (
    LANE_KINDS,
    LaneInfo,
    NetworkLookup,
    apply_terms,
    lane_terms,
    list_lanes,
)

CSV_COLUMNS = ("from_depot", "to", "kind", "mode", "hours", "cost")
CSV_ORDER = {column: index for index, column in enumerate(CSV_COLUMNS)}
MAX_IMPORT_ROWS = 20_000
EDITORS = (Role.PLANNER,)  # admins pass every role check as well


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


def _invalid_terms(errors: dict[str, str]) -> Invalid:
    detail = "; ".join(errors.values())
    return Invalid(detail, fields=[FieldProblem(k, v) for k, v in errors.items()])


def _locked_lane(uow: UnitOfWork, lane_id: int) -> Lane:
    lane = uow.session.exec(lock_for_update(select(Lane).where(Lane.id == lane_id), uow)).first()
    if lane is None:
        raise NotFound(gettext("no lane %(id)s", id=lane_id))
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
    apply_terms(lane, terms, edited=True, by=actor.username, at=clock.now())
    uow.session.add(lane)
    uow.session.flush()
    return NetworkLookup(uow).info(lane)


@transactional
def reset_lane(uow: UnitOfWork, actor: Actor, lane_id: int) -> LaneInfo:
    """Put a lane back on the default rule (no longer ``edited``). Planners/admins only."""
    actor.require_role(*EDITORS)
    lane = _locked_lane(uow, lane_id)
    network = NetworkLookup(uow)
    origin = network.depots[lane.from_depot]
    if lane.to_depot is not None:
        target = network.depots[lane.to_depot]
        lat, lon, remote = target.lat, target.lon, False
    else:
        city = network.cities_by_id[lane.to_city_id]
        lat, lon, remote = city.lat, city.lon, city.remote
    distance = rule.great_circle_km(origin.lat, origin.lon, lat, lon)
    lane.distance_km = distance
    apply_terms(
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


def _unknown_destination(kind: str | None, to: str) -> str:
    """Why a destination was not found, naming what was looked for."""
    if kind == "city":
        return gettext("unknown city %(to)r", to=to)
    if kind == "depot":
        return gettext("unknown depot %(to)r", to=to)
    return gettext("unknown city or depot %(to)r", to=to)


def _resolve_changes(
    uow: UnitOfWork, network: NetworkLookup, changes: Iterable[tuple[int, LaneChange]]
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
                _Problem(
                    where,
                    "from_depot",
                    gettext("unknown depot %(code)r", code=change.from_depot),
                )
            )
        kind = (change.kind or "").strip().lower() or None
        target = None
        if kind is not None and kind not in LANE_KINDS:
            row_problems.append(
                _Problem(
                    where, "kind", gettext("kind must be city or depot, not %(kind)r", kind=kind)
                )
            )
        else:
            target = network.destination(change.to, kind)
            if target is None:
                row_problems.append(_Problem(where, "to", _unknown_destination(kind, change.to)))
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
                    _Problem(
                        where,
                        "to",
                        gettext(
                            "no lane from %(origin)s to %(to)r", origin=origin.code, to=change.to
                        ),
                    )
                )
            elif lane_id in seen:
                row_problems.append(
                    _Problem(
                        where,
                        "to",
                        gettext("same lane as %(other)s; give each lane once", other=seen[lane_id]),
                    )
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

    Planners/admins only. ``Invalid`` lists every bad entry in ``fields``
    (``field`` = position in ``changes`` from 0 and the field, ``0.hours``) and
    changes nothing. Answers the updated lanes in the order given.
    """
    actor.require_role(*EDITORS)
    if not changes:
        raise Invalid(gettext("give at least one lane update"))
    network = NetworkLookup(uow)
    resolved, problems = _resolve_changes(uow, network, enumerate(changes))
    if problems:
        raise Invalid(
            gettext(
                "%(bad)s of %(all)s lane updates are invalid, nothing changed: %(problems)s",
                bad=len({p.where for p in problems}),
                all=len(changes),
                problems="; ".join(
                    gettext(
                        "item %(item)s %(field)s: %(reason)s",
                        item=p.where,
                        field=p.column,
                        reason=p.reason,
                    )
                    for p in problems
                ),
            ),
            fields=[FieldProblem(f"{p.where}.{p.column}", p.reason) for p in problems],
        )
    lanes = _locked_lanes(uow, [lane_id for lane_id, _, _ in resolved])
    now = clock.now()
    for lane_id, terms, _ in resolved:
        apply_terms(lanes[lane_id], terms, edited=True, by=actor.username, at=now)
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
    return csv_text(
        CSV_COLUMNS,
        (
            [lane.from_depot, lane.to, lane.kind, lane.mode, lane.hours, lane.cost]
            for lane in list_lanes(uow, from_depot=from_depot, kind=kind)
        ),
    )


@transactional
def import_lanes_csv(uow: UnitOfWork, actor: Actor, text: str) -> ImportResult:
    """Import lanes from CSV text (header ``from_depot,to,kind,mode,hours,cost``).

    The file is checked as a whole: if any row is bad, ``Invalid`` lists every
    problem in ``fields`` (``line`` as an editor counts them, header = line 1,
    ``field`` the column, ``message``) and nothing is written. Otherwise each row whose
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
        raise Invalid(gettext("not a CSV file: %(error)s", error=error)) from None
    if header is None:
        raise Invalid(
            gettext(
                "the file is empty; expected the header %(header)s", header=",".join(CSV_COLUMNS)
            )
        )
    names = [name.strip().lower() for name in header]
    missing = [column for column in CSV_COLUMNS if column not in names]
    if missing:
        raise Invalid(
            gettext(
                "line 1: missing column(s) %(missing)s; expected the header %(header)s",
                missing=", ".join(missing),
                header=",".join(CSV_COLUMNS),
            ),
            fields=[FieldProblem(column, gettext("missing"), line=1) for column in missing],
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
                raise Invalid(
                    gettext("too many rows: at most %(most)s lanes per file", most=MAX_IMPORT_ROWS)
                )
            if len(cells) < len(names):
                problems.append(
                    _Problem(
                        line,
                        "",
                        gettext(
                            "%(cells)s cells, the header has %(header)s",
                            cells=len(cells),
                            header=len(names),
                        ),
                    )
                )
                continue
            value = {column: read_cell(cells[index].strip()) for column, index in position.items()}
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
        problems.append(
            _Problem(reader.line_num, "", gettext("unreadable CSV: %(error)s", error=error))
        )

    network = NetworkLookup(uow)
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
            fields=[FieldProblem(p.column, p.reason, line=p.where) for p in problems],
        )
    if not rows:
        raise Invalid("the file has a header but no lanes")

    lanes = _locked_lanes(uow, [lane_id for lane_id, _, _ in resolved])
    now = clock.now()
    changed: list[Lane] = []
    for lane_id, terms, _ in resolved:
        lane = lanes[lane_id]
        if lane_terms(lane) == terms:
            continue
        apply_terms(lane, terms, edited=True, by=actor.username, at=now)
        uow.session.add(lane)
        changed.append(lane)
    uow.session.flush()
    return ImportResult(rows=len(rows), changed=[network.info(lane) for lane in changed])
