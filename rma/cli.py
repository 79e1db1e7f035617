"""Terminal commands of the RMA package: the scheduled escalation run, the outbox,
the escalation ladder, and a case's steps for the operator (``spares rma``).

``spares escalate`` is meant to run every minute from cron or a systemd timer
(docs/OPERATIONS.md); concurrent runs are safe. Commands act as the server's
operator (``core.auth.system_actor()``), who holds administrator rights.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from core import auth, clock
from core.cli import SEEDERS_KEY, domain_errors
from core.db import UnitOfWork, read_only
from core.errors import Invalid
from core.web import SETTINGS_KEY, uow
from rma import kinds
from rma.models import Notification, Rma
from rma.service import chasing, escalations, ladder, lifecycle, promises, queries, returns
from rma.service.delivery import deliver_pending
from rma.service.promises import live_promises

NOTIFICATION_STATUSES = ("pending", "sent", "failed")


def register(app: Any) -> None:
    """Add the RMA commands to ``spares`` and the ladder to the seeders of ``db upgrade``."""
    for command in (escalate_command, notifications_command, ladder_group, rma_group):
        app.cli.add_command(command)
    seeders = app.extensions.setdefault(SEEDERS_KEY, [])
    if ladder.seed_ladder not in seeders:
        seeders.append(ladder.seed_ladder)


def _instant(text: str | None) -> datetime | None:
    return clock.read_optional_instant(text, "--now")


@click.command("escalate")
@with_appcontext
@click.option(
    "--now",
    "now_text",
    default=None,
    metavar="ISO",
    help="Act as if it were this instant (ISO 8601; no offset: Asia/Shanghai); default: the clock.",
)
@click.option(
    "--limit",
    default=100,
    show_default=True,
    type=click.IntRange(0, 10_000),
    help="Most notifications to send in this run.",
)
@domain_errors
def escalate_command(now_text: str | None, limit: int) -> None:
    """Record promises that passed unmet, raise due escalations, chase overdue returns,
    then send pending e-mail.

    Prints one line per escalation raised on stdout; lapsed promises, reminders and
    delivery results go to stderr. Exits 0 even when mail could not be sent (it is
    retried on a later run). Safe to run several at once.
    """
    at = _instant(now_text)
    # --now moves the whole run, outbox timestamps included, to that instant.
    with clock.frozen(at) if at is not None else nullcontext():
        now = clock.now()
        lapsed = promises.refresh_promises(uow(), now)
        if lapsed:
            click.echo(
                f"{len(lapsed)} promises passed unmet, now at risk: {', '.join(lapsed)}", err=True
            )
        raised = escalations.raise_due_escalations(uow(), now)
        numbers = _numbers(uow(), [e.rma_id for e in raised])
        for escalation in raised:
            click.echo(_escalation_line(escalation, numbers.get(escalation.rma_id, "?")))
        reminders = chasing.chase_overdue_returns(uow(), now)
        if reminders:
            cases = len({n.rma_id for n in reminders})
            click.echo(f"queued {len(reminders)} return reminders for {cases} RMAs", err=True)
        report = deliver_pending(uow(), current_app.extensions[SETTINGS_KEY], now, limit)
    for line in report.errors:
        click.echo(line, err=True)
    if report.sent or report.retrying or report.failed or report.stopped:
        click.echo(report.summary(), err=True)


def _escalation_line(escalation: Any, number: str) -> str:
    if escalation.step == escalations.AT_RISK_STEP:
        return (
            f"{number} {escalation.fault_level} step 0 (at risk) -> "
            f"{escalation.notify_title} <{escalation.notify_email}>"
        )
    return (
        f"{number} {escalation.fault_level} step {escalation.step} "
        f"({escalation.support_hours:g} h) -> {escalation.notify_title} "
        f"<{escalation.notify_email}>"
    )


@read_only
def _numbers(u: UnitOfWork, rma_ids: list[int]) -> dict[int, str]:
    if not rma_ids:
        return {}
    rows = u.session.execute(select(Rma.id, Rma.number).where(Rma.id.in_(set(rma_ids))))
    return {rma_id: number for rma_id, number in rows}


@read_only
def _outbox(u: UnitOfWork, status: str | None, limit: int) -> list[Notification]:
    query = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if status:
        query = query.where(Notification.status == status)
    return list(u.session.scalars(query))


@click.command("notifications")
@with_appcontext
@click.option(
    "--status",
    type=click.Choice(NOTIFICATION_STATUSES),
    default=None,
    help="Only messages in this state.",
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@domain_errors
def notifications_command(status: str | None, limit: int) -> None:
    """List the e-mail outbox, newest first (times in Asia/Shanghai)."""
    rows = _outbox(uow(), status, limit)
    if not rows:
        click.echo("no notifications" + (f" {status}" if status else ""))
        return
    for row in rows:
        when = row.sent_at if row.status == "sent" else row.next_attempt_at
        label = "sent" if row.status == "sent" else "next"
        line = (
            f"{row.id:>6} {row.status:7} {row.attempts:>2}x {label} "
            f"{clock.local(when):%Y-%m-%d %H:%M}  {row.to_address}  {row.subject}"
        )
        if row.last_error and row.status != "sent":
            line += f"  [{row.last_error[:120]}]"
        click.echo(line)


@click.group("ladder", cls=AppGroup, invoke_without_command=True)
@click.pass_context
@with_appcontext  # AppGroup gives its subcommands the app context, not the group itself
@domain_errors
def ladder_group(ctx: click.Context) -> None:
    """Print the escalation ladder (or change a step with `ladder set`)."""
    if ctx.invoked_subcommand is not None:
        return
    steps = ladder.list_ladder(uow())
    if not steps:
        click.echo("the ladder is empty; run `spares db upgrade` to add the defaults")
        return
    for step in steps:
        unit = "h (calendar h on 7x24)" if step.fault_level == "C-1" else "working h"
        click.echo(
            f"{step.fault_level} step {step.step}  after {step.after_hours:>4g} {unit:22} "
            f"{step.notify_title} <{step.notify_email}>"
        )


@ladder_group.command("set")
@click.argument("fault_level")
@click.argument("step", type=int)
@click.option("--hours", "after_hours", type=float, default=None, help="Support hours.")
@click.option(
    "--title", "notify_title", default=None, help="Who is told, e.g. 'HQ service manager'."
)
@click.option("--email", "notify_email", default=None, help="The address to notify.")
@domain_errors
def ladder_set_command(
    fault_level: str,
    step: int,
    after_hours: float | None,
    notify_title: str | None,
    notify_email: str | None,
) -> None:
    """Change step STEP of FAULT_LEVEL's ladder (e.g. `ladder set C-1 2 --email ...`)."""
    if after_hours is None and notify_title is None and notify_email is None:
        raise Invalid("give at least one of --hours, --title, --email")
    row = ladder.update_step(
        uow(),
        auth.system_actor(),
        fault_level,
        step,
        after_hours=after_hours,
        notify_title=notify_title,
        notify_email=notify_email,
    )
    click.echo(
        f"{row.fault_level} step {row.step}: after {row.after_hours:g} h -> "
        f"{row.notify_title} <{row.notify_email}>"
    )


@click.group("rma", cls=AppGroup)
def rma_group() -> None:
    """One RMA: show it, cancel it, receive a cancelled case's unit back."""


@read_only
def _case_lines(u: UnitOfWork, number: str) -> list[str]:
    view = queries.get_rma(u, number)
    rma = view.rma
    lines = [
        f"{rma.number} {rma.fault_level} {rma.kind} {rma.status}: {view.customer.name}, "
        f"{view.site.name}; part {rma.part_number}, serial {rma.serial or 'unknown'}"
    ]
    promise = live_promises(u, [rma], clock.now()).get(rma.id or 0)
    if promise is not None:
        current = _when(promise.current) if promise.current else "none can be given now"
        lines.append(
            f"promise: due {_when(promise.due)}, first {_when(promise.original)}, now {current}"
            + (f"; AT RISK: {promise.reason}" if promise.at_risk else "")
        )
    back = kinds.expected_back(rma)
    if back is not None and rma.due_defective_return is not None:
        lines.append(
            f"expected back: {back.what} {back.serial or 'serial unknown'} by "
            f"{_when(rma.due_defective_return)} ({back.action})"
        )
    lines.append(f"allowed: {', '.join(kinds.allowed_actions(rma)) or 'nothing'}")
    return lines


def _when(value: datetime | None) -> str:
    return f"{clock.local(value):%Y-%m-%d %H:%M}" if value else "-"


@rma_group.command("show")
@click.argument("number")
@domain_errors
def rma_show_command(number: str) -> None:
    """The case, its live promise, the unit it waits for and what may be done now."""
    for line in _case_lines(uow(), number):
        click.echo(line)


@rma_group.command("cancel")
@click.argument("number")
@click.option("--reason", required=True, help="Why the case is cancelled.")
@domain_errors
def rma_cancel_command(number: str, reason: str) -> None:
    """Cancel NUMBER: released before shipping; after shipping it waits for its unit."""
    done = lifecycle.cancel(uow(), auth.system_actor(), number, reason)
    if done.status == "returning":
        click.echo(
            f"{done.number} returning: unit {done.shipped_serial or '?'} expected back by "
            f"{_when(done.due_defective_return)}"
        )
    else:
        click.echo(f"{done.number} cancelled")


@rma_group.command("receive-back")
@click.argument("number")
@click.option("--depot", required=True, help="The depot the unit arrived at.")
@click.option("--serial", default=None, help="The serial scanned (default: the one shipped).")
@domain_errors
def rma_receive_back_command(number: str, depot: str, serial: str | None) -> None:
    """The unit of a case cancelled after shipping is back: quarantine, case cancelled."""
    done = returns.receive_replacement_back(uow(), auth.system_actor(), number, depot, serial)
    click.echo(
        f"{done.number} cancelled: unit {done.returned_serial} in {done.return_depot} quarantine"
    )
