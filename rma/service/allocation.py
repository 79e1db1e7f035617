"""Which depot ships a replacement: gather the options, let the optimizer choose,
reserve the unit, and keep the promise and its alternatives on the RMA.

The candidates for an RMA are the eight depots. At each, the unit shipped is
the requested part when it has some available, otherwise the nearest part that
supersedes it. Transit comes from the stored lanes (depot -> the site's city)
and each depot's pickup window; the emergency courier is quoted for C-1 cases
only. ``optimizer.depot_choice`` ranks them (due time, target stock, cost,
arrival, code) and explains why each lost.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, read_only
from core.errors import InsufficientStock, Invalid
from depots import lanes as lane_rule
from depots.models import City
from depots.service.network import list_depots, list_lanes
from inventory.models import StockBalance, StockTarget
from inventory.service import reservations
from inventory.service.catalog import substitutes
from optimizer.depot_choice import Candidate, DepotDecision, TransitOption, choose_depot
from rma.models import Rma, Site, Status
from rma.service.notifications import addresses_of_role, enqueue

MAX_REALLOCATION_ATTEMPTS = 8


@dataclass(frozen=True)
class Options:
    """What the optimizer is given, plus which part each depot would ship and by which lane."""

    candidates: list[Candidate]
    part_at: dict[str, str]
    lane_at: dict[str, int]


def stock_targets(uow: UnitOfWork, part_numbers: Sequence[str]) -> dict[tuple[str, str], int]:
    """Target stock per (depot, part) for the candidate parts (0 where none is set)."""
    effective = func.coalesce(StockTarget.override, StockTarget.computed)
    rows = uow.session.execute(
        select(StockTarget.depot_code, StockTarget.part_number, effective).where(
            StockTarget.part_number.in_(list(part_numbers))
        )
    )
    return {(depot, part): int(target) for depot, part, target in rows}


def gather_options(
    uow: UnitOfWork,
    part_number: str,
    city: City,
    fault_level: str,
    ready_at: datetime,
    *,
    exclude: Sequence[str] = (),
) -> Options:
    """Candidate depots for shipping ``part_number`` (or a successor) to ``city``."""
    chain = substitutes(uow, part_number)
    available: dict[tuple[str, str], int] = {
        (depot, part): on_hand - reserved
        for depot, part, on_hand, reserved in uow.session.execute(
            select(
                StockBalance.depot_code,
                StockBalance.part_number,
                StockBalance.on_hand,
                StockBalance.reserved,
            ).where(StockBalance.part_number.in_(chain), StockBalance.bucket == "good")
        )
    }
    targets = stock_targets(uow, chain)
    lanes = {lane.from_depot: lane for lane in list_lanes(uow, to=city.name, kind="city")}
    emergency_allowed = lane_rule.service_allowed(lane_rule.Service.EMERGENCY, fault_level)
    candidates, part_at, lane_at = [], {}, {}
    for depot in list_depots(uow):
        if depot.code in exclude:
            continue
        part = next((p for p in chain if available.get((depot.code, p), 0) > 0), chain[0])
        lane = lanes.get(depot.code)
        standard = emergency = None
        if lane is not None:
            quote = lane_rule.quote(lane.terms, ready_at, lane_rule.Service.STANDARD, depot.window)
            standard = TransitOption(quote.ships_at, quote.arrives_at, quote.cost)
            if emergency_allowed:
                quote = lane_rule.quote(
                    lane.terms, ready_at, lane_rule.Service.EMERGENCY, depot.window
                )
                emergency = TransitOption(quote.ships_at, quote.arrives_at, quote.cost)
            lane_at[depot.code] = lane.id
        part_at[depot.code] = part
        candidates.append(
            Candidate(
                depot.code,
                max(0, available.get((depot.code, part), 0)),
                targets.get((depot.code, part), 0),
                standard,
                emergency,
            )
        )
    return Options(candidates, part_at, lane_at)


def _site_city(uow: UnitOfWork, rma: Rma) -> City:
    site = uow.session.get(Site, rma.site_id)
    assert site is not None
    city = uow.session.get(City, site.city_id)
    assert city is not None
    return city


def alternatives_json(decision: DepotDecision, part_at: dict[str, str]) -> str:
    return json.dumps(
        [
            {
                "depot": alt.depot,
                "part_number": part_at.get(alt.depot),
                "service": alt.service,
                "ships_at": alt.ships_at.isoformat() if alt.ships_at else None,
                "arrival": alt.arrives_at.isoformat() if alt.arrives_at else None,
                "cost": str(alt.cost) if alt.cost is not None else None,
                "meets_due": alt.meets_due,
                "chosen": alt.chosen,
                "reason": alt.reason,
            }
            for alt in decision.alternatives
        ]
    )


def allocate(uow: UnitOfWork, rma: Rma, actor: Actor) -> DepotDecision:
    """Choose the depot for an approved replacement or loaner and reserve the unit there.

    Runs inside the caller's transaction. If the chosen depot's stock is taken
    by a concurrent reservation, the next decision is made without it. With no
    stock anywhere the RMA stays approved, flagged backorder, and planners are
    told; when no depot can meet the due time it is flagged at risk.
    """
    if rma.due_replacement is None:
        raise Invalid(f"{rma.number} has no replacement due time")
    city = _site_city(uow, rma)
    now = clock.now()
    excluded: list[str] = []
    system = Actor(id=actor.id, username=actor.username, role=Role.ADMIN)
    for _ in range(MAX_REALLOCATION_ATTEMPTS):
        options = gather_options(uow, rma.part_number, city, rma.fault_level, now, exclude=excluded)
        decision = choose_depot(options.candidates, rma.due_replacement)
        if decision.backorder:
            _record_backorder(uow, rma, decision, options)
            return decision
        assert decision.depot is not None
        try:
            reservation = reservations.reserve(
                uow, system, decision.depot, options.part_at[decision.depot], 1, rma.number
            )
        except InsufficientStock:
            excluded.append(decision.depot)
            continue
        _record_allocation(uow, rma, actor, decision, options, reservation.id)
        return decision
    _record_backorder(uow, rma, choose_depot([], rma.due_replacement), Options([], {}, {}))
    return choose_depot([], rma.due_replacement)


def _record_allocation(
    uow: UnitOfWork,
    rma: Rma,
    actor: Actor,
    decision: DepotDecision,
    options: Options,
    reservation_id: int | None,
) -> None:
    from rma.service.lifecycle import move_to

    assert decision.depot is not None
    rma.depot_code = decision.depot
    rma.ship_part_number = options.part_at[decision.depot]
    rma.service = decision.service
    rma.ships_at = decision.ships_at
    rma.promised_delivery = decision.promised_delivery
    rma.shipping_cost = decision.cost
    rma.lane_id = options.lane_at.get(decision.depot)
    rma.alternatives = alternatives_json(decision, options.part_at)
    rma.reservation_id = reservation_id
    rma.at_risk, rma.backorder = decision.at_risk, False
    rma.allocated_at = clock.now()
    move_to(
        uow,
        rma,
        Status.ALLOCATED,
        actor,
        "allocate",
        {
            "depot": decision.depot,
            "part_number": rma.ship_part_number,
            "service": decision.service,
            "promised_delivery": decision.promised_delivery,
            "cost": decision.cost,
            "at_risk": decision.at_risk,
        },
    )
    if decision.at_risk:
        enqueue(
            uow,
            "at_risk",
            addresses_of_role(uow, Role.SUPERVISOR),
            f"{rma.number} {rma.fault_level}: no depot can deliver within 24 hours",
            f"Best option: {decision.depot} by {decision.service}, arriving "
            f"{clock.local(decision.promised_delivery):%Y-%m-%d %H:%M} (due "
            f"{clock.local(rma.due_replacement):%Y-%m-%d %H:%M}).",
            rma=rma,
        )


def _record_backorder(uow: UnitOfWork, rma: Rma, decision: DepotDecision, options: Options) -> None:
    from rma.service.lifecycle import record_event

    rma.backorder, rma.at_risk = True, True
    rma.alternatives = alternatives_json(decision, options.part_at)
    uow.session.add(rma)
    record_event(uow, rma, "system", "backorder", detail={"part_number": rma.part_number})
    enqueue(
        uow,
        "backorder",
        addresses_of_role(uow, Role.PLANNER),
        f"{rma.number}: no stock of {rma.part_number} in any depot",
        f"{rma.fault_level} replacement for {rma.number} is backordered: no depot holds "
        f"{rma.part_number} or a part that supersedes it.",
        rma=rma,
        dedupe_key=f"backorder:{rma.number}",
    )


@read_only
def preview(
    uow: UnitOfWork, part_number: str, city_name: str, fault_level: str, at: datetime | None = None
) -> tuple[DepotDecision, Options]:
    """The depot choice for a hypothetical request, reserving nothing."""
    from rma.service.customers import require_city

    city = require_city(uow, city_name)
    ready_at = clock.as_utc(at) if at else clock.now()
    options = gather_options(uow, part_number, city, fault_level, ready_at)
    return choose_depot(options.candidates, ready_at + timedelta(hours=24)), options
