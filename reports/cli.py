"""Terminal commands of the reports.

``spares report NAME --format pdf|xlsx|csv|json --out FILE [--from D] [--to D]
[--depot CODE] [--fault-level C-1] [--family F] [--plan ID] [--table T]`` writes
any report of the catalogue (rebalancing, ageing, stock-status, engineers,
coverage) with the filters it honours; each command's ``--help`` lists them.

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
from flask.cli import AppGroup, with_appcontext

from core import auth
from core.cli import domain_errors
from core.errors import Invalid
from core.web import uow
from reports.catalogue import ReportKind, kinds
from reports.files import FORMATS, Rendered
from reports.files import render as render_file
from reports.render import render
from reports.service.filters import Filters
from reports.service.period import Period
from reports.service.service_levels import TABLE_NAMES, service_levels


def register(app: Any) -> None:
    """Add ``spares report ...`` to the command line."""
    for kind in kinds().values():
        if kind.render is None and kind.name not in report_group.commands:
            report_group.add_command(_command_for(kind))
    app.cli.add_command(report_group)


@click.group("report", cls=AppGroup)  # AppGroup: every command runs in the app context
def report_group() -> None:
    """Reports for planners and supervisors."""


@report_group.command("service-levels")
@click.option(
    "--start",
    "--from",
    "start",
    default=None,
    help="First day, YYYY-MM-DD (default: --end less 30 days).",
)
@click.option(
    "--end", "--to", "end", default=None, help="Last day, YYYY-MM-DD, included (default: today)."
)
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
    _check_out(fmt, table, out)
    period = Period.parse(start, end)
    report = service_levels(uow(), period)
    rendered = render(report, fmt, table, generated_by=auth.system_actor().username)
    _write(rendered, out, period.label)


def _check_out(fmt: str, table: str | None, out: str) -> None:
    if table is not None and fmt in ("pdf", "xlsx"):
        raise Invalid("--table applies to --format csv or json only")
    if fmt == "csv" and table is None and out != "-" and out.lower().endswith(".csv"):
        raise Invalid(
            "without --table, csv writes a ZIP of every table: give --table, or an --out .zip"
        )
    if out != "-" and not Path(out).parent.is_dir():
        raise Invalid(f"--out: directory {Path(out).parent} does not exist")


def _write(rendered: Rendered, out: str, what: str) -> None:
    """The file to ``out`` (``-``: standard output), written beside the target and
    renamed, so a failed run never leaves half a file."""
    if out == "-":
        sys.stdout.buffer.write(rendered.content)
        sys.stdout.flush()
        return
    path = Path(out)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(rendered.content)
    partial.replace(path)
    click.echo(
        f"{rendered.filename.rsplit('.', 1)[-1].upper()} report {what} "
        f"({len(rendered.content):,} bytes) written to {path}",
        err=True,
    )


def _command_for(kind: ReportKind) -> click.Command:
    """``spares report NAME`` for a report of the catalogue, with the filters it
    honours."""

    @domain_errors
    def command(fmt: str, out: str, table: str | None, **options: Any) -> None:
        _check_out(fmt, table, out)
        unit = uow()
        filters = Filters.parse(
            unit,
            start=options.get("start"),
            end=options.get("end"),
            depot=options.get("depot"),
            fault_level=options.get("fault_level"),
            family=options.get("family"),
            plan=options.get("plan"),
            applies=kind.filters,
        )
        report = kind.build(unit, filters)
        rendered = render_file(kind, report, fmt, table, generated_by=auth.system_actor().username)
        _write(rendered, out, str(kind.title))

    params: list[click.Parameter] = [
        click.Option(
            ["--format", "fmt"],
            type=click.Choice(FORMATS),
            required=True,
            help="pdf, xlsx, csv (one --table, or a ZIP of all tables) or json.",
        ),
        click.Option(
            ["--out"],
            required=True,
            type=click.Path(dir_okay=False, allow_dash=True),
            help="File to write, or - for standard output.",
        ),
        click.Option(
            ["--table"],
            type=click.Choice(list(kind.tables)),
            default=None,
            help="csv/json: only this table.",
        ),
    ]
    if "period" in kind.filters:
        params += [
            click.Option(
                ["--from", "start"],
                default=None,
                help="First day, YYYY-MM-DD (default: 30 days before --to).",
            ),
            click.Option(
                ["--to", "end"],
                default=None,
                help="Last day, YYYY-MM-DD, included (default: today).",
            ),
        ]
    if "depot" in kind.filters:
        params.append(click.Option(["--depot"], default=None, help="Only this depot (code)."))
    if "fault_level" in kind.filters:
        params.append(
            click.Option(
                ["--fault-level"], default=None, help="Only this fault level (C-1, C-2, C-3)."
            )
        )
    if "family" in kind.filters:
        params.append(click.Option(["--family"], default=None, help="Only this part family."))
    if "plan" in kind.filters:
        params.append(
            click.Option(["--plan"], default=None, help="The plan (default: the latest).")
        )
    return click.Command(
        kind.name,
        callback=with_appcontext(command),
        params=params,
        help=f"Write the {str(kind.title).lower()} report: {kind.summary}.",
    )
