"""Transfers between depots over JSON: draft, list and read them, ship from the
source, receive at the destination (what arrived, or the confirmation that all
did), receive a late parcel or write off what is still missing, decide the
extras that arrived, cancel a draft."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import Tag

from core import auth
from core.web import answer_once, uow
from inventory.api import api
from inventory.api.answers import (
    MOVE_ERRORS,
    READERS,
    STOCK_ROLES,
    WRITE_ERRORS,
    json_answer,
)
from inventory.schemas import (
    DecisionBody,
    DiscrepancyPath,
    ErrorOut,
    IdPath,
    LateParcelBody,
    ReceiveBody,
    TransferBody,
    TransferList,
    TransferOut,
    TransferShipBody,
    TransfersQuery,
    WriteOffBody,
)
from inventory.service import receipts, shortfalls, transfers
from inventory.service.receipts import Decision, ReceivedLine
from inventory.service.transfers import LineIn, TransferView

TRANSFERS = Tag(name="transfers", description="Stock moving between depots")
TRANSFER_PLANNERS = transfers.PLANNING_ROLES


def _transfer(found: TransferView) -> dict[str, Any]:
    t = found.transfer
    return TransferOut(
        id=t.id or 0,
        code=transfers.transfer_code(t.id or 0),
        from_depot=t.from_depot,
        to_depot=t.to_depot,
        status=t.status,
        note=t.note,
        reference=t.reference,
        created_by=t.created_by,
        created_at=t.created_at,
        shipped_by=t.shipped_by,
        shipped_at=t.shipped_at,
        received_by=t.received_by,
        received_at=t.received_at,
        lines=[line.model_dump() for line in found.lines],
        serials=[serial.model_dump() for serial in found.serials],
        discrepancies=[
            {
                **d.model_dump(),
                "awaiting_decision": receipts.awaits_decision(d),
                "awaiting_arrival": receipts.awaits_arrival(d, t),
            }
            for d in found.discrepancies
        ],
    ).model_dump()


@api.post(
    "/transfers",
    tags=[TRANSFERS],
    responses={201: TransferOut, **WRITE_ERRORS},
    summary="Draft a transfer between two depots (planners, staff of either depot)",
)
@auth.api_roles(*TRANSFER_PLANNERS)
def post_transfer(body: TransferBody) -> Any:
    actor = auth.api_actor()
    lines = [LineIn(line.part_number, line.qty) for line in body.lines]

    def work(u: Any) -> tuple[Any, int]:
        found = transfers.create_transfer(
            u,
            actor,
            body.from_depot,
            body.to_depot,
            lines,
            note=body.note,
            reference=body.reference,
        )
        return _transfer(found), 201

    return answer_once(work)


@api.get(
    "/transfers",
    tags=[TRANSFERS],
    responses={200: TransferList, 401: ErrorOut, 422: ErrorOut},
    summary="Transfers, newest first, by status and depot (from or to)",
)
@auth.api_roles(*READERS)
def get_transfers(query: TransfersQuery) -> Any:
    found = transfers.list_transfers(
        uow(), status=query.status, depot=query.depot, limit=query.limit
    )
    return json_answer([_transfer(t) for t in found])


@api.get(
    "/transfers/<int:id>",
    tags=[TRANSFERS],
    responses={200: TransferOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="A transfer with its lines, serials and discrepancies",
)
@auth.api_roles(*READERS)
def get_transfer(path: IdPath) -> Any:
    return json_answer(_transfer(transfers.get_transfer(uow(), path.id)))


@api.post(
    "/transfers/<int:id>/ship",
    tags=[TRANSFERS],
    responses={200: TransferOut, **MOVE_ERRORS},
    summary="Ship a draft: stock goes in transit; 409 and nothing moves if any line is short "
    "(source depot staff)",
)
@auth.api_roles(*STOCK_ROLES)
def ship_transfer(path: IdPath, body: TransferShipBody) -> Any:
    actor = auth.api_actor()
    serials = dict(body.serials) or None
    return answer_once(
        lambda u: (_transfer(transfers.ship_transfer(u, actor, path.id, serials)), 200)
    )


@api.post(
    "/transfers/<int:id>/receive",
    tags=[TRANSFERS],
    responses={200: TransferOut, **MOVE_ERRORS},
    summary="Receive a shipped transfer: list what arrived, or confirm as_shipped (422 "
    "without either); shortfalls stay in transit (partially_received), extras wait in "
    "quarantine for a decision; 409 for a serial held elsewhere (destination depot staff)",
)
@auth.api_roles(*STOCK_ROLES)
def receive_transfer(path: IdPath, body: ReceiveBody) -> Any:
    actor = auth.api_actor()
    received = _received(body.lines)
    return answer_once(
        lambda u: (
            _transfer(
                receipts.receive_transfer(u, actor, path.id, received, as_shipped=body.as_shipped)
            ),
            200,
        )
    )


def _received(lines: list[Any] | None) -> list[ReceivedLine] | None:
    if lines is None:
        return None
    return [ReceivedLine(line.part_number, line.qty, line.serials) for line in lines]


@api.post(
    "/transfers/<int:id>/late-parcels",
    tags=[TRANSFERS],
    responses={200: TransferOut, **MOVE_ERRORS},
    summary="Receive a late parcel against a partially received transfer: its missing "
    "serials or quantities move from in transit to good stock and their shortfalls are "
    "resolved arrived; list what arrived, or confirm all_missing (destination depot staff)",
)
@auth.api_roles(*STOCK_ROLES)
def receive_late_parcel(path: IdPath, body: LateParcelBody) -> Any:
    actor = auth.api_actor()
    received = _received(body.lines)
    return answer_once(
        lambda u: (
            _transfer(
                shortfalls.receive_late_parcel(
                    u, actor, path.id, received, all_missing=body.all_missing
                )
            ),
            200,
        )
    )


@api.post(
    "/transfers/<int:id>/write-off",
    tags=[TRANSFERS],
    responses={200: TransferOut, **MOVE_ERRORS},
    summary="Write off what a partially received transfer is still missing, with a reason: "
    "out of the books, serials missing; the transfer ends received (destination depot staff)",
)
@auth.api_roles(*STOCK_ROLES)
def write_off_shortfall(path: IdPath, body: WriteOffBody) -> Any:
    actor = auth.api_actor()
    return answer_once(
        lambda u: (
            _transfer(shortfalls.write_off_shortfall(u, actor, path.id, body.reason)),
            200,
        )
    )


def _decide(path: DiscrepancyPath, body: DecisionBody, decision: Decision) -> Any:
    actor = auth.api_actor()
    return answer_once(
        lambda u: (
            _transfer(
                receipts.resolve_discrepancy(
                    u,
                    actor,
                    path.discrepancy_id,
                    decision,
                    transfer_id=path.id,
                    reason=body.reason,
                )
            ),
            200,
        )
    )


@api.post(
    "/transfers/<int:id>/discrepancies/<int:discrepancy_id>/accept",
    tags=[TRANSFERS],
    responses={200: TransferOut, **MOVE_ERRORS},
    summary="Accept an extra after inspection: quarantine -> good stock; 409 if it is not "
    "an extra waiting for a decision (receiving depot staff)",
)
@auth.api_roles(*STOCK_ROLES)
def accept_extra(path: DiscrepancyPath, body: DecisionBody) -> Any:
    return _decide(path, body, Decision.ACCEPT)


@api.post(
    "/transfers/<int:id>/discrepancies/<int:discrepancy_id>/send-back",
    tags=[TRANSFERS],
    responses={200: TransferOut, **MOVE_ERRORS},
    summary="Send an extra back to its sender: quarantine -> out of our books; 409 if it "
    "is not an extra waiting for a decision (receiving depot staff)",
)
@auth.api_roles(*STOCK_ROLES)
def send_back_extra(path: DiscrepancyPath, body: DecisionBody) -> Any:
    return _decide(path, body, Decision.SEND_BACK)


@api.post(
    "/transfers/<int:id>/cancel",
    tags=[TRANSFERS],
    responses={200: TransferOut, **WRITE_ERRORS, 409: ErrorOut},
    summary="Cancel a draft transfer",
)
@auth.api_roles(*TRANSFER_PLANNERS)
def cancel_transfer(path: IdPath) -> Any:
    actor = auth.api_actor()
    return answer_once(lambda u: (_transfer(transfers.cancel_transfer(u, actor, path.id)), 200))
