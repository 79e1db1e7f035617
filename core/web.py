"""What every blueprint shares: the request's unit of work, JSON answers, error pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request, url_for
from flask.json.provider import DefaultJSONProvider
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from core import clock, idempotency
from core.config import Settings
from core.db import UnitOfWork
from core.errors import DomainError, Invalid, http_answer
from core.i18n import gettext, lazy_gettext

ENGINE_KEY = "spares.engine"
SETTINGS_KEY = "spares.settings"

limiter = Limiter(key_func=get_remote_address, default_limits=[])


def uow() -> UnitOfWork:
    """A fresh unit of work on the application's engine."""
    return UnitOfWork(current_app.extensions[ENGINE_KEY])


def settings() -> Settings:
    return current_app.extensions[SETTINGS_KEY]


def is_api_request() -> bool:
    return request.path.startswith("/api/")


class SparesJSONProvider(DefaultJSONProvider):
    """Instants as ISO 8601 in Asia/Shanghai with their offset; money as numbers."""

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, datetime):
            return clock.local(o).isoformat()
        if isinstance(o, date):
            return o.isoformat()
        if isinstance(o, Decimal):
            return float(o)
        if isinstance(o, BaseModel):
            return o.model_dump()
        return DefaultJSONProvider.default(o)


def validation_error_answer(error: ValidationError) -> Any:
    """flask-openapi3's hook: a request the schema refuses is answered like any
    other ``Invalid`` (422, ``core.errors.ValidationErrorOut``)."""
    return _api_error(Invalid.from_validation(error))


def _api_error(error: DomainError) -> Response:
    body, status = http_answer(error)
    response = jsonify(body)
    response.status_code = status
    return response


# What a page says for an HTTP error raised without a message of its own (werkzeug's
# descriptions are English).
HTTP_ERROR_DETAILS: dict[int, Any] = {
    400: lazy_gettext("The request could not be understood. Go back and try again."),
    403: lazy_gettext("You do not have the rights to open this page."),
    404: lazy_gettext("There is no such page. The address may be mistyped or out of date."),
    405: lazy_gettext("This page cannot be used that way."),
    413: lazy_gettext("The upload is too large."),
    429: lazy_gettext("Too many attempts. Wait a minute and try again."),
}


def _page_detail(error: HTTPException) -> str:
    """The message of an HTTP error on a page: a view's own description as given,
    werkzeug's generic English one replaced by ours in the reader's language (and
    the rate limiter's and the CSRF check's, which are English too)."""
    if isinstance(error, CSRFError):
        return gettext(
            "The form was out of date or sent from elsewhere. Reload the page and try again."
        )
    if error.code == 429:
        return str(HTTP_ERROR_DETAILS[429])
    generic = type(error).description
    if error.description and error.description != generic:
        return error.description
    detail = HTTP_ERROR_DETAILS.get(error.code or 500)
    return str(detail) if detail is not None else gettext("Unexpected server error.")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> Any:
        if is_api_request():
            return _api_error(error)
        return render_template("error.html", status=error.status, detail=error.detail), error.status

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Any:
        status = error.code or 500
        if is_api_request() and status == Invalid.status:
            return _api_error(Invalid(error.description or "invalid request"))
        if is_api_request():
            body = {
                "error": (error.name or "error").lower().replace(" ", "_"),
                "detail": error.description or error.name,
            }
            response = jsonify(body)
            response.status_code = status
            if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
                response.headers["Allow"] = ", ".join(error.valid_methods)
            return response
        return render_template("error.html", status=status, detail=_page_detail(error)), status

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if is_api_request():
            return jsonify({"error": "internal", "detail": "unexpected server error"}), 500
        detail = gettext("Unexpected server error.")
        return render_template("error.html", status=500, detail=detail), 500


@dataclass(frozen=True)
class NavItem:
    label: Any  # a lazy string: translated when the page is rendered
    endpoint: str
    roles: tuple[str, ...] = ()  # empty: every signed-in user
    order: int = 100


NAVIGATION: list[NavItem] = []


def add_nav(label: Any, endpoint: str, *roles: str, order: int = 100) -> None:
    """Put a page in the top navigation for the given roles (admins see everything)."""
    if not any(item.endpoint == endpoint for item in NAVIGATION):
        NAVIGATION.append(NavItem(label=label, endpoint=endpoint, roles=roles, order=order))
        NAVIGATION.sort(key=lambda item: item.order)


def current_nav(items: list[NavItem], path: str, endpoint: str | None) -> str | None:
    """The one navigation item to highlight on ``path``: the item of the page itself,
    else the item whose address is the longest prefix of the path (``/transfers/12``
    lights "Transfers", never "Home" too), else none."""
    if any(item.endpoint == endpoint for item in items):
        return endpoint
    prefixes = [(url_for(item.endpoint).rstrip("/"), item.endpoint) for item in items]
    matches = [
        (len(href), endpoint)
        for href, endpoint in prefixes
        if href and (path == href or path.startswith(href + "/"))
    ]
    return max(matches)[1] if matches else None


def nav_for(role: str | None) -> list[NavItem]:
    if role is None:
        return []
    return [
        item
        for item in NAVIGATION
        if item.endpoint in current_app.view_functions
        and (not item.roles or role == "admin" or role in item.roles)
    ]


IDEMPOTENCY_HEADER = "Idempotency-Key"


def answer_once(work: Callable[[UnitOfWork], tuple[Any, int]]) -> Response:
    """Answer a POST by running ``work`` (returning body and status).

    With an ``Idempotency-Key`` header the use case runs at most once per key
    and user: a replay gets the first answer again (header
    ``Idempotent-Replayed: true``) and writes nothing new.
    """
    from core.auth import api_actor

    unit = uow()
    key = request.headers.get(IDEMPOTENCY_HEADER)

    def as_json(inner: UnitOfWork) -> tuple[int, str]:
        body, status = work(inner)
        return status, current_app.json.dumps(body)

    if key is None:
        status, text = as_json(unit)
        replayed = False
    else:
        answer = idempotency.run_once(
            unit,
            user_id=api_actor().id,
            key=key,
            request_fingerprint=idempotency.fingerprint(
                request.method, request.full_path, request.get_data()
            ),
            work=as_json,
        )
        status, text, replayed = answer.status, answer.body, answer.replayed
    response = current_app.response_class(text, status=status, mimetype="application/json")
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response
