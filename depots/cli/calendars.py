"""Terminal commands for working-hours calendars: import/export days, compute hours.

Whoever runs these commands has the server's own access, so imports are recorded
as made by "cli" unless ``--as`` names an administrator. Instants are ISO 8601
(``2026-02-13T16:00:00+08:00``; without an offset, Asia/Shanghai time, the one
rule of ``core.clock.read_instant``); answers are printed in Asia/Shanghai.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from flask.cli import AppGroup

from core import auth, clock
from core.cli import domain_errors
from core.errors import Invalid
from core.web import uow
from depots.service import calendars


def _instant(text: str, option: str) -> datetime:
    instant = clock.read_optional_instant(text, option)
    if instant is None:
        raise Invalid(f"{option}: enter a date and time")
    return instant


def _admin(username: str | None) -> auth.Actor | None:
    if username is None:
        return None  # the operator at the server's terminal
    for actor in auth.list_users(uow()):
        if actor.username == username:
            actor.require_role("admin")
            return actor
    raise Invalid(f"unknown user {username!r}")


# AppGroup: every subcommand runs inside the application context (database, settings).
@click.group("calendar", cls=AppGroup)
def calendar_group() -> None:
    """Working-hours calendars: holidays, make-up days and working-hours arithmetic."""


@calendar_group.command("list")
@domain_errors
def list_command() -> None:
    """List the calendars."""
    for item in calendars.list_calendars(uow()):
        hours = "7x24" if item.always_open else f"{item.day_start}-{item.day_end}"
        click.echo(
            f"{item.code:8} {item.name:32} {hours:12} "
            f"{item.holidays} holidays, {item.workdays} make-up days"
        )


@calendar_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "username", default=None, help="Record the change as this administrator.")
@domain_errors
def import_command(file: Path, username: str | None) -> None:
    """Add or replace the days listed in FILE (CSV: calendar,day,kind,name).

    All or nothing: every problem is listed and nothing is imported if any row is wrong.
    """
    actor = _admin(username)
    try:
        result = calendars.import_days(uow(), actor, file.read_bytes())
    except Invalid as error:
        for item in error.fields:
            where = f"line {item.line}" + (f", {item.field}" if item.field else "")
            click.echo(f"{file.name}: {where}: {item.message}", err=True)
        raise
    click.echo(f"imported {file.name}: {result}")


@calendar_group.command("export")
@click.option("--calendar", "code", default=None, help="Only this calendar (default: all).")
@click.option("--year", type=click.IntRange(2000, 2199), default=None, help="Only this year.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write.")
@domain_errors
def export_command(code: str | None, year: int | None, out: Path | None) -> None:
    """Write holidays and make-up days as CSV (calendar,day,kind,name) to stdout or --out."""
    text = calendars.export_days(uow(), code, year)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {text.count(chr(10)) - 1} days to {out}", err=True)


@calendar_group.command("hours")
@click.option(
    "--start",
    required=True,
    help="ISO 8601, e.g. 2026-02-13T16:00+08:00 (no offset: Asia/Shanghai)",
)
@click.option("--end", required=True, help="ISO 8601 (no offset: Asia/Shanghai)")
@click.option("--calendar", "code", default="5x8", show_default=True)
@domain_errors
def hours_command(start: str, end: str, code: str) -> None:
    """Print the working hours between START and END (negative if END is earlier)."""
    hours = calendars.working_hours(uow(), code, _instant(start, "--start"), _instant(end, "--end"))
    click.echo(f"{hours:.6f}".rstrip("0").rstrip("."))


@calendar_group.command("due")
@click.option(
    "--start",
    required=True,
    help="ISO 8601, e.g. 2026-02-13T16:00+08:00 (no offset: Asia/Shanghai)",
)
@click.option("--hours", type=click.FloatRange(min=0), required=True, help="Working hours.")
@click.option("--calendar", "code", default="5x8", show_default=True)
@domain_errors
def due_command(start: str, hours: float, code: str) -> None:
    """Print when HOURS working hours from START will have elapsed (Asia/Shanghai)."""
    due = calendars.add_hours(uow(), code, _instant(start, "--start"), hours)
    click.echo(clock.local(due).isoformat())
