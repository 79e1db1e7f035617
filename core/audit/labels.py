"""What the audit page calls entity kinds and actions, in the reader's language.

Actions named after a domain's own steps (an RMA's ``approve``, ``allocate`` ...)
are labelled by that domain: it registers its labeller here (the composition root
does, as core never imports a domain)."""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import pgettext


def _entity_labels() -> dict[str, str]:
    # Read at render time under the context "audit": these short words must not
    # override (or be overridden by) another package's in the merged catalogues.
    return {
        "depot": pgettext("audit", "depot"),
        "city": pgettext("audit", "city"),
        "lane": pgettext("audit", "lane"),
        "calendar": pgettext("audit", "calendar"),
        "calendar_day": pgettext("audit", "calendar day"),
        "ladder_step": pgettext("audit", "escalation ladder step"),
        "target": pgettext("audit", "stock target"),
        "user": pgettext("audit", "user"),
        "part": pgettext("audit", "part"),
        "customer": pgettext("audit", "customer"),
        "site": pgettext("audit", "site"),
        "contract": pgettext("audit", "contract"),
        "installed_unit": pgettext("audit", "installed unit"),
        "rma": pgettext("audit", "RMA"),
        "escalation": pgettext("audit", "escalation"),
        "plan": pgettext("audit", "rebalancing plan"),
        "dispatch": pgettext("audit", "dispatch run"),
        "transfer": pgettext("audit", "transfer"),
        "transfer_line": pgettext("audit", "transfer line"),
        "discrepancy": pgettext("audit", "receipt discrepancy"),
        "count": pgettext("audit", "stock count"),
        "reservation": pgettext("audit", "reservation"),
    }


def _action_labels() -> dict[str, str]:
    return {
        "create": pgettext("audit", "created"),
        "update": pgettext("audit", "changed"),
        "delete": pgettext("audit", "deleted"),
        "apply": pgettext("audit", "applied"),
    }


_labellers: dict[str, Callable[[str], str]] = {}


def register_actions(entity: str, labeller: Callable[[str], str]) -> None:
    """Let a domain name the steps recorded under ``entity`` (e.g. an RMA's events)."""
    _labellers[entity] = labeller


def entity_label(entity: str) -> str:
    """What people call a kind of entity, in the reader's language."""
    return _entity_labels().get(entity, entity)


def action_label(entity: str, action: str) -> str:
    """What people call an action on ``entity``, in the reader's language."""
    generic = _action_labels()
    if action in generic:
        return generic[action]
    labeller = _labellers.get(entity)
    return labeller(action) if labeller is not None else action
