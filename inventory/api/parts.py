"""The parts catalogue over JSON: search it, read a part with its supersession
chain, and add or replace parts (planners)."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import Tag

from core import auth
from core.errors import Invalid
from core.web import answer_once, uow
from inventory.api import api
from inventory.api.answers import READERS, WRITE_ERRORS, json_answer
from inventory.models import Part, PartIn
from inventory.schemas import (
    ErrorOut,
    PartBody,
    PartDetailOut,
    PartList,
    PartOut,
    PartPath,
    PartsQuery,
    PartUpdateBody,
)
from inventory.service import catalog

PARTS = Tag(name="parts", description="The parts catalogue and supersession")
CATALOGUE_ROLES = catalog.CATALOGUE_ROLES


def _part(part: Part) -> dict[str, Any]:
    return PartOut.model_validate(part, from_attributes=True).model_dump()


@api.get(
    "/parts",
    tags=[PARTS],
    responses={200: PartList, 401: ErrorOut, 422: ErrorOut},
    summary="Search the parts catalogue",
)
@auth.api_roles(*READERS)
def get_parts(query: PartsQuery) -> Any:
    parts = catalog.list_parts(
        uow(), search=query.search, family=query.family, limit=query.limit, offset=query.offset
    )
    return json_answer([_part(part) for part in parts])


@api.post(
    "/parts",
    tags=[PARTS],
    responses={201: PartOut, **WRITE_ERRORS, 409: ErrorOut},
    summary="Add a part to the catalogue (planners)",
)
@auth.api_roles(*CATALOGUE_ROLES)
def post_part(body: PartBody) -> Any:
    actor = auth.api_actor()
    return answer_once(lambda u: (_part(catalog.create_part(u, actor, body)), 201))


@api.get(
    "/parts/<part_number>",
    tags=[PARTS],
    responses={200: PartDetailOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="A part with its supersession chain and substitutes",
)
@auth.api_roles(*READERS)
def get_part(path: PartPath) -> Any:
    u = uow()
    part = catalog.get_part(u, path.part_number)
    found = catalog.supersession(u, part.part_number)
    # Through the documented model, so a field it promises cannot go missing.
    answer = PartDetailOut.model_validate(
        {
            **_part(part),
            "supersession_chain": found.chain,
            "substitutes": found.chain[1:],
            "supersedes": found.supersedes,
        }
    )
    return json_answer(answer.model_dump())


@api.put(
    "/parts/<part_number>",
    tags=[PARTS],
    responses={200: PartOut, **WRITE_ERRORS, 409: ErrorOut},
    summary="Replace a part's description, family, cost, supersession... (planners)",
)
@auth.api_roles(*CATALOGUE_ROLES)
def put_part(path: PartPath, body: PartUpdateBody) -> Any:
    actor = auth.api_actor()

    def work(u: Any) -> tuple[Any, int]:
        number = catalog.get_part(u, path.part_number).part_number
        if body.part_number is not None and body.part_number != number:
            raise Invalid(f"part_number {body.part_number} does not match the path ({number})")
        spec = PartIn.model_validate({**body.model_dump(), "part_number": number})
        return _part(catalog.update_part(u, actor, spec)), 200

    return answer_once(work)
