"""JSON API of the search: ``GET /api/v1/search?q=`` answers the hits, in English.

Any signed-in role may search (bearer token). An empty, blank or over-long ``q``
answers 422 with the field named, like every other validation error.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag

from core import auth
from core.errors import ErrorOut
from core.web import uow
from search.links import url_of
from search.schemas import HitList, HitOut, SearchQuery
from search.service import find

api = APIBlueprint(
    "search_api",
    __name__,
    url_prefix="/api/v1",
    abp_security=[{"bearer": []}],
    abp_tags=[Tag(name="search", description="Find RMAs, units, customers, sites, cities, parts")],
)


@api.get(
    "/search",
    responses={200: HitList, 401: ErrorOut, 422: ErrorOut},
    summary="Find anything: RMAs, units, customers, sites, cities and parts",
)
@auth.api_roles()
def get_search(query: SearchQuery) -> Any:
    """Hits grouped by kind (RMAs, stock units, installed units, customers, sites,
    cities, parts), at most ``limit`` of each; a city found brings its customers,
    sites and open cases."""
    results = find.find(uow(), query.q, kind=query.kind, paging=find.first_page(query.limit))
    hits = [
        HitOut(kind=hit.kind, label=hit.english_label(), url=url_of(hit.link)).model_dump()  # type: ignore[arg-type]
        for hit in results.hits()
    ]
    return current_app.response_class(
        current_app.json.dumps(hits), status=200, mimetype="application/json"
    )
