"""The ledger and serialized units over JSON: ledger entries page by page, units
by depot, part, condition and location, and one unit's full history."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import Tag

from core import auth
from core.web import uow
from inventory.api import api
from inventory.api.answers import READERS, json_answer
from inventory.models import Unit
from inventory.schemas import (
    ErrorOut,
    LedgerPageOut,
    LedgerQuery,
    SerialPath,
    UnitDetailOut,
    UnitList,
    UnitsQuery,
)
from inventory.service import queries

LEDGER = Tag(name="ledger", description="The append-only stock ledger and serialized units")


def _ledger_line(line: queries.LedgerLine) -> dict[str, Any]:
    return dict(line.__dict__)


def _unit(unit: Unit) -> dict[str, Any]:
    return {
        "serial": unit.serial,
        "part_number": unit.part_number,
        "condition": unit.condition,
        "location": unit.location,
        "depot": unit.depot_code,
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
    return json_answer([_unit(unit) for unit in found])


@api.get(
    "/units/<serial>",
    tags=[LEDGER],
    responses={200: UnitDetailOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="A serialized unit and its full history, oldest first",
)
@auth.api_roles(*READERS)
def get_unit(path: SerialPath) -> Any:
    unit, history = queries.get_unit(uow(), path.serial)
    return json_answer({**_unit(unit), "history": [_ledger_line(line) for line in history]})
