"""What every inventory page shares: who may see and do what, the signed-in
actor and the depots they may look at or act for, reading typed fields (whole
numbers, scanned serials, references), the labels of stored codes, and showing a
refused form again."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import render_template
from flask_login import current_user

from core import auth
from core.auth import Role
from core.errors import DomainError, Invalid
from core.i18n import gettext, zh_first
from core.pagination import PageRequest
from core.web import uow
from depots.service import network
from inventory import labels
from inventory.service import catalog

STAFF = Role.DEPOT_STAFF.value
# Who may read stock, units and ledgers (admins pass every check).
VIEWERS = (STAFF, Role.PLANNER.value, Role.ENGINEER.value, Role.SUPERVISOR.value)
TRANSFER_ROLES = (STAFF, Role.PLANNER.value)
IMPORTERS = (Role.PLANNER.value,)
# Who may move units between bins and set a part's default bin (staff: their depot).
BIN_KEEPERS = (STAFF, Role.PLANNER.value, Role.ADMIN.value)
# The stock-moving roles that see the stock pages' action buttons.
MOVERS = (STAFF, Role.ADMIN.value)

PART_SUGGESTIONS = 300
MAX_REFERENCE = 60


def label_helpers() -> dict[str, Any]:
    """Template helpers naming stored codes in the reader's language."""
    return {
        "bucket_label": lambda code: labels.label(labels.BUCKET_LABELS, code),
        "location_label": lambda code: labels.label(labels.LOCATION_LABELS, code),
        "family_label": lambda code: labels.label(labels.FAMILY_LABELS, code),
        "criticality_label": lambda code: labels.label(labels.CRITICALITY_LABELS, code),
        "transfer_status_label": lambda code: labels.label(labels.TRANSFER_STATUS_LABELS, code),
        "reservation_status_label": lambda code: labels.label(
            labels.RESERVATION_STATUS_LABELS, code
        ),
        "discrepancy_label": lambda code: labels.label(labels.DISCREPANCY_LABELS, code),
        "resolution_label": lambda code: labels.label(labels.RESOLUTION_LABELS, code),
        "movement_label": lambda code: labels.label(labels.MOVEMENT_LABELS, code),
        "note_text": labels.note_text,
        "reason_text": labels.reason_text,
        "depot_name": depot_name,
        "actor_name": actor_name,
    }


def actor_name(name: str | None) -> str:
    """Who did something, as stored (a login name), with the system's own actors in
    the reader's language: ``system`` (scheduled jobs), ``cli:<login>`` (a command)."""
    text = name or ""
    if text == "system":
        return gettext("system")
    if text.startswith("cli:"):
        return gettext("command line (%(login)s)", login=text[4:])
    return text


def current_actor() -> auth.Actor:
    """The signed-in actor itself (services are given values, not request proxies)."""
    return current_user._get_current_object()  # type: ignore[attr-defined, no-any-return]


def is_staff(actor: auth.Actor) -> bool:
    return actor.role == STAFF


def depot_list() -> list[network.DepotInfo]:
    return network.list_depots(uow())


def depot_name(depot: network.DepotInfo) -> str:
    """A depot's name, its city's Chinese name first on a Chinese page
    ("北京 Beijing depot"; "Beijing depot" in English)."""
    return zh_first(depot.city_zh, depot.name)


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
    """A whole number typed into ``field``; ``default`` when left blank (else ``Invalid``).
    ``label`` names the field in the reader's language."""
    value = (raw or "").strip()
    if not value:
        if default is not None:
            return default
        raise Invalid(gettext("%(field)s: enter a whole number", field=label), field=field)
    if not re.fullmatch(r"[+-]?\d{1,9}", value):
        raise Invalid(
            gettext("%(field)s: %(value)r is not a whole number", field=label, value=value),
            field=field,
        )
    return int(value)


def scanned_serials(raw: str | None) -> list[str]:
    """Serials from a text area: one per line as a scanner types them (commas,
    spaces and semicolons separate too), upper-cased, blanks dropped."""
    return [s.upper() for s in re.split(r"[\s,;]+", raw or "") if s]


def typed_reference(raw: str | None) -> str | None:
    value = (raw or "").strip()
    if len(value) > MAX_REFERENCE:
        raise Invalid(
            gettext("Reference: at most %(limit)s characters", limit=MAX_REFERENCE),
            field="reference",
        )
    return value or None


def short_list(items: list[str], shown: int = 5) -> str:
    """The first few items, and how many more there are, for a one-line message."""
    if len(items) > shown:
        return gettext(
            "%(items)s and %(count)s more", items=", ".join(items[:shown]), count=len(items) - shown
        )
    return ", ".join(items)


def form_with_error(template: str, error: DomainError, **context: Any) -> tuple[str, int]:
    """The form again with the error; the answer's status is the error's (4xx)."""
    return (
        render_template(
            template, error=error.detail, error_field=error.extra.get("field"), **context
        ),
        error.status,
    )


def page_request(
    args: Mapping[str, str], sorts: tuple[str, ...], default: str, *, descending: bool = False
) -> PageRequest:
    """The page, size and order a list was asked for (unknown values: the defaults)."""
    return PageRequest.from_args(args, sorts=sorts, default_sort=default, descending=descending)


def kept_args(args: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    """The filters of a list to keep in its sort and page links (blank ones left out)."""
    return {name: args[name] for name in names if args.get(name)}
