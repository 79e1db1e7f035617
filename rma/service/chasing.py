"""Chasing the units that should be back and are not: one reminder a day per case."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from core import clock
from core.auth import User
from core.db import UnitOfWork, transactional
from rma import kinds
from rma.models import (
    Notification,
    Rma,
    RmaEvent,
)
from rma.service.notifications import enqueue
from rma.service.queries import overdue_returns_query

RETURN_REMINDER_KIND = "return_reminder"
SYSTEM_ACTOR = "system"
# What a reminder calls the unit expected back (``rma.kinds.expected_back``'s ``what``).
RETURN_WORDS = {
    "defective unit": "the defective unit replaced in advance",
    "loaner": "the loaned substitute unit",
    "replacement": "the replacement shipped on the cancelled case",
}


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
        what = RETURN_WORDS[expected.what]
        serial = expected.serial or "unknown"
        days = max((now - rma.due_defective_return).days, 0)
        overdue = f"{days} day{'s' if days != 1 else ''}" if days else "less than a day"
        body = "\n".join(
            [
                f"{rma.number}: {what} ({expected.part_number}, serial {serial}) should have come "
                f"back by {_when(rma.due_defective_return)} and has not arrived; "
                f"overdue by {overdue}.",
                "",
                f"Customer:  {customer.name}",
                f"Site:      {site.name}",
                f"Delivered: {_when(rma.delivered_at)}",
                f"Send it to depot {rma.depot_code or 'of the shipment'}, quoting {rma.number}.",
                "",
                f"Open the case: /rmas/{rma.number}",
            ]
        )
        notifications = enqueue(
            uow,
            RETURN_REMINDER_KIND,
            recipients,
            f"{rma.number}: {what.removeprefix('the ')} is overdue for return "
            f"(due {clock.local(rma.due_defective_return):%Y-%m-%d})",
            body + "\n",
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
                    action="chase-return",
                    from_status=rma.status,
                    to_status=rma.status,
                    detail=json.dumps({"to": [n.to_address for n in notifications]}),
                )
            )
    uow.session.flush()
    return queued


def _when(value: datetime | None) -> str:
    return clock.local(value).strftime("%Y-%m-%d %H:%M (Asia/Shanghai)") if value else ""
