"""What the planners' pages share: the signed-in actor, the depot and part lists of
their forms, reading numbers typed into a form, and showing a refused form again."""

from __future__ import annotations

import re
from typing import Any

from flask import render_template
from flask_login import current_user

from core import auth
from core.errors import DomainError, Invalid
from core.i18n import gettext
from core.web import uow
from depots.service import network
from inventory.service import catalog

PART_SUGGESTIONS = 300


def actor() -> auth.Actor:
    """The signed-in actor itself (services are given values, not request proxies)."""
    return current_user._get_current_object()  # type: ignore[attr-defined, no-any-return]


def depots() -> list[network.DepotInfo]:
    return network.list_depots(uow())


def part_numbers() -> list[str]:
    """Part numbers offered while typing (the first ones of the catalogue)."""
    return [p.part_number for p in catalog.list_parts(uow(), limit=PART_SUGGESTIONS)]


def number(raw: str | None, label: str, field: str, *, whole: bool = False) -> float | None:
    """A number typed into a form (blank: ``None``); ``Invalid`` naming the field
    (``label``, already in the reader's language) otherwise."""
    value = (raw or "").strip().replace(",", ".")
    if not value:
        return None
    pattern = r"\d{1,9}" if whole else r"\d{1,9}(\.\d{1,6})?|\.\d{1,6}"
    if not re.fullmatch(pattern, value):
        if whole:
            detail = gettext("%(field)s: %(value)r is not a whole number", field=label, value=value)
        else:
            detail = gettext("%(field)s: %(value)r is not a number", field=label, value=value)
        raise Invalid(detail, field=field)
    return float(value)


def failed(template: str, error: DomainError, **context: Any) -> Any:
    """The page again with the error; the answer's status is the error's (4xx)."""
    return (
        render_template(
            template, error=error.detail, error_field=error.extra.get("field"), **context
        ),
        error.status,
    )
