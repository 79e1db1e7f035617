"""API authentication: bearer tokens issued for a username and password."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, jsonify
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from core import auth
from core.errors import ErrorOut
from core.web import limiter, settings, uow

api = APIBlueprint("core_api", __name__, url_prefix="/api/v1", abp_tags=[Tag(name="auth")])


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    token: str
    expires_at: datetime
    username: str
    role: str
    depot: str | None


class MeOut(BaseModel):
    id: int
    username: str
    full_name: str
    role: str
    depot: str | None


@api.post(
    "/auth/token",
    responses={201: TokenOut, 401: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    summary="Exchange a username and password for a bearer token",
)
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])
def issue_token(body: Credentials) -> Any:
    actor = auth.authenticate(uow(), body.username, body.password)
    token, expires_at = auth.issue_token(uow(), actor, settings().token_ttl_hours)
    out = TokenOut(
        token=token,
        expires_at=expires_at,
        username=actor.username,
        role=actor.role,
        depot=actor.depot_code,
    )
    return jsonify(out.model_dump()), 201


@api.delete(
    "/auth/token",
    responses={204: None, 401: ErrorOut},
    security=[{"bearer": []}],
    summary="Revoke the bearer token used for this request",
)
@auth.api_roles()
def revoke_token() -> Any:
    token = auth.bearer_token()
    assert token is not None  # api_roles() has authenticated it
    auth.revoke_token(uow(), token)
    return "", 204


@api.get(
    "/auth/me",
    responses={200: MeOut, 401: ErrorOut},
    security=[{"bearer": []}],
    summary="Who the bearer token belongs to",
)
@auth.api_roles()
def me() -> Any:
    actor = auth.api_actor()
    return jsonify(
        MeOut(
            id=actor.id,
            username=actor.username,
            full_name=actor.full_name,
            role=actor.role,
            depot=actor.depot_code,
        ).model_dump()
    )
