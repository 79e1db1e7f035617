"""What the RMA API answers are made of: shared by its route modules."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Response, current_app
from sqlalchemy import select
from sqlalchemy.orm.util import identity_key

from core import clock
from core.auth import Actor
from core.db import UnitOfWork, read_only, transactional
from core.web import answer_once
from depots.models import City
from depots.service.network import CityInfo
from depots.service.snapshot import network
from inventory.service import repair_yield
from optimizer.depot_choice import DepotDecision
from rma.models import (
    Contract,
    Customer,
    Escalation,
    Rma,
    RmaEvent,
    Site,
    Status,
)
from rma.schemas import (
    ConflictOut,
    ContractOut,
    CustomerOut,
    ErrorOut,
    RmaDetailOut,
    SiteOut,
)
from rma.service import allocation, approvals, customers, lifecycle, opening, queries
from rma.service.opening import OpenRequest
from rma.service.promises import ReplacementPromise, commitments, live_promises

READERS: tuple[str, ...] = ()  # anyone signed in
OPENERS = ("engineer", "supervisor")
SUPERVISORS = ("supervisor",)
DEPOT_STAFF = ("depot_staff",)
DELIVERY_REPORTERS = ("engineer", "supervisor", "depot_staff")
CUSTOMER_EDITORS = tuple(role.value for role in customers.EDITING_ROLES)
CONTRACT_EDITORS = ("supervisor", "planner")

READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ConflictOut,
    422: ErrorOut,
}
ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
PDF_RESPONSE = {
    "description": "the service record, A4 PDF",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
}


# --- what an RMA answer is made of ----------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """The rows an RMA answer names: customers, sites, cities, contract numbers."""

    customers: dict[int, Customer]
    sites: dict[int, Site]
    cities: dict[int, City | CityInfo]
    contracts: dict[int, str]
    promises: dict[int, ReplacementPromise]  # live delivery promises, by RMA id


def by_id(uow: UnitOfWork, model: Any, ids: Iterable[int | None]) -> dict[int, Any]:
    """{id: row} of ``model``; rows the transaction already holds are not read again
    (a SELECT would hand back the same objects, unrefreshed)."""
    found: dict[int, Any] = {}
    missing = []
    for i in sorted({i for i in ids if i is not None}):
        held = uow.session.identity_map.get(identity_key(model, i))
        if held is not None:
            found[i] = held
        else:
            missing.append(i)
    if missing:
        rows = uow.session.scalars(select(model).where(model.id.in_(missing)))
        found.update({row.id: row for row in rows})
    return found


def _cities(uow: UnitOfWork, ids: Iterable[int]) -> dict[int, City | CityInfo]:
    """{id: city} from the network kept in memory (every city is in it); a city it
    does not know yet is read."""
    known = network(uow).city_by_id
    wanted = set(ids)
    found: dict[int, City | CityInfo] = {i: known[i] for i in wanted if i in known}
    if len(found) < len(wanted):
        found.update(by_id(uow, City, wanted - set(found)))
    return found


@read_only
def load_context(
    uow: UnitOfWork,
    rmas: Iterable[Rma] = (),
    *,
    sites: Iterable[Site] = (),
) -> Context:
    """Everything ``rmas`` (and ``sites``) refer to, in one query per table, and the
    live delivery promise of each replacement or loaner."""
    rmas, extra_sites = list(rmas), list(sites)
    site_rows = by_id(uow, Site, [r.site_id for r in rmas])
    site_rows.update({s.id: s for s in extra_sites if s.id is not None})
    customer_rows = by_id(
        uow, Customer, [r.customer_id for r in rmas] + [s.customer_id for s in site_rows.values()]
    )
    cities = _cities(uow, [s.city_id for s in site_rows.values()])
    contracts = {
        c.id: c.number for c in by_id(uow, Contract, [r.contract_id for r in rmas]).values()
    }
    promises = live_promises(uow, rmas, clock.now()) if rmas else {}
    return Context(customer_rows, site_rows, cities, contracts, promises)


def city_answer(city: City | CityInfo) -> dict[str, Any]:
    return {"id": city.id, "name": city.name, "name_zh": city.name_zh, "province": city.province}


def customer_ref(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "code": customer.code,
        "name": customer.name,
        "name_zh": customer.name_zh,
    }


def customer_answer(customer: Customer) -> dict[str, Any]:
    return CustomerOut.model_validate(customer, from_attributes=True).model_dump()


def site_answer(site: Site, cities: Mapping[int, City | CityInfo]) -> dict[str, Any]:
    return SiteOut(
        id=site.id or 0,
        customer_id=site.customer_id,
        name=site.name,
        city=city_answer(cities[site.city_id]),
        address=site.address,
        contact_name=site.contact_name,
        contact_phone=site.contact_phone,
        contact_email=site.contact_email,
    ).model_dump()


def contract_answer(contract: Contract) -> dict[str, Any]:
    today = clock.local(clock.now()).date()
    return ContractOut(
        id=contract.id or 0,
        number=contract.number,
        customer_id=contract.customer_id,
        coverage=contract.coverage,
        starts_on=contract.starts_on,
        ends_on=contract.ends_on,
        advance_replacement=contract.advance_replacement,
        repair=contract.repair,
        loaner=contract.loaner,
        active=contract.starts_on <= today <= contract.ends_on,
    ).model_dump()


def stored_alternatives(raw: str) -> list[dict[str, Any]]:
    """The alternatives the RMA keeps as JSON text, typed again."""
    return [_alternative_answer(alternative) for alternative in queries.alternatives_of(raw)]


def _alternative_answer(alternative: queries.AlternativeView) -> dict[str, Any]:
    # ``dataclasses.asdict`` without its deep copy (a tenth of an opening's answer):
    # the views were just parsed from JSON, so nothing else holds their values.
    body = dict(vars(alternative))
    if alternative.emergency is not None:
        body["emergency"] = dict(vars(alternative.emergency))
    return body


def decision_alternatives(decision: DepotDecision, part_at: dict[str, str]) -> list[Any]:
    """A decision's alternatives as the API answers them (as if stored on a case)."""
    return stored_alternatives(allocation.alternatives_json(decision, part_at))


def allocation_answer(rma: Rma) -> dict[str, Any] | None:
    if rma.depot_code is None:
        return None
    return {
        "depot": rma.depot_code,
        "part_number": rma.ship_part_number or rma.part_number,
        "service": rma.service,
        "ships_at": rma.ships_at,
        "ship_by": rma.ship_by or rma.ships_at,
        "promised_delivery": rma.promised_delivery,
        "cost": rma.shipping_cost,
        "lane_id": rma.lane_id,
        "alternatives": stored_alternatives(rma.alternatives),
    }


def rma_answer(rma: Rma, ctx: Context, now: datetime) -> dict[str, Any]:
    site = ctx.sites[rma.site_id]
    kept = {p.key: p for p in commitments(rma, now)}
    live = ctx.promises.get(rma.id or 0)
    body = {
        "number": rma.number,
        "status": rma.status,
        "kind": rma.kind,
        "fault_level": rma.fault_level,
        "symptom": rma.symptom,
        "serial": rma.serial,
        "part_number": rma.part_number,
        "customer": customer_ref(ctx.customers[rma.customer_id]),
        "site": site_answer(site, ctx.cities),
        "reported_by": rma.reported_by,
        "reported_at": rma.reported_at,
        "billable": rma.billable,
        "entitlement": {
            "entitled": rma.entitled,
            "reason": rma.entitlement_reason,
            "phase": rma.phase,
            "warranty_end": rma.warranty_end,
            "contract": ctx.contracts.get(rma.contract_id) if rma.contract_id else None,
            "coverage": rma.coverage,
        },
        "due": {key: p.due for key, p in kept.items()},
        "due_in_hours": {key: p.hours_left for key, p in kept.items()},
        "due_met": {key: p.met for key, p in kept.items()},
        "at_risk": live.at_risk if live else rma.at_risk,
        "at_risk_reason": (live.reason if live else rma.at_risk_reason) or None,
        "promise": {
            "due": live.due,
            "original": live.original,
            "current": live.current,
            "ships_by": live.ships_by,
            "service": live.service,
        }
        if live
        else None,
        "backorder": rma.backorder,
        "allocation": allocation_answer(rma),
        "allowed_actions": lifecycle.allowed_actions(rma),
    }
    for name in (
        "shipped_serial",
        "return_depot",
        "returned_serial",
        "approved_at",
        "approved_by",
        "allocated_at",
        "shipped_at",
        "delivered_at",
        "defective_received_at",
        "repair_started_at",
        "repaired_at",
        "returned_at",
        "back_at",
        "cause_confirmed_at",
        "closed_at",
        "cancelled_at",
        "cancel_reason",
        "rating",
        "remarks",
        "signed_by",
        "signed_at",
    ):
        body[name] = getattr(rma, name)
    return body


@read_only
def rma_detail(uow: UnitOfWork, number: str) -> dict[str, Any]:
    """The full answer for one RMA: with its history and escalations."""
    view = queries.get_rma(uow, number)
    raised = uow.session.scalars(
        select(Escalation).where(Escalation.rma_id == view.rma.id).order_by(Escalation.step)
    )
    return _detail(uow, view.rma, view.events, raised)


@transactional
def open_and_answer(uow: UnitOfWork, actor: Actor, request: OpenRequest) -> dict[str, Any]:
    """Open a case and answer it in full, in one transaction: from the rows the
    opening holds (the case, its site, contract and events) instead of reading them
    back. A case opened now has no escalation: the ladder's sweep cannot see it
    before this transaction commits."""
    opened = opening.open_case(uow, actor, request)
    return _detail(uow, opened.rma, opened.events, ())


def _detail(
    uow: UnitOfWork, rma: Rma, events: Iterable[RmaEvent], raised: Iterable[Escalation]
) -> dict[str, Any]:
    ctx = load_context(uow, [rma])
    body = rma_answer(rma, ctx, clock.now())
    body["events"] = [
        {
            "at": event.at,
            "actor": event.actor,
            "action": event.action,
            "from_status": event.from_status,
            "to_status": event.to_status,
            "detail": queries.event_detail(event.detail),
        }
        for event in events
    ]
    body["escalations"] = [
        {
            "id": e.id,
            "step": e.step,
            "notify_title": e.notify_title,
            "support_hours": e.support_hours,
            "due_at": e.due_at,
            "raised_at": e.raised_at,
            "acknowledged_by": e.acknowledged_by,
            "acknowledged_at": e.acknowledged_at,
            "acknowledge_note": e.acknowledge_note,
        }
        for e in raised
    ]
    body["approval_quote"] = _approval_quote(uow, rma) if rma.status == Status.REQUESTED else None
    receipt = repair_yield.receipt_for(uow, rma.number) if rma.defective_received_at else None
    body["finding"] = receipt.finding if receipt else None
    body["repair_outcome"] = receipt.outcome if receipt else None
    return RmaDetailOut.model_validate(body).model_dump()


def _approval_quote(uow: UnitOfWork, rma: Rma) -> dict[str, Any]:
    price = approvals.quote_for(uow, rma, clock.now())
    return {
        "part_number": price.part_number,
        "unit_cost": price.unit_cost,
        "depot": price.depot,
        "service": price.service,
        "shipping": price.shipping,
        "backorder": price.backorder,
        "charge": price.charge,
    }


def json_answer(body: Any, status: int = 200) -> Response:
    return current_app.response_class(
        current_app.json.dumps(body), status=status, mimetype="application/json"
    )


def step_answer(run: Callable[[UnitOfWork], Rma]) -> Response:
    """Take a step through ``answer_once`` and answer the RMA as it is afterwards."""
    return answer_once(lambda u: (rma_detail(u, run(u).number), 200))
