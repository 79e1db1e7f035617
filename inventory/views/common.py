"""What every inventory page shares: who may see and do what, the signed-in
actor and the depots they may look at or act for, and reading typed fields
(whole numbers, scanned serials, references) and showing a refused form again."""

from __future__ import annotations

import re
from typing import Any

from flask import render_template
from flask_login import current_user

from core import auth
from core.auth import Role
from core.errors import DomainError, Invalid
from core.web import uow
from depots.service import network
from inventory.service import catalog

STAFF = Role.DEPOT_STAFF.value
# Who may read stock, units and ledgers (admins pass every check).
VIEWERS = (STAFF, Role.PLANNER.value, Role.ENGINEER.value, Role.SUPERVISOR.value)
TRANSFER_ROLES = (STAFF, Role.PLANNER.value)
IMPORTERS = (Role.PLANNER.value,)

PART_SUGGESTIONS = 300
MAX_REFERENCE = 60


def current_actor() -> auth.Actor:
    """The signed-in actor itself (services are given values, not request proxies)."""
    return current_user._get_current_object()  # type: ignore[attr-defined, no-any-return]


def is_staff(actor: auth.Actor) -> bool:
    return actor.role == STAFF


def depot_list() -> list[network.DepotInfo]:
    return network.list_depots(uow())


def depot_labels() -> dict[str, str]:
    """Depot code -> printable name with the city in Chinese ("Beijing depot · 北京")."""
    return {d.code: f"{d.name} · {d.city_zh}" for d in depot_list()}


def acting_depots(actor: auth.Actor) -> list[network.DepotInfo]:
    """The depots a user may pick in a form that moves stock: staff only their own."""
    depots = depot_list()
    if is_staff(actor):
        return [d for d in depots if d.code == actor.depot_code]
    return depots


def viewed_depot(actor: auth.Actor, requested: str | None) -> str | None:
    """The depot a page shows: staff always their own; others what they asked (None = all)."""
    if is_staff(actor):
        return actor.depot_code
    code = (requested or "").strip().upper()
    return code or None


def part_numbers() -> list[str]:
    """Part numbers offered as suggestions in part-number fields."""
    return [p.part_number for p in catalog.list_parts(uow(), limit=PART_SUGGESTIONS)]


def whole_number(raw: str | None, label: str, field: str, *, default: int | None = None) -> int:
    """A whole number typed into ``field``; ``default`` when left blank (else ``Invalid``)."""
    value = (raw or "").strip()
    if not value:
        if default is not None:
            return default
        raise Invalid(f"{label}: enter a whole number", field=field)
    if not re.fullmatch(r"[+-]?\d{1,9}", value):
        raise Invalid(f"{label}: {value!r} is not a whole number", field=field)
    return int(value)


def scanned_serials(raw: str | None) -> list[str]:
    """Serials from a text area: one per line as a scanner types them (commas,
    spaces and semicolons separate too), upper-cased, blanks dropped."""
    return [s.upper() for s in re.split(r"[\s,;]+", raw or "") if s]


def typed_reference(raw: str | None) -> str | None:
    value = (raw or "").strip()
    if len(value) > MAX_REFERENCE:
        raise Invalid(f"Reference: at most {MAX_REFERENCE} characters", field="reference")
    return value or None


def short_list(items: list[str], shown: int = 5) -> str:
    """The first few items, and how many more there are, for a one-line message."""
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def form_with_error(template: str, error: DomainError, **context: Any) -> tuple[str, int]:
    """The form again with the error; the answer's status is the error's (4xx)."""
    return (
        render_template(
            template, error=error.detail, error_field=error.extra.get("field"), **context
        ),
        error.status,
    )
