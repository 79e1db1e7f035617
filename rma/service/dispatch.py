"""Batch dispatch: re-plan every open replacement that has not shipped yet, together.

When a few units are wanted by several cases, choosing case by case (first come,
first served) can let a C-3 take the last unit a C-1 needed. This re-plans all
allocated-but-unshipped replacements and loaners, and the backordered ones, with
``optimizer.dispatch`` (most cases on time, C-1 before C-2 before C-3; then a unit
for every case; then the earliest arrival for those that cannot be on time; then
target stock protected; then the lowest cost).

It works like a rebalancing plan: ``propose`` computes a proposal and changes
nothing; ``apply`` takes the proposal's ``basis`` and applies it only if the same
computation, made again inside the applying transaction, gives the same basis
(the same cases, stock, targets, lanes and the same answer): otherwise 409, and
the planner previews again. Each changed case moves through the lifecycle's own
re-planning step (``lifecycle.replan``: its hold released and taken at the new
depot, or put on backorder, with an event from its old status), and a case that
stays where it is is not touched, so a run that changes nothing records nothing.

The same rules as a single case apply: the service each depot offers comes from
``optimizer.depot_choice.offered_options`` (C-1: standard while some depot meets
the due time by it, else the sooner option, emergency courier included), and a
depot's target stock is protected (``spare``) before cost.

Each case competes for the part it would ship: the part already held for it,
else the first part of its supersession chain with stock anywhere. Parts are
never mixed between cases, which keeps the competition exact.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from core import clock
from core.audit import recorder as audit
from core.auth import Actor, Role
from core.db import UnitOfWork, read_only, transactional
from core.errors import Conflict
from core.fingerprint import Fingerprint
from core.i18n import gettext
from depots.models import City
from depots.service.network import list_depots, list_lanes
from inventory.models import Reservation, StockBalance
from inventory.service.catalog import substitutes
from inventory.service.targets import effective_targets
from optimizer.depot_choice import Candidate, Offer, offered_options
from optimizer.dispatch import DispatchRequest, dispatch
from rma.models import Rma, Site, Status
from rma.service import lifecycle
from rma.service.lifecycle import CasePlan
from rma.service.promises import transit_options
from rma.service.queries import open_replacements_query
from rma.service.wording import BATCH_DISPATCH, DISPATCH_CHOSEN, DISPATCH_NOT_CHOSEN

WHY = BATCH_DISPATCH


@dataclass(frozen=True)
class CaseProposal:
    """One open case: where its unit comes from now, and where the proposal puts it."""

    number: str
    kind: str
    fault_level: str
    status: str
    due: datetime
    depot_before: str | None
    arrival_before: datetime | None  # the current allocation, shipped from now
    met_before: bool
    plan: CasePlan
    changed: bool


@dataclass(frozen=True)
class DispatchProposal:
    """A proposal to apply with its ``basis``; figures over the open cases."""

    basis: str
    computed_at: datetime
    cases: list[CaseProposal]
    met_due_before: int
    met_due_after: int
    backorders: int
    total_cost: Decimal

    @property
    def changed(self) -> list[str]:
        return [case.number for case in self.cases if case.changed]

    def summary(self) -> str:
        return (
            f"{len(self.cases)} open replacements re-planned: {self.met_due_after} meet their "
            f"due time (was {self.met_due_before}), {len(self.changed)} to change, "
            f"{self.backorders} backordered, transit cost {self.total_cost} CNY"
        )


@dataclass(frozen=True)
class DispatchReport:
    """What ``apply`` did: the proposal applied and the cases it changed."""

    proposal: DispatchProposal
    applied: list[str]

    def summary(self) -> str:
        p = self.proposal
        return (
            f"{len(p.cases)} open replacements re-planned: {p.met_due_after} meet their due "
            f"time (was {p.met_due_before}), {len(self.applied)} changed, {p.backorders} "
            f"backordered, transit cost {p.total_cost} CNY"
        )


@read_only
def propose(uow: UnitOfWork, actor: Actor) -> DispatchProposal:
    """Re-plan all open, unshipped replacements together; change nothing."""
    actor.require_role(Role.PLANNER)
    return _compute(uow, _open_cases(uow, lock=False), clock.now())


@transactional
def apply(uow: UnitOfWork, actor: Actor, basis: str) -> DispatchReport:
    """Apply the proposal whose basis is ``basis``. ``Conflict`` (nothing changes)
    when the cases, stock, targets, lanes or the answer differ from the proposal's."""
    actor.require_role(Role.PLANNER)
    cases = _open_cases(uow, lock=True)
    proposal = _compute(uow, cases, clock.now())
    if proposal.basis != (basis or "").strip():
        raise Conflict(
            gettext(
                "the open cases or the stock changed since this dispatch was proposed: preview "
                "it again"
            )
        )
    by_number = {case.number: case for case in cases}
    changing = [item for item in proposal.cases if item.changed]
    # Every moving case lets go first: the unit one case gives up may be exactly
    # the one another case is given.
    for item in changing:
        lifecycle.release_held_stock(uow, by_number[item.number], actor, f"re-planned by {WHY}")
    applied = [
        item.number
        for item in changing
        if lifecycle.replan(uow, actor, by_number[item.number], item.plan, WHY)
    ]
    uow.session.flush()
    # A run is more than its cases' row changes (which the audit records as they
    # happen): one entry says who applied which proposal and what it changed.
    audit.record(
        uow,
        "dispatch",
        proposal.basis[:16],
        "apply",
        after={
            "cases": len(proposal.cases),
            "changed": applied,
            "met_due_before": proposal.met_due_before,
            "met_due_after": proposal.met_due_after,
            "backorders": proposal.backorders,
            "total_cost": proposal.total_cost,
        },
    )
    return DispatchReport(proposal, applied)


def _open_cases(uow: UnitOfWork, *, lock: bool) -> list[Rma]:
    query = open_replacements_query().execution_options(populate_existing=True)
    if lock and uow.dialect == "postgresql":
        query = query.with_for_update()
    return list(uow.session.scalars(query))


def _compute(uow: UnitOfWork, cases: list[Rma], now: datetime) -> DispatchProposal:
    depots = list_depots(uow)
    codes = [d.code for d in depots]
    fingerprint = Fingerprint("dispatch")
    if not cases:
        return DispatchProposal(fingerprint.hexdigest(), now, [], 0, 0, 0, Decimal("0.00"))
    held = {
        r.id: r
        for r in uow.session.scalars(
            select(Reservation).where(
                Reservation.id.in_([c.reservation_id for c in cases if c.reservation_id]),
                Reservation.status == "active",
            )
        )
    }
    # Free units per (part, depot), counting the units the cases hold as theirs to give.
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
    targets = effective_targets(uow, part_numbers=set(groups))
    stock = {(part, depot): max(0, free[(part, depot)]) for part in set(groups) for depot in codes}
    spare = {
        (part, depot): max(0, units - targets.get((depot, part), 0))
        for (part, depot), units in stock.items()
    }
    lanes = _lanes_to_sites(uow, cases)
    windows = {d.code: d.window for d in depots}
    offers: list[dict[str, Offer]] = []
    arrival = [[None] * len(codes) for _ in cases]
    cost = [[None] * len(codes) for _ in cases]
    for r, case in enumerate(cases):
        assert case.due_replacement is not None
        candidates = []
        for depot in codes:
            lane = lanes.get((depot, case.site_id))
            standard = emergency = None
            if lane is not None:
                standard, emergency = transit_options(
                    lane.terms, windows[depot], now, case.fault_level
                )
            units = stock[(groups[r], depot)]
            candidates.append(Candidate(depot, units, 0, standard, emergency))
        case_offers = offered_options(candidates, case.due_replacement)
        offers.append(case_offers)
        for d, depot in enumerate(codes):
            offer = case_offers.get(depot)
            if offer is not None:
                arrival[r][d], cost[r][d] = offer.option.arrives_at, offer.option.cost
    requests = [
        DispatchRequest(case.number, groups[r], case.fault_level, case.due_replacement)
        for r, case in enumerate(cases)
        if case.due_replacement is not None
    ]
    result = dispatch(requests, codes, stock, arrival, cost, spare=spare)
    proposals = []
    met_before = 0
    for r, (case, assignment) in enumerate(zip(cases, result.assignments, strict=True)):
        before = _current_arrival(case, lanes, windows, now)
        met = before is not None and before <= case.due_replacement
        met_before += met
        plan = _plan(case, assignment.depot, groups[r], offers[r], lanes, assignment.meets_due)
        proposals.append(
            CaseProposal(
                number=case.number,
                kind=case.kind,
                fault_level=case.fault_level,
                status=case.status,
                due=case.due_replacement,
                depot_before=case.depot_code,
                arrival_before=before,
                met_before=met,
                plan=plan,
                changed=plan.changes(case),
            )
        )
        fingerprint.add(
            case.number,
            case.status,
            case.depot_code,
            case.ship_part_number,
            case.reservation_id,
            case.due_replacement.isoformat(),
            case.fault_level,
            assignment.depot,
            groups[r],
        )
    for key in sorted(stock):
        fingerprint.add(key, stock[key], spare[key])
    for key in sorted(lanes):
        lane = lanes[key]
        fingerprint.add(key, lane.id, str(lane.terms))
    return DispatchProposal(
        fingerprint.hexdigest(),
        now,
        proposals,
        met_before,
        result.met_due,
        result.backorders,
        result.total_cost,
    )


def _current_arrival(case: Rma, lanes, windows, now: datetime) -> datetime | None:
    """When the case's current allocation would arrive if it shipped from now."""
    if case.status != Status.ALLOCATED or case.depot_code is None:
        return None
    lane = lanes.get((case.depot_code, case.site_id))
    if lane is None or case.depot_code not in windows or case.due_replacement is None:
        return None
    standard, emergency = transit_options(
        lane.terms, windows[case.depot_code], now, case.fault_level
    )
    candidate = Candidate(case.depot_code, 1, 0, standard, emergency)
    offer = offered_options([candidate], case.due_replacement).get(case.depot_code)
    return offer.option.arrives_at if offer else None


def _plan(
    case: Rma,
    depot: str | None,
    part: str,
    offers: dict[str, Offer],
    lanes,
    meets_due: bool,
) -> CasePlan:
    alternatives = json.dumps(
        [
            {
                "depot": code,
                "part_number": part,
                "service": offer.service,
                "ships_at": offer.option.ships_at.isoformat(),
                "arrival": offer.option.arrives_at.isoformat(),
                "cost": str(offer.option.cost),
                "meets_due": case.due_replacement is not None
                and offer.option.arrives_at <= case.due_replacement,
                "chosen": code == depot,
                "reason": "chosen by batch dispatch"
                if code == depot
                else "not chosen: batch dispatch weighs every open case together",
                "reason_code": DISPATCH_CHOSEN if code == depot else DISPATCH_NOT_CHOSEN,
                "reason_args": {},
                "emergency": {
                    "note": offer.emergency_note,
                    "note_code": offer.emergency_code,
                    "note_args": dict(offer.emergency_args),
                }
                if offer.emergency_note
                else None,
            }
            for code, offer in sorted(offers.items(), key=lambda item: item[0] != depot)
        ]
    )
    if depot is None:
        return CasePlan(None, None, None, None, None, None, None, False, alternatives)
    offer = offers[depot]
    return CasePlan(
        depot=depot,
        part_number=part,
        lane_id=lanes[(depot, case.site_id)].id,
        service=offer.service,
        ships_at=offer.option.ships_at,
        arrives_at=offer.option.arrives_at,
        cost=offer.option.cost,
        meets_due=meets_due,
        alternatives=alternatives,
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
