"""Terminal commands of the inventory: check the books, import and export CSV,
decide the extras that arrived on transfers.

Commands act as ``core.auth.system_actor()``: whoever can run them has the
server's own access, and the ledger records them as ``cli:<login name>``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from core import auth
from core.cli import domain_errors
from core.db import UnitOfWork, read_only
from core.errors import Invalid
from core.web import uow
from inventory.models import StockBalance
from inventory.service import exports, imports, ledger, receipts, transfers
from inventory.service.ledger import Discrepancy
from inventory.service.serials import SerialInTwoPlaces


@read_only
def _books(u: UnitOfWork) -> tuple[int, list[Discrepancy | SerialInTwoPlaces]]:
    """Balance rows checked and the discrepancies found, read in one snapshot."""
    rows = u.session.scalar(select(func.count()).select_from(StockBalance)) or 0
    return rows, ledger.check_books(u)


@click.command("check")
@with_appcontext
@domain_errors
def check_command() -> None:
    """Verify every stock balance against the ledger, reservations and units, and
    that no serial is in two places."""
    rows, problems = _books(uow())
    if problems:
        for problem in problems:
            click.echo(str(problem))
        click.echo(f"books do not balance: {len(problems)} discrepancies", err=True)
        sys.exit(1)
    click.echo(f"books balance: {rows} balance rows checked")


def _read(file: Path) -> str:
    return imports.decode_csv(file.read_bytes())


def _run_import(kind: str, file: Path) -> None:
    run = imports.import_parts if kind == "parts" else imports.import_stock
    try:
        report = run(uow(), auth.system_actor(), _read(file))
    except Invalid as error:
        for problem in error.extra.get("problems", []):
            click.echo(str(imports.Problem(**problem)), err=True)
        raise
    click.echo(report.summary())


@click.group("import", cls=AppGroup)  # AppGroup: every command runs in the app context
def import_group() -> None:
    """Import parts or stock from CSV: every row, or none if any is bad."""


@import_group.command("parts")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@domain_errors
def import_parts_command(file: Path) -> None:
    """Create and update parts (part_number,description,family,serialized,unit_cost
    [,weight_kg,criticality,superseded_by])."""
    _run_import("parts", file)


@import_group.command("stock")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@domain_errors
def import_stock_command(file: Path) -> None:
    """Book stock receipts (depot,part_number,qty[,serials,condition])."""
    _run_import("stock", file)


@click.group("export", cls=AppGroup)
def export_group() -> None:
    """Export stock or the ledger as CSV."""


def _write(text: str, out: Path | None, what: str) -> None:
    if out is None:
        click.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    click.echo(f"wrote {max(text.count(chr(10)) - 1, 0)} {what} to {out}", err=True)


OUT_OPTION = click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: stdout).",
)


@export_group.command("stock")
@click.option("--depot", default=None, help="Only this depot, e.g. BJ.")
@OUT_OPTION
@domain_errors
def export_stock_command(depot: str | None, out: Path | None) -> None:
    """Stock per depot and part (depot,part_number,description,good,reserved,available,
    defective,in_repair,quarantine,in_transit)."""
    _write(exports.export_stock_csv(uow(), depot=depot), out, "stock rows")


@export_group.command("ledger")
@click.option("--depot", default=None, help="Only this depot, e.g. BJ.")
@click.option("--part-number", default=None, help="Only this part.")
@OUT_OPTION
@domain_errors
def export_ledger_command(depot: str | None, part_number: str | None, out: Path | None) -> None:
    """Ledger entries, oldest first (id,at,movement,kind,actor,reason,reference,depot,
    part_number,bucket,qty,serial; at in Asia/Shanghai)."""
    _write(
        exports.export_ledger_csv(uow(), depot=depot, part_number=part_number),
        out,
        "ledger entries",
    )


@click.group("transfers", cls=AppGroup)
def transfers_group() -> None:
    """Transfers between depots."""


@transfers_group.command("resolve")
@click.argument("transfer_id", type=click.IntRange(min=1))
@click.argument("discrepancy_id", type=click.IntRange(min=1))
@click.argument("decision", type=click.Choice(["accept", "send-back"]))
@click.option("--reason", default="", help="What the inspection found.")
@domain_errors
def resolve_command(transfer_id: int, discrepancy_id: int, decision: str, reason: str) -> None:
    """Decide an extra that waits in quarantine: accept it into good stock, or
    send it back to its sender (out of the books)."""
    done = receipts.resolve_discrepancy(
        uow(),
        auth.system_actor(),
        discrepancy_id,
        decision,
        transfer_id=transfer_id,
        reason=reason,
    )
    [item] = [d for d in done.discrepancies if d.id == discrepancy_id]
    what = item.serial or f"{item.qty} x {item.part_number}"
    depot = done.transfer.to_depot
    outcome = (
        f"accepted into {depot}'s good stock"
        if item.resolution == "accepted"
        else f"sent back to its sender, out of {depot}'s books"
    )
    click.echo(f"{transfers.transfer_code(transfer_id)}: extra {what} {outcome}")


def register(app: Any) -> None:
    """Add the inventory's commands to ``spares``."""
    for command in (check_command, import_group, export_group, transfers_group):
        app.cli.add_command(command)
