"""The outbox: notifications are written in the same transaction as the event
that causes them, and delivered afterwards (see ``rma.service.delivery``)."""

from __future__ import annotations

from sqlalchemy import select

from core.auth import User
from core.db import UnitOfWork
from rma.models import Notification, Rma


def addresses_of_role(uow: UnitOfWork, role: str) -> list[str]:
    """E-mail addresses of the active users holding ``role``."""
    return sorted(
        {
            email
            for email in uow.session.scalars(
                select(User.email).where(User.role == role, User.active, User.email.is_not(None))
            )
            if email
        }
    )


def enqueue(
    uow: UnitOfWork,
    kind: str,
    to_addresses: list[str],
    subject: str,
    body: str,
    *,
    rma: Rma | None = None,
    dedupe_key: str | None = None,
) -> list[Notification]:
    """Queue one message per address. With ``dedupe_key`` a message that was
    already queued for the same key and address is not queued again."""
    queued = []
    for address in to_addresses:
        key = f"{dedupe_key}:{address}"[:80] if dedupe_key else None
        if key and uow.session.scalar(
            select(Notification.id).where(Notification.dedupe_key == key)
        ):
            continue
        notification = Notification(
            kind=kind,
            rma_id=rma.id if rma else None,
            to_address=address,
            subject=subject[:200],
            body=body,
            dedupe_key=key,
        )
        uow.session.add(notification)
        queued.append(notification)
    uow.session.flush()
    return queued
