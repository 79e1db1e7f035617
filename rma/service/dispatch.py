"""Batch dispatch: re-plan every open replacement that has not shipped yet, together.

When a few units are wanted by several cases, choosing case by case (first come,
first served) can let a C-3 take the last unit a C-1 needed. This re-plans all
allocated-but-unshipped replacements and loaners, and the backordered ones,
with ``optimizer.dispatch`` (most cases on time, C-1 before C-2 before C-3,
then the lowest cost), and applies the answer atomically: reservations are
released and taken again in one transaction, so nothing is double-booked and a
failure leaves every case as it was.

Each case competes for the part it would ship: the part already reserved for
it, else the first part of its supersession chain with stock anywhere. Parts
are never mixed between cases, which keeps the competition exact.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, transactional
from depots import lanes as lane_rule
from depots.models import City
from depots.service.network import list_depots, list_lanes
from inventory.models import Reservation, StockBalance
from inventory.service import reservations
from inventory.service.catalog import substitutes
from optimizer.dispatch import DispatchRequest, dispatch
from rma.models import Kind, Rma, Site, Status
from rma.service.lifecycle import record_event, release_held_stock


@dataclass(frozen=True)
class DispatchReport:
    cases: int
    changed: list[str]
    met_due_before: int
    met_due_after: int
    backorders: int
    total_cost: Decimal

    def summary(self) -> str:
        return (
            f"{self.cases} open replacements re-planned: {self.met_due_after} meet their "
            f"due time (was {self.met_due_before}), {len(self.changed)} changed depot, "
            f"{self.backorders} backordered, transit cost {self.total_cost} CNY"
        )


def _open_cases(uow: UnitOfWork) -> list[Rma]:
    query = (
        select(Rma)
        .where(
            Rma.kind.in_([Kind.ADVANCE_REPLACEMENT, Kind.LOANER]),
            (Rma.status == Status.ALLOCATED) | ((Rma.status == Status.APPROVED) & Rma.backorder),
        )
        .order_by(Rma.id)
    )
    if uow.dialect == "postgresql":
        query = query.with_for_update()
    return list(uow.session.scalars(query.execution_options(populate_existing=True)))


@transactional
def replan(uow: UnitOfWork, actor: Actor) -> DispatchReport:
    """Re-plan all open, unshipped replacements together and apply the result."""
    actor.require_role(Role.PLANNER)
    cases = _open_cases(uow)
    now = clock.now()
    depots = list_depots(uow)
    codes = [d.code for d in depots]
    if not cases:
        return DispatchReport(0, [], 0, 0, 0, Decimal("0.00"))
    held = {
        r.id: r
        for r in uow.session.scalars(
            select(Reservation).where(
                Reservation.id.in_([c.reservation_id for c in cases if c.reservation_id]),
                Reservation.status == "active",
            )
        )
    }
    free: dict[tuple[str, str], int] = defaultdict(int)
    for depot, part, on_hand, reserved in uow.session.execute(
        select(
            StockBalance.depot_code,
            StockBalance.part_number,
            StockBalance.on_hand,
            StockBalance.reserved,
        ).where(StockBalance.bucket == "good")
    ):
        free[(part, depot)] += on_hand - reserved
    for reservation in held.values():
        free[(reservation.part_number, reservation.depot_code)] += reservation.qty
    groups: list[str] = []
    for case in cases:
        reservation = held.get(case.reservation_id or -1)
        if reservation is not None:
            groups.append(reservation.part_number)
            continue
        chain = substitutes(uow, case.part_number)
        groups.append(next((p for p in chain if any(free[(p, d)] > 0 for d in codes)), chain[0]))
    lanes = _lanes_to_sites(uow, cases)
    arrival = [[None] * len(codes) for _ in cases]
    cost = [[None] * len(codes) for _ in cases]
    quotes: dict[tuple[int, int], lane_rule.Quote] = {}
    for r, case in enumerate(cases):
        for d, depot in enumerate(depots):
            lane = lanes.get((depot.code, case.site_id))
            if lane is None:
                continue
            quote = lane_rule.quote(lane.terms, now, lane_rule.Service.STANDARD, depot.window)
            if quote.arrives_at > case.due_replacement and case.fault_level == "C-1":
                fast = lane_rule.quote(lane.terms, now, lane_rule.Service.EMERGENCY, depot.window)
                if fast.arrives_at <= case.due_replacement:
                    quote = fast
            quotes[(r, d)] = quote
            arrival[r][d], cost[r][d] = quote.arrives_at, quote.cost
    requests = [
        DispatchRequest(case.number, groups[r], case.fault_level, case.due_replacement)
        for r, case in enumerate(cases)
    ]
    stock = {
        (part, depot): max(0, units) for (part, depot), units in free.items() if part in set(groups)
    }
    result = dispatch(requests, codes, stock, arrival, cost)
    # "Before" is the current allocation shipped from now on, not the stored
    # promise, which may have been made hours ago.
    met_before = 0
    for r, case in enumerate(cases):
        if case.status == Status.ALLOCATED and case.depot_code in codes:
            quote = quotes.get((r, codes.index(case.depot_code)))
            met_before += quote is not None and quote.arrives_at <= case.due_replacement
    changed = _apply(uow, actor, cases, groups, result.assignments, quotes, codes, lanes)
    return DispatchReport(
        len(cases), changed, met_before, result.met_due, result.backorders, result.total_cost
    )


def _lanes_to_sites(uow: UnitOfWork, cases: list[Rma]) -> dict[tuple[str, int], object]:
    site_city = {
        site_id: city_name
        for site_id, city_name in uow.session.execute(
            select(Site.id, City.name)
            .join(City, City.id == Site.city_id)
            .where(Site.id.in_({c.site_id for c in cases}))
        )
    }
    by_city: dict[str, list] = {}
    for lane in list_lanes(uow, kind="city"):
        by_city.setdefault(lane.to, []).append(lane)
    return {
        (lane.from_depot, site_id): lane
        for site_id, city in site_city.items()
        for lane in by_city.get(city, [])
    }


def _apply(
    uow: UnitOfWork,
    actor: Actor,
    cases: list[Rma],
    groups: list[str],
    assignments,
    quotes,
    codes: list[str],
    lanes,
) -> list[str]:
    system = Actor(id=actor.id, username=actor.username, role=Role.ADMIN)
    pairs = list(enumerate(zip(cases, assignments, strict=True)))
    moving = [
        (r, case, a)
        for r, (case, a) in pairs
        if (a.depot, groups[r]) != (case.depot_code, case.ship_part_number)
        or case.status != Status.ALLOCATED
    ]
    staying = {r for r, _ in pairs} - {r for r, _, _ in moving}
    # Cases that stay where they are get today's promise from the same quotes.
    for r in sorted(staying):
        case, assignment = cases[r], assignments[r]
        quote = quotes[(r, codes.index(assignment.depot))]
        case.service, case.ships_at = quote.service, quote.ships_at
        case.promised_delivery, case.shipping_cost = quote.arrives_at, quote.cost
        case.at_risk = not assignment.meets_due
        uow.session.add(case)
    # Release everything that moves first, then reserve: a unit freed by one case
    # may be exactly the one another case is given.
    for _, case, _ in moving:
        release_held_stock(uow, case, system, f"{case.number} re-planned by batch dispatch")
        case.reservation_id = None
    changed = []
    for r, case, assignment in moving:
        before = case.depot_code
        if assignment.depot is None:
            case.depot_code = case.service = case.ships_at = case.promised_delivery = None
            case.shipping_cost = case.lane_id = None
            case.backorder, case.at_risk = True, True
            if case.status == Status.ALLOCATED:
                case.status = Status.APPROVED
        else:
            d = codes.index(assignment.depot)
            quote = quotes[(r, d)]
            reservation = reservations.reserve(
                uow, system, assignment.depot, groups[r], 1, case.number
            )
            case.reservation_id = reservation.id
            case.depot_code, case.ship_part_number = assignment.depot, groups[r]
            case.service, case.ships_at = quote.service, quote.ships_at
            case.promised_delivery, case.shipping_cost = quote.arrives_at, quote.cost
            case.lane_id = lanes[(assignment.depot, case.site_id)].id
            case.at_risk, case.backorder = not assignment.meets_due, False
            case.allocated_at = clock.now()
            case.status = Status.ALLOCATED
        uow.session.add(case)
        record_event(
            uow,
            case,
            actor.username,
            "reallocate",
            detail={"from": before, "to": case.depot_code, "by": "batch dispatch"},
        )
        if before != case.depot_code:
            changed.append(case.number)
        case.alternatives = json.dumps(
            [
                {
                    "depot": case.depot_code,
                    "part_number": case.ship_part_number,
                    "service": case.service,
                    "arrival": case.promised_delivery.isoformat()
                    if case.promised_delivery
                    else None,
                    "cost": str(case.shipping_cost) if case.shipping_cost is not None else None,
                    "meets_due": not case.at_risk,
                    "chosen": True,
                    "reason": "chosen by batch dispatch",
                }
            ]
        )
    uow.session.flush()
    return changed
