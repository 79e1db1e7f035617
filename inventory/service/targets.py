"""Target stock per depot and part: stored computations and planners' overrides."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, read_only, transactional
from core.errors import Invalid, NotFound
from inventory.models import Part, StockTarget
from inventory.service.stock import require_depot

MAX_TARGET = 100_000


@dataclass(frozen=True)
class ComputedTarget:
    depot: str
    part_number: str
    target: int
    demand_per_day: float
    lead_time_days: float
    fill_rate: float


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
    """Stored targets, by part then depot."""
    query = select(StockTarget).order_by(StockTarget.part_number, StockTarget.depot_code)
    if depot:
        query = query.where(StockTarget.depot_code == depot.strip().upper())
    if part_number:
        query = query.where(StockTarget.part_number == part_number.strip().upper())
    if nonzero:
        query = query.where(func.coalesce(StockTarget.override, StockTarget.computed) > 0)
    return list(uow.session.scalars(query.limit(limit).offset(offset)))


@read_only
def effective_targets(uow: UnitOfWork, *, depot: str | None = None) -> dict[tuple[str, str], int]:
    """{(depot, part number): effective target} for every stored target (override first)."""
    effective = func.coalesce(StockTarget.override, StockTarget.computed)
    query = select(StockTarget.depot_code, StockTarget.part_number, effective)
    if depot:
        query = query.where(StockTarget.depot_code == depot.strip().upper())
    return {(d, p): int(t) for d, p, t in uow.session.execute(query)}


@transactional
def set_override(
    uow: UnitOfWork, actor: Actor, depot: str, part_number: str, override: int | None
) -> StockTarget:
    """A planner's own target for a part at a depot (``None`` goes back to the computed one)."""
    actor.require_role(Role.PLANNER)
    depot = require_depot(uow, depot).code
    part = uow.session.get(Part, (part_number or "").strip().upper())
    if part is None:
        raise NotFound(f"unknown part {part_number!r}")
    if override is not None and (
        isinstance(override, bool)
        or not isinstance(override, int)
        or not 0 <= override <= MAX_TARGET
    ):
        raise Invalid(f"override must be a whole number from 0 to {MAX_TARGET}, or null")
    target = uow.session.get(StockTarget, (depot, part.part_number))
    if target is None:
        target = StockTarget(depot_code=depot, part_number=part.part_number)
    target.override = override
    target.override_by = actor.username if override is not None else None
    target.override_at = clock.now() if override is not None else None
    uow.session.add(target)
    uow.session.flush()
    return target


def store_computed(uow: UnitOfWork, rows: Iterable[ComputedTarget], at: datetime) -> int:
    """Upsert computed targets (overrides are kept). Runs in the caller's transaction."""
    values = [
        {
            "depot_code": r.depot,
            "part_number": r.part_number,
            "computed": r.target,
            "demand_per_day": r.demand_per_day,
            "lead_time_days": r.lead_time_days,
            "fill_rate": r.fill_rate,
            "computed_at": at,
        }
        for r in rows
    ]
    if not values:
        return 0
    insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    for start in range(0, len(values), 2000):
        chunk = values[start : start + 2000]
        statement = insert(StockTarget).values(chunk)
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
        uow.session.execute(statement)
    return len(values)
