"""Terminal commands for transport lanes: export, import and quotes.

Whoever runs these commands has the server's own access, so lane imports are
recorded as the operator (``--as`` names a real planner or admin instead).
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from core import auth, clock
from core.cli import domain_errors
from core.errors import Invalid
from core.web import uow
from depots.lanes import SERVICES
from depots.service import lane_edits, network

OPERATOR = auth.Actor(id=0, username="cli", role=auth.Role.ADMIN, full_name="command line")


def _actor(username: str | None) -> auth.Actor:
    if username is None:
        return OPERATOR
    for actor in auth.list_users(uow()):
        if actor.username == username:
            actor.require_role("planner")
            return actor
    raise Invalid(f"unknown user {username!r}")


@click.group("lanes", cls=AppGroup)  # AppGroup: every command runs in the app context
def lanes_group() -> None:
    """Transport lanes between depots and customer cities."""


@lanes_group.command("export")
@click.option(
    "--out", "out", type=click.Path(dir_okay=False, path_type=Path), help="File to write."
)
@click.option("--from", "from_depot", default=None, help="Only lanes from this depot.")
@click.option("--kind", type=click.Choice(["city", "depot"]), default=None)
@domain_errors
def export_command(out: Path | None, from_depot: str | None, kind: str | None) -> None:
    """Write lanes as CSV (from_depot,to,kind,mode,hours,cost) to FILE or stdout."""
    text = lane_edits.export_lanes_csv(uow(), from_depot=from_depot, kind=kind)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {text.count(chr(10)) - 1} lanes to {out}", err=True)


@lanes_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "username", default=None, help="Record the change as this planner/admin.")
@domain_errors
def import_command(file: Path, username: str | None) -> None:
    """Import lanes from a CSV file: all rows or, if any is bad, none."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise Invalid(f"{file} is not UTF-8 text") from None
    try:
        result = lane_edits.import_lanes_csv(uow(), _actor(username), text)
    except Invalid as error:
        for problem in error.fields:
            column = f" {problem.field}" if problem.field else ""
            where = f"line {problem.line}{column}"
            click.echo(f"{file}:{where}: {problem.message}", err=True)
        raise
    click.echo(
        f"imported {result.rows} rows: {len(result.changed)} lanes changed, "
        f"{result.unchanged} already as given"
    )


@lanes_group.command("quote")
@click.option("--from", "from_depot", required=True, help="Shipping depot code, e.g. BJ.")
@click.option("--to", "to", required=True, help="City name or depot code, e.g. Lhasa or SH.")
@click.option("--at", "at", default=None, help="Ready at, ISO 8601 (no offset: Asia/Shanghai).")
@click.option("--service", type=click.Choice(SERVICES), default="standard", show_default=True)
@domain_errors
def quote_command(from_depot: str, to: str, at: str | None, service: str) -> None:
    """When a parcel ready at a depot ships and arrives, and what it costs."""
    ready_at = clock.read_optional_instant(at, "--at") or clock.now()
    answer = network.quote(uow(), from_depot, to, ready_at, service)
    fmt = "%Y-%m-%d %H:%M %a"
    click.echo(f"{from_depot.upper()} → {to}  {answer.service}, {answer.mode}")
    click.echo(f"ready    {clock.local(ready_at).strftime(fmt)}")
    click.echo(f"ships    {clock.local(answer.ships_at).strftime(fmt)}")
    click.echo(f"arrives  {clock.local(answer.arrives_at).strftime(fmt)}  (Asia/Shanghai)")
    click.echo(f"transit  {answer.hours} h")
    click.echo(f"cost     {answer.cost} CNY")
