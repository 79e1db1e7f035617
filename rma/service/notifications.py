"""The outbox: notifications are written in the same transaction as the event
that causes them, and delivered afterwards (see ``rma.service.delivery``).

Each message is written in its recipient's language: a user's own setting when
the address is a user's and they chose one, otherwise Simplified Chinese (the
team mailboxes, customers' contacts and users who follow their browser). A
message for several recipients is composed once per language
(``enqueue_translated``), inside ``flask_babel.force_locale``. (Outside the
application, a use case called on its own as in unit tests, there is no catalogue:
messages are written in English.)
"""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import force_locale
from sqlalchemy import select

from core.auth import User
from core.db import UnitOfWork
from core.i18n import LANGUAGES
from rma.models import Notification, Rma

# The language of a message to an address that is no user's with a language of their own.
MAILBOX_LANGUAGE = "zh_CN"


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


def languages_of(uow: UnitOfWork, addresses: list[str]) -> dict[str, str]:
    """The language each address is written to (``MAILBOX_LANGUAGE`` unless it is the
    address of a user who chose a language)."""
    chosen = {}
    if addresses:
        rows = uow.session.execute(
            select(User.email, User.language).where(User.email.in_(set(addresses)))
        )
        chosen = {email: language for email, language in rows if language in LANGUAGES}
    return {address: chosen.get(address, MAILBOX_LANGUAGE) for address in addresses}


def by_language(uow: UnitOfWork, addresses: list[str]) -> dict[str, list[str]]:
    """``addresses`` grouped by the language they are written to (in their order)."""
    groups: dict[str, list[str]] = {}
    for address, language in languages_of(uow, addresses).items():
        groups.setdefault(language, []).append(address)
    return groups


def compose_in(language: str, compose: Callable[[], tuple[str, str]]) -> tuple[str, str]:
    """Subject and body from ``compose`` written in ``language``."""
    with force_locale(language):
        return compose()


def enqueue_translated(
    uow: UnitOfWork,
    kind: str,
    to_addresses: list[str],
    compose: Callable[[], tuple[str, str]],
    *,
    rma: Rma | None = None,
    dedupe_key: str | None = None,
) -> list[Notification]:
    """Queue one message per address, each in its recipient's language: ``compose``
    gives subject and body and is called once per language, inside
    ``force_locale`` (so its ``gettext`` calls speak that language)."""
    queued = []
    for language, addresses in by_language(uow, to_addresses).items():
        subject, body = compose_in(language, compose)
        queued += enqueue(uow, kind, addresses, subject, body, rma=rma, dedupe_key=dedupe_key)
    return queued
