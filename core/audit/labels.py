"""What the audit page calls entity kinds and actions, in the reader's language.

Actions named after a domain's own steps (an RMA's ``approve``, ``allocate`` ...)
are labelled by that domain: it registers its labeller here (the composition root
does, as core never imports a domain)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.i18n import lazy_gettext

ENTITY_LABELS: dict[str, Any] = {
    "depot": lazy_gettext("depot"),
    "city": lazy_gettext("city"),
    "lane": lazy_gettext("lane"),
    "calendar": lazy_gettext("calendar"),
    "calendar_day": lazy_gettext("calendar day"),
    "ladder_step": lazy_gettext("escalation ladder step"),
    "target": lazy_gettext("stock target"),
    "user": lazy_gettext("user"),
    "part": lazy_gettext("part"),
    "customer": lazy_gettext("customer"),
    "site": lazy_gettext("site"),
    "contract": lazy_gettext("contract"),
    "installed_unit": lazy_gettext("installed unit"),
    "rma": lazy_gettext("RMA"),
    "escalation": lazy_gettext("escalation"),
    "plan": lazy_gettext("rebalancing plan"),
    "dispatch": lazy_gettext("dispatch run"),
    "transfer": lazy_gettext("transfer"),
    "transfer_line": lazy_gettext("transfer line"),
    "discrepancy": lazy_gettext("receipt discrepancy"),
    "count": lazy_gettext("stock count"),
    "reservation": lazy_gettext("reservation"),
}
ACTION_LABELS: dict[str, Any] = {
    "create": lazy_gettext("created"),
    "update": lazy_gettext("changed"),
    "delete": lazy_gettext("deleted"),
    "apply": lazy_gettext("applied"),
}

_labellers: dict[str, Callable[[str], str]] = {}


def register_actions(entity: str, labeller: Callable[[str], str]) -> None:
    """Let a domain name the steps recorded under ``entity`` (e.g. an RMA's events)."""
    _labellers[entity] = labeller


def entity_label(entity: str) -> str:
    return str(ENTITY_LABELS.get(entity, entity))


def action_label(entity: str, action: str) -> str:
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
    labeller = _labellers.get(entity)
    return labeller(action) if labeller is not None else action
