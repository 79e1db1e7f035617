"""Transfer pages: the list, drafting a transfer, one transfer with its ship,
receive, cancel and extras-decision forms, and the printable transfer note."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for

from core import auth
from core.auth import Role
from core.errors import DomainError, Invalid
from core.web import uow
from inventory.documents import render_transfer_note
from inventory.models import Part, TransferStatus
from inventory.service import catalog, receipts, transfers
from inventory.service.receipts import ReceivedLine
from inventory.service.transfers import LineIn, TransferView, transfer_code
from inventory.views import views
from inventory.views.common import (
    STAFF,
    TRANSFER_ROLES,
    VIEWERS,
    current_actor,
    depot_labels,
    depot_list,
    form_with_error,
    is_staff,
    part_numbers,
    scanned_serials,
    whole_number,
)

TRANSFER_FORM_MIN_LINES = 5
TRANSFER_FORM_MAX_BLANK_LINES = 100


@views.route("/transfers", endpoint="transfers")
@auth.page_roles(*TRANSFER_ROLES)
def transfers_list() -> Any:
    actor = current_actor()
    status = request.args.get("status") or None
    requested = request.args.get("depot")
    if requested is None and is_staff(actor):
        requested = actor.depot_code  # staff start with their own depot's transfers
    depot = (requested or "").strip().upper() or None
    return render_template(
        "inventory/transfers.html",
        items=transfers.list_transfers(uow(), status=status, depot=depot),
        status=status,
        statuses=[s.value for s in TransferStatus],
        depot=depot,
        depots=depot_list(),
    )


def _line_rows(form: Any) -> list[dict[str, str]]:
    numbers = form.getlist("part_number")
    quantities = form.getlist("qty")
    rows = [
        {"part_number": number, "qty": qty}
        for number, qty in zip(numbers, quantities, strict=False)
        if number.strip() or qty.strip()
    ]
    blanks = max(TRANSFER_FORM_MIN_LINES - len(rows), 2)
    return rows + [{"part_number": "", "qty": ""}] * blanks


def _parse_lines(form: Any) -> list[LineIn]:
    lines = []
    numbers = form.getlist("part_number")
    quantities = form.getlist("qty")
    for index, (number, qty) in enumerate(zip(numbers, quantities, strict=False), start=1):
        if not number.strip() and not qty.strip():
            continue
        if not number.strip():
            raise Invalid(f"Line {index}: enter the part number", field=f"line-{index}")
        amount = whole_number(qty, f"Line {index} ({number.strip().upper()})", f"line-{index}")
        lines.append(LineIn(number.strip().upper(), amount))
    if not lines:
        raise Invalid("Add at least one line: a part number and a quantity", field="line-1")
    return lines


@views.route("/transfers/new", methods=["GET", "POST"])
@auth.page_roles(*TRANSFER_ROLES)
def transfer_new() -> Any:
    actor = current_actor()
    context = {"depots": depot_list(), "part_numbers": part_numbers()}
    if request.method == "GET":
        form = {"from_depot": actor.depot_code or "", "to_depot": ""}
        # ?lines=N gives more blank rows to browsers without JavaScript.
        wanted = request.args.get("lines", "")
        count = int(wanted) if wanted.isdigit() else TRANSFER_FORM_MIN_LINES
        count = min(max(count, TRANSFER_FORM_MIN_LINES), TRANSFER_FORM_MAX_BLANK_LINES)
        return render_template(
            "inventory/transfer_new.html",
            form=form,
            lines=[{"part_number": "", "qty": ""}] * count,
            **context,
        )
    form = request.form
    try:
        created = transfers.create_transfer(
            uow(),
            actor,
            form.get("from_depot", ""),
            form.get("to_depot", ""),
            _parse_lines(form),
            note=form.get("note", ""),
        )
    except DomainError as error:
        return form_with_error(
            "inventory/transfer_new.html", error, form=form, lines=_line_rows(form), **context
        )
    assert created.transfer.id is not None
    flash(f"Transfer {transfer_code(created.transfer.id)} drafted.", "ok")
    return redirect(url_for(".transfer", transfer_id=created.transfer.id))


def _parts_of(view: TransferView) -> dict[str, Part]:
    return {line.part_number: catalog.get_part(uow(), line.part_number) for line in view.lines}


def _transfer_page(view: TransferView, *, status: int = 200, **extra: Any) -> tuple[str, int]:
    actor = current_actor()
    transfer = view.transfer
    movers = (STAFF, Role.ADMIN.value)
    planners = (*TRANSFER_ROLES, Role.ADMIN.value)
    serials: dict[str, list[Any]] = {}
    for row in view.serials:
        serials.setdefault(row.part_number, []).append(row)
    return (
        render_template(
            "inventory/transfer.html",
            view=view,
            transfer=transfer,
            code=transfer_code(transfer.id or 0),
            parts=_parts_of(view),
            serials=serials,
            labels=depot_labels(),
            can_ship=transfer.status == TransferStatus.DRAFT
            and actor.role in movers
            and actor.can_act_for_depot(transfer.from_depot),
            can_receive=transfer.status == TransferStatus.SHIPPED
            and actor.role in movers
            and actor.can_act_for_depot(transfer.to_depot),
            can_cancel=transfer.status == TransferStatus.DRAFT
            and actor.role in planners
            and (
                not is_staff(actor) or actor.depot_code in (transfer.from_depot, transfer.to_depot)
            ),
            can_decide=actor.role in movers and actor.can_act_for_depot(transfer.to_depot),
            awaits_decision=receipts.awaits_decision,
            form=extra.pop("form", {}),
            **extra,
        ),
        status,
    )


@views.route("/transfers/<int:transfer_id>")
@auth.page_roles(*TRANSFER_ROLES)
def transfer(transfer_id: int) -> Any:
    return _transfer_page(transfers.get_transfer(uow(), transfer_id))


def _transfer_failed(transfer_id: int, error: DomainError, action: str) -> tuple[str, int]:
    return _transfer_page(
        transfers.get_transfer(uow(), transfer_id),
        status=error.status,
        error=error.detail,
        error_action=action,
        form=request.form,
    )


@views.route("/transfers/<int:transfer_id>/ship", methods=["POST"])
@auth.page_roles(STAFF)
def transfer_ship(transfer_id: int) -> Any:
    actor = current_actor()
    current = transfers.get_transfer(uow(), transfer_id)  # an unknown transfer is a 404 page
    scanned = {}
    for line in current.lines:
        serials = scanned_serials(request.form.get(f"serials-{line.id}"))
        if serials:
            scanned[line.part_number] = serials
    try:
        shipped = transfers.ship_transfer(uow(), actor, transfer_id, scanned or None)
    except DomainError as error:  # a mistyped serial too: shown on the form
        return _transfer_failed(transfer_id, error, "ship")
    units = sum(line.qty for line in shipped.lines)
    flash(
        f"Transfer {transfer_code(transfer_id)} shipped: {units} unit(s) are in transit to "
        f"{shipped.transfer.to_depot}. Print the transfer note to go with the parcel.",
        "ok",
    )
    return redirect(url_for(".transfer", transfer_id=transfer_id))


def _received_lines(view: TransferView, form: Any) -> list[ReceivedLine]:
    """What arrived, line by line. A serialized line left blank arrived as shipped
    unless "none arrived" is ticked; a bulk line says how many arrived."""
    shipped: dict[str, list[str]] = {}
    for row in view.serials:
        shipped.setdefault(row.part_number, []).append(row.serial)
    parts = _parts_of(view)
    received = []
    for line in view.lines:
        if parts[line.part_number].serialized:
            serials = scanned_serials(form.get(f"serials-{line.id}"))
            if form.get(f"none-{line.id}"):
                if serials:
                    raise Invalid(
                        f"{line.part_number}: serials scanned but 'none arrived' ticked",
                        field=f"line-{line.id}",
                    )
            elif not serials:
                serials = shipped.get(line.part_number, [])
            received.append(ReceivedLine(line.part_number, serials=serials))
        else:
            qty = whole_number(
                form.get(f"qty-{line.id}"),
                f"{line.part_number}: units that arrived",
                f"line-{line.id}",
                default=line.qty,
            )
            received.append(ReceivedLine(line.part_number, qty=qty))
    return received


@views.route("/transfers/<int:transfer_id>/receive", methods=["POST"])
@auth.page_roles(STAFF)
def transfer_receive(transfer_id: int) -> Any:
    actor = current_actor()
    current = transfers.get_transfer(uow(), transfer_id)  # an unknown transfer is a 404 page
    try:
        done = receipts.receive_transfer(
            uow(), actor, transfer_id, _received_lines(current, request.form)
        )
    except DomainError as error:
        return _transfer_failed(transfer_id, error, "receive")
    count = len(done.discrepancies)
    if count:
        flash(
            f"Transfer {transfer_code(transfer_id)} received with {count} "
            f"{'discrepancy' if count == 1 else 'discrepancies'}; see below.",
            "error",
        )
    else:
        flash(f"Transfer {transfer_code(transfer_id)} received as shipped.", "ok")
    return redirect(url_for(".transfer", transfer_id=transfer_id))


DECISION_DONE = {
    receipts.Decision.ACCEPT: "accepted into {depot}'s good stock",
    receipts.Decision.SEND_BACK: "sent back to its sender, out of {depot}'s books",
}


@views.route(
    "/transfers/<int:transfer_id>/discrepancies/<int:discrepancy_id>/"
    "<any(accept, 'send-back'):decision>",
    methods=["POST"],
)
@auth.page_roles(STAFF)
def transfer_decide(transfer_id: int, discrepancy_id: int, decision: str) -> Any:
    """Accept an extra that waits in quarantine, or send it back (receiving depot staff)."""
    transfers.get_transfer(uow(), transfer_id)  # an unknown transfer is a 404 page
    choice = receipts.decision_from(decision)
    try:
        done = receipts.resolve_discrepancy(
            uow(),
            current_actor(),
            discrepancy_id,
            choice,
            transfer_id=transfer_id,
            reason=request.form.get("reason", ""),
        )
    except DomainError as error:
        return _transfer_failed(transfer_id, error, "decide")
    [item] = [d for d in done.discrepancies if d.id == discrepancy_id]
    what = item.serial or f"{item.qty} × {item.part_number}"
    outcome = DECISION_DONE[choice].format(depot=done.transfer.to_depot)
    flash(f"Transfer {transfer_code(transfer_id)}: extra {what} {outcome}.", "ok")
    return redirect(url_for(".transfer", transfer_id=transfer_id))


@views.route("/transfers/<int:transfer_id>/cancel", methods=["POST"])
@auth.page_roles(*TRANSFER_ROLES)
def transfer_cancel(transfer_id: int) -> Any:
    transfers.get_transfer(uow(), transfer_id)  # an unknown transfer is a 404 page
    try:
        transfers.cancel_transfer(uow(), current_actor(), transfer_id)
    except DomainError as error:
        return _transfer_failed(transfer_id, error, "cancel")
    flash(f"Transfer {transfer_code(transfer_id)} cancelled.", "ok")
    return redirect(url_for(".transfer", transfer_id=transfer_id))


@views.route("/transfers/<int:transfer_id>/note.pdf")
@auth.page_roles(*VIEWERS)
def transfer_note(transfer_id: int) -> Response:
    """The transfer note / packing slip as a PDF to print."""
    view = transfers.get_transfer(uow(), transfer_id)
    pdf = render_transfer_note(view, depot_labels(), _parts_of(view))
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'inline; filename="transfer-{transfer_code(transfer_id)}.pdf"'
    )
    return response
