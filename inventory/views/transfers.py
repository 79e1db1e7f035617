"""Transfer pages: the list (paged, sorted, filtered), drafting a transfer, one
transfer with its ship, receive, late-parcel, write-off, cancel and
extras-decision forms, and the printable transfer note.

Receiving never takes an empty form for "everything arrived": the page asks for
an explicit "all arrived as shipped" confirmation, or for what arrived line by
line. The ship form shows which units leave when nothing is scanned (the
picking order) and the bins to take them from.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for

from core import auth
from core.auth import Role
from core.errors import DomainError, Invalid
from core.i18n import gettext, is_chinese, ngettext
from core.web import uow
from inventory.documents import render_transfer_note
from inventory.models import Part, TransferStatus
from inventory.service import bins, catalog, lists, queries, receipts, shortfalls, transfers
from inventory.service.lists import TransferFilters
from inventory.service.receipts import ReceivedLine
from inventory.service.transfers import LineIn, TransferView, transfer_code
from inventory.views import views
from inventory.views.common import (
    STAFF,
    TRANSFER_ROLES,
    VIEWERS,
    current_actor,
    depot_list,
    form_with_error,
    is_staff,
    kept_args,
    page_request,
    part_numbers,
    scanned_serials,
    whole_number,
)

TRANSFER_FORM_MIN_LINES = 5
TRANSFER_FORM_MAX_BLANK_LINES = 100
TRANSFER_FILTERS = ("depot", "status", "part_number")
MOVERS = (STAFF, Role.ADMIN.value)


@views.route("/transfers", endpoint="transfers")
@auth.page_roles(*TRANSFER_ROLES)
def transfers_list() -> Any:
    actor = current_actor()
    args = request.args
    status = args.get("status") or None
    requested = args.get("depot")
    if requested is None and is_staff(actor):
        requested = actor.depot_code  # staff start with their own depot's transfers
    depot = (requested or "").strip().upper() or None
    filters = TransferFilters(
        depot=depot,
        status=status if status in {s.value for s in TransferStatus} else None,
        part_number=(args.get("part_number") or "").strip() or None,
    )
    page = lists.transfers_page(
        uow(), filters, page_request(args, lists.TRANSFER_SORTS, "code", descending=True)
    )
    return render_template(
        "inventory/transfers.html",
        page=page,
        filters=filters,
        args={**kept_args(args, TRANSFER_FILTERS), "depot": depot or ""},
        status=filters.status,
        statuses=[s.value for s in TransferStatus],
        depot=depot,
        depots=depot_list(),
        awaits_arrival=receipts.awaits_arrival,
        awaits_decision=receipts.awaits_decision,
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
            raise Invalid(
                gettext("Line %(line)s: enter the part number", line=index), field=f"line-{index}"
            )
        amount = whole_number(
            qty,
            gettext("Line %(line)s (%(part)s)", line=index, part=number.strip().upper()),
            f"line-{index}",
        )
        lines.append(LineIn(number.strip().upper(), amount))
    if not lines:
        raise Invalid(
            gettext("Add at least one line: a part number and a quantity"), field="line-1"
        )
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
    flash(gettext("Transfer %(code)s drafted.", code=transfer_code(created.transfer.id)), "ok")
    return redirect(url_for(".transfer", transfer_id=created.transfer.id))


def _parts_of(view: TransferView) -> dict[str, Part]:
    return {line.part_number: catalog.get_part(uow(), line.part_number) for line in view.lines}


def _ship_suggestions(view: TransferView, parts: dict[str, Part]) -> dict[str, Any]:
    """Per line: the units that leave when nothing is scanned (serialized parts), or
    the bin to take bulk units from."""
    source = view.transfer.from_depot
    suggestions: dict[str, Any] = {}
    for line in view.lines:
        if parts[line.part_number].serialized:
            suggestions[line.part_number] = queries.units_to_ship(
                uow(), source, line.part_number, line.qty
            )
        else:
            suggestions[line.part_number] = bins.default_bin_of(uow(), source, line.part_number)
    return suggestions


def _transfer_page(view: TransferView, *, status: int = 200, **extra: Any) -> tuple[str, int]:
    actor = current_actor()
    transfer = view.transfer
    planners = (*TRANSFER_ROLES, Role.ADMIN.value)
    serials: dict[str, list[Any]] = {}
    for row in view.serials:
        serials.setdefault(row.part_number, []).append(row)
    parts = _parts_of(view)
    receiver = actor.role in MOVERS and actor.can_act_for_depot(transfer.to_depot)
    can_ship = (
        transfer.status == TransferStatus.DRAFT
        and actor.role in MOVERS
        and actor.can_act_for_depot(transfer.from_depot)
    )
    waiting = [d for d in view.discrepancies if receipts.awaits_arrival(d, transfer)]
    missing_serials: dict[str, list[str]] = {}
    missing_bulk: dict[str, int] = {}
    for item in waiting:
        if item.serial:
            missing_serials.setdefault(item.part_number, []).append(item.serial)
        else:
            missing_bulk[item.part_number] = missing_bulk.get(item.part_number, 0) + item.qty
    return (
        render_template(
            "inventory/transfer.html",
            view=view,
            transfer=transfer,
            code=transfer_code(transfer.id or 0),
            parts=parts,
            serials=serials,
            depots={d.code: d for d in depot_list()},
            can_ship=can_ship,
            suggestions=_ship_suggestions(view, parts) if can_ship else {},
            can_receive=transfer.status == TransferStatus.SHIPPED and receiver,
            can_receive_late=transfer.status == TransferStatus.PARTIALLY_RECEIVED and receiver,
            missing_serials=missing_serials,
            missing_bulk=missing_bulk,
            missing_total=sum(d.qty for d in waiting),
            can_cancel=transfer.status == TransferStatus.DRAFT
            and actor.role in planners
            and (
                not is_staff(actor) or actor.depot_code in (transfer.from_depot, transfer.to_depot)
            ),
            can_decide=actor.role in MOVERS and actor.can_act_for_depot(transfer.to_depot),
            awaits_decision=receipts.awaits_decision,
            awaits_arrival=receipts.awaits_arrival,
            form=extra.pop("form", {}),
            **extra,
        ),
        status,
    )


@views.route("/transfers/<transfer:transfer_id>")
@auth.page_roles(*TRANSFER_ROLES)
def transfer(transfer_id: int) -> Any:
    return _transfer_page(transfers.get_transfer(uow(), transfer_id))


def _transfer_failed(transfer_id: int, error: DomainError, action: str) -> tuple[str, int]:
    return _transfer_page(
        transfers.get_transfer(uow(), transfer_id),
        status=error.status,
        error=error.detail,
        error_field=error.extra.get("field"),
        error_action=action,
        form=request.form,
    )


@views.route("/transfers/<transfer:transfer_id>/ship", methods=["POST"])
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
        ngettext(
            "Transfer %(code)s shipped: %(num)d unit is in transit to %(depot)s. Print the "
            "transfer note to go with the parcel.",
            "Transfer %(code)s shipped: %(num)d units are in transit to %(depot)s. Print the "
            "transfer note to go with the parcel.",
            units,
            code=transfer_code(transfer_id),
            depot=shipped.transfer.to_depot,
        ),
        "ok",
    )
    return redirect(url_for(".transfer", transfer_id=transfer_id))


def _received_lines(view: TransferView, form: Any) -> list[ReceivedLine] | None:
    """What arrived, line by line, as the receive form says it; None when the form
    confirms that everything arrived as shipped (``all_arrived``).

    Each line must be said: a serialized line by scanning what arrived (or ticking
    "none of this line arrived"), a bulk line by the number that arrived (0 too).
    A form that says nothing and confirms nothing is ``Invalid``: an empty form
    never means "everything arrived"."""
    confirmed = bool(form.get("all_arrived"))
    parts = _parts_of(view)
    received: list[ReceivedLine] = []
    unsaid: list[tuple[str, str]] = []
    for line in view.lines:
        key = str(line.id)
        if parts[line.part_number].serialized:
            serials = scanned_serials(form.get(f"serials-{key}"))
            none = bool(form.get(f"none-{key}"))
            if none and serials:
                raise Invalid(
                    gettext(
                        "%(part)s: serials scanned but 'none arrived' ticked",
                        part=line.part_number,
                    ),
                    field=f"line-{key}",
                )
            if not serials and not none:
                unsaid.append((line.part_number, key))
            received.append(ReceivedLine(line.part_number, serials=serials))
        else:
            raw = (form.get(f"qty-{key}") or "").strip()
            if not raw:
                unsaid.append((line.part_number, key))
                continue
            qty = whole_number(
                raw,
                gettext("%(part)s: units that arrived", part=line.part_number),
                f"line-{key}",
            )
            received.append(ReceivedLine(line.part_number, qty=qty))
    said = len(unsaid) < len(view.lines)
    if confirmed:
        if said:
            raise Invalid(
                gettext(
                    "Either tick 'all arrived as shipped' or scan and count what arrived, not both"
                ),
                field="all_arrived",
            )
        return None
    if not said:
        raise Invalid(
            gettext(
                "Scan or count what arrived, or tick 'all arrived as shipped' to confirm that "
                "everything did"
            ),
            field="all_arrived",
        )
    if unsaid:
        part, key = unsaid[0]
        raise Invalid(
            gettext(
                "%(part)s: scan what arrived, tick 'none of this line arrived', or type the "
                "number that arrived (0 if none)",
                part=part,
            ),
            field=f"line-{key}",
        )
    return received


@views.route("/transfers/<transfer:transfer_id>/receive", methods=["POST"])
@auth.page_roles(STAFF)
def transfer_receive(transfer_id: int) -> Any:
    actor = current_actor()
    current = transfers.get_transfer(uow(), transfer_id)  # an unknown transfer is a 404 page
    try:
        received = _received_lines(current, request.form)
        done = receipts.receive_transfer(
            uow(), actor, transfer_id, received, as_shipped=received is None
        )
    except DomainError as error:
        return _transfer_failed(transfer_id, error, "receive")
    _flash_receipt(done)
    return redirect(url_for(".transfer", transfer_id=transfer_id))


def _flash_receipt(done: TransferView) -> None:
    code = transfer_code(done.transfer.id or 0)
    waiting = sum(d.qty for d in done.discrepancies if receipts.awaits_arrival(d, done.transfer))
    extras = sum(1 for d in done.discrepancies if receipts.awaits_decision(d))
    if waiting:
        flash(
            ngettext(
                "Transfer %(code)s partially received: %(num)d unit is still missing and stays "
                "in transit until it arrives or is written off.",
                "Transfer %(code)s partially received: %(num)d units are still missing and "
                "stay in transit until they arrive or are written off.",
                waiting,
                code=code,
            ),
            "error",
        )
    elif done.discrepancies:
        flash(
            ngettext(
                "Transfer %(code)s received with %(num)d discrepancy; see below.",
                "Transfer %(code)s received with %(num)d discrepancies; see below.",
                len(done.discrepancies),
                code=code,
            ),
            "error" if extras else "ok",
        )
    else:
        flash(gettext("Transfer %(code)s received as shipped.", code=code), "ok")


@views.route("/transfers/<transfer:transfer_id>/late-parcel", methods=["POST"])
@auth.page_roles(STAFF)
def transfer_late_parcel(transfer_id: int) -> Any:
    """A late parcel: some or all of what a partially received transfer was missing."""
    actor = current_actor()
    current = transfers.get_transfer(uow(), transfer_id)  # an unknown transfer is a 404 page
    try:
        received = _late_lines(current, request.form)
        done = shortfalls.receive_late_parcel(
            uow(), actor, transfer_id, received, all_missing=received is None
        )
    except DomainError as error:
        return _transfer_failed(transfer_id, error, "late")
    code = transfer_code(transfer_id)
    if done.transfer.status == TransferStatus.RECEIVED:
        flash(
            gettext("Late parcel received: %(code)s is complete, nothing is missing.", code=code),
            "ok",
        )
    else:
        _flash_receipt(done)
    return redirect(url_for(".transfer", transfer_id=transfer_id))


def _late_lines(view: TransferView, form: Any) -> list[ReceivedLine] | None:
    """The late-parcel form as receipt lines (None: "everything missing arrived")."""
    confirmed = bool(form.get("all_missing"))
    parts = _parts_of(view)
    received: list[ReceivedLine] = []
    for line in view.lines:
        if line.part_number not in form.getlist("expected"):
            continue
        key = str(line.id)
        if parts[line.part_number].serialized:
            serials = scanned_serials(form.get(f"late-serials-{key}"))
            if serials:
                received.append(ReceivedLine(line.part_number, serials=serials))
        else:
            raw = (form.get(f"late-qty-{key}") or "").strip()
            if raw:
                qty = whole_number(
                    raw,
                    gettext("%(part)s: units that arrived", part=line.part_number),
                    f"late-{key}",
                )
                received.append(ReceivedLine(line.part_number, qty=qty))
    if confirmed:
        if received:
            raise Invalid(
                gettext(
                    "Either tick 'everything missing arrived' or scan and count what arrived, "
                    "not both"
                ),
                field="all_missing",
            )
        return None
    if not received:
        raise Invalid(
            gettext(
                "Scan or count what the late parcel holds, or tick 'everything missing arrived'"
            ),
            field="all_missing",
        )
    return received


@views.route("/transfers/<transfer:transfer_id>/write-off", methods=["POST"])
@auth.page_roles(STAFF)
def transfer_write_off(transfer_id: int) -> Any:
    """Write off what a partially received transfer is still missing, with a reason."""
    transfers.get_transfer(uow(), transfer_id)  # an unknown transfer is a 404 page
    try:
        shortfalls.write_off_shortfall(
            uow(), current_actor(), transfer_id, request.form.get("reason", "")
        )
    except DomainError as error:
        return _transfer_failed(transfer_id, error, "write_off")
    flash(
        gettext(
            "%(code)s: what was missing is written off; the transfer is received.",
            code=transfer_code(transfer_id),
        ),
        "ok",
    )
    return redirect(url_for(".transfer", transfer_id=transfer_id))


@views.route(
    "/transfers/<transfer:transfer_id>/discrepancies/<int:discrepancy_id>/"
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
    depot = done.transfer.to_depot
    code = transfer_code(transfer_id)
    if choice == receipts.Decision.ACCEPT:
        message = gettext(
            "Transfer %(code)s: extra %(what)s accepted into %(depot)s's good stock.",
            code=code,
            what=what,
            depot=depot,
        )
    else:
        message = gettext(
            "Transfer %(code)s: extra %(what)s sent back to its sender, out of %(depot)s's books.",
            code=code,
            what=what,
            depot=depot,
        )
    flash(message, "ok")
    return redirect(url_for(".transfer", transfer_id=transfer_id))


@views.route("/transfers/<transfer:transfer_id>/cancel", methods=["POST"])
@auth.page_roles(*TRANSFER_ROLES)
def transfer_cancel(transfer_id: int) -> Any:
    transfers.get_transfer(uow(), transfer_id)  # an unknown transfer is a 404 page
    try:
        transfers.cancel_transfer(uow(), current_actor(), transfer_id)
    except DomainError as error:
        return _transfer_failed(transfer_id, error, "cancel")
    flash(gettext("Transfer %(code)s cancelled.", code=transfer_code(transfer_id)), "ok")
    return redirect(url_for(".transfer", transfer_id=transfer_id))


def note_depot_names() -> dict[str, str]:
    """Depot code -> the name printed under it on the note, Chinese first on a
    Chinese note ("北京 · Beijing depot"), English first otherwise."""
    chinese = is_chinese()
    return {
        d.code: f"{d.city_zh} · {d.name}" if chinese else f"{d.name} · {d.city_zh}"
        for d in depot_list()
    }


@views.route("/transfers/<transfer:transfer_id>/note.pdf")
@auth.page_roles(*VIEWERS)
def transfer_note(transfer_id: int) -> Response:
    """The transfer note / packing slip as a PDF to print, in the reader's language."""
    view = transfers.get_transfer(uow(), transfer_id)
    pdf = render_transfer_note(view, note_depot_names(), _parts_of(view))
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'inline; filename="transfer-{transfer_code(transfer_id)}.pdf"'
    )
    return response
