"""The ledger, serialized units and bins over JSON: ledger entries page by page,
units by depot, part, condition and location, one unit's full history, moving a
unit to another bin and setting a part's default bin at a depot."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import Tag

from core import auth
from core.web import answer_once, uow
from inventory.api import api
from inventory.api.answers import READERS, WRITE_ERRORS, json_answer
from inventory.models import Unit
from inventory.schemas import (
    ErrorOut,
    LedgerPageOut,
    LedgerQuery,
    SerialPath,
    StockBinBody,
    StockBinOut,
    UnitBinBody,
    UnitDetailOut,
    UnitList,
    UnitOut,
    UnitsQuery,
)
from inventory.service import bins, queries

LEDGER = Tag(name="ledger", description="The append-only stock ledger and serialized units")
BIN_ROLES = ("depot_staff", "planner")


def _ledger_line(line: queries.LedgerLine) -> dict[str, Any]:
    return dict(line.__dict__)


def _unit(unit: Unit, default_bin: str | None = None) -> dict[str, Any]:
    on_shelf = unit.location == "depot"
    return {
        "serial": unit.serial,
        "part_number": unit.part_number,
        "condition": unit.condition,
        "location": unit.location,
        "depot": unit.depot_code,
        "bin": (unit.bin or default_bin) if on_shelf else None,
        "reservation_id": unit.reservation_id,
        "refurbished": unit.refurbished,
        "note": unit.note,
        "updated_at": unit.updated_at,
    }


@api.get(
    "/ledger",
    tags=[LEDGER],
    responses={200: LedgerPageOut, 401: ErrorOut, 422: ErrorOut},
    summary="Ledger entries, newest first; page with before_id",
)
@auth.api_roles(*READERS)
def get_ledger(query: LedgerQuery) -> Any:
    lines = queries.ledger_lines(
        uow(),
        depot=query.depot,
        part_number=query.part_number,
        serial=query.serial,
        reference=query.reference,
        before_id=query.before_id,
        limit=query.limit,
    )
    following = lines[-1].id if len(lines) == query.limit else None
    return json_answer(
        {"items": [_ledger_line(line) for line in lines], "next_before_id": following}
    )


@api.get(
    "/units",
    tags=[LEDGER],
    responses={200: UnitList, 401: ErrorOut, 422: ErrorOut},
    summary="Serialized units by depot, part, condition and location",
)
@auth.api_roles(*READERS)
def get_units(query: UnitsQuery) -> Any:
    found = queries.list_units(
        uow(),
        depot=query.depot,
        part_number=query.part_number,
        condition=query.condition,
        location=query.location,
        limit=query.limit,
        offset=query.offset,
    )
    defaults = bins.default_bins_of(uow(), [(u.depot_code or "", u.part_number) for u in found])
    return json_answer(
        [_unit(unit, defaults.get((unit.depot_code or "", unit.part_number))) for unit in found]
    )


@api.get(
    "/units/<serial>",
    tags=[LEDGER],
    responses={200: UnitDetailOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="A serialized unit and its full history, oldest first",
)
@auth.api_roles(*READERS)
def get_unit(path: SerialPath) -> Any:
    unit, history = queries.get_unit(uow(), path.serial)
    place = bins.where_is(uow(), unit.serial)
    return json_answer({**_unit(unit, place), "history": [_ledger_line(line) for line in history]})


@api.post(
    "/units/<serial>/bin",
    tags=[LEDGER],
    responses={200: UnitOut, **WRITE_ERRORS, 409: ErrorOut},
    summary="Move a unit on its depot's shelves to another bin (no stock changes; staff of "
    "its depot); 409 when it is not on a shelf",
)
@auth.api_roles(*BIN_ROLES)
def move_unit_to_bin(path: SerialPath, body: UnitBinBody) -> Any:
    actor = auth.api_actor()

    def work(u: Any) -> tuple[Any, int]:
        unit = bins.move_unit(u, actor, path.serial, body.bin)
        return _unit(unit, bins.where_is(u, unit.serial)), 200

    return answer_once(work)


@api.put(
    "/stock/bins",
    tags=[LEDGER],
    responses={200: StockBinOut, **WRITE_ERRORS},
    summary="Set (or with null clear) a part's default bin at a depot: where its stock and "
    "new units go (staff of the depot, planners)",
)
@auth.api_roles(*BIN_ROLES)
def put_stock_bin(body: StockBinBody) -> Any:
    actor = auth.api_actor()

    def work(u: Any) -> tuple[Any, int]:
        place = bins.set_default_bin(u, actor, body.depot, body.part_number, body.bin)
        return {"depot": body.depot, "part_number": body.part_number, "bin": place}, 200

    return answer_once(work)
