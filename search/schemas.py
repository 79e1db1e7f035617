"""API models of the search: the query and the hits (labels in English)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, RootModel

from core.schemas import clean_text
from search.service.find import MAX_QUERY, PER_KIND

# The same values as search.service.find.KINDS, spelt out for the OpenAPI schema.
Kind = Literal["city", "customer", "site", "rma", "unit", "installed_unit", "part"]
MAX_LIMIT = 50


def _not_blank(value: str) -> str:
    text = clean_text(value)
    if not text:
        raise ValueError("must not be blank")
    return text


class SearchQuery(BaseModel):
    q: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_QUERY,
            description=(
                "what to find, taken literally (% _ \\ * are searched as themselves): an RMA "
                "number, a serial, a customer, site or city name in Chinese, English or pinyin "
                "(full or initials), a part number or words of its description"
            ),
            json_schema_extra={"example": "changsha"},
        ),
        AfterValidator(_not_blank),
    ]
    kind: Kind | None = Field(default=None, description="only hits of this kind")
    limit: int = Field(
        default=PER_KIND, ge=1, le=MAX_LIMIT, description="at most this many hits of each kind"
    )


class HitOut(BaseModel):
    kind: Kind
    label: str = Field(description="what was found, in English")
    url: str = Field(description="the page that shows it")


HitList = RootModel[list[HitOut]]
