"""Terminal commands of the inventory: check the books, import and export CSV,
receive transfers (what arrived, or all as shipped), receive late parcels, write
off what is still missing, decide the extras that arrived.

Transfers are named as everywhere else, ``T2`` (a bare ``2`` is accepted too).
The terminal speaks English.

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
from inventory.service import exports, imports, ledger, receipts, shortfalls
from inventory.service.ledger import Discrepancy
from inventory.service.receipts import ReceivedLine
from inventory.service.serials import SerialInTwoPlaces
from inventory.service.transfers import TransferView, transfer_code, transfer_id_from


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
        for problem in error.fields:
            click.echo(
                str(imports.Problem(problem.line or 1, problem.field, problem.message)), err=True
            )
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


class TransferCode(click.ParamType):
    """A transfer as people name it: ``T2`` (or ``2``)."""

    name = "transfer"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int):
            return value
        try:
            return transfer_id_from(value)
        except Invalid as error:
            self.fail(error.detail, param, ctx)


TRANSFER = TransferCode()


def _lines(serials: tuple[str, ...], quantities: tuple[str, ...]) -> list[ReceivedLine] | None:
    """``--serials PART=S1,S2`` and ``--qty PART=N`` options as receipt lines (None when
    neither is given)."""
    found: dict[str, ReceivedLine] = {}
    for option, text in [("--serials", t) for t in serials] + [("--qty", t) for t in quantities]:
        part, sep, value = text.partition("=")
        part = part.strip().upper()
        if not sep or not part:
            raise Invalid(f"{option} takes PART=VALUE, got {text!r}")
        if part in found:
            raise Invalid(f"{part} is given twice")
        if option == "--serials":
            found[part] = ReceivedLine(part, serials=[s for s in value.split(",") if s.strip()])
        elif value.strip().isdigit():
            found[part] = ReceivedLine(part, qty=int(value))
        else:
            raise Invalid(f"--qty {text!r}: give a whole number of units")
    return list(found.values()) or None


def _outcome(done: TransferView) -> str:
    """One line: the transfer, its status and what it still waits for."""
    code = transfer_code(done.transfer.id or 0)
    waiting = [d for d in done.discrepancies if receipts.awaits_arrival(d, done.transfer)]
    missing = sum(d.qty for d in waiting)
    line = f"{code}: {done.transfer.status}"
    if missing:
        line += f"; {missing} unit(s) still missing (receive-late or write-off)"
    extras = sum(1 for d in done.discrepancies if receipts.awaits_decision(d))
    if extras:
        line += f"; {extras} extra(s) wait in quarantine for a decision"
    return line


SERIALS_OPTION = click.option(
    "--serials", "serials", multiple=True, metavar="PART=S1,S2", help="Serials that arrived."
)
QTY_OPTION = click.option(
    "--qty", "quantities", multiple=True, metavar="PART=N", help="Bulk units that arrived."
)


@transfers_group.command("receive")
@click.argument("transfer", type=TRANSFER)
@SERIALS_OPTION
@QTY_OPTION
@click.option("--as-shipped", is_flag=True, help="Everything arrived as shipped.")
@domain_errors
def receive_command(
    transfer: int, serials: tuple[str, ...], quantities: tuple[str, ...], as_shipped: bool
) -> None:
    """Receive a shipped transfer: list what arrived, or confirm --as-shipped. Lines
    left out did not arrive; shortfalls stay in transit until they arrive late or are
    written off."""
    done = receipts.receive_transfer(
        uow(), auth.system_actor(), transfer, _lines(serials, quantities), as_shipped=as_shipped
    )
    click.echo(_outcome(done))


@transfers_group.command("receive-late")
@click.argument("transfer", type=TRANSFER)
@SERIALS_OPTION
@QTY_OPTION
@click.option("--all-missing", is_flag=True, help="Everything still missing arrived.")
@domain_errors
def receive_late_command(
    transfer: int, serials: tuple[str, ...], quantities: tuple[str, ...], all_missing: bool
) -> None:
    """Receive a late parcel against a partially received transfer."""
    done = shortfalls.receive_late_parcel(
        uow(),
        auth.system_actor(),
        transfer,
        _lines(serials, quantities),
        all_missing=all_missing,
    )
    click.echo(_outcome(done))


@transfers_group.command("write-off")
@click.argument("transfer", type=TRANSFER)
@click.option("--reason", required=True, help="Why the missing units are written off.")
@domain_errors
def write_off_command(transfer: int, reason: str) -> None:
    """Write off what a partially received transfer is still missing (out of the books)."""
    done = shortfalls.write_off_shortfall(uow(), auth.system_actor(), transfer, reason)
    click.echo(_outcome(done))


@transfers_group.command("resolve")
@click.argument("transfer_id", type=TRANSFER)
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
    click.echo(f"{transfer_code(transfer_id)}: extra {what} {outcome}")


def register(app: Any) -> None:
    """Add the inventory's commands to ``spares``."""
    for command in (check_command, import_group, export_group, transfers_group):
        app.cli.add_command(command)
