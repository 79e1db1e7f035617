"""Escalations (taking them on, one rung or every rung of a case, with a note; the
history of what was taken on) and the escalation ladder."""

from __future__ import annotations

from typing import Any

from core import auth
from core.db import UnitOfWork, read_only
from core.web import answer_once, uow
from rma.api import api
from rma.api.answers import (
    READ_ERRORS,
    SUPERVISORS,
    WRITE_ERRORS,
    customer_ref,
    json_answer,
    load_context,
)
from rma.models import (
    Customer,
    Escalation,
    EscalationStep,
    Rma,
)
from rma.schemas import (
    AcknowledgeBody,
    AcknowledgedQuery,
    ErrorOut,
    EscalationList,
    EscalationOut,
    EscalationsQuery,
    IdPath,
    LadderOut,
    LadderStepBody,
    LadderStepOut,
    LadderStepPath,
    RmaPath,
)
from rma.service import acknowledgements, ladder

# --- escalations ----------------------------------------------------------------------------


def _escalation(escalation: Escalation, rma: Rma, customer: Customer) -> dict[str, Any]:
    return EscalationOut(
        id=escalation.id or 0,
        rma=rma.number,
        rma_status=rma.status,
        kind=rma.kind,
        customer=customer_ref(customer),
        step=escalation.step,
        fault_level=escalation.fault_level,
        notify_title=escalation.notify_title,
        notify_email=escalation.notify_email,
        support_hours=escalation.support_hours,
        due_at=escalation.due_at,
        raised_at=escalation.raised_at,
        acknowledged_by=escalation.acknowledged_by,
        acknowledged_at=escalation.acknowledged_at,
        acknowledge_note=escalation.acknowledge_note,
    ).model_dump()


@api.get(
    "/escalations",
    responses={200: EscalationList, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    summary="Escalations raised, longest-standing first (supervisors)",
)
@auth.api_roles(*SUPERVISORS)
def get_escalations(query: EscalationsQuery) -> Any:
    u = uow()
    rows = acknowledgements.list_escalations(
        u, open_only=query.open, fault_level=query.fault_level, limit=query.limit
    )
    ctx = load_context(u, [rma for _, rma in rows])
    return json_answer([_escalation(e, rma, ctx.customers[rma.customer_id]) for e, rma in rows])


@api.get(
    "/escalations/acknowledged",
    responses={200: EscalationList, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    summary="What was taken on: acknowledged escalations, by whom, when, with the note; "
    "the latest first (supervisors)",
)
@auth.api_roles(*SUPERVISORS)
def get_acknowledged(query: AcknowledgedQuery) -> Any:
    rows = acknowledgements.list_acknowledged(
        uow(),
        fault_level=query.fault_level,
        by=query.by,
        since=query.since,
        limit=query.limit,
        offset=query.offset,
    )
    return json_answer([_escalation(row.escalation, row.rma, row.customer) for row in rows])


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
    summary="Take an escalation on, with an optional note (supervisors); recorded in the "
    "case history. 409 when it was already taken on",
)
@auth.api_roles(*SUPERVISORS)
def post_acknowledge(path: IdPath, body: AcknowledgeBody) -> Any:
    actor = auth.api_actor()
    return answer_once(
        lambda u: (
            _escalation_answer(u, acknowledgements.acknowledge(u, actor, path.id, body.note)),
            200,
        )
    )


@api.post(
    "/rmas/<number>/escalations/acknowledge",
    responses={200: EscalationList, **WRITE_ERRORS},
    summary="Take on every escalation of a case still waiting, with one note (supervisors); "
    "409 when none is waiting",
)
@auth.api_roles(*SUPERVISORS)
def post_acknowledge_case(path: RmaPath, body: AcknowledgeBody) -> Any:
    actor = auth.api_actor()

    def run(u: UnitOfWork) -> tuple[list[dict[str, Any]], int]:
        done = acknowledgements.acknowledge_case(u, actor, path.number, body.note)
        return [_escalation_answer(u, escalation) for escalation in done], 200

    return answer_once(run)


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
    steps = ladder.list_ladder(uow())
    return [_ladder_step(step) for step in steps]


@api.put(
    "/escalation-ladder/<fault_level>/<int:step>",
    responses={200: LadderStepOut, **WRITE_ERRORS},
    summary="Change one rung of the escalation ladder (administrators)",
)
@auth.api_roles("admin")
def put_ladder_step(path: LadderStepPath, body: LadderStepBody) -> Any:
    actor = auth.api_actor()
    changed = ladder.update_step(
        uow(),
        actor,
        path.fault_level,
        path.step,
        after_hours=body.after_hours,
        notify_title=body.notify_title,
        notify_email=body.notify_email,
    )
    return _ladder_step(changed)
