"""Delivering the outbox by e-mail (SMTP), with retries and back-off.

Each message is handled in three steps, and no transaction is held open while
talking to the mail server:

1. *Claim* (one short transaction): take the oldest due pending message
   (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite),
   count the attempt and push its ``next_attempt_at`` a lease (``LEASE``) into
   the future. Once committed, no other deliverer considers the message due,
   so two concurrent ``spares escalate`` never send the same message twice.
2. *Send* over SMTP, outside any transaction.
3. *Record* (one short transaction): ``sent`` with ``sent_at``; or, on failure,
   the error and a retry after an exponential back-off (1, 2, 4 ... minutes,
   at most an hour); after ``MAX_ATTEMPTS`` attempts, or at once when the
   server refuses the recipient permanently (5xx), the message is ``failed``.

Guarantee: **at least once**. If the process dies between sending and
recording, the lease runs out and the message is sent again on a later run;
we prefer a rare duplicate reminder to a lost escalation. Every message carries
a stable ``Message-ID`` (``<notification-ID@domain>``) so mail clients can fold
such a duplicate away.

When the server cannot be reached at all, the message being tried records the
failure and the run stops; the others stay due for the next run, so an outage
neither burns every message's attempts in one go nor makes a run wait on a
connect time-out per message.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import select

from core import clock
from core.config import Settings
from core.db import UnitOfWork, transactional
from rma.models import Notification

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=1)
# Longer than one message can take: connect, STARTTLS, login and DATA, each
# bounded by SMTP_TIMEOUT_SECONDS.
LEASE = timedelta(minutes=5)
SMTP_TIMEOUT_SECONDS = 20
ERROR_MAX = 500


def retry_delay(attempts: int) -> timedelta:
    """Back-off after the ``attempts``-th failed attempt: 1, 2, 4 ... minutes, at most 1 hour."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY)


@dataclass
class DeliveryReport:
    """What one delivery run did: ids sent, left for a retry, given up; error lines."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the run ended early (mail server unreachable)

    def summary(self) -> str:
        text = (
            f"notifications: {len(self.sent)} sent, {len(self.retrying)} to retry, "
            f"{len(self.failed)} failed"
        )
        return f"{text}; stopped: {self.stopped}" if self.stopped else text


@dataclass(frozen=True)
class _Outgoing:
    id: int
    to_address: str
    subject: str
    body: str
    attempts: int


class _Unreachable(Exception):
    """The mail server could not be reached or refused the session."""


class _Permanent(Exception):
    """The server refused this message for good (e.g. unknown recipient)."""


class _Mailer:
    """One SMTP session for a run, opened on first use and reopened after a drop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT_SECONDS)
        except (OSError, smtplib.SMTPException) as error:
            raise _Unreachable(f"cannot connect to {s.smtp_host}:{s.smtp_port}: {error}") from None
        try:
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password or "")
        except (OSError, smtplib.SMTPException) as error:
            smtp.close()
            raise _Unreachable(
                f"{s.smtp_host}:{s.smtp_port} refused the session: {error}"
            ) from None
        return smtp

    def send(self, message: EmailMessage) -> None:
        reused = self.smtp is not None
        try:
            self._send(message)
        except smtplib.SMTPServerDisconnected:
            if not reused:
                raise
            # Servers drop idle sessions; one try on a fresh connection.
            self._send(message)

    def _send(self, message: EmailMessage) -> None:
        if self.smtp is None:
            self.smtp = self._connect()
        try:
            refused = self.smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _text in error.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                raise _Permanent(f"recipient refused: {error.recipients}") from None
            raise
        except (smtplib.SMTPServerDisconnected, OSError):
            self.close()
            raise
        if refused:  # only with several recipients; we send one per message
            raise _Permanent(f"recipient refused: {refused}")

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None


def deliver_pending(
    uow: UnitOfWork, settings: Settings, now: datetime, limit: int = 100
) -> DeliveryReport:
    """Send up to ``limit`` pending notifications due at ``now`` (aware), oldest first.

    Uses ``settings.smtp_*`` and ``mail_from``. Runs its own short transactions
    (it must not be called inside one: the SMTP conversation must not hold
    database locks). A failure is recorded on the message for a later retry
    and reported, never raised.
    """
    if uow.in_transaction:
        raise RuntimeError("deliver_pending commits per message; call it outside a transaction")
    started, start_at = clock.now(), clock.as_utc(now)
    report = DeliveryReport()
    mailer = _Mailer(settings)

    def moment() -> datetime:
        # ``now`` advanced by the time this run has taken (by the clock, which
        # tests freeze), so leases and back-offs stay right during a long run.
        return start_at + (clock.now() - started)

    try:
        for _ in range(max(limit, 0)):
            outgoing = _claim_next(uow, moment())
            if outgoing is None:
                break
            try:
                mailer.send(_message(outgoing, settings, moment()))
            except _Unreachable as error:
                _record_failure(uow, outgoing.id, str(error), moment(), report, permanent=False)
                report.stopped = str(error)
                break
            except _Permanent as error:
                _record_failure(uow, outgoing.id, str(error), moment(), report, permanent=True)
            except (OSError, smtplib.SMTPException) as error:
                text = f"{type(error).__name__}: {error}"
                _record_failure(uow, outgoing.id, text, moment(), report, permanent=False)
            else:
                _record_sent(uow, outgoing.id, moment())
                report.sent.append(outgoing.id)
    finally:
        mailer.close()
    return report


@transactional
def _claim_next(uow: UnitOfWork, now: datetime) -> _Outgoing | None:
    query = (
        select(Notification)
        .where(Notification.status == "pending", Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(1)
        .execution_options(populate_existing=True)
    )
    if uow.dialect == "postgresql":
        query = query.with_for_update(skip_locked=True)
    row = uow.session.scalars(query).first()
    if row is None:
        return None
    row.attempts += 1
    row.next_attempt_at = now + LEASE
    uow.session.add(row)
    assert row.id is not None
    return _Outgoing(row.id, row.to_address, row.subject, row.body, row.attempts)


@transactional
def _record_sent(uow: UnitOfWork, notification_id: int, now: datetime) -> None:
    row = uow.session.get(Notification, notification_id)
    if row is None:
        return
    row.status, row.sent_at, row.last_error = "sent", now, ""
    uow.session.add(row)


def _record_failure(
    uow: UnitOfWork,
    notification_id: int,
    error: str,
    now: datetime,
    report: DeliveryReport,
    *,
    permanent: bool,
) -> None:
    status, attempts, address = _store_failure(uow, notification_id, error, now, permanent)
    (report.failed if status == "failed" else report.retrying).append(notification_id)
    verdict = "given up" if status == "failed" else "will retry"
    report.errors.append(
        f"notification {notification_id} to {address}: attempt {attempts} failed "
        f"({verdict}): {error}"
    )


@transactional
def _store_failure(
    uow: UnitOfWork, notification_id: int, error: str, now: datetime, permanent: bool
) -> tuple[str, int, str]:
    row = uow.session.get(Notification, notification_id)
    if row is None:
        return "failed", 0, "?"
    row.last_error = error[:ERROR_MAX]
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
    else:
        row.next_attempt_at = now + retry_delay(row.attempts)
    uow.session.add(row)
    return row.status, row.attempts, row.to_address


def _message(outgoing: _Outgoing, settings: Settings, now: datetime) -> EmailMessage:
    message = EmailMessage()
    domain = settings.mail_from.rpartition("@")[2] or "localhost"
    message["From"] = settings.mail_from
    message["To"] = outgoing.to_address
    message["Subject"] = outgoing.subject
    message["Date"] = format_datetime(clock.local(now))
    # Stable across retries: a duplicate after a crash is recognisable.
    message["Message-ID"] = f"<notification-{outgoing.id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(outgoing.body)
    return message
