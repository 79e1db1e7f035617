"""The API document: flask-openapi3 writes it from the routes' models; this module
adds what every route shares, so the document says what the server answers.

* Every 422 is ``ValidationErrorOut`` (``core.errors``), whatever a route declared;
  flask-openapi3 would otherwise document its own list of pydantic errors.
* Every route documents 400 (a request that cannot be read), a route with a body
  415 (a body of another media type), a route behind a token 401 and a route
  limited to some roles 403 (``core.auth.api_roles``), all as ``ErrorOut``.
* Amounts and the error shape are stated once, in the document's description.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flask_openapi3 import OpenAPI
from pydantic import BaseModel

from core.auth import required_roles
from core.errors import ErrorOut, ValidationErrorOut

REF = "#/components/schemas/{model}"
VALIDATION_ERROR_STATUS = "422"

CONVENTIONS = """

**Conventions.** Amounts of money (CNY) and hours are JSON numbers with at most two
decimals; requests may send them as numbers or as decimal strings ("12.50").
Instants are ISO 8601 and answered in Asia/Shanghai time with their offset.
Every error answer is `{"error": code, "detail": message}`; a 422 (input that cannot
be right, nothing changed) also lists `fields`, each `{"field", "message"}` and, for
an uploaded file, its `line`."""


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(mode="serialization", ref_template=REF)


def _answer(model: type[BaseModel], description: str) -> dict[str, Any]:
    ref = REF.format(model=model.__name__)
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


def _openapi_path(rule: str) -> str:
    """``/rmas/<number>`` and ``/transfers/<int:id>`` as the document writes them."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


class SparesOpenAPI(OpenAPI):
    """The application, whose OpenAPI document is completed by ``complete_document``."""

    def generate_spec_json(self) -> None:
        super().generate_spec_json()
        complete_document(self.spec_json, self.guards())

    def guards(self) -> dict[tuple[str, str], tuple[str, ...] | None]:
        """(path as documented, method in lower case) -> ``required_roles`` of its view."""
        return dict(self._guards())

    def _guards(self) -> Iterator[tuple[tuple[str, str], tuple[str, ...] | None]]:
        for rule in self.url_map.iter_rules():
            view = self.view_functions.get(rule.endpoint)
            for method in rule.methods or ():
                yield (_openapi_path(rule.rule), method.lower()), required_roles(view)


def complete_document(
    document: dict[str, Any], guards: dict[tuple[str, str], tuple[str, ...] | None]
) -> None:
    """Give every operation of ``document`` the error answers it shares with all
    others (see the module's notes); ``guards`` maps (path, method) to the roles the
    route is limited to."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    # flask-openapi3's own 422 model is replaced everywhere below.
    schemas.pop("ValidationErrorModel", None)
    for model in (ErrorOut, ValidationErrorOut):
        schema = _schema(model)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    document.setdefault("info", {})["description"] = (
        document["info"].get("description", "") + CONVENTIONS
    )
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            answers = operation.setdefault("responses", {})
            # Any request can be unreadable (core.hardening: a NUL in the path, query,
            # headers or an uploaded file), whatever the route.
            answers.setdefault("400", _answer(ErrorOut, "Bad Request: the request cannot be read"))
            answers[VALIDATION_ERROR_STATUS] = _answer(
                ValidationErrorOut, "Unprocessable Entity: input that cannot be right"
            )
            if "requestBody" in operation:
                # core.hardening refuses a body that is not what the route reads.
                answers.setdefault(
                    "415", _answer(ErrorOut, "Unsupported Media Type: the body must be JSON")
                )
            if operation.get("security"):
                answers.setdefault("401", _answer(ErrorOut, "Unauthorized"))
            if guards.get((path, method)):
                answers.setdefault("403", _answer(ErrorOut, "Forbidden"))
