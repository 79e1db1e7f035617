"""Chasing the units that should be back and are not: one reminder a day per case."""

from __future__ import annotations

import json
from datetime import datetime
from functools import partial

from sqlalchemy import select

from core import clock
from core.auth import User
from core.db import UnitOfWork, transactional
from core.i18n import gettext, ngettext, zh_first
from rma import kinds
from rma.models import (
    Customer,
    Notification,
    Rma,
    RmaEvent,
    Site,
)
from rma.service import case_mail
from rma.service.notifications import enqueue_translated
from rma.service.queries import CHASE_RETURN, overdue_returns_query

RETURN_REMINDER_KIND = "return_reminder"
SYSTEM_ACTOR = "system"


# --- chasing overdue returns --------------------------------------------------------------


@transactional
def chase_overdue_returns(uow: UnitOfWork, now: datetime) -> list[Notification]:
    """Remind about every unit that should be back by now and is not; at most once a day.

    The cases are ``queries.overdue_returns_query``'s: delivered advance replacements
    (the customer's defective unit), delivered loaners (the substitute unit) and
    cases cancelled after shipping (the shipped unit), past their due time. The
    reminder goes to the reporting engineer (their user e-mail) and to the site's
    contact e-mail, or the customer's e-mail when the site has none. Deduplicated
    per RMA and Asia/Shanghai date of ``now`` (``chase:<number>:<yyyy-mm-dd>``), so
    running every minute queues one reminder a day. Returns the notifications
    queued by this call.
    """
    now = clock.as_utc(now)
    today = clock.local(now).date().isoformat()
    query = overdue_returns_query(now).execution_options(populate_existing=True)
    if uow.dialect == "postgresql":
        # Two runs at once split the work; the dedupe key stops a late second one.
        query = query.with_for_update(of=Rma, skip_locked=True)
    rows = [(rma, customer, site) for rma, customer, site, _city in uow.session.execute(query)]
    if not rows:
        return []
    engineers = {
        username: email
        for username, email in uow.session.execute(
            select(User.username, User.email).where(
                User.username.in_({rma.reported_by for rma, _c, _s in rows}),
                User.active,
                User.email.is_not(None),
            )
        )
        if email
    }
    queued: list[Notification] = []
    for rma, customer, site in rows:
        recipients = [
            address
            for address in (engineers.get(rma.reported_by), site.contact_email or customer.email)
            if address
        ]
        if not recipients:
            continue
        expected = kinds.expected_back(rma)
        assert expected is not None
        notifications = enqueue_translated(
            uow,
            RETURN_REMINDER_KIND,
            recipients,
            partial(_reminder, rma, customer, site, expected, now),
            rma=rma,
            dedupe_key=f"chase:{rma.number}:{today}",
        )
        if notifications:
            queued.extend(notifications)
            uow.session.add(
                RmaEvent(
                    rma_id=rma.id,
                    at=now,
                    actor=SYSTEM_ACTOR,
                    action=CHASE_RETURN,
                    from_status=rma.status,
                    to_status=rma.status,
                    detail=json.dumps({"to": [n.to_address for n in notifications]}),
                )
            )
    uow.session.flush()
    return queued


def _what(expected: kinds.ExpectedBack) -> str:
    """What a reminder calls the unit expected back (``kinds.expected_back``'s ``what``)."""
    if expected.what == "loaner":
        return gettext("the loaned substitute unit")
    if expected.what == "replacement":
        return gettext("the replacement shipped on the cancelled case")
    return gettext("the defective unit replaced in advance")


def _what_short(expected: kinds.ExpectedBack) -> str:
    if expected.what == "loaner":
        return gettext("loaned substitute unit")
    if expected.what == "replacement":
        return gettext("replacement shipped on the cancelled case")
    return gettext("defective unit replaced in advance")


def _reminder(
    rma: Rma, customer: Customer, site: Site, expected: kinds.ExpectedBack, now: datetime
) -> tuple[str, str]:
    """Subject and body of a return reminder, in the current language."""
    due = rma.due_defective_return
    assert due is not None
    days = max((now - due).days, 0)
    overdue = ngettext("%(num)s day", "%(num)s days", days) if days else gettext("less than a day")
    lines = [
        gettext(
            "%(rma)s: %(what)s (%(part)s, serial %(serial)s) should have come back by %(due)s "
            "and has not arrived; overdue by %(overdue)s.",
            rma=rma.number,
            what=_what(expected),
            part=expected.part_number,
            serial=expected.serial or gettext("unknown"),
            due=case_mail.when(due),
            overdue=overdue,
        ),
        "",
        gettext("Customer:  %(name)s", name=zh_first(customer.name_zh, customer.name)),
        gettext("Site:      %(name)s", name=site.name),
        gettext("Delivered: %(when)s", when=case_mail.when(rma.delivered_at)),
        gettext(
            "Send it to depot %(depot)s, quoting %(rma)s.",
            depot=rma.depot_code or gettext("of the shipment"),
            rma=rma.number,
        ),
        "",
        case_mail.case_link(rma),
    ]
    date = clock.local(due).strftime("%Y-%m-%d")
    subject = gettext(
        "%(rma)s: %(what)s is overdue for return (due %(date)s)",
        rma=rma.number,
        what=_what_short(expected),
        date=date,
    )
    return subject, "\n".join(lines) + "\n"
