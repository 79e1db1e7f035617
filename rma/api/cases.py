"""RMAs: open one, list and read them, take them through their steps, print the
service record."""

from __future__ import annotations

from typing import Any

from flask import Response

from core import auth, clock
from core.db import UnitOfWork, read_only
from core.web import answer_once, uow
from depots.models import City
from depots.service import network
from inventory.models import Part
from rma.api import api
from rma.api.answers import (
    DELIVERY_REPORTERS,
    DEPOT_STAFF,
    OPENERS,
    PDF_RESPONSE,
    READ_ERRORS,
    READERS,
    SUPERVISORS,
    WRITE_ERRORS,
    json_answer,
    load_context,
    open_and_answer,
    rma_answer,
    rma_detail,
    step_answer,
)
from rma.documents import render_service_record
from rma.models import (
    Contract,
    Rma,
)
from rma.schemas import (
    ApproveBody,
    CancelBody,
    CloseBody,
    ConfirmCauseBody,
    DefectiveReturnBody,
    DeliverBody,
    OpenRmaBody,
    ReturnBody,
    RmaDetailOut,
    RmaList,
    RmaOut,
    RmaPath,
    RmaShipBody,
    RmasQuery,
)
from rma.service import lifecycle, queries, returns
from rma.service.opening import OpenRequest
from rma.service.queries import RmaView

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
    return answer_once(lambda u: (open_and_answer(u, actor, request), 201))


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
                return json_answer([])
            depot = actor.depot_code
        else:
            reported_by = actor.username
    u = uow()
    rmas = queries.list_rmas(
        u,
        status=query.status,
        depot=depot,
        fault_level=query.fault_level,
        reported_by=reported_by,
        open_only=query.open,
        limit=query.limit,
        offset=query.offset,
    )
    ctx = load_context(u, rmas)
    now = clock.now()
    return json_answer(
        [RmaOut.model_validate(rma_answer(rma, ctx, now)).model_dump() for rma in rmas]
    )


@api.get(
    "/rmas/<number>",
    responses={200: RmaDetailOut, **READ_ERRORS},
    summary="One RMA with its due times, allocation, history and escalations",
)
@auth.api_roles(*READERS)
def get_rma(path: RmaPath) -> Any:
    return json_answer(rma_detail(uow(), path.number))


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
    view: RmaView = queries.get_rma(uow, number)
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
    summary="Approve a billable RMA (supervisors) at the price of its approval_quote, "
    'confirmed explicitly ("confirm": true), with a comment for the history; '
    "replacements are then allocated",
)
@auth.api_roles(*SUPERVISORS)
def post_approve(path: RmaPath, body: ApproveBody) -> Any:
    actor = auth.api_actor()
    return step_answer(
        lambda u: lifecycle.approve(
            u,
            actor,
            path.number,
            comment=body.comment,
            confirmed_charge=body.confirmed_charge,
        )
    )


@api.post(
    "/rmas/<number>/allocate",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="Retry the allocation of a backordered replacement (stock may have arrived)",
)
@auth.api_roles(auth.Role.ENGINEER, auth.Role.SUPERVISOR, auth.Role.PLANNER)
def post_allocate(path: RmaPath) -> Any:
    actor = auth.api_actor()
    return step_answer(lambda u: lifecycle.allocate_again(u, actor, path.number))


@api.post(
    "/rmas/<number>/ship",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="Ship the reserved unit with its scanned serial (staff of the allocated depot)",
)
@auth.api_roles(*DEPOT_STAFF)
def post_ship(path: RmaPath, body: RmaShipBody) -> Any:
    actor = auth.api_actor()
    return step_answer(lambda u: lifecycle.ship(u, actor, path.number, body.serial))


@api.post(
    "/rmas/<number>/deliver",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="The unit reached the customer (delivered_at with offset, default now)",
)
@auth.api_roles(*DELIVERY_REPORTERS)
def post_deliver(path: RmaPath, body: DeliverBody) -> Any:
    actor = auth.api_actor()
    return step_answer(lambda u: lifecycle.deliver(u, actor, path.number, body.delivered_at))


@api.post(
    "/rmas/<number>/receive-defective",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="The customer's unit arrived at a depot (staff of that depot)",
)
@auth.api_roles(*DEPOT_STAFF)
def post_receive_defective(path: RmaPath, body: DefectiveReturnBody) -> Any:
    actor = auth.api_actor()

    def run(u: UnitOfWork) -> Rma:
        network.get_depot(u, body.depot)  # an unknown depot is 404, not a broken reference
        return returns.receive_defective(
            u, actor, path.number, body.depot, body.serial, body.finding
        )

    return step_answer(run)


@api.post(
    "/rmas/<number>/start-repair",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="Repair starts (staff of the receiving depot)",
)
@auth.api_roles(*DEPOT_STAFF)
def post_start_repair(path: RmaPath) -> Any:
    actor = auth.api_actor()
    return step_answer(lambda u: returns.start_repair(u, actor, path.number))


@api.post(
    "/rmas/<number>/finish-repair",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="Repair done (staff of the receiving depot)",
)
@auth.api_roles(*DEPOT_STAFF)
def post_finish_repair(path: RmaPath) -> Any:
    actor = auth.api_actor()
    return step_answer(lambda u: returns.finish_repair(u, actor, path.number))


@api.post(
    "/rmas/<number>/return-repaired",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="The repaired unit is sent back to the customer (staff of the receiving depot)",
)
@auth.api_roles(*DEPOT_STAFF)
def post_return_repaired(path: RmaPath) -> Any:
    actor = auth.api_actor()
    return step_answer(lambda u: returns.return_repaired(u, actor, path.number))


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
        return returns.loaner_back(u, actor, path.number, body.depot, body.serial)

    return step_answer(run)


@api.post(
    "/rmas/<number>/confirm-cause",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="The cause is confirmed: the escalation clock stops",
)
@auth.api_roles(*OPENERS)
def post_confirm_cause(path: RmaPath, body: ConfirmCauseBody) -> Any:
    actor = auth.api_actor()
    return step_answer(lambda u: lifecycle.confirm_cause(u, actor, path.number, body.cause))


@api.post(
    "/rmas/<number>/close",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="Close with the customer's signed verdict: rating 1-5, remarks, signer",
)
@auth.api_roles(*OPENERS)
def post_close(path: RmaPath, body: CloseBody) -> Any:
    actor = auth.api_actor()
    return step_answer(
        lambda u: lifecycle.close(u, actor, path.number, body.rating, body.remarks, body.signed_by)
    )


@api.post(
    "/rmas/<number>/cancel",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="Cancel an open RMA: before shipping its held stock is released; after "
    "shipping it turns `returning` until the shipped unit is received back",
)
@auth.api_roles(*OPENERS)
def post_cancel(path: RmaPath, body: CancelBody) -> Any:
    actor = auth.api_actor()
    return step_answer(lambda u: lifecycle.cancel(u, actor, path.number, body.reason))


@api.post(
    "/rmas/<number>/receive-replacement-back",
    responses={200: RmaDetailOut, **WRITE_ERRORS},
    summary="The unit shipped on a case cancelled after shipping is back at a depot, into "
    "quarantine; the case ends cancelled (staff of that depot)",
)
@auth.api_roles(*DEPOT_STAFF)
def post_receive_replacement_back(path: RmaPath, body: ReturnBody) -> Any:
    actor = auth.api_actor()

    def run(u: UnitOfWork) -> Rma:
        network.get_depot(u, body.depot)
        return returns.receive_replacement_back(u, actor, path.number, body.depot, body.serial)

    return step_answer(run)
