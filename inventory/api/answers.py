"""What the inventory API's answers share: the roles that may read and move stock,
the error answers of writes, and the JSON of a stock row and of a movement with
the stock it left behind. Used by the route modules of ``inventory.api``."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app

from inventory.models import Movement
from inventory.schemas import ErrorOut, InsufficientOut, MovementOut
from inventory.service import queries

READERS: tuple[str, ...] = ()  # anyone signed in
STOCK_ROLES = ("depot_staff",)

WRITE_ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
MOVE_ERRORS: dict[int, Any] = {**WRITE_ERRORS, 409: InsufficientOut}


def stock_row_answer(row: queries.StockRow) -> dict[str, Any]:
    # Plain dicts, not a pydantic model per row: GET /stock returns thousands of rows.
    return {**row.__dict__, "on_hand": row.on_hand}


def stock_after(u: Any, depot: str, part_number: str) -> dict[str, Any] | None:
    rows = queries.stock(u, depot=depot, part_number=part_number, nonzero=False)
    return stock_row_answer(rows[0]) if rows else None


def movement_answer(u: Any, movement: Movement, depot: str, part_number: str) -> dict[str, Any]:
    return MovementOut(
        movement_id=movement.id or 0,
        kind=movement.kind,
        actor=movement.actor,
        reason=movement.reason,
        reference=movement.reference,
        at=movement.created_at,
        stock=stock_after(u, depot, part_number),
    ).model_dump()


def json_answer(body: Any, status: int = 200) -> Response:
    return current_app.response_class(
        current_app.json.dumps(body), status=status, mimetype="application/json"
    )
