"""Domain errors and how they are answered, over HTTP and on the terminal.

Services raise these; ``api`` and ``cli`` never build error answers themselves.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel


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


class Invalid(DomainError):
    status = 422
    code = "invalid"
    exit_code = 2


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


class ErrorOut(BaseModel):
    """The JSON body of every 4xx/5xx answer, for the OpenAPI document."""

    error: str
    detail: str


def http_answer(error: DomainError) -> tuple[dict[str, Any], int]:
    """JSON body and status for an API client."""
    return error.to_json(), error.status


def cli_line(error: DomainError) -> str:
    """The one line a terminal user reads."""
    return f"error: {error.detail}"
