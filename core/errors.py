"""Domain errors and how they are answered, over HTTP and on the terminal.

Services raise these; ``api`` and ``cli`` never build error answers themselves.
Every refusal of input (a domain ``Invalid`` or a request the API schema
refuses) is answered in one shape, ``ValidationErrorOut``: ``error``, ``detail``
and ``fields``, each field naming what was wrong with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, ValidationError


class DomainError(Exception):
    """A use case refused: the message is for people, the code for programs."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "error"
    exit_code: ClassVar[int] = 1

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail, **self.extra}


@dataclass(frozen=True)
class FieldProblem:
    """What is wrong with one input: a field of a request (``lines.0.qty``), or a
    column of one line of an uploaded file (``line`` set, 1 is the header; an empty
    ``field`` is the whole line)."""

    field: str
    message: str
    line: int | None = None

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"field": self.field, "message": self.message}
        if self.line is not None:
            answer["line"] = self.line
        return answer

    def __str__(self) -> str:
        where = self.field if self.line is None else f"line {self.line} {self.field}".strip()
        return f"{where}: {self.message}" if where else self.message


class Invalid(DomainError):
    """Input that cannot be right. ``field`` names the one input at fault (pages put
    the message under it); ``fields`` lists every problem when there are several
    (a request's fields, an uploaded file's lines)."""

    status = 422
    code = "invalid"
    exit_code = 2

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        fields: Iterable[FieldProblem] = (),
        **extra: Any,
    ) -> None:
        if field is not None:
            extra["field"] = field
        super().__init__(detail, **extra)
        problems = tuple(fields)
        if not problems and field is not None:
            problems = (FieldProblem(field, detail),)
        self.fields: tuple[FieldProblem, ...] = problems

    def to_json(self) -> dict[str, Any]:
        # The one 422 shape (ValidationErrorOut); the service's other extras are for
        # pages and the terminal.
        return {
            "error": self.code,
            "detail": self.detail,
            "fields": [problem.as_json() for problem in self.fields],
        }

    @classmethod
    def from_validation(cls, error: ValidationError, *, line: int | None = None) -> Invalid:
        """A pydantic refusal as ``Invalid``: one problem per field, located by its
        dotted path (``lines.0.qty``; empty for the whole body)."""
        problems = [
            FieldProblem(
                ".".join(str(part) for part in item["loc"]),
                item["msg"],
                line,
            )
            for item in error.errors(include_url=False, include_input=False)
        ]
        return cls("; ".join(str(problem) for problem in problems), fields=problems)


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    exit_code = 5


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    exit_code = 5


class NotFound(DomainError):
    status = 404
    code = "not_found"
    exit_code = 3


class Conflict(DomainError):
    status = 409
    code = "conflict"
    exit_code = 4


class InsufficientStock(Conflict):
    code = "insufficient_stock"


class Contended(Conflict):
    """Rows the use case chose while reading were taken by another writer before it
    could lock them. Locking others instead, while holding these, would break the
    lock order (see ``inventory.service``), so the unit of work runs the whole use
    case again from the start; only after its last attempt does the user see this
    (409, "try again")."""

    code = "contended"


class ErrorOut(BaseModel):
    """The JSON body of every 4xx/5xx answer, for the OpenAPI document."""

    error: str = Field(description="a stable code for programs: not_found, conflict ...")
    detail: str = Field(description="what went wrong, for people")


class FieldProblemOut(BaseModel):
    field: str = Field(
        description="where: a dotted path into the request (lines.0.qty, or a query or "
        "path parameter's name), or an uploaded file's column; empty for the whole request "
        "or line"
    )
    message: str
    line: int | None = Field(
        default=None, description="uploaded files only: the line (1 is the header)"
    )


class ValidationErrorOut(ErrorOut):
    """Every 422 answer of the API: the request could not be right, nothing changed."""

    error: Literal["invalid"]
    fields: list[FieldProblemOut] = Field(
        description="each problem found; may be empty when the refusal is about the request "
        "as a whole"
    )


def http_answer(error: DomainError) -> tuple[dict[str, Any], int]:
    """JSON body and status for an API client."""
    return error.to_json(), error.status


def cli_line(error: DomainError) -> str:
    """The one line a terminal user reads."""
    return f"error: {error.detail}"
