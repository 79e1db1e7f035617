"""Escalations: who is told when a fault stays without a confirmed cause, or when a
replacement promise is at risk.

The ladder (``EscalationStep`` rows, ``rma.service.ladder``) is data an
administrator edits; the defaults come from DOMAIN.md. The support clock of an
RMA runs from ``reported_at`` until ``cause_confirmed_at``, in working hours of
the 5x8 calendar, or in calendar hours for a C-1 fault of a 7x24 contract
(``escalation_calendar_code``). Units overdue for return are chased by
``rma.service.chasing``. Supervisors take escalations on in
``rma.service.acknowledgements``.

Exactly once, even when two ``spares escalate`` run at the same time:

* the unique constraint on (rma_id, step) is the guarantee: each escalation is
  inserted with ``INSERT ... ON CONFLICT DO NOTHING RETURNING``, and only the run
  whose insert returned a row queues the notification, in the same transaction;
* on PostgreSQL the RMAs with something due are also locked with
  ``FOR UPDATE SKIP LOCKED``, so a second run skips what the first is raising
  instead of waiting for it, and an RMA an engineer is updating (e.g. confirming
  its cause) is left for the next run rather than escalated with stale data;
* on SQLite writers are serialised by ``BEGIN IMMEDIATE``; the second run reads
  what the first committed.

``Escalation.support_hours`` holds the support-time limit that was crossed (the
step's ``after_hours`` when it was raised, kept even if the ladder is edited
later) and ``due_at`` the instant it was crossed. For the "at risk" escalation
(step 0: no depot can deliver the replacement in time) ``support_hours`` is the
support time elapsed when it was raised and ``due_at`` the instant the RMA was
allocated (or approved, or reported).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite

from core import clock
from core.auth import Role
from core.db import UnitOfWork, transactional
from core.i18n import gettext, is_chinese, zh_first
from depots.calendar import WorkingCalendar, add_working_hours, working_hours_between
from depots.models import City
from depots.service.calendars import get_calendar
from inventory.models import Part
from rma import kinds
from rma.models import (
    OPEN_STATUSES,
    Customer,
    Escalation,
    EscalationStep,
    Notification,
    Rma,
    RmaEvent,
    Site,
    Status,
)
from rma.service.case_mail import case_link, when
from rma.service.ladder import EMAIL_MAX, REGIONAL_SUPERVISOR
from rma.service.lifecycle import escalation_calendar_code
from rma.service.notifications import (
    MAILBOX_LANGUAGE,
    addresses_of_role,
    compose_in,
    languages_of,
)
from rma.service.wording import AT_RISK_TITLE, escalation_title

AT_RISK_STEP = 0
SYSTEM_ACTOR = "system"
ESCALATION_KIND = "escalation"
# Chunk for IN (...) lists: well under every database's bound-parameter limit.
CHUNK = 500
MAX_LIST = 1000

# --- raising what is due ------------------------------------------------------------------


@dataclass(frozen=True)
class _Rung:
    step: int
    after_hours: float
    title: str
    email: str


@dataclass(frozen=True)
class _Due:
    """One escalation to raise: which RMA, which rung, when it was crossed."""

    rma_id: int
    step: int
    title: str
    email: str
    support_hours: float
    due_at: datetime


@transactional
def raise_due_escalations(uow: UnitOfWork, now: datetime) -> list[Escalation]:
    """Raise every escalation that is due at ``now`` (aware) and not yet raised.

    For each open RMA whose cause is not confirmed, each ladder step of its
    fault level whose ``after_hours`` have elapsed since ``reported_at`` (on
    the RMA's escalation calendar) is raised once: an ``Escalation`` row, an
    event in the RMA's history and an e-mail queued in the outbox to the
    step's address. An open RMA flagged ``at_risk`` and not yet delivered gets
    the "at risk" escalation (step 0) to the supervisors. Returns the
    escalations raised by this call, ordered by RMA and step; a concurrent run
    never raises the same one again and never fails because of this one.
    """
    now = clock.as_utc(now)
    ladder = _ladder(uow)
    calendars = {code: get_calendar(uow, code) for code in ("5x8", "7x24")}
    due = _screen(uow, now, ladder, calendars)
    if not due:
        return []
    at_risk_recipients = _at_risk_recipients(
        uow, ladder, [item.rma_id for item in due if item.step == AT_RISK_STEP]
    )
    # Each e-mail in its recipient's language, looked up once for the whole run.
    languages = languages_of(
        uow,
        sorted(
            {item.email for item in due if item.step != AT_RISK_STEP}
            | {address for group in at_risk_recipients.values() for address in group}
        ),
    )
    by_rma: dict[int, list[_Due]] = defaultdict(list)
    for item in due:
        if item.step == AT_RISK_STEP:
            addresses = ", ".join(at_risk_recipients[item.rma_id])
            item = replace(item, email=addresses[:EMAIL_MAX])
        by_rma[item.rma_id].append(item)
    raised: list[Escalation] = []
    for chunk in _chunks(sorted(by_rma), CHUNK):
        wanted: list[tuple[_Due, _Case]] = []
        for case in _lock_cases(uow, chunk):
            # Re-checked on the locked, fresh row: the case may have moved on
            # since the screening read (cause confirmed, closed, delivered).
            rma = case.rma
            if rma.status not in OPEN_STATUSES:
                continue
            for item in by_rma[rma.id]:
                still_due = (
                    rma.at_risk and rma.delivered_at is None and rma.status != Status.RETURNING
                    if item.step == AT_RISK_STEP
                    else rma.cause_confirmed_at is None
                )
                if still_due:
                    wanted.append((item, case))
        inserted = _insert_once(uow, [(item, case.rma.fault_level) for item, case in wanted], now)
        if not inserted:
            continue
        notifications: list[dict[str, object]] = []
        events: list[dict[str, object]] = []
        for item, case in wanted:
            escalation = inserted.get((item.rma_id, item.step))
            if escalation is None:
                continue  # another run raised it first
            raised.append(escalation)
            recipients = (
                at_risk_recipients[item.rma_id]
                if item.step == AT_RISK_STEP
                else [escalation.notify_email]
            )
            by_language: dict[str, list[str]] = defaultdict(list)
            for address in recipients:
                by_language[languages.get(address, MAILBOX_LANGUAGE)].append(address)
            for language, addresses in by_language.items():
                subject, body = compose_in(language, partial(_compose, escalation, case, calendars))
                notifications += _outbox_rows(case.rma, escalation, addresses, subject, body, now)
            events.append(_event_row(case.rma, escalation, recipients))
        # Written in bulk: a run after an outage may raise thousands at once.
        # The outbox rows are those ``notifications.enqueue`` would write; its
        # duplicate check is not needed since each escalation is inserted once.
        if notifications:
            uow.session.execute(insert(Notification), notifications)
        if events:
            uow.session.execute(insert(RmaEvent), events)
    raised.sort(key=lambda escalation: (escalation.rma_id, escalation.step))
    return raised


@dataclass(frozen=True)
class _Case:
    rma: Rma
    customer: Customer
    site: Site
    city: City
    part: Part | None


def _ladder(uow: UnitOfWork) -> dict[str, list[_Rung]]:
    ladder: dict[str, list[_Rung]] = defaultdict(list)
    for row in uow.session.scalars(select(EscalationStep).order_by(EscalationStep.step)):
        ladder[row.fault_level].append(
            _Rung(row.step, row.after_hours, row.notify_title, row.notify_email)
        )
    return ladder


def _screen(
    uow: UnitOfWork,
    now: datetime,
    ladder: dict[str, list[_Rung]],
    calendars: dict[str, WorkingCalendar],
) -> list[_Due]:
    """What is due, from a plain read of the candidate RMAs (no locks, few columns)."""
    candidates = (
        (Rma.status.in_(OPEN_STATUSES))
        & (
            (Rma.cause_confirmed_at.is_(None))
            | (Rma.at_risk & Rma.delivered_at.is_(None) & (Rma.status != Status.RETURNING))
        )
        & (Rma.reported_at <= now)
    )
    raised = {
        (rma_id, step)
        for rma_id, step in uow.session.execute(
            select(Escalation.rma_id, Escalation.step)
            .join(Rma, Rma.id == Escalation.rma_id)
            .where(candidates)
        )
    }
    rows = uow.session.execute(
        select(
            Rma.id,
            Rma.fault_level,
            Rma.coverage,
            Rma.reported_at,
            Rma.cause_confirmed_at,
            Rma.at_risk & (Rma.status != Status.RETURNING),
            Rma.delivered_at,
            Rma.allocated_at,
            Rma.approved_at,
        ).where(candidates)
    )
    due: list[_Due] = []
    codes: dict[tuple[str, str], str] = {}
    for rma_id, level, coverage, reported_at, confirmed_at, at_risk, delivered_at, *rest in rows:
        if (level, coverage) not in codes:
            # The lifecycle's rule, asked once per (level, coverage) pair.
            codes[level, coverage] = escalation_calendar_code(
                Rma(fault_level=level, coverage=coverage)
            )
        calendar = calendars[codes[level, coverage]]
        rungs = [r for r in ladder.get(level, ()) if (rma_id, r.step) not in raised]
        elapsed: float | None = None
        if confirmed_at is None and rungs:
            elapsed = working_hours_between(calendar, reported_at, now)
            for rung in rungs:
                if rung.after_hours <= elapsed:
                    crossed = add_working_hours(calendar, reported_at, rung.after_hours)
                    due.append(
                        _Due(rma_id, rung.step, rung.title, rung.email, rung.after_hours, crossed)
                    )
        if at_risk and delivered_at is None and (rma_id, AT_RISK_STEP) not in raised:
            allocated_at, approved_at = rest
            if elapsed is None:
                elapsed = working_hours_between(calendar, reported_at, now)
            due.append(
                _Due(
                    rma_id,
                    AT_RISK_STEP,
                    AT_RISK_TITLE,
                    "",
                    round(max(elapsed, 0.0), 2),
                    allocated_at or approved_at or reported_at,
                )
            )
    return due


def _lock_cases(uow: UnitOfWork, rma_ids: Sequence[int]) -> list[_Case]:
    query = (
        select(Rma, Customer, Site, City, Part)
        .join(Customer, Customer.id == Rma.customer_id)
        .join(Site, Site.id == Rma.site_id)
        .join(City, City.id == Site.city_id)
        .outerjoin(Part, Part.part_number == Rma.part_number)
        .where(Rma.id.in_(rma_ids))
        .order_by(Rma.id)
        .execution_options(populate_existing=True)
    )
    if uow.dialect == "postgresql":
        query = query.with_for_update(of=Rma, skip_locked=True)
    return [_Case(*row) for row in uow.session.execute(query)]


def _insert_once(
    uow: UnitOfWork, items: list[tuple[_Due, str]], now: datetime
) -> dict[tuple[int, int], Escalation]:
    """Insert the escalations whose (rma, step) does not exist yet; returns those inserted.

    ``ON CONFLICT DO NOTHING`` never raises, so a concurrent run that inserted
    the same row (committed or not) makes this one skip it instead of aborting
    its transaction; PostgreSQL waits for an uncommitted twin to decide first.
    """
    if not items:
        return {}
    dialect_insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    rows = [
        {
            "rma_id": item.rma_id,
            "step": item.step,
            "fault_level": fault_level,
            "notify_title": item.title,
            "notify_email": item.email,
            "support_hours": item.support_hours,
            "due_at": item.due_at,
            "raised_at": now,
        }
        for item, fault_level in items
    ]
    table = Escalation.__table__  # type: ignore[attr-defined]
    statement = (
        dialect_insert(table)
        .on_conflict_do_nothing(index_elements=["rma_id", "step"])
        .returning(table.c.id)
    )
    # One compiled statement, batched by SQLAlchemy ("insertmanyvalues").
    new_ids = [row.id for row in uow.session.connection().execute(statement, rows)]
    if not new_ids:
        return {}
    # Loaded rather than constructed: ORM loading is far cheaper than model __init__.
    loaded = uow.session.scalars(select(Escalation).where(Escalation.id.in_(new_ids)))
    return {(row.rma_id, row.step): row for row in loaded}


def _at_risk_recipients(
    uow: UnitOfWork, ladder: dict[str, list[_Rung]], rma_ids: list[int]
) -> dict[int, list[str]]:
    """Who hears that a case is at risk: the regional supervisor's mailbox of the
    ladder (C-1's first step), and every active supervisor user with an address
    unless the allocation already e-mailed them about this case (kind ``at_risk``)."""
    if not rma_ids:
        return {}
    first = ladder.get("C-1", [])
    mailbox = first[0].email if first else REGIONAL_SUPERVISOR[1]
    supervisors = set(addresses_of_role(uow, Role.SUPERVISOR))
    told: set[int] = set()
    for chunk in _chunks(sorted(set(rma_ids)), CHUNK):
        told.update(
            uow.session.scalars(
                select(Notification.rma_id).where(
                    Notification.kind == "at_risk", Notification.rma_id.in_(chunk)
                )
            )
        )
    return {
        rma_id: sorted({mailbox} | (set() if rma_id in told else supervisors)) for rma_id in rma_ids
    }


def _compose(
    escalation: Escalation, case: _Case, calendars: dict[str, WorkingCalendar]
) -> tuple[str, str]:
    """Subject and plain-text body of an escalation e-mail in the current language
    (times in Asia/Shanghai)."""
    rma, customer, site, city, part = case.rma, case.customer, case.site, case.city, case.part
    code = escalation_calendar_code(rma)
    calendar_hours = code == "7x24"
    to = escalation_title(escalation.step, escalation.notify_title)
    if escalation.step == AT_RISK_STEP:
        promised = when(rma.due_replacement) or gettext("24 hours after approval")
        subject = gettext(
            "%(rma)s %(level)s: at risk - no depot can deliver the replacement by %(due)s - "
            "escalated to %(to)s",
            rma=rma.number,
            level=rma.fault_level,
            due=promised,
            to=to,
        )
        headline = gettext(
            "No depot can deliver the replacement for %(rma)s within the 24-hour promise "
            "(due %(due)s).",
            rma=rma.number,
            due=promised,
        )
    else:
        hours = _hours_words(escalation.support_hours, calendar_hours)
        subject = gettext(
            "%(rma)s %(level)s: %(hours)s without a confirmed cause - escalated to %(to)s",
            rma=rma.number,
            level=rma.fault_level,
            hours=hours,
            to=to,
        )
        headline = gettext(
            "%(rma)s has had no confirmed cause for %(hours)s (since %(since)s). You are its "
            "%(to)s.",
            rma=rma.number,
            hours=hours,
            since=when(escalation.due_at),
            to=to,
        )
    if rma.cause_confirmed_at is not None:
        support = gettext("Cause:        confirmed %(when)s", when=when(rma.cause_confirmed_at))
    else:
        elapsed = working_hours_between(calendars[code], rma.reported_at, escalation.raised_at)
        figure = f"{max(elapsed, 0.0):.1f}"
        elapsed_words = (
            gettext("%(hours)s hours", hours=figure)
            if calendar_hours
            else gettext("%(hours)s working hours", hours=figure)
        )
        support = gettext("Support time: %(hours)s without a confirmed cause", hours=elapsed_words)
    contact = " ".join(filter(None, [site.contact_name, site.contact_phone]))
    customer_name = (
        zh_first(customer.name_zh, customer.name)
        if is_chinese()
        else customer.name + (f" ({customer.name_zh})" if customer.name_zh else "")
    )
    lines = [
        headline,
        "",
        gettext("Customer:     %(name)s", name=customer_name),
        gettext(
            "Site:         %(site)s, %(city)s",
            site=site.name,
            city=zh_first(city.name_zh, city.name),
        ),
        gettext("Contact:      %(contact)s", contact=contact),
        gettext("Part:         %(part)s", part=rma.part_number)
        + (f" - {part.description}" if part else ""),
        gettext("Serial:       %(serial)s", serial=rma.serial or gettext("unknown")),
        gettext(
            "Fault level:  %(level)s (%(kind)s)",
            level=rma.fault_level,
            kind=kinds.kind_label(rma.kind),
        ),
        gettext("Status:       %(status)s", status=kinds.status_label(rma.status)),
        gettext(
            "Reported:     %(when)s by %(user)s", when=when(rma.reported_at), user=rma.reported_by
        ),
        support,
    ]
    if rma.due_replacement is not None:
        lines.append(gettext("Replacement due:    %(when)s", when=when(rma.due_replacement)))
    if rma.promised_delivery is not None:
        lines.append(gettext("Promised delivery:  %(when)s", when=when(rma.promised_delivery)))
    if rma.due_repair_return is not None:
        lines.append(gettext("Repair return due:  %(when)s", when=when(rma.due_repair_return)))
    if rma.due_defective_return is not None:
        lines.append(gettext("Defective back due: %(when)s", when=when(rma.due_defective_return)))
    lines += ["", gettext("Symptom:"), rma.symptom, "", case_link(rma)]
    return subject[:200], "\n".join(lines) + "\n"


def _hours_words(hours: float, calendar_hours: bool) -> str:
    """ "8 working hours", "1 working hour", "24 hours" in the current language."""
    figure = f"{hours:g}"
    if calendar_hours:
        return gettext("1 hour") if hours == 1 else gettext("%(hours)s hours", hours=figure)
    if hours == 1:
        return gettext("1 working hour")
    return gettext("%(hours)s working hours", hours=figure)


def _outbox_rows(
    rma: Rma,
    escalation: Escalation,
    recipients: list[str],
    subject: str,
    body: str,
    now: datetime,
) -> list[dict[str, object]]:
    key = f"esc:{rma.number}:{escalation.step}"
    return [
        {
            "kind": ESCALATION_KIND,
            "rma_id": rma.id,
            "to_address": address,
            "subject": subject,
            "body": body,
            "status": "pending",
            "attempts": 0,
            "last_error": "",
            "created_at": now,
            "next_attempt_at": now,
            "sent_at": None,
            "dedupe_key": f"{key}:{address}"[:80],
        }
        for address in recipients
    ]


def _event_row(rma: Rma, escalation: Escalation, recipients: list[str]) -> dict[str, object]:
    return {
        "rma_id": rma.id,
        "at": escalation.raised_at,
        "actor": SYSTEM_ACTOR,
        "action": "escalate",
        "from_status": rma.status,
        "to_status": rma.status,
        "detail": json.dumps(
            {
                "step": escalation.step,
                "to": escalation.notify_title,
                "email": recipients,
                "support_hours": escalation.support_hours,
            }
        ),
    }


def _chunks(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
