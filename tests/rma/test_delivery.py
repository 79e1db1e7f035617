"""Delivering the outbox over SMTP to a real server running in-process (aiosmtpd):
sent, retried with back-off, given up, never sent twice by concurrent deliverers."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.engine import Engine

from core import clock
from core.config import Settings, load_settings
from core.db import UnitOfWork, read_only, transactional
from rma.models import Notification
from rma.service import delivery
from rma.service.delivery import MAX_ATTEMPTS, deliver_pending, retry_delay
from rma.service.notifications import enqueue
from tests.rma.test_escalations import sh

NOW = sh(2026, 3, 16, 9, 30)


@dataclass
class Inbox:
    """An aiosmtpd handler keeping what it receives; refuses mailboxes named nobody@."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content, policy=default_policy)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def subjects_to(self, address: str) -> list[str]:
        return [m["Subject"] for rcpt, m in self.messages if address in rcpt]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class MailServer:
    inbox: Inbox
    port: int


def serve_mail() -> Iterator[MailServer]:
    """A real SMTP server on a free localhost port for the duration of a test."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield MailServer(inbox, port)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[MailServer]:
    yield from serve_mail()


def settings_for(engine: Engine, port: int) -> Settings:
    return load_settings(
        database_url=engine.url.render_as_string(hide_password=False),
        secret_key="test-secret",
        smtp_host="127.0.0.1",
        smtp_port=port,
        mail_from="spares@spares.example",
    )


@transactional
def queue(
    uow: UnitOfWork, *addresses: str, subject: str = "RMA-2026-000001 C-1: test"
) -> list[int]:
    rows = enqueue(uow, "escalation", list(addresses), subject, "body line 1\nline 2\n")
    return [row.id for row in rows]


def queue_at(engine: Engine, *addresses: str, at=NOW, **kwargs) -> list[int]:
    with clock.frozen(at):
        return queue(UnitOfWork(engine), *addresses, **kwargs)


def deliver(engine: Engine, settings: Settings, at, **kwargs) -> delivery.DeliveryReport:
    """One delivery run at ``at``, with the clock stopped there (exact timestamps)."""
    with clock.frozen(at):
        return deliver_pending(UnitOfWork(engine), settings, at, **kwargs)


@read_only
def row(uow: UnitOfWork, notification_id: int) -> Notification:
    return uow.session.get(Notification, notification_id)


@read_only
def statuses(uow: UnitOfWork) -> Counter[str]:
    return Counter(uow.session.scalars(select(Notification.status)))


# --- sent ----------------------------------------------------------------------------------


def test_pending_message_arrives_and_is_marked_sent(engine, smtp_server):
    (nid,) = queue_at(
        engine,
        "hq-service-manager@spares.example",
        subject="RMA-2026-000123 C-1: 8 working hours without a confirmed cause",
    )
    report = deliver(engine, settings_for(engine, smtp_server.port), NOW)
    assert report.sent == [nid] and not report.errors
    ((rcpt, message),) = smtp_server.inbox.messages
    assert rcpt == ["hq-service-manager@spares.example"]
    assert message["To"] == "hq-service-manager@spares.example"
    assert message["From"] == "spares@spares.example"
    assert message["Subject"] == "RMA-2026-000123 C-1: 8 working hours without a confirmed cause"
    assert message["Message-ID"] == f"<notification-{nid}@spares.example>"
    assert message.get_content().splitlines() == ["body line 1", "line 2"]
    sent = row(UnitOfWork(engine), nid)
    assert (sent.status, sent.attempts, sent.sent_at, sent.last_error) == ("sent", 1, NOW, "")


def test_sent_messages_are_not_sent_again(engine, smtp_server):
    queue_at(engine, "a@spares.example", "b@spares.example")
    settings = settings_for(engine, smtp_server.port)
    assert len(deliver(engine, settings, NOW).sent) == 2
    assert deliver(engine, settings, NOW + timedelta(hours=1)).sent == []
    assert len(smtp_server.inbox.messages) == 2


def test_messages_not_yet_due_wait(engine, smtp_server):
    queue_at(engine, "later@spares.example", at=NOW + timedelta(minutes=5))
    settings = settings_for(engine, smtp_server.port)
    assert deliver(engine, settings, NOW).sent == []
    assert len(deliver(engine, settings, NOW + timedelta(minutes=5)).sent) == 1


def test_a_run_sends_at_most_its_limit_oldest_first(engine, smtp_server):
    first = queue_at(engine, "one@spares.example", at=NOW - timedelta(minutes=3))
    queue_at(engine, "two@spares.example", "three@spares.example")
    report = deliver(engine, settings_for(engine, smtp_server.port), NOW, limit=1)
    assert report.sent == first
    assert statuses(UnitOfWork(engine)) == {"sent": 1, "pending": 2}


# --- failures --------------------------------------------------------------------------------


def test_server_down_leaves_the_message_pending_for_a_later_attempt(engine):
    (nid,) = queue_at(engine, "hq-service-director@spares.example")
    (other,) = queue_at(engine, "regional-supervisor@spares.example")
    report = deliver(engine, settings_for(engine, free_port()), NOW)
    assert report.sent == [] and report.retrying == [nid]
    assert report.stopped and "cannot connect" in report.stopped
    assert "will retry" in report.errors[0]
    failed = row(UnitOfWork(engine), nid)
    assert (failed.status, failed.attempts) == ("pending", 1)
    assert failed.next_attempt_at == NOW + timedelta(minutes=1)
    assert "cannot connect" in failed.last_error
    untouched = row(UnitOfWork(engine), other)
    assert (untouched.status, untouched.attempts) == ("pending", 0)


def test_back_off_doubles_and_the_message_fails_after_the_last_attempt(engine):
    (nid,) = queue_at(engine, "hq-service-director@spares.example")
    settings = settings_for(engine, free_port())
    at, delays = NOW, []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        report = deliver(engine, settings, at)
        current = row(UnitOfWork(engine), nid)
        assert current.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert current.status == "pending" and report.retrying == [nid]
            delays.append(current.next_attempt_at - at)
            assert (
                deliver(engine, settings, current.next_attempt_at - timedelta(seconds=1)).retrying
                == []
            )  # not due yet
            at = current.next_attempt_at
    assert [d.total_seconds() / 60 for d in delays] == [1, 2, 4, 8, 16, 32, 60]
    assert current.status == "failed" and report.failed == [nid]
    assert "given up" in report.errors[0]
    assert deliver(engine, settings, at + timedelta(days=1)).failed == []


def test_server_back_after_an_outage_delivers_the_retry(engine, smtp_server):
    (nid,) = queue_at(engine, "hq-service-manager@spares.example")
    deliver(engine, settings_for(engine, free_port()), NOW)
    settings = settings_for(engine, smtp_server.port)
    later = NOW + timedelta(minutes=1)
    assert deliver(engine, settings, later).sent == [nid]
    assert row(UnitOfWork(engine), nid).attempts == 2
    assert smtp_server.inbox.subjects_to("hq-service-manager@spares.example")


def test_refused_mailbox_fails_at_once_and_the_rest_still_go(engine, smtp_server):
    bad, good = queue_at(engine, "nobody@spares.example", "ok@spares.example")
    report = deliver(engine, settings_for(engine, smtp_server.port), NOW)
    assert report.failed == [bad] and report.sent == [good]
    refused = row(UnitOfWork(engine), bad)
    assert refused.status == "failed" and "550" in refused.last_error
    assert [rcpt for rcpt, _m in smtp_server.inbox.messages] == [["ok@spares.example"]]


@pytest.mark.parametrize(
    ("attempts", "minutes"), [(1, 1), (2, 2), (3, 4), (6, 32), (7, 60), (12, 60)]
)
def test_retry_delay_doubles_up_to_an_hour(attempts, minutes):
    assert retry_delay(attempts) == timedelta(minutes=minutes)


# --- at least once, never twice at the same time --------------------------------------------------


def test_message_claimed_by_a_deliverer_that_died_is_sent_after_the_lease(engine, smtp_server):
    (nid,) = queue_at(engine, "hq-service-manager@spares.example")
    # A deliverer claims the message and dies before sending it.
    assert delivery._claim_next(UnitOfWork(engine), NOW).id == nid
    settings = settings_for(engine, smtp_server.port)
    assert deliver(engine, settings, NOW + timedelta(minutes=1)).sent == []
    after_lease = NOW + delivery.LEASE
    assert deliver(engine, settings, after_lease).sent == [nid]
    assert row(UnitOfWork(engine), nid).attempts == 2


def test_deliverer_refuses_to_run_inside_a_transaction(engine):
    uow = UnitOfWork(engine)
    with uow.transaction(), pytest.raises(RuntimeError):
        deliver_pending(uow, settings_for(engine, 25), NOW)


def test_concurrent_deliverers_send_each_message_exactly_once(any_engine, smtp_server):
    addresses = [f"person-{i}@spares.example" for i in range(30)]
    ids = queue_at(any_engine, *addresses)
    settings = settings_for(any_engine, smtp_server.port)
    start = threading.Barrier(3)
    reports: list[delivery.DeliveryReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            reports.append(deliver_pending(UnitOfWork(any_engine), settings, NOW))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert sorted(i for r in reports for i in r.sent) == sorted(ids)
    received = Counter(rcpt[0] for rcpt, _m in smtp_server.inbox.messages)
    assert received == Counter(addresses)  # every address exactly once
    assert statuses(UnitOfWork(any_engine)) == {"sent": 30}
