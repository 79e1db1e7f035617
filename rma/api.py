"""JSON API of RMAs: customers, sites, contracts and the installed base; opening an
RMA and taking it through its steps; escalations; the printable service record.

Every route needs a bearer token. Anyone signed in may read; writes need the
roles named on the route's ``auth.api_roles`` guard (checked before the input is
validated), and the services check the rest: depot staff ship from and receive
into their own depot only (403), and a step the case cannot take now answers 409
with the steps it can (``allowed``). Every POST that writes runs through
``answer_once``, so a request repeated with the same ``Idempotency-Key`` gets the
first answer again and writes nothing new.

Due times are answered as instants (``due``), as hours left from now while still
to be met (``due_in_hours``, negative when overdue) and, once the step happened,
whether the promise was kept (``due_met``).

``GET /rmas/{number}/service-record.pdf`` prints for an RMA in any state: a case
that is not closed yet prints marked "NOT YET SIGNED" (the engineer takes it to
the customer for signing), a closed one with the customer's verdict.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Response, current_app
from flask_openapi3 import APIBlueprint, Tag
from sqlalchemy import select

from core import auth, clock
from core.db import UnitOfWork, read_only
from core.web import answer_once, uow
from depots.models import City
from depots.service import network
from inventory.models import Part
from optimizer.depot_choice import DepotDecision
from reports.service_record import promises, render_service_record
from rma.models import (
    OPEN_STATUSES,
    Contract,
    Customer,
    Escalation,
    EscalationStep,
    InstalledUnit,
    Kind,
    Rma,
    Site,
)
from rma.schemas import (
    ByCustomerQuery,
    CancelBody,
    CloseBody,
    ConfirmCauseBody,
    ConflictOut,
    ContractBody,
    ContractList,
    ContractOut,
    CustomerBody,
    CustomerList,
    CustomerOut,
    CustomersQuery,
    DeliverBody,
    ErrorOut,
    EscalationList,
    EscalationOut,
    EscalationsQuery,
    IdPath,
    InstalledUnitBody,
    InstalledUnitDetailOut,
    InstalledUnitList,
    InstalledUnitOut,
    InstalledUnitQuery,
    InstalledUnitsQuery,
    LadderOut,
    LadderStepBody,
    LadderStepOut,
    LadderStepPath,
    OpenRmaBody,
    ReturnBody,
    RmaDetailOut,
    RmaList,
    RmaOut,
    RmaPath,
    RmasQuery,
    SerialPath,
    ShipBody,
    SiteBody,
    SiteList,
    SiteOut,
)
from rma.service import allocation, customers, escalations, lifecycle
from rma.service import entitlement as entitlement_rules
from rma.service.lifecycle import OpenRequest, RmaView

api = APIBlueprint(
    "rma_api",
    __name__,
    url_prefix="/api/v1",
    abp_security=[{"bearer": []}],
    abp_tags=[Tag(name="rma")],
)

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
class _Context:
    """The rows an RMA answer names: customers, sites, cities, contract numbers."""

    customers: dict[int, Customer]
    sites: dict[int, Site]
    cities: dict[int, City]
    contracts: dict[int, str]


def _by_id(uow: UnitOfWork, model: Any, ids: Iterable[int | None]) -> dict[int, Any]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = uow.session.scalars(select(model).where(model.id.in_(wanted)))
    return {row.id: row for row in rows}


@read_only
def _context(
    uow: UnitOfWork,
    rmas: Iterable[Rma] = (),
    *,
    sites: Iterable[Site] = (),
) -> _Context:
    """Everything ``rmas`` (and ``sites``) refer to, in one query per table."""
    rmas, extra_sites = list(rmas), list(sites)
    site_rows = _by_id(uow, Site, [r.site_id for r in rmas])
    site_rows.update({s.id: s for s in extra_sites if s.id is not None})
    customer_rows = _by_id(
        uow, Customer, [r.customer_id for r in rmas] + [s.customer_id for s in site_rows.values()]
    )
    cities = _by_id(uow, City, [s.city_id for s in site_rows.values()])
    contracts = {
        c.id: c.number for c in _by_id(uow, Contract, [r.contract_id for r in rmas]).values()
    }
    return _Context(customer_rows, site_rows, cities, contracts)


def _city(city: City) -> dict[str, Any]:
    return {"id": city.id, "name": city.name, "name_zh": city.name_zh, "province": city.province}


def _customer_ref(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "code": customer.code,
        "name": customer.name,
        "name_zh": customer.name_zh,
    }


def _customer(customer: Customer) -> dict[str, Any]:
    return CustomerOut.model_validate(customer, from_attributes=True).model_dump()


def _site(site: Site, cities: dict[int, City]) -> dict[str, Any]:
    return SiteOut(
        id=site.id or 0,
        customer_id=site.customer_id,
        name=site.name,
        city=_city(cities[site.city_id]),
        address=site.address,
        contact_name=site.contact_name,
        contact_phone=site.contact_phone,
        contact_email=site.contact_email,
    ).model_dump()


def _contract(contract: Contract) -> dict[str, Any]:
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


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else None


def _money(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _stored_alternatives(raw: str) -> list[dict[str, Any]]:
    """The alternatives the RMA keeps as JSON text, with instants and money typed again."""
    try:
        items = json.loads(raw or "[]")
    except ValueError:
        return []
    return [
        {
            "depot": item.get("depot", ""),
            "part_number": item.get("part_number"),
            "service": item.get("service"),
            "ships_at": _instant(item.get("ships_at")),
            "arrival": _instant(item.get("arrival")),
            "cost": _money(item.get("cost")),
            "meets_due": bool(item.get("meets_due")),
            "chosen": bool(item.get("chosen")),
            "reason": str(item.get("reason", "")),
        }
        for item in items
        if isinstance(item, dict)
    ]


def _decision_alternatives(decision: DepotDecision, part_at: dict[str, str]) -> list[Any]:
    return [
        {
            "depot": alt.depot,
            "part_number": part_at.get(alt.depot),
            "service": alt.service,
            "ships_at": alt.ships_at,
            "arrival": alt.arrives_at,
            "cost": alt.cost,
            "meets_due": alt.meets_due,
            "chosen": alt.chosen,
            "reason": alt.reason,
        }
        for alt in decision.alternatives
    ]


def _allocation(rma: Rma) -> dict[str, Any] | None:
    if rma.depot_code is None:
        return None
    return {
        "depot": rma.depot_code,
        "part_number": rma.ship_part_number or rma.part_number,
        "service": rma.service,
        "ships_at": rma.ships_at,
        "promised_delivery": rma.promised_delivery,
        "cost": rma.shipping_cost,
        "lane_id": rma.lane_id,
        "alternatives": _stored_alternatives(rma.alternatives),
    }


def _event_detail(raw: str) -> dict[str, Any]:
    """An event's stored JSON detail; instants in it are answered in Asia/Shanghai like
    every other instant (they are stored in UTC)."""
    try:
        detail = json.loads(raw) if raw else {}
    except ValueError:
        return {"text": raw}
    if not isinstance(detail, dict):
        return {"value": detail}
    return {
        key: (_instant(value) or value)
        if isinstance(value, str) and ISO_INSTANT.match(value)
        else value
        for key, value in detail.items()
    }


def _rma(rma: Rma, ctx: _Context, now: datetime) -> dict[str, Any]:
    site = ctx.sites[rma.site_id]
    kept = {p.key: p for p in promises(rma, now)}
    body = {
        "number": rma.number,
        "status": rma.status,
        "kind": rma.kind,
        "fault_level": rma.fault_level,
        "symptom": rma.symptom,
        "serial": rma.serial,
        "part_number": rma.part_number,
        "customer": _customer_ref(ctx.customers[rma.customer_id]),
        "site": _site(site, ctx.cities),
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
        "at_risk": rma.at_risk,
        "backorder": rma.backorder,
        "allocation": _allocation(rma),
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
def _detail(uow: UnitOfWork, number: str) -> dict[str, Any]:
    """The full answer for one RMA: with its history and escalations."""
    view = lifecycle.get_rma(uow, number)
    rma = view.rma
    ctx = _context(uow, [rma])
    raised = uow.session.scalars(
        select(Escalation).where(Escalation.rma_id == rma.id).order_by(Escalation.step)
    )
    body = _rma(rma, ctx, clock.now())
    body["events"] = [
        {
            "at": event.at,
            "actor": event.actor,
            "action": event.action,
            "from_status": event.from_status,
            "to_status": event.to_status,
            "detail": _event_detail(event.detail),
        }
        for event in view.events
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
        }
        for e in raised
    ]
    return RmaDetailOut.model_validate(body).model_dump()


def _json(body: Any, status: int = 200) -> Response:
    return current_app.response_class(
        current_app.json.dumps(body), status=status, mimetype="application/json"
    )


def _step(run: Callable[[UnitOfWork], Rma]) -> Response:
    """Take a step through ``answer_once`` and answer the RMA as it is afterwards."""
    return answer_once(lambda u: (_detail(u, run(u).number), 200))


# --- RMAs -----------------------------------------------------------------------------------


@api.post(
    "/rmas",
    responses={201: RmaDetailOut, **WRITE_ERRORS},
    summary="Open an RMA; entitled replacements are approved and allocated at once",
)
@auth.api_roles(*OPENERS)
def post_rma(body: OpenRmaBody) -> Any:
    actor = auth.api_actor()
    request = OpenRequest(
        fault_level=body.fault_level,
        kind=body.kind,
        symptom=body.symptom,
        serial=body.serial,
        part_number=body.part_number,
        site_id=body.site_id,
        reported_at=body.reported_at,
    )
    return answer_once(lambda u: (_detail(u, lifecycle.open_rma(u, actor, request).number), 201))


@api.get(
    "/rmas",
    responses={200: RmaList, **READ_ERRORS},
    summary="RMAs, newest first, by status, depot, fault level; open or mine only",
)
@auth.api_roles(*READERS)
def get_rmas(query: RmasQuery) -> Any:
    actor = auth.api_actor()
    depot, reported_by = query.depot, None
    if query.mine:
        if actor.role == auth.Role.DEPOT_STAFF:
            if depot is not None and depot != actor.depot_code:
                return _json([])
            depot = actor.depot_code
        else:
            reported_by = actor.username
    u = uow()
    rmas = lifecycle.list_rmas(
        u,
        status=query.status,
        depot=depot,
        fault_level=query.fault_level,
        reported_by=reported_by,
        open_only=query.open,
        limit=query.limit,
        offset=query.offset,
    )
    ctx = _context(u, rmas)
    now = clock.now()
    return _json([RmaOut.model_validate(_rma(rma, ctx, now)).model_dump() for rma in rmas])


@api.get(
    "/rmas/<number>",
    responses={200: RmaDetailOut, **READ_ERRORS},
    summary="One RMA with its due times, allocation, history and escalations",
)
@auth.api_roles(*READERS)
def get_rma(path: RmaPath) -> Any:
    return _json(_detail(uow(), path.number))


@api.get(
    "/rmas/<number>/service-record.pdf",
    responses={200: PDF_RESPONSE, **READ_ERRORS},
    summary="The service record to print and sign (marked NOT YET SIGNED until closed)",
)
@auth.api_roles(*READERS)
def get_service_record(path: RmaPath) -> Any:
    pdf, number = _service_record(uow(), path.number)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{number}-service-record.pdf"'},
    )


@read_only
def _service_record(uow: UnitOfWork, number: str) -> tuple[bytes, str]:
    view: RmaView = lifecycle.get_rma(uow, number)
    rma = view.rma
    city = uow.session.get(City, view.site.city_id)
    contract = uow.session.get(Contract, rma.contract_id) if rma.contract_id else None
    part = uow.session.get(Part, rma.part_number)
    pdf = render_service_record(
        view,
        city=city,
        contract=contract.number if contract else None,
        part_description=part.description if part else "",
    )
    return pdf, rma.number


@api.post(
    "/rmas/<number>/approve",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="Approve a billable RMA (supervisors); replacements are then allocated",
)
@auth.api_roles(*SUPERVISORS)
def post_approve(path: RmaPath) -> Any:
    actor = auth.api_actor()
    return _step(lambda u: lifecycle.approve(u, actor, path.number))


@api.post(
    "/rmas/<number>/allocate",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="Retry the allocation of a backordered replacement (stock may have arrived)",
)
@auth.api_roles(auth.Role.ENGINEER, auth.Role.SUPERVISOR, auth.Role.PLANNER)
def post_allocate(path: RmaPath) -> Any:
    actor = auth.api_actor()
    return _step(lambda u: lifecycle.allocate_again(u, actor, path.number))


@api.post(
    "/rmas/<number>/ship",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="Ship the reserved unit with its scanned serial (staff of the allocated depot)",
)
@auth.api_roles(*DEPOT_STAFF)
def post_ship(path: RmaPath, body: ShipBody) -> Any:
    actor = auth.api_actor()
    return _step(lambda u: lifecycle.ship(u, actor, path.number, body.serial))


@api.post(
    "/rmas/<number>/deliver",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="The unit reached the customer (delivered_at with offset, default now)",
)
@auth.api_roles(*DELIVERY_REPORTERS)
def post_deliver(path: RmaPath, body: DeliverBody) -> Any:
    actor = auth.api_actor()
    return _step(lambda u: lifecycle.deliver(u, actor, path.number, body.delivered_at))


@api.post(
    "/rmas/<number>/receive-defective",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="The customer's unit arrived at a depot (staff of that depot)",
)
@auth.api_roles(*DEPOT_STAFF)
def post_receive_defective(path: RmaPath, body: ReturnBody) -> Any:
    actor = auth.api_actor()

    def run(u: UnitOfWork) -> Rma:
        network.get_depot(u, body.depot)  # an unknown depot is 404, not a broken reference
        return lifecycle.receive_defective(u, actor, path.number, body.depot, body.serial)

    return _step(run)


@api.post(
    "/rmas/<number>/start-repair",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="Repair starts (staff of the receiving depot)",
)
@auth.api_roles(*DEPOT_STAFF)
def post_start_repair(path: RmaPath) -> Any:
    actor = auth.api_actor()
    return _step(lambda u: lifecycle.start_repair(u, actor, path.number))


@api.post(
    "/rmas/<number>/finish-repair",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="Repair done (staff of the receiving depot)",
)
@auth.api_roles(*DEPOT_STAFF)
def post_finish_repair(path: RmaPath) -> Any:
    actor = auth.api_actor()
    return _step(lambda u: lifecycle.finish_repair(u, actor, path.number))


@api.post(
    "/rmas/<number>/return-repaired",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="The repaired unit is sent back to the customer (staff of the receiving depot)",
)
@auth.api_roles(*DEPOT_STAFF)
def post_return_repaired(path: RmaPath) -> Any:
    actor = auth.api_actor()
    return _step(lambda u: lifecycle.return_repaired(u, actor, path.number))


@api.post(
    "/rmas/<number>/loaner-back",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="The loaner came back to a depot, into quarantine (staff of that depot)",
)
@auth.api_roles(*DEPOT_STAFF)
def post_loaner_back(path: RmaPath, body: ReturnBody) -> Any:
    actor = auth.api_actor()

    def run(u: UnitOfWork) -> Rma:
        network.get_depot(u, body.depot)
        return lifecycle.loaner_back(u, actor, path.number, body.depot, body.serial)

    return _step(run)


@api.post(
    "/rmas/<number>/confirm-cause",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="The cause is confirmed: the escalation clock stops",
)
@auth.api_roles(*OPENERS)
def post_confirm_cause(path: RmaPath, body: ConfirmCauseBody) -> Any:
    actor = auth.api_actor()
    return _step(lambda u: lifecycle.confirm_cause(u, actor, path.number, body.cause))


@api.post(
    "/rmas/<number>/close",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="Close with the customer's signed verdict: rating 1-5, remarks, signer",
)
@auth.api_roles(*OPENERS)
def post_close(path: RmaPath, body: CloseBody) -> Any:
    actor = auth.api_actor()
    return _step(
        lambda u: lifecycle.close(u, actor, path.number, body.rating, body.remarks, body.signed_by)
    )


@api.post(
    "/rmas/<number>/cancel",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="Cancel an open RMA; stock it held is released",
)
@auth.api_roles(*OPENERS)
def post_cancel(path: RmaPath, body: CancelBody) -> Any:
    actor = auth.api_actor()
    return _step(lambda u: lifecycle.cancel(u, actor, path.number, body.reason))


# --- escalations ----------------------------------------------------------------------------


def _escalation(escalation: Escalation, rma: Rma, customer: Customer) -> dict[str, Any]:
    return EscalationOut(
        id=escalation.id or 0,
        rma=rma.number,
        rma_status=rma.status,
        kind=rma.kind,
        customer=_customer_ref(customer),
        step=escalation.step,
        fault_level=escalation.fault_level,
        notify_title=escalation.notify_title,
        notify_email=escalation.notify_email,
        support_hours=escalation.support_hours,
        due_at=escalation.due_at,
        raised_at=escalation.raised_at,
        acknowledged_by=escalation.acknowledged_by,
        acknowledged_at=escalation.acknowledged_at,
    ).model_dump()


@api.get(
    "/escalations",
    responses={200: EscalationList, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    summary="Escalations raised, longest-standing first (supervisors)",
)
@auth.api_roles(*SUPERVISORS)
def get_escalations(query: EscalationsQuery) -> Any:
    u = uow()
    rows = escalations.list_escalations(
        u, open_only=query.open, fault_level=query.fault_level, limit=query.limit
    )
    ctx = _context(u, [rma for _, rma in rows])
    return _json([_escalation(e, rma, ctx.customers[rma.customer_id]) for e, rma in rows])


@read_only
def _escalation_answer(uow: UnitOfWork, escalation: Escalation) -> dict[str, Any]:
    rma = uow.session.get(Rma, escalation.rma_id)
    assert rma is not None
    customer = uow.session.get(Customer, rma.customer_id)
    assert customer is not None
    return _escalation(escalation, rma, customer)


@api.post(
    "/escalations/<int:id>/acknowledge",
    responses={200: EscalationOut, **WRITE_ERRORS},
    summary="Take an escalation on (supervisors); recorded in the case history",
)
@auth.api_roles(*SUPERVISORS)
def post_acknowledge(path: IdPath) -> Any:
    actor = auth.api_actor()
    return answer_once(
        lambda u: (_escalation_answer(u, escalations.acknowledge(u, actor, path.id)), 200)
    )


# --- customers, sites, contracts, installed base --------------------------------------------


@api.get(
    "/customers",
    responses={200: CustomerList, 401: ErrorOut, 422: ErrorOut},
    summary="Customers by code; search by name",
)
@auth.api_roles(*READERS)
def get_customers(query: CustomersQuery) -> Any:
    found = customers.list_customers(uow(), search=query.search or None, limit=query.limit)
    return _json([_customer(c) for c in found])


@api.post(
    "/customers",
    responses={201: CustomerOut, **WRITE_ERRORS},
    summary="Add a customer (engineers, supervisors, planners)",
)
@auth.api_roles(*CUSTOMER_EDITORS)
def post_customer(body: CustomerBody) -> Any:
    actor = auth.api_actor()
    return answer_once(
        lambda u: (
            _customer(
                customers.create_customer(
                    u, actor, body.code, body.name, name_zh=body.name_zh, email=body.email
                )
            ),
            201,
        )
    )


@read_only
def _sites(uow: UnitOfWork, sites: list[Site]) -> list[dict[str, Any]]:
    ctx = _context(uow, sites=sites)
    return [_site(site, ctx.cities) for site in sites]


@api.get(
    "/sites",
    responses={200: SiteList, 401: ErrorOut, 422: ErrorOut},
    summary="Customers' sites with their cities",
)
@auth.api_roles(*READERS)
def get_sites(query: ByCustomerQuery) -> Any:
    u = uow()
    return _json(_sites(u, customers.list_sites(u, customer_id=query.customer_id)))


@api.post(
    "/sites",
    responses={201: SiteOut, **WRITE_ERRORS},
    summary="Add a site of a customer in a city (engineers, supervisors, planners)",
)
@auth.api_roles(*CUSTOMER_EDITORS)
def post_site(body: SiteBody) -> Any:
    actor = auth.api_actor()

    def work(u: UnitOfWork) -> tuple[Any, int]:
        site = customers.create_site(
            u,
            actor,
            body.customer_id,
            body.name,
            body.city,
            address=body.address,
            contact_name=body.contact_name,
            contact_phone=body.contact_phone,
            contact_email=body.contact_email,
        )
        return _sites(u, [site])[0], 201

    return answer_once(work)


@api.get(
    "/contracts",
    responses={200: ContractList, 401: ErrorOut, 422: ErrorOut},
    summary="Service contracts: coverage, dates and the services they include",
)
@auth.api_roles(*READERS)
def get_contracts(query: ByCustomerQuery) -> Any:
    found = customers.list_contracts(uow(), customer_id=query.customer_id)
    return _json([_contract(c) for c in found])


@api.post(
    "/contracts",
    responses={201: ContractOut, **WRITE_ERRORS},
    summary="Add a service contract (supervisors, planners)",
)
@auth.api_roles(*CONTRACT_EDITORS)
def post_contract(body: ContractBody) -> Any:
    actor = auth.api_actor()
    return answer_once(
        lambda u: (
            _contract(
                customers.create_contract(
                    u,
                    actor,
                    body.customer_id,
                    body.number,
                    body.coverage,
                    body.starts_on,
                    body.ends_on,
                    advance_replacement=body.advance_replacement,
                    repair=body.repair,
                    loaner=body.loaner,
                )
            ),
            201,
        )
    )


def _unit(unit: InstalledUnit, site: Site, customer: Customer, city: City) -> dict[str, Any]:
    return {
        "serial": unit.serial,
        "part_number": unit.part_number,
        "site_id": unit.site_id,
        "site_name": site.name,
        "customer": _customer_ref(customer),
        "city": _city(city),
        "contract_id": unit.contract_id,
        "shipped_on": unit.shipped_on,
        "warranty_end": unit.warranty_end,
        "phase": unit.phase,
        "active": unit.active,
    }


@read_only
def _units(uow: UnitOfWork, units: list[InstalledUnit]) -> list[dict[str, Any]]:
    sites = _by_id(uow, Site, [unit.site_id for unit in units])
    ctx = _context(uow, sites=sites.values())
    return [
        InstalledUnitOut.model_validate(
            _unit(
                unit,
                ctx.sites[unit.site_id],
                ctx.customers[ctx.sites[unit.site_id].customer_id],
                ctx.cities[ctx.sites[unit.site_id].city_id],
            )
        ).model_dump()
        for unit in units
    ]


@api.get(
    "/installed-units",
    responses={200: InstalledUnitList, 401: ErrorOut, 422: ErrorOut},
    summary="The installed base, by customer, site, or the start of the serial (q)",
)
@auth.api_roles(*READERS)
def get_installed_units(query: InstalledUnitsQuery) -> Any:
    u = uow()
    if query.q:
        # The search also matches part of the customer's name; it is narrowed by
        # customer and site here, so it reads more rows than it answers.
        found = [
            view.unit
            for view in customers.search_installed_units(u, query.q, limit=1000)
            if (query.customer_id is None or view.customer.id == query.customer_id)
            and (query.site_id is None or view.site.id == query.site_id)
        ][: query.limit]
    else:
        found = customers.list_installed_units(
            u, site_id=query.site_id, customer_id=query.customer_id, limit=query.limit
        )
    return _json(_units(u, found))


@api.post(
    "/installed-units",
    responses={201: InstalledUnitOut, **WRITE_ERRORS},
    summary="Record a unit installed at a customer's site (engineers, supervisors, planners)",
)
@auth.api_roles(*CUSTOMER_EDITORS)
def post_installed_unit(body: InstalledUnitBody) -> Any:
    actor = auth.api_actor()

    def work(u: UnitOfWork) -> tuple[Any, int]:
        unit = customers.create_installed_unit(
            u,
            actor,
            body.serial,
            body.part_number,
            body.site_id,
            body.shipped_on,
            body.warranty_end,
            phase=body.phase,
            contract_id=body.contract_id,
        )
        return _units(u, [unit])[0], 201

    return answer_once(work)


@read_only
def _unit_detail(uow: UnitOfWork, serial: str, fault_level: str | None) -> dict[str, Any]:
    found = customers.find_installed_unit(uow, serial)
    today = clock.local(clock.now()).date()
    body = _unit(found.unit, found.site, found.customer, found.city)
    body["entitlement"] = {
        kind.value: entitlement_rules.decide(
            uow, found.customer.id, found.unit, kind, today
        ).as_dict()
        for kind in Kind
    }
    body["open_rma"] = uow.session.scalar(
        select(Rma.number).where(Rma.serial == found.unit.serial, Rma.status.in_(OPEN_STATUSES))
    )
    body["replacement_preview"] = None
    if fault_level is not None:
        decision, options = allocation.preview(
            uow, found.unit.part_number, found.city.name, fault_level
        )
        body["replacement_preview"] = {
            "fault_level": fault_level,
            "due": decision.due,
            "depot": decision.depot,
            "part_number": options.part_at.get(decision.depot) if decision.depot else None,
            "service": decision.service,
            "ships_at": decision.ships_at,
            "promised_delivery": decision.promised_delivery,
            "cost": decision.cost,
            "at_risk": decision.at_risk,
            "backorder": decision.backorder,
            "alternatives": _decision_alternatives(decision, options.part_at),
        }
    return InstalledUnitDetailOut.model_validate(body).model_dump()


@api.get(
    "/installed-units/<serial>",
    responses={200: InstalledUnitDetailOut, **READ_ERRORS},
    summary="An installed unit with its entitlement for each kind of RMA today",
)
@auth.api_roles(*READERS)
def get_installed_unit(path: SerialPath, query: InstalledUnitQuery) -> Any:
    return _json(_unit_detail(uow(), path.serial, query.fault_level))


# --- the escalation ladder ----------------------------------------------------------------


def _ladder_step(step: EscalationStep) -> dict[str, Any]:
    return LadderStepOut(
        fault_level=step.fault_level,
        step=step.step,
        after_hours=step.after_hours,
        notify_title=step.notify_title,
        notify_email=step.notify_email,
    ).model_dump()


@api.get(
    "/escalation-ladder",
    responses={200: LadderOut, **READ_ERRORS},
    summary="Who is told after how many support hours, per fault level",
)
@auth.api_roles()
def get_ladder() -> Any:
    steps = escalations.list_ladder(uow())
    return [_ladder_step(step) for step in steps]


@api.put(
    "/escalation-ladder/<fault_level>/<int:step>",
    responses={200: LadderStepOut, **WRITE_ERRORS},
    summary="Change one rung of the escalation ladder (administrators)",
)
@auth.api_roles("admin")
def put_ladder_step(path: LadderStepPath, body: LadderStepBody) -> Any:
    actor = auth.api_actor()
    changed = escalations.update_step(
        uow(),
        actor,
        path.fault_level,
        path.step,
        after_hours=body.after_hours,
        notify_title=body.notify_title,
        notify_email=body.notify_email,
    )
    return _ladder_step(changed)
