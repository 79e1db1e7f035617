"""What every RMA page shares: roles, clocks, case rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_login import current_user

from core import auth, clock
from core.auth import Role
from core.db import UnitOfWork
from core.web import uow
from depots.models import City
from depots.service import network
from rma import kinds as kind_rules
from rma.models import OPEN_STATUSES, Customer, Kind, Rma, Site
from rma.service import customers
from rma.service.promises import Commitment, ReplacementPromise, commitments, live_promises

ENGINEER = Role.ENGINEER.value
SUPERVISOR = Role.SUPERVISOR.value
STAFF = Role.DEPOT_STAFF.value
PLANNER = Role.PLANNER.value
ADMIN = Role.ADMIN.value
# Who may read cases (admins pass every check); the services guard every action.
CASE_READERS = (ENGINEER, SUPERVISOR, PLANNER, STAFF)
OPENERS = (ENGINEER, SUPERVISOR)


KINDS = tuple(k.value for k in Kind)
KIND_LABELS = {kind: label.capitalize() for kind, label in kind_rules.LABELS.items()}
LEVEL_HINTS = {
    "C-1": "whole network down or severe problem; major impact",
    "C-2": "part of the network misbehaves; severe local impact",
    "C-3": "performance degraded, most business still runs",
}
UNKNOWN_SERIAL = "unknown"
SEARCH_LIMIT = 20
LIST_LIMIT = 500
PART_SUGGESTIONS = 300
MAX_FIELD = 1000
# The pages an action form may return to, by the name the form sends in ``back``.
BACK_PAGES = ("rma", "pick-list", "returns", "escalations")
SCOPES = {
    "mine": "My open cases",
    "mine-all": "All my cases",
    "open": "All open cases",
    "all": "All cases",
}
# A clock turns amber when less than this is left.
WARN_WITHIN = {
    "replacement_delivery": timedelta(hours=4),
    "repair_return": timedelta(hours=8),
    "defective_return": timedelta(days=2),
    "ship": timedelta(hours=1),
}


def current_actor() -> auth.Actor:
    """The signed-in actor itself (services are given values, not request proxies)."""
    return current_user._get_current_object()  # type: ignore[attr-defined, no-any-return]


def today() -> date:
    return clock.local(clock.now()).date()


# --- service-level clocks -------------------------------------------------------------------


def format_duration(delta: timedelta) -> str:
    """A length of time as people read it: "45 min", "5 h 20 min", "2 h", "3 d 4 h"."""
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days >= 2:
        return f"{days} d {hours} h" if hours else f"{days} d"
    hours += days * 24
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


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
            text, tone = f"met, {format_duration(due - done_at)} early", "ok"
        else:
            text, tone = f"missed by {format_duration(done_at - due)}", "bad"
    elif commitment.stopped:
        text, tone = "not needed any more", "muted"
    elif due >= now:
        left = due - now
        warn = left <= WARN_WITHIN.get(commitment.key, timedelta(hours=4))
        text, tone = f"due in {format_duration(left)}", "warn" if warn else "ok"
    else:
        text, tone = f"overdue by {format_duration(now - due)}", "bad"
    return SlaClock(commitment.label, due, done_at, text, tone, commitment.short)


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
    promises = live_promises(unit, rmas, now) if rmas else {}
    rows = []
    for rma in rmas:
        customer = customers.require_customer(unit, rma.customer_id)
        site = customers.require_site(unit, rma.site_id)
        city = customers.require_city(unit, site.city_id)
        promise = promises.get(rma.id or 0)
        rows.append(CaseRow(rma, customer, site, city, current_clock(rma, now), promise))
    return rows


FAR_FUTURE = datetime.max.replace(tzinfo=clock.SHANGHAI)


def urgency(row: CaseRow) -> tuple[int, datetime, int]:
    """Running clocks first, the soonest due (or longest overdue) first; then the rest."""
    if row.clock is not None:
        return (0, row.clock.due, -(row.rma.id or 0))
    return (1 if row.rma.status in OPEN_STATUSES else 2, FAR_FUTURE, -(row.rma.id or 0))


def depot_list() -> list[network.DepotInfo]:
    return network.list_depots(uow())
