"""The administrators' audit page: entries filtered by entity, actor and period,
paginated and sorted on the server, and the filtered selection as CSV."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, render_template, request, stream_with_context

from core import auth
from core.audit import labels, queries
from core.auth import Role
from core.errors import Invalid
from core.i18n import lazy_gettext
from core.pagination import Page, PageRequest
from core.views.forms import signed_in_actor
from core.web import add_nav, uow

views = Blueprint("audit", __name__)

add_nav(lazy_gettext("Audit"), "audit.audit", Role.ADMIN, order=96)

FILTERS = ("entity", "key", "actor", "from", "to")


def _filter_args() -> dict[str, str]:
    return {name: request.args.get(name, "")[:250] for name in FILTERS}


def _filters(args: dict[str, str]) -> queries.AuditFilters:
    entity = args["entity"].strip()
    key = args["key"].strip()
    return queries.parse_filters(
        f"{entity}:{key}" if entity and key else entity, args["actor"], args["from"], args["to"]
    )


def _values_text(values: dict[str, Any] | None) -> str:
    """Before or after values as JSON, Chinese shown as written."""
    return "" if values is None else json.dumps(values, ensure_ascii=False, sort_keys=True)


@views.route("/audit")
@auth.page_roles(Role.ADMIN)
def audit() -> Any:
    args = _filter_args()
    page_request = PageRequest.from_args(
        request.args, sorts=queries.SORTS, default_sort="at", descending=True
    )
    error: Invalid | None = None
    try:
        page = queries.audit_page(uow(), signed_in_actor(), _filters(args), page_request)
    except Invalid as refused:
        error, page = refused, Page([], 0, page_request)
    html = render_template(
        "core/audit.html",
        page=page,
        filters=args,
        args={name: value for name, value in args.items() if value},
        error=error,
        kinds=[(kind, labels.entity_label(kind)) for kind in queries.ENTITY_KINDS],
        entity_label=labels.entity_label,
        action_label=labels.action_label,
        values_text=_values_text,
    )
    return (html, error.status) if error is not None else html


@views.route("/audit.csv")
@auth.page_roles(Role.ADMIN)
def audit_csv() -> Any:
    args = _filter_args()
    try:
        filters = _filters(args)
    except Invalid as error:
        return render_template("error.html", status=error.status, detail=error.detail), 422
    actor = signed_in_actor()
    body = queries.entries_csv(uow(), actor, filters)
    response = Response(stream_with_context(body), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response
