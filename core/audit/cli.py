"""`spares audit`: the audit trail on the terminal, newest first, or as CSV."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from flask.cli import with_appcontext

from core import auth, clock
from core.audit import queries
from core.cli import domain_errors
from core.web import uow


def register(app: Any) -> None:
    app.cli.add_command(audit)


@click.command("audit")
@with_appcontext
@click.option("--entity", default=None, help="a kind (lane, rma ...) or kind:key (rma:12)")
@click.option("--actor", default=None, help="who acted (a username, cli:<login>)")
@click.option("--from", "start", default=None, help="from this day or instant with offset")
@click.option("--to", "end", default=None, help="to this day (inclusive) or instant")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--csv", "as_csv", is_flag=True, help="the whole selection as CSV on stdout")
@domain_errors
def audit(
    entity: str | None,
    actor: str | None,
    start: str | None,
    end: str | None,
    limit: int,
    as_csv: bool,
) -> None:
    """List audit entries, newest first (times in Asia/Shanghai)."""
    filters = queries.parse_filters(entity, actor, start, end)
    operator = auth.system_actor()
    if as_csv:
        for text in queries.entries_csv(uow(), operator, filters):
            sys.stdout.write(text)
        return
    for entry in queries.audit_entries(uow(), operator, filters, limit=limit):
        changes = json.dumps(
            {"before": entry.before, "after": entry.after}, ensure_ascii=False, sort_keys=True
        )
        click.echo(
            f"{clock.local(entry.at):%Y-%m-%d %H:%M:%S} {entry.actor:16} "
            f"{entry.entity}:{entry.entity_key} {entry.action} {changes}"
            + (f" [{entry.request_id}]" if entry.request_id else "")
        )
