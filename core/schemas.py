"""The building blocks of every domain's API models: JSON bodies that refuse
unknown fields, codes taken in any case and answered upper-case, text without
control characters, ids within what the databases hold, instants read by the one
rule of ``core.clock.read_instant``. Domain ``schemas`` modules compose their
request and response models from these."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from core import clock

MAX_ID = 2**31 - 1  # ids are 32-bit in PostgreSQL; larger ones cannot exist


def no_control_characters(value: str) -> str:
    # PostgreSQL refuses NUL in text; other control characters are never meant.
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters")
    return value


def upper_code(value: str) -> str:
    return value.strip().upper()


def clean_text(value: str) -> str:
    return no_control_characters(value.strip())


DepotCode = Annotated[
    str,
    Field(pattern=r"^\s*[A-Za-z]{2,4}\s*$", description="depot code, e.g. BJ", examples=["BJ"]),
    AfterValidator(upper_code),
]
PartNumber = Annotated[
    str,
    Field(
        pattern=r"^\s*[A-Za-z0-9][A-Za-z0-9._/+-]{1,39}\s*$",
        description="part number",
        examples=["SFP-10G-SR"],
    ),
    AfterValidator(upper_code),
]
Serial = Annotated[
    str,
    Field(
        pattern=r"^\s*[A-Za-z0-9][A-Za-z0-9._/-]{2,63}\s*$",
        description="serial number (3-64 letters, digits, . _ / -)",
    ),
    AfterValidator(upper_code),
]
Reference = Annotated[
    str,
    Field(max_length=60, description="what caused it: an RMA, a purchase order..."),
    AfterValidator(clean_text),
]
Reason = Annotated[str, Field(max_length=300), AfterValidator(clean_text)]
SearchText = Annotated[str, Field(max_length=100), AfterValidator(clean_text)]
PathText = Annotated[str, AfterValidator(no_control_characters)]


def _instant(value: Any) -> datetime:
    if not isinstance(value, str | datetime):
        raise ValueError("expected an ISO 8601 date and time, e.g. 2026-03-02T09:00:00+08:00")
    return clock.read_instant(value)


# Every instant a request carries: ISO 8601, without an offset Asia/Shanghai time,
# between the years 2000 and 2199 (``core.clock.read_instant``). Whether it may lie
# in the future is the use case's rule (a reported fault may not; a quote may).
Instant = Annotated[
    datetime,
    BeforeValidator(_instant),
    Field(
        description="ISO 8601, e.g. 2026-03-02T09:00:00+08:00; without an offset it is "
        "Asia/Shanghai time; years 2000-2199",
    ),
]

# Amounts are Decimal in the code and JSON numbers on the wire (core.web's JSON
# provider writes them so; numeric(12,2) values survive the trip exactly). Answers
# say so in the document; pydantic alone would document a Decimal as a string.
Money = Annotated[
    Decimal, WithJsonSchema({"type": "number", "description": "CNY, at most two decimals"})
]
Hours = Annotated[Decimal, WithJsonSchema({"type": "number", "description": "hours"})]


class Body(BaseModel):
    """A JSON request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class OptionalBody(Body):
    """A body the client may leave out entirely (no body = all defaults)."""

    model_config = ConfigDict(extra="forbid", openapi_extra={"required": False})  # type: ignore[typeddict-unknown-key]

    @model_validator(mode="before")
    @classmethod
    def _absent_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value
