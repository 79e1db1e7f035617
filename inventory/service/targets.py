"""Target stock per depot and part: the one home of the stored targets.

A target is either computed from demand (``planning.service.targets`` works it out
and hands the result to ``replace_computed``) or set by a planner (an override,
which wins while it is set). Every read and write of ``StockTarget`` is here: the
rebalancing, the depot choice of a replacement, the pages, the API and the CLI
ask these functions. A (depot, part) pair with no stored row has a target of 0.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, read_only, transactional
from core.errors import Invalid, NotFound
from core.generations import CachedByKey
from core.i18n import gettext
from inventory.models import TARGETS, Part, StockTarget
from inventory.service.catalog import get_part_row
from inventory.service.stock import require_depot

MAX_TARGET = 100_000
# Rows per INSERT: 7 values each, 14,000 bound parameters, below SQLite's limit (32,766).
UPSERT_CHUNK = 2000


@dataclass(frozen=True)
class ComputedTarget:
    """The computed target of a part at a depot and the demand rate it came from."""

    depot: str
    part_number: str
    target: int
    demand_per_day: float


@dataclass(frozen=True)
class Computation:
    """How one computation of every target was run: when, and with which settings."""

    at: datetime
    lead_time_days: float
    fill_rate: float


def _effective() -> ColumnElement[int]:
    """The effective target in SQL: the override when set, else the computed target."""
    return func.coalesce(StockTarget.override, StockTarget.computed)


@read_only
def list_targets(
    uow: UnitOfWork,
    *,
    depot: str | None = None,
    part_number: str | None = None,
    nonzero: bool = False,
    limit: int = 5000,
    offset: int = 0,
) -> list[StockTarget]:
    """Stored targets, by part then depot (filters are not checked: see ``find_targets``)."""
    query = select(StockTarget).order_by(StockTarget.part_number, StockTarget.depot_code)
    if depot:
        query = query.where(StockTarget.depot_code == depot.strip().upper())
    if part_number:
        query = query.where(StockTarget.part_number == part_number.strip().upper())
    if nonzero:
        query = query.where(_effective() > 0)
    return list(uow.session.scalars(query.limit(limit).offset(offset)))


@read_only
def find_targets(
    uow: UnitOfWork,
    *,
    depot: str | None = None,
    part_number: str | None = None,
    nonzero: bool = False,
    limit: int = 1000,
    offset: int = 0,
) -> list[StockTarget]:
    """Stored targets matching a depot and part filter, by part then depot.

    Raises ``NotFound`` for an unknown depot or part. For one depot and one part the
    pair is always answered (unless ``nonzero`` or an offset leaves it out): an
    unsaved all-zero row when nothing is stored, because a missing target is 0.
    Rows are detached and safe to read afterwards.
    """
    depot_code = require_depot(uow, depot).code if depot else None
    part = get_part_row(uow, part_number).part_number if part_number else None
    rows = list_targets(
        uow, depot=depot_code, part_number=part, nonzero=nonzero, limit=limit, offset=offset
    )
    if depot_code and part and not rows and not nonzero and offset == 0:
        rows = [StockTarget(depot_code=depot_code, part_number=part)]
    return rows


@read_only
def effective_targets(
    uow: UnitOfWork,
    *,
    depot: str | None = None,
    part_numbers: Collection[str] | None = None,
) -> dict[tuple[str, str], int]:
    """{(depot code, part number): effective target} of the stored targets: the
    planner's override where there is one, else the computed target.

    Optionally only one depot and/or only the given parts. A pair that is not in
    the answer has a target of 0 (read it with ``.get(pair, 0)``).
    """
    query = select(StockTarget.depot_code, StockTarget.part_number, _effective())
    if depot:
        query = query.where(StockTarget.depot_code == depot.strip().upper())
    if part_numbers is not None:
        if not part_numbers:
            return {}
        query = query.where(StockTarget.part_number.in_(sorted(set(part_numbers))))
    # Plain rows (the rebalancing reads every target at once); they skip the session's
    # autoflush, so what this transaction has written is flushed first.
    uow.session.flush()
    return {(d, p): int(t) for d, p, t in uow.session.connection().execute(query)}


def _read_targets_of_parts(
    uow: UnitOfWork, part_numbers: frozenset[str]
) -> dict[str, Mapping[str, int]]:
    by_part: dict[str, dict[str, int]] = {part: {} for part in part_numbers}
    for (depot, part), target in effective_targets(uow, part_numbers=part_numbers).items():
        by_part[part][depot] = target
    return {part: MappingProxyType(targets) for part, targets in by_part.items()}


# Every replacement's depot choice asks the targets of its part (and successors); they
# change when a planner overrides one or the targets are computed again.
_targets_by_part: CachedByKey[str, Mapping[str, int]] = CachedByKey(TARGETS, _read_targets_of_parts)


def targets_of_parts(uow: UnitOfWork, part_numbers: Collection[str]) -> dict[tuple[str, str], int]:
    """``effective_targets(uow, part_numbers=...)`` kept in memory per part while no
    process changes a target (``core.generations``): what the depot choice of every
    replacement reads. A pair that is not in the answer has a target of 0."""
    return {
        (depot, part): target
        for part, targets in _targets_by_part.get_many(uow, part_numbers).items()
        for depot, target in targets.items()
    }


@transactional
def set_override(
    uow: UnitOfWork, actor: Actor, depot: str, part_number: str, override: int | None
) -> StockTarget:
    """A planner's own target for a part at a depot (``None`` goes back to the computed one)."""
    actor.require_role(Role.PLANNER)
    depot = require_depot(uow, depot).code
    part = uow.session.get(Part, (part_number or "").strip().upper())
    if part is None:
        raise NotFound(gettext("unknown part %(part)r", part=part_number))
    if override is not None and (
        isinstance(override, bool)
        or not isinstance(override, int)
        or not 0 <= override <= MAX_TARGET
    ):
        raise Invalid(
            gettext(
                "override must be a whole number from 0 to %(limit)s, or null", limit=MAX_TARGET
            )
        )
    target = uow.session.get(StockTarget, (depot, part.part_number))
    if target is None:
        target = StockTarget(depot_code=depot, part_number=part.part_number)
    target.override = override
    target.override_by = actor.username if override is not None else None
    target.override_at = clock.now() if override is not None else None
    uow.session.add(target)
    uow.session.flush()
    return target


@transactional
def replace_computed(
    uow: UnitOfWork, rows: Iterable[ComputedTarget], computation: Computation
) -> int:
    """Make ``rows`` the computed targets, replacing every earlier computation.

    A (depot, part) pair that is not in ``rows`` is computed 0 by this computation:
    its row is deleted, unless a planner's override keeps it, which then stands with
    a computed target of 0. Overrides are never touched. Returns the rows written.
    """
    # Clearing first and writing the new result after is what makes a target whose
    # demand disappeared go away: a computation never lists the pairs it finds 0.
    session = uow.session
    session.execute(
        delete(StockTarget).where(StockTarget.override.is_(None)),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(StockTarget).values(
            computed=0,
            demand_per_day=0.0,
            lead_time_days=computation.lead_time_days,
            fill_rate=computation.fill_rate,
            computed_at=computation.at,
        ),
        execution_options={"synchronize_session": False},
    )
    session.expire_all()  # objects read earlier in this transaction must see the change
    values = [
        {
            "depot_code": r.depot,
            "part_number": r.part_number,
            "computed": r.target,
            "demand_per_day": r.demand_per_day,
            "lead_time_days": computation.lead_time_days,
            "fill_rate": computation.fill_rate,
            "computed_at": computation.at,
        }
        for r in rows
    ]
    insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    for start in range(0, len(values), UPSERT_CHUNK):
        statement = insert(StockTarget).values(values[start : start + UPSERT_CHUNK])
        statement = statement.on_conflict_do_update(
            index_elements=["depot_code", "part_number"],
            set_={
                "computed": statement.excluded.computed,
                "demand_per_day": statement.excluded.demand_per_day,
                "lead_time_days": statement.excluded.lead_time_days,
                "fill_rate": statement.excluded.fill_rate,
                "computed_at": statement.excluded.computed_at,
            },
        )
        session.execute(statement)
    return len(values)


@read_only
def latest_computation(uow: UnitOfWork) -> Computation | None:
    """How the latest computation of the targets was run, or None before any."""
    row = uow.session.execute(
        select(StockTarget.computed_at, StockTarget.lead_time_days, StockTarget.fill_rate)
        .where(StockTarget.computed_at.is_not(None))
        .order_by(StockTarget.computed_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    at, lead_time_days, fill_rate = row
    return Computation(at, float(lead_time_days or 0.0), float(fill_rate or 0.0))
