"""Terminal commands of the reports.

``spares report service-levels [--start D] [--end D] --format pdf|xlsx|csv|json
--out FILE [--table NAME]`` writes the service-levels report of a period
(Asia/Shanghai dates, both included; default the 30 days before today, and
today). ``--format csv`` writes one table with ``--table``, otherwise a ZIP
archive of every table (so ``--out`` must not then end in ``.csv``). ``--out -``
writes to standard output. Bad dates or options exit 2 with one line on stderr
and write nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from core import auth
from core.cli import domain_errors
from core.errors import Invalid
from core.web import uow
from reports.render import FORMATS, render
from reports.service.period import Period
from reports.service.service_levels import TABLE_NAMES, service_levels


def register(app: Any) -> None:
    """Add ``spares report ...`` to the command line."""
    app.cli.add_command(report_group)


@click.group("report", cls=AppGroup)  # AppGroup: every command runs in the app context
def report_group() -> None:
    """Reports for planners and supervisors."""


@report_group.command("service-levels")
@click.option("--start", default=None, help="First day, YYYY-MM-DD (default: --end less 30 days).")
@click.option("--end", default=None, help="Last day, YYYY-MM-DD, included (default: today).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    required=True,
    help="pdf, xlsx, csv (one --table, or a ZIP of all tables) or json.",
)
@click.option(
    "--table",
    type=click.Choice(TABLE_NAMES),
    default=None,
    help="csv/json: only this table.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="File to write, or - for standard output.",
)
@domain_errors
def service_levels_command(
    start: str | None, end: str | None, fmt: str, table: str | None, out: str
) -> None:
    """Write the service-levels report: promises kept, engineers' evaluations, stock health."""
    if table is not None and fmt in ("pdf", "xlsx"):
        raise Invalid("--table applies to --format csv or json only")
    if fmt == "csv" and table is None and out != "-" and out.lower().endswith(".csv"):
        raise Invalid(
            "without --table, csv writes a ZIP of every table: give --table, or an --out .zip"
        )
    period = Period.parse(start, end)
    report = service_levels(uow(), period)
    rendered = render(report, fmt, table, generated_by=auth.system_actor().username)
    if out == "-":
        sys.stdout.buffer.write(rendered.content)
        sys.stdout.flush()
        return
    path = Path(out)
    if not path.parent.is_dir():
        raise Invalid(f"--out: directory {path.parent} does not exist")
    # Write beside the target, then rename: a failed run never leaves half a file.
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(rendered.content)
    partial.replace(path)
    click.echo(
        f"{rendered.filename.rsplit('.', 1)[-1].upper()} report {period.label} "
        f"({len(rendered.content):,} bytes) written to {path}",
        err=True,
    )
