"""Reservations over JSON: hold available good stock for an RMA, list holds,
release them, and pick reserved units off the shelf (depot staff)."""

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
    movement_answer,
)
from inventory.models import Reservation
from inventory.schemas import (
    ErrorOut,
    IdPath,
    PickBody,
    PickOut,
    ReleaseBody,
    ReservationBody,
    ReservationList,
    ReservationOut,
    ReservationsQuery,
)
from inventory.service import reservations

RESERVATIONS = Tag(name="reservations", description="Good stock held for RMAs")
RESERVING_ROLES = reservations.RESERVING_ROLES


def _reservation(reservation: Reservation) -> dict[str, Any]:
    return ReservationOut(
        id=reservation.id or 0,
        depot=reservation.depot_code,
        part_number=reservation.part_number,
        qty=reservation.qty,
        reference=reservation.reference,
        status=reservation.status,
        created_by=reservation.created_by,
        created_at=reservation.created_at,
        closed_at=reservation.closed_at,
    ).model_dump()


@api.post(
    "/reservations",
    tags=[RESERVATIONS],
    responses={201: ReservationOut, **MOVE_ERRORS},
    summary="Hold available good stock for an RMA; 409 when not enough is available",
)
@auth.api_roles(*RESERVING_ROLES)
def post_reservation(body: ReservationBody) -> Any:
    actor = auth.api_actor()

    def work(u: Any) -> tuple[Any, int]:
        reservation = reservations.reserve(
            u, actor, body.depot, body.part_number, body.qty, body.reference or ""
        )
        return _reservation(reservation), 201

    return answer_once(work)


@api.get(
    "/reservations",
    tags=[RESERVATIONS],
    responses={200: ReservationList, 401: ErrorOut, 422: ErrorOut},
    summary="Reservations by depot, reference and status",
)
@auth.api_roles(*READERS)
def get_reservations(query: ReservationsQuery) -> Any:
    found = reservations.list_reservations(
        uow(), depot=query.depot, reference=query.reference, status=query.status
    )
    return json_answer([_reservation(r) for r in found])


@api.post(
    "/reservations/<int:id>/release",
    tags=[RESERVATIONS],
    responses={200: ReservationOut, **WRITE_ERRORS},
    summary="Give reserved stock back to available (releasing twice is harmless)",
)
@auth.api_roles(*RESERVING_ROLES)
def release_reservation(path: IdPath, body: ReleaseBody) -> Any:
    actor = auth.api_actor()
    return answer_once(
        lambda u: (_reservation(reservations.release(u, actor, path.id, reason=body.reason)), 200)
    )


@api.post(
    "/reservations/<int:id>/pick",
    tags=[RESERVATIONS],
    responses={200: PickOut, **MOVE_ERRORS},
    summary="Take reserved units off the shelf to ship them to the customer (depot staff)",
)
@auth.api_roles(*STOCK_ROLES)
def pick_reservation(path: IdPath, body: PickBody) -> Any:
    actor = auth.api_actor()

    def work(u: Any) -> tuple[Any, int]:
        movement = reservations.pick(u, actor, path.id, body.serials)
        reservation = reservations.get_reservation(u, path.id)
        answer = {
            "reservation": _reservation(reservation),
            "movement": movement_answer(
                u, movement, reservation.depot_code, reservation.part_number
            ),
        }
        return answer, 200

    return answer_once(work)
