"""The audit trail over JSON: read only, administrators only (there is no route that
writes it; the recorder does, inside every use case's own transaction)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import jsonify
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from core import auth
from core.audit import queries
from core.audit.models import MAX_ACTOR
from core.auth import Role
from core.errors import ErrorOut
from core.schemas import PathText
from core.web import uow

AUDIT = Tag(
    name="audit",
    description="Who changed which configuration, master data or state, when, from what "
    "to what, in which request. Append-only; administrators only.",
)
api = APIBlueprint("audit_api", __name__, url_prefix="/api/v1", abp_tags=[AUDIT])
MAX_AUDIT_ID = 2**63 - 1


class AuditQuery(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    entity: PathText | None = Field(
        default=None,
        max_length=250,
        description="a kind (lane, calendar, ladder_step, target, user, customer, contract, "
        "installed_unit, plan, dispatch, rma ...) or kind:key (rma:12, target:BJ/SFP-10G-SR)",
    )
    actor: PathText | None = Field(
        default=None, max_length=MAX_ACTOR, description="who acted: a username, cli:<login>"
    )
    start: PathText | None = Field(
        default=None,
        alias="from",
        max_length=40,
        description="from this day (Asia/Shanghai) or instant with offset, inclusive",
    )
    end: PathText | None = Field(
        default=None,
        alias="to",
        max_length=40,
        description="to this day (inclusive) or instant with offset (exclusive)",
    )
    before_id: int | None = Field(
        default=None, ge=1, le=MAX_AUDIT_ID, description="next page: entries older than this"
    )
    limit: int = Field(default=100, ge=1, le=1000)


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    entity: str = Field(description="the kind of thing changed")
    entity_key: str = Field(description="its id or key; '*' for a change of many at once")
    action: str = Field(description="create, update, delete, or a named step (approve ...)")
    before: dict[str, Any] | None = Field(description="changed columns' values before")
    after: dict[str, Any] | None = Field(description="changed columns' values after")
    request_id: str | None


class AuditPageOut(BaseModel):
    items: list[AuditEntryOut] = Field(description="newest first")
    next_before_id: int | None = Field(description="pass as before_id for the next page")


@api.get(
    "/audit",
    responses={200: AuditPageOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    security=[{"bearer": []}],
    summary="Audit entries, newest first, filtered by entity, actor and period; page with "
    "before_id (administrators only)",
)
@auth.api_roles(Role.ADMIN)
def get_audit(query: AuditQuery) -> Any:
    filters = queries.parse_filters(query.entity, query.actor, query.start, query.end)
    entries = queries.audit_entries(
        uow(), auth.api_actor(), filters, before_id=query.before_id, limit=query.limit
    )
    following = entries[-1].id if len(entries) == query.limit else None
    return jsonify(
        {"items": [queries.as_row(entry) for entry in entries], "next_before_id": following}
    )
