"""What every RMA page shares: roles, clocks, case rows, and the words templates use
(kinds, statuses, reasons, durations) in the reader's language."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import request
from flask_login import current_user

from core import auth, clock
from core.auth import Role
from core.db import UnitOfWork
from core.i18n import gettext, lazy_gettext, zh_first
from core.web import uow
from depots.models import City
from depots.service import network
from rma import kinds as kind_rules
from rma.models import OPEN_STATUSES, Customer, Kind, Rma, Site
from rma.service import queries, wording
from rma.service.promises import Commitment, ReplacementPromise, commitments, live_promises
from rma.service.wording import format_duration
from rma.views import views

__all__ = ["format_duration"]  # pages and the desk read durations from here

ENGINEER = Role.ENGINEER.value
SUPERVISOR = Role.SUPERVISOR.value
STAFF = Role.DEPOT_STAFF.value
PLANNER = Role.PLANNER.value
ADMIN = Role.ADMIN.value
# Who may read cases (admins pass every check); the services guard every action.
CASE_READERS = (ENGINEER, SUPERVISOR, PLANNER, STAFF)
OPENERS = (ENGINEER, SUPERVISOR)


KINDS = tuple(k.value for k in Kind)
KIND_LABELS = kind_rules.LABELS
LEVEL_HINTS = kind_rules.FAULT_LEVEL_MEANINGS
UNKNOWN_SERIAL = "unknown"
SEARCH_LIMIT = 20
LIST_LIMIT = 500
PART_SUGGESTIONS = 300
MAX_FIELD = 1000
# The pages an action form may return to, by the name the form sends in ``back``.
BACK_PAGES = ("rma", "pick-list", "returns", "escalations", "approvals")
SCOPES = {
    "mine": lazy_gettext("My open cases"),
    "mine-all": lazy_gettext("All my cases"),
    "open": lazy_gettext("All open cases"),
    "all": lazy_gettext("All cases"),
}
# A clock turns amber when less than this is left.
WARN_WITHIN = {
    "replacement_delivery": timedelta(hours=4),
    "repair_return": timedelta(hours=8),
    "defective_return": timedelta(days=2),
    "ship": timedelta(hours=1),
}
# The API's verbs as a refused step lists them ("Allowed now: ship, cancel").
VERB_LABELS: dict[str, Any] = {
    "approve": lazy_gettext("approve"),
    "allocate": lazy_gettext("allocate"),
    "ship": lazy_gettext("ship"),
    "deliver": lazy_gettext("deliver"),
    "receive-defective": lazy_gettext("receive-defective"),
    "start-repair": lazy_gettext("start-repair"),
    "finish-repair": lazy_gettext("finish-repair"),
    "return-repaired": lazy_gettext("return-repaired"),
    "loaner-back": lazy_gettext("loaner-back"),
    "receive-replacement-back": lazy_gettext("receive-replacement-back"),
    "close": lazy_gettext("close"),
    "cancel": lazy_gettext("cancel"),
}


def current_actor() -> auth.Actor:
    """The signed-in actor itself (services are given values, not request proxies)."""
    return current_user._get_current_object()  # type: ignore[attr-defined, no-any-return]


def today() -> date:
    return clock.local(clock.now()).date()


@views.context_processor
def _words() -> dict[str, Any]:
    """The words RMA templates (and the desk's) say things with, in the reader's language."""
    return {
        "status_label": kind_rules.status_label,
        "kind_label": kind_rules.kind_label,
        "phase_label": lambda phase: str(kind_rules.PHASE_LABELS.get(phase or "", phase or "")),
        "service_label": wording.service_label,
        "verb_label": lambda verb: str(VERB_LABELS.get(verb, verb)),
        "money": wording.money,
        "duration": format_duration,
        "at_risk_text": wording.at_risk_text,
        "stored_at_risk_text": wording.stored_at_risk_text,
        "depot_reason": wording.depot_reason,
        "emergency_note": wording.emergency_note,
        "entitlement_text": wording.entitlement_text,
        "escalation_title": wording.escalation_title,
        "escalation_step": wording.escalation_step,
        "names": zh_first,
        "is_chinese": wording.is_chinese,
        "actor_name": wording.actor_name,
    }


def filter_args(names: Iterable[str]) -> dict[str, str]:
    """The query arguments among ``names`` that are set: what a list's sort headers
    and pager keep (its filters)."""
    return {name: value for name in names if (value := request.args.get(name, "").strip())}


# --- service-level clocks -------------------------------------------------------------------


@dataclass(frozen=True)
class SlaClock:
    """One promise of a case: when it is due, whether it was kept, and how it looks now.

    ``tone`` is the badge colour: ``ok`` (green), ``warn`` (amber: little time
    left), ``bad`` (red: overdue or missed), ``muted`` (no longer running).
    """

    label: str
    due: datetime
    done_at: datetime | None
    text: str
    tone: str
    short: str = ""  # what lists call it: "delivery", "repair return", ...


def sla_clock(commitment: Commitment, now: datetime) -> SlaClock:
    """How a commitment looks at ``now``: kept or broken once done; otherwise time
    left or overdue, unless the case went on without it."""
    assert commitment.due is not None
    due, done_at = commitment.due, commitment.done_at
    if commitment.met is not None and done_at is not None:
        if commitment.met:
            text = gettext("met, %(early)s early", early=format_duration(due - done_at))
            tone = "ok"
        else:
            text = gettext("missed by %(late)s", late=format_duration(done_at - due))
            tone = "bad"
    elif commitment.stopped:
        text, tone = gettext("not needed any more"), "muted"
    elif due >= now:
        left = due - now
        warn = left <= WARN_WITHIN.get(commitment.key, timedelta(hours=4))
        text = gettext("due in %(left)s", left=format_duration(left))
        tone = "warn" if warn else "ok"
    else:
        text, tone = gettext("overdue by %(late)s", late=format_duration(now - due)), "bad"
    return SlaClock(str(commitment.label), due, done_at, text, tone, str(commitment.short))


def rma_clocks(rma: Rma, now: datetime) -> list[SlaClock]:
    """Every commitment of the case that has a due time, in the order they arise."""
    return [
        sla_clock(item, now)
        for item in commitments(rma, now)
        if item.applicable and item.due is not None
    ]


def current_clock(rma: Rma, now: datetime) -> SlaClock | None:
    """The promise the case is working towards now, if any (lists show this one)."""
    item = next(
        (c for c in commitments(rma, now) if c.due is not None and c.hours_left is not None),
        None,
    )
    return sla_clock(item, now) if item is not None and rma.status in OPEN_STATUSES else None


# --- what lists show ------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseRow:
    rma: Rma
    customer: Customer
    site: Site
    city: City
    clock: SlaClock | None
    promise: ReplacementPromise | None = None  # live delivery promise (replacements, loaners)

    @property
    def at_risk(self) -> bool:
        return self.promise.at_risk if self.promise else self.rma.at_risk


def case_rows(unit: UnitOfWork, rmas: Iterable[Rma], now: datetime) -> list[CaseRow]:
    """Each RMA with its customer, site, city and live promise (inside the page's read
    transaction)."""
    rmas = list(rmas)
    parties = queries.parties_of(unit, rmas)
    return rows_of(unit, [(rma, *parties[rma.site_id]) for rma in rmas], now)


def rows_of(
    unit: UnitOfWork, found: Iterable[tuple[Rma, Customer, Site, City]], now: datetime
) -> list[CaseRow]:
    """Case rows from (Rma, Customer, Site, City) tuples a list query read, with each
    case's clock and live promise (inside the page's read transaction)."""
    found = [tuple(row) for row in found]
    promises = live_promises(unit, [row[0] for row in found], now) if found else {}
    return [
        CaseRow(rma, customer, site, city, current_clock(rma, now), promises.get(rma.id or 0))
        for rma, customer, site, city in found
    ]


FAR_FUTURE = datetime.max.replace(tzinfo=clock.SHANGHAI)


def urgency(row: CaseRow) -> tuple[int, datetime, int]:
    """Running clocks first, the soonest due (or longest overdue) first; then the rest."""
    if row.clock is not None:
        return (0, row.clock.due, -(row.rma.id or 0))
    return (1 if row.rma.status in OPEN_STATUSES else 2, FAR_FUTURE, -(row.rma.id or 0))


def depot_list() -> list[network.DepotInfo]:
    return network.list_depots(uow())


def bool_arg(args: Mapping[str, str], name: str) -> bool:
    """A checkbox of a GET form: on when sent as "1", "on" or "true"."""
    return (args.get(name) or "").strip().lower() in ("1", "on", "true", "yes")
