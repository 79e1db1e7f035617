"""Stock over JSON: stock per depot and part, and the moves that change one
depot's shelf (receipts, adjustments, scrap, condition changes, cycle counts;
depot staff)."""

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
    json_answer,
    movement_answer,
    stock_after,
    stock_row_answer,
)
from inventory.schemas import (
    AdjustmentBody,
    ConditionChangeBody,
    CountBody,
    CountOut,
    ErrorOut,
    MovementOut,
    ReceiptBody,
    ScrapBody,
    StockList,
    StockQuery,
)
from inventory.service import moves, queries

STOCK = Tag(name="stock", description="Stock per depot and the moves that change it")


@api.get(
    "/stock",
    tags=[STOCK],
    responses={200: StockList, 401: ErrorOut, 422: ErrorOut},
    summary="Stock per depot and part: each condition, reserved, available, in transit",
)
@auth.api_roles(*READERS)
def get_stock(query: StockQuery) -> Any:
    rows = queries.stock(
        uow(),
        depot=query.depot,
        part_number=query.part_number,
        condition=query.condition,
        search=query.search,
        family=query.family,
        nonzero=not query.include_empty,
        limit=query.limit,
        offset=query.offset,
    )
    return json_answer([stock_row_answer(row) for row in rows])


@api.post(
    "/stock/receipts",
    tags=[STOCK],
    responses={201: MovementOut, **MOVE_ERRORS},
    summary="Receive new good stock from the factory or a supplier (depot staff)",
)
@auth.api_roles(*STOCK_ROLES)
def post_receipt(body: ReceiptBody) -> Any:
    actor = auth.api_actor()

    def work(u: Any) -> tuple[Any, int]:
        movement = moves.receive(
            u,
            actor,
            body.depot,
            body.part_number,
            body.qty,
            body.serials,
            reference=body.reference,
            reason=body.reason,
            bin=body.bin,
            bins=body.bins,
        )
        return movement_answer(u, movement, body.depot, body.part_number), 201

    return answer_once(work)


@api.post(
    "/stock/adjustments",
    tags=[STOCK],
    responses={201: MovementOut, **MOVE_ERRORS},
    summary="Correct stock by a signed quantity, with a reason (depot staff)",
)
@auth.api_roles(*STOCK_ROLES)
def post_adjustment(body: AdjustmentBody) -> Any:
    actor = auth.api_actor()

    def work(u: Any) -> tuple[Any, int]:
        movement = moves.adjust(
            u,
            actor,
            body.depot,
            body.part_number,
            body.qty,
            body.reason,
            body.serials,
            condition=body.condition,
        )
        return movement_answer(u, movement, body.depot, body.part_number), 201

    return answer_once(work)


@api.post(
    "/stock/scrap",
    tags=[STOCK],
    responses={201: MovementOut, **MOVE_ERRORS},
    summary="Write off units that cannot be repaired (depot staff)",
)
@auth.api_roles(*STOCK_ROLES)
def post_scrap(body: ScrapBody) -> Any:
    actor = auth.api_actor()

    def work(u: Any) -> tuple[Any, int]:
        movement = moves.scrap(
            u,
            actor,
            body.depot,
            body.part_number,
            body.qty,
            body.reason,
            body.serials,
            condition=body.condition,
        )
        return movement_answer(u, movement, body.depot, body.part_number), 201

    return answer_once(work)


@api.post(
    "/stock/condition-changes",
    tags=[STOCK],
    responses={201: MovementOut, **MOVE_ERRORS},
    summary="Move units between conditions, e.g. defective -> in_repair -> good (depot staff)",
)
@auth.api_roles(*STOCK_ROLES)
def post_condition_change(body: ConditionChangeBody) -> Any:
    actor = auth.api_actor()

    def work(u: Any) -> tuple[Any, int]:
        movement = moves.change_condition(
            u,
            actor,
            body.depot,
            body.part_number,
            body.qty,
            body.from_condition,
            body.to_condition,
            body.serials,
            reason=body.reason,
            reference=body.reference,
        )
        return movement_answer(u, movement, body.depot, body.part_number), 201

    return answer_once(work)


@api.post(
    "/stock/counts",
    tags=[STOCK],
    responses={201: CountOut, **MOVE_ERRORS},
    summary="Record a cycle count; differences become adjustments (depot staff)",
)
@auth.api_roles(*STOCK_ROLES)
def post_count(body: CountBody) -> Any:
    actor = auth.api_actor()

    def work(u: Any) -> tuple[Any, int]:
        result = moves.count(
            u,
            actor,
            body.depot,
            body.part_number,
            body.counted,
            body.serials,
            condition=body.condition,
        )
        answer = CountOut(
            count_id=result.count_id,
            depot=body.depot,
            part_number=body.part_number,
            condition=body.condition,
            expected=result.expected,
            counted=result.counted,
            difference=result.counted - result.expected,
            movement_id=result.movement_id,
            missing=result.missing,
            found=result.found,
            stock=stock_after(u, body.depot, body.part_number),
        )
        return answer.model_dump(), 201

    return answer_once(work)
