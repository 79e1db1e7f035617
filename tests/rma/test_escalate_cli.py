"""`spares escalate`, `spares notifications` and `spares ladder` on the terminal, with a
real SMTP server in-process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import delete, update

from core import auth, clock
from core.cli import SEEDERS_KEY
from core.db import UnitOfWork, transactional
from rma.models import EscalationStep
from rma.service import ladder, lifecycle
from tests.conftest import make_test_app
from tests.rma.test_delivery import MailServer, free_port, serve_mail
from tests.rma.test_escalations import make_world, outbox, sh

MONDAY_0930 = "2026-03-16T09:30:00+08:00"


@pytest.fixture
def smtp_server() -> Iterator[MailServer]:
    yield from serve_mail()


def cli_app(engine, port: int):
    return make_test_app(
        engine, smtp_host="127.0.0.1", smtp_port=port, mail_from="spares@spares.example"
    )


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


@pytest.fixture
def friday_case(engine):
    """A C-2 case reported on Friday 13 March 2026 at 16:30 Shanghai time."""
    world = make_world(engine)
    return world, world.open(world.customer(), "C-2", sh(2026, 3, 13, 16, 30))


def test_escalate_prints_each_escalation_raised_and_mails_it(engine, smtp_server, friday_case):
    _world, rma = friday_case
    app = cli_app(engine, smtp_server.port)
    result = run(app, "escalate", "--now", MONDAY_0930)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{rma.number} C-2 step 1 (1 h) -> regional service supervisor "
        "<regional-supervisor@spares.example>"
    ]
    assert "1 sent" in result.stderr
    ((rcpt, message),) = smtp_server.inbox.messages
    assert rcpt == ["regional-supervisor@spares.example"]
    # A team mailbox (no user of ours): written in Simplified Chinese.
    assert message["Subject"] == f"{rma.number} C-2：1 个工作小时未确认原因 - 已升级至区域服务主管"
    again = run(app, "escalate", "--now", "2026-03-16T09:31:00+08:00")
    assert again.exit_code == 0 and again.stdout == ""
    assert len(smtp_server.inbox.messages) == 1


def test_escalate_before_anything_is_due_prints_nothing(engine, smtp_server, friday_case):
    result = run(
        cli_app(engine, smtp_server.port), "escalate", "--now", "2026-03-16T09:29:00+08:00"
    )
    assert (result.exit_code, result.output) == (0, "")


def test_mail_server_down_is_reported_and_left_for_the_next_run(engine, friday_case):
    _world, rma = friday_case
    result = run(cli_app(engine, free_port()), "escalate", "--now", MONDAY_0930)
    assert result.exit_code == 0
    assert result.stdout.startswith(f"{rma.number} C-2 step 1")
    assert "will retry" in result.stderr and "cannot connect" in result.stderr
    (pending,) = outbox(UnitOfWork(engine), "escalation")
    assert (pending.status, pending.attempts) == ("pending", 1)


def test_bad_now_exits_2_with_one_line(engine, friday_case):
    result = run(cli_app(engine, free_port()), "escalate", "--now", "monday morning")
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.startswith("error: --now:")
    assert outbox(UnitOfWork(engine)) == []


def test_escalate_also_chases_overdue_returns(engine, smtp_server):
    world = make_world(engine)
    rma = world.delivered(
        world.customer(contact_email="noc@customer.example"), sh(2026, 3, 2, 10, 0)
    )
    with clock.frozen(sh(2026, 3, 2, 10, 30)):
        lifecycle.confirm_cause(world.uow, world.engineer, rma.number, "failed fan tray")
    app = cli_app(engine, smtp_server.port)
    result = run(app, "escalate", "--now", "2026-03-18T09:00:00+08:00")
    assert result.exit_code == 0, result.output
    assert "queued 2 return reminders for 1 RMAs" in result.stderr
    # The site's mailbox, and an engineer who chose no language: both in Chinese.
    assert sorted(
        r[0] for r, m in smtp_server.inbox.messages if "逾期未退回" in m["Subject"]
    ) == sorted(
        [
            "noc@customer.example",
            f"{world.engineer.username.removeprefix('esc-')}@customer-service.example",
        ]
    )


def test_each_email_is_written_in_its_recipients_language(engine, smtp_server):
    """A user who chose English reads English; a user who chose Chinese, one who chose
    nothing and a team mailbox read Chinese: each recipient gets one message."""
    world = make_world(engine)
    english = auth.create_user(
        UnitOfWork(engine),
        "esc-english",
        "test-password-1",
        "supervisor",
        email="english-desk@customer-service.example",
    )
    chinese = auth.create_user(
        UnitOfWork(engine),
        "esc-chinese",
        "test-password-1",
        "supervisor",
        email="chinese-desk@customer-service.example",
    )
    _set_language(UnitOfWork(engine), {english.username: "en", chinese.username: "zh_CN"})
    app = cli_app(engine, smtp_server.port)
    # No depot holds the part: the case is backordered and at risk. (Opened inside the
    # application, as a page or the API would: e-mails are written in its languages.)
    with app.app_context():
        rma = world.open(world.customer(), "C-3", sh(2026, 3, 9, 9, 0), kind="advance_replacement")
    assert run(app, "escalate", "--now", "2026-03-09T09:05:00+08:00").exit_code == 0
    subjects = {rcpt[0]: message["Subject"] for rcpt, message in smtp_server.inbox.messages}
    assert subjects["english-desk@customer-service.example"].startswith(
        f"{rma.number} C-3: at risk - no depot can deliver the replacement by"
    )
    for chinese_reader in (
        "chinese-desk@customer-service.example",
        "regional-supervisor@spares.example",
        f"{world.supervisor.username.removeprefix('esc-')}@customer-service.example",
    ):
        assert subjects[chinese_reader].startswith(f"{rma.number} C-3：有延误风险"), chinese_reader
    # The planners hear of the backorder in Chinese (the planner chose no language).
    (backorder,) = outbox(world.uow, "backorder")
    assert backorder.subject == f"{rma.number}：各备件库均无 {world.part} 库存"
    bodies = {rcpt[0]: message.get_content() for rcpt, message in smtp_server.inbox.messages}
    assert "Customer:" in bodies["english-desk@customer-service.example"]
    assert "客户：" in bodies["chinese-desk@customer-service.example"]
    assert f"/rmas/{rma.number}" in bodies["chinese-desk@customer-service.example"]


@transactional
def _set_language(uow: UnitOfWork, languages: dict[str, str]) -> None:
    for username, language in languages.items():
        uow.session.execute(
            update(auth.User).where(auth.User.username == username).values(language=language)
        )


def test_notifications_lists_the_outbox_by_status(engine, friday_case):
    app = cli_app(engine, free_port())
    run(app, "escalate", "--now", MONDAY_0930)
    pending = run(app, "notifications", "--status", "pending")
    assert pending.exit_code == 0
    (line,) = pending.output.splitlines()
    assert "pending" in line and "regional-supervisor@spares.example" in line
    assert "2026-03-16 09:31" in line  # next attempt after the 1-minute back-off
    assert "cannot connect" in line
    assert run(app, "notifications", "--status", "sent").output == "no notifications sent\n"
    assert run(app, "notifications", "--status", "bogus").exit_code == 2


def test_ladder_prints_every_step(engine):
    ladder.seed_ladder(UnitOfWork(engine))
    result = run(cli_app(engine, free_port()), "ladder")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == 9
    assert lines[1].startswith("C-1 step 2  after    8 h (calendar h on 7x24)")
    assert lines[1].endswith("HQ service manager <hq-service-manager@spares.example>")


def test_ladder_set_changes_a_step_and_refuses_bad_values(engine):
    ladder.seed_ladder(UnitOfWork(engine))
    app = cli_app(engine, free_port())
    ok = run(app, "ladder", "set", "C-3", "1", "--email", "field-desk@spares.example")
    assert ok.exit_code == 0, ok.output
    assert "field-desk@spares.example" in ok.output
    bad = run(app, "ladder", "set", "C-3", "2", "--hours", "0.5")
    assert bad.exit_code == 2 and bad.output.startswith("error: after_hours")
    assert run(app, "ladder", "set", "C-3", "9", "--hours", "99").exit_code == 3
    assert run(app, "ladder", "set", "C-3", "1").exit_code == 2
    steps = ladder.list_ladder(UnitOfWork(engine), "C-3")
    assert [(s.after_hours, s.notify_email) for s in steps][:2] == [
        (1.0, "field-desk@spares.example"),
        (8.0, "regional-supervisor@spares.example"),
    ]


def test_register_adds_the_ladder_to_the_seeders(engine):
    app = cli_app(engine, free_port())
    assert ladder.seed_ladder in app.extensions[SEEDERS_KEY]
    assert {"escalate", "notifications", "ladder"} <= set(app.cli.commands)


@transactional
def _forget_ladder(uow: UnitOfWork) -> None:
    uow.session.execute(delete(EscalationStep))


def test_db_upgrade_seeds_the_ladder(engine):
    app = cli_app(engine, free_port())
    _forget_ladder(UnitOfWork(engine))
    assert run(app, "ladder").output.startswith("the ladder is empty")
    assert run(app, "db", "upgrade").exit_code == 0
    assert len(ladder.list_ladder(UnitOfWork(engine))) == 9
