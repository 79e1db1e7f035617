"""Pages for depot staff and planners: stock, receipts, transfers, stock moves,
units, CSV import/export and the printable transfer note.

The pages are a thin layer over ``inventory.service``: they read form fields,
call the same use cases as the API and the CLI, and show what came back. The
services decide who may do what; pages only hide buttons a user could not use.
Depot staff see their own depot by default and can act only on it; planners and
administrators may look at every depot. A form with an error is shown again
with the error, the answer's status is 4xx, and nothing has changed.

Barcode scanners type a code and press Enter: one-line fields move on to the
next field on Enter (a few lines of inline JavaScript; without it the browser
simply submits), and serials go into text areas, one per line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from core import auth
from core.auth import Role
from core.errors import DomainError, Invalid, NotFound
from core.web import add_nav, uow
from depots.service import network
from inventory.documents import render_transfer_note
from inventory.models import BUCKET_NAMES, CONDITIONS, FAMILIES, Part, TransferStatus
from inventory.service import catalog, imports, moves, queries, targets, transfers
from inventory.service.stock import describe_location
from inventory.service.transfers import LineIn, ReceivedLine, TransferView, transfer_code

views = Blueprint("inventory", __name__, template_folder="templates")

STAFF = Role.DEPOT_STAFF.value
# Who may read stock, units and ledgers (admins pass every check).
VIEWERS = (STAFF, Role.PLANNER.value, Role.ENGINEER.value, Role.SUPERVISOR.value)
TRANSFER_ROLES = (STAFF, Role.PLANNER.value)
IMPORTERS = (Role.PLANNER.value,)

add_nav("Stock", "inventory.stock", *VIEWERS, order=30)
add_nav("Receive", "inventory.receive", STAFF, order=31)
add_nav("Transfers", "inventory.transfers", *TRANSFER_ROLES, order=32)
add_nav("Move stock", "inventory.move", STAFF, order=33)
add_nav("Import CSV", "inventory.csv_import", *IMPORTERS, order=34)

STOCK_ROW_LIMIT = 500
LEDGER_ROWS_ON_PART_PAGE = 50
UNITS_ON_PART_PAGE = 200
PART_SUGGESTIONS = 300
MAX_REFERENCE = 60
CONDITION_NAMES = tuple(c.value for c in CONDITIONS)
MOVE_KINDS = {
    "adjust": "Adjust",
    "scrap": "Scrap",
    "condition": "Change condition",
    "count": "Count",
}
TRANSFER_FORM_MIN_LINES = 5
TRANSFER_FORM_MAX_BLANK_LINES = 100


# --- small helpers ------------------------------------------------------------------------


def _actor() -> auth.Actor:
    """The signed-in actor itself (services are given values, not request proxies)."""
    return current_user._get_current_object()  # type: ignore[attr-defined, no-any-return]


def _is_staff(actor: auth.Actor) -> bool:
    return actor.role == STAFF


def _depots() -> list[network.DepotInfo]:
    return network.list_depots(uow())


def depot_labels() -> dict[str, str]:
    """Depot code -> printable name with the city in Chinese ("Beijing depot · 北京")."""
    return {d.code: f"{d.name} · {d.city_zh}" for d in _depots()}


def _acting_depots(actor: auth.Actor) -> list[network.DepotInfo]:
    """The depots a user may pick in a form that moves stock: staff only their own."""
    depots = _depots()
    if _is_staff(actor):
        return [d for d in depots if d.code == actor.depot_code]
    return depots


def _viewed_depot(actor: auth.Actor, requested: str | None) -> str | None:
    """The depot a page shows: staff always their own; others what they asked (None = all)."""
    if _is_staff(actor):
        return actor.depot_code
    code = (requested or "").strip().upper()
    return code or None


def _part_numbers() -> list[str]:
    """Part numbers offered as suggestions in part-number fields."""
    return [p.part_number for p in catalog.list_parts(uow(), limit=PART_SUGGESTIONS)]


def _whole_number(raw: str | None, label: str, field: str, *, default: int | None = None) -> int:
    """A whole number typed into ``field``; ``default`` when left blank (else ``Invalid``)."""
    value = (raw or "").strip()
    if not value:
        if default is not None:
            return default
        raise Invalid(f"{label}: enter a whole number", field=field)
    if not re.fullmatch(r"[+-]?\d{1,9}", value):
        raise Invalid(f"{label}: {value!r} is not a whole number", field=field)
    return int(value)


def scanned_serials(raw: str | None) -> list[str]:
    """Serials from a text area: one per line as a scanner types them (commas,
    spaces and semicolons separate too), upper-cased, blanks dropped."""
    return [s.upper() for s in re.split(r"[\s,;]+", raw or "") if s]


def _reference(raw: str | None) -> str | None:
    value = (raw or "").strip()
    if len(value) > MAX_REFERENCE:
        raise Invalid(f"Reference: at most {MAX_REFERENCE} characters", field="reference")
    return value or None


def _short_list(items: list[str], shown: int = 5) -> str:
    """The first few items, and how many more there are, for a one-line message."""
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def _failed(template: str, error: DomainError, **context: Any) -> tuple[str, int]:
    """The form again with the error; the answer's status is the error's (4xx)."""
    return (
        render_template(
            template, error=error.detail, error_field=error.extra.get("field"), **context
        ),
        error.status,
    )


def stock_targets(depot: str | None) -> Mapping[tuple[str, str], int] | None:
    """Effective target stock per (depot, part number), for the Target column and
    low-stock highlighting (one depot's, or every depot's when ``depot`` is None)."""
    return targets.effective_targets(uow(), depot=depot)


# --- stock --------------------------------------------------------------------------------


@views.route("/stock")
@auth.page_roles(*VIEWERS)
def stock() -> Any:
    actor = _actor()
    args = request.args
    depot = _viewed_depot(actor, args.get("depot"))
    family = args.get("family") or None
    condition = args.get("condition") or None
    search = (args.get("q") or "").strip() or None
    if family not in (None, *FAMILIES):
        raise Invalid(f"family must be one of {', '.join(FAMILIES)}")
    rows = queries.stock(
        uow(),
        depot=depot,
        search=search,
        family=family,
        condition=condition,
        limit=STOCK_ROW_LIMIT + 1,
    )
    return render_template(
        "inventory/stock.html",
        rows=rows[:STOCK_ROW_LIMIT],
        truncated=len(rows) > STOCK_ROW_LIMIT,
        depot=depot,
        depots=_depots(),
        can_pick_depot=not _is_staff(actor),
        families=FAMILIES,
        buckets=BUCKET_NAMES,
        family=family,
        condition=condition,
        search=search or "",
        targets=stock_targets(depot),
    )


@views.route("/parts/<path:part_number>")
@auth.page_roles(*VIEWERS)
def part(part_number: str) -> Any:
    actor = _actor()
    found = catalog.get_part(uow(), part_number)
    depot = _viewed_depot(actor, request.args.get("depot"))
    return render_template(
        "inventory/part.html",
        part=found,
        substitutes=catalog.substitutes(uow(), found.part_number)[1:],
        stock_rows=queries.stock(uow(), part_number=found.part_number, nonzero=False),
        depot=depot,
        depots=_depots(),
        can_pick_depot=not _is_staff(actor),
        units=(
            queries.list_units(
                uow(), depot=depot, part_number=found.part_number, limit=UNITS_ON_PART_PAGE
            )
            if found.serialized
            else []
        ),
        unit_limit=UNITS_ON_PART_PAGE,
        ledger=queries.ledger_lines(
            uow(), depot=depot, part_number=found.part_number, limit=LEDGER_ROWS_ON_PART_PAGE
        ),
        describe_location=describe_location,
    )


@views.route("/units")
@auth.page_roles(*VIEWERS)
def unit_lookup() -> Any:
    """Scan or type a serial and go to its unit page."""
    serial = (request.args.get("serial") or "").strip()
    if serial:
        try:
            unit, _ = queries.get_unit(uow(), serial)
        except NotFound as error:
            return _failed("inventory/unit_lookup.html", error, serial=serial)
        return redirect(url_for(".unit", serial=unit.serial))
    return render_template("inventory/unit_lookup.html", serial="")


@views.route("/units/<path:serial>")
@auth.page_roles(*VIEWERS)
def unit(serial: str) -> Any:
    found, history = queries.get_unit(uow(), serial)
    return render_template(
        "inventory/unit.html",
        unit=found,
        part=catalog.get_part(uow(), found.part_number),
        where=describe_location(found),
        history=history,
    )


# --- receive ------------------------------------------------------------------------------


@views.route("/stock/receive", methods=["GET", "POST"])
@auth.page_roles(STAFF)
def receive() -> Any:
    actor = _actor()
    context = {
        "depots": _acting_depots(actor),
        "part_numbers": _part_numbers(),
    }
    if request.method == "GET":
        form = {"depot": request.args.get("depot") or actor.depot_code or ""}
        return render_template("inventory/receive.html", form=form, **context)
    form = request.form
    try:
        serials = scanned_serials(form.get("serials"))
        qty = _whole_number(form.get("qty"), "Quantity", "qty", default=len(serials) or None)
        movement = moves.receive(
            uow(),
            actor,
            form.get("depot", ""),
            form.get("part_number", ""),
            qty,
            serials,
            reference=_reference(form.get("reference")),
        )
    except DomainError as error:
        return _failed("inventory/receive.html", error, form=form, **context)
    depot = form.get("depot", "").strip().upper()
    part_number = form.get("part_number", "").strip().upper()
    flash(
        f"Received {qty} × {part_number} into {depot} good stock"
        + (f" (serials {_short_list(serials)})" if serials else "")
        + f" — movement #{movement.id}.",
        "ok",
    )
    return redirect(url_for(".receive", depot=depot))


# --- stock moves: adjust, scrap, change condition, count ------------------------------------


def _do_adjust(actor: auth.Actor, form: Mapping[str, str], serials: list[str]) -> str:
    qty = _whole_number(form.get("qty"), "Quantity (+ adds, − removes)", "qty")
    movement = moves.adjust(
        uow(),
        actor,
        form.get("depot", ""),
        form.get("part_number", ""),
        qty,
        form.get("reason", ""),
        serials,
        condition=form.get("condition") or "good",
    )
    return f"Adjusted {qty:+d} {form.get('condition') or 'good'} — movement #{movement.id}."


def _do_scrap(actor: auth.Actor, form: Mapping[str, str], serials: list[str]) -> str:
    qty = _whole_number(form.get("qty"), "Quantity", "qty", default=len(serials) or None)
    movement = moves.scrap(
        uow(),
        actor,
        form.get("depot", ""),
        form.get("part_number", ""),
        qty,
        form.get("reason", ""),
        serials,
        condition=form.get("condition") or "defective",
    )
    return f"Scrapped {qty} {form.get('condition') or 'defective'} — movement #{movement.id}."


def _do_condition(actor: auth.Actor, form: Mapping[str, str], serials: list[str]) -> str:
    qty = _whole_number(form.get("qty"), "Quantity", "qty", default=len(serials) or None)
    source, target = form.get("from_condition", ""), form.get("to_condition", "")
    movement = moves.change_condition(
        uow(),
        actor,
        form.get("depot", ""),
        form.get("part_number", ""),
        qty,
        source,
        target,
        serials,
        reason=form.get("reason", ""),
        reference=_reference(form.get("reference")),
    )
    return f"Moved {qty} from {source} to {target} — movement #{movement.id}."


def _do_count(actor: auth.Actor, form: Mapping[str, str], serials: list[str]) -> str:
    raw = (form.get("counted") or "").strip()
    if not raw and not serials:
        # A blank count would declare every unit on the books missing.
        raise Invalid("Counted: enter the number counted or scan the serials", field="counted")
    counted = _whole_number(raw, "Counted", "counted") if raw else None
    result = moves.count(
        uow(),
        actor,
        form.get("depot", ""),
        form.get("part_number", ""),
        counted,
        serials or None,
        condition=form.get("condition") or "good",
    )
    if result.movement_id is None:
        return f"Count recorded: {result.counted} counted, as on the books."
    details = ""
    if result.missing:
        details += f" Missing: {_short_list(result.missing)}."
    if result.found:
        details += f" Found: {_short_list(result.found)}."
    return (
        f"Count recorded: expected {result.expected}, counted {result.counted}; "
        f"the books were corrected by movement #{result.movement_id}.{details}"
    )


MOVES: dict[str, Callable[[auth.Actor, Mapping[str, str], list[str]], str]] = {
    "adjust": _do_adjust,
    "scrap": _do_scrap,
    "condition": _do_condition,
    "count": _do_count,
}


@views.route("/stock/move")
@auth.page_roles(STAFF)
def move() -> Any:
    """The stock-move pages start at "adjust"."""
    return redirect(url_for(".move_kind", kind="adjust", **request.args))


@views.route("/stock/move/<kind>", methods=["GET", "POST"])
@auth.page_roles(STAFF)
def move_kind(kind: str) -> Any:
    if kind not in MOVE_KINDS:
        raise NotFound(f"unknown kind of stock move {kind!r}")
    actor = _actor()
    context = {
        "kind": kind,
        "kinds": MOVE_KINDS,
        "depots": _acting_depots(actor),
        "conditions": CONDITION_NAMES,
        "part_numbers": _part_numbers(),
    }
    if request.method == "GET":
        form = {
            "depot": request.args.get("depot") or actor.depot_code or "",
            "part_number": request.args.get("part_number", ""),
        }
        return render_template("inventory/move.html", form=form, **context)
    form = request.form
    try:
        message = MOVES[kind](actor, form, scanned_serials(form.get("serials")))
    except DomainError as error:
        return _failed("inventory/move.html", error, form=form, **context)
    part_number = form.get("part_number", "").strip().upper()
    flash(f"{part_number} at {form.get('depot', '').upper()}: {message}", "ok")
    return redirect(url_for(".move_kind", kind=kind, depot=form.get("depot", "").upper()))


# --- transfers ----------------------------------------------------------------------------


@views.route("/transfers", endpoint="transfers")
@auth.page_roles(*TRANSFER_ROLES)
def transfers_list() -> Any:
    actor = _actor()
    status = request.args.get("status") or None
    requested = request.args.get("depot")
    if requested is None and _is_staff(actor):
        requested = actor.depot_code  # staff start with their own depot's transfers
    depot = (requested or "").strip().upper() or None
    return render_template(
        "inventory/transfers.html",
        items=transfers.list_transfers(uow(), status=status, depot=depot),
        status=status,
        statuses=[s.value for s in TransferStatus],
        depot=depot,
        depots=_depots(),
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
        amount = _whole_number(qty, f"Line {index} ({number.strip().upper()})", f"line-{index}")
        lines.append(LineIn(number.strip().upper(), amount))
    if not lines:
        raise Invalid("Add at least one line: a part number and a quantity", field="line-1")
    return lines


@views.route("/transfers/new", methods=["GET", "POST"])
@auth.page_roles(*TRANSFER_ROLES)
def transfer_new() -> Any:
    actor = _actor()
    context = {"depots": _depots(), "part_numbers": _part_numbers()}
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
        return _failed(
            "inventory/transfer_new.html", error, form=form, lines=_line_rows(form), **context
        )
    assert created.transfer.id is not None
    flash(f"Transfer {transfer_code(created.transfer.id)} drafted.", "ok")
    return redirect(url_for(".transfer", transfer_id=created.transfer.id))


def _parts_of(view: TransferView) -> dict[str, Part]:
    return {line.part_number: catalog.get_part(uow(), line.part_number) for line in view.lines}


def _transfer_page(view: TransferView, *, status: int = 200, **extra: Any) -> tuple[str, int]:
    actor = _actor()
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
                not _is_staff(actor) or actor.depot_code in (transfer.from_depot, transfer.to_depot)
            ),
            can_decide=actor.role in movers and actor.can_act_for_depot(transfer.to_depot),
            awaits_decision=transfers.awaits_decision,
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
    actor = _actor()
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
            qty = _whole_number(
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
    actor = _actor()
    current = transfers.get_transfer(uow(), transfer_id)  # an unknown transfer is a 404 page
    try:
        done = transfers.receive_transfer(
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
    transfers.Decision.ACCEPT: "accepted into {depot}'s good stock",
    transfers.Decision.SEND_BACK: "sent back to its sender, out of {depot}'s books",
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
    choice = transfers.decision_from(decision)
    try:
        done = transfers.resolve_discrepancy(
            uow(),
            _actor(),
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
        transfers.cancel_transfer(uow(), _actor(), transfer_id)
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


# --- CSV ------------------------------------------------------------------------------------


def _csv_response(body: str, filename: str) -> Response:
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@views.route("/stock.csv")
@auth.page_roles(*VIEWERS)
def stock_csv() -> Response:
    """Stock of the depot shown (staff: their own), as CSV."""
    depot = _viewed_depot(_actor(), request.args.get("depot"))
    body = imports.export_stock_csv(uow(), depot=depot)
    return _csv_response(body, f"stock-{depot or 'all'}.csv")


@views.route("/ledger.csv")
@auth.page_roles(*VIEWERS)
def ledger_csv() -> Response:
    """Ledger lines of the depot shown (staff: their own), optionally one part, as CSV."""
    depot = _viewed_depot(_actor(), request.args.get("depot"))
    part_number = (request.args.get("part_number") or "").strip() or None
    body = imports.export_ledger_csv(uow(), depot=depot, part_number=part_number)
    suffix = f"-{part_number.replace('/', '_')}" if part_number else ""
    return _csv_response(body, f"ledger-{depot or 'all'}{suffix}.csv")


CSV_KINDS = {"parts": "Parts catalogue", "stock": "Opening stock"}


def _uploaded_text() -> str:
    """The CSV text of the upload (UTF-8 or GB18030), or of the pasted text."""
    upload = request.files.get("file")
    raw = upload.read() if upload is not None and upload.filename else b""
    if raw:
        return imports.decode_csv(raw)
    pasted = request.form.get("text", "")
    if pasted.strip():
        return pasted
    raise Invalid("Choose a CSV file (or paste its text) first", field="file")


@views.route("/stock/import", methods=["GET", "POST"])
@auth.page_roles(*IMPORTERS)
def csv_import() -> Any:
    kind = request.values.get("kind", "parts")
    if kind not in CSV_KINDS:
        raise NotFound(f"unknown import {kind!r}")
    if request.method == "GET":
        return render_template("inventory/import.html", kind=kind, kinds=CSV_KINDS)
    run = imports.import_parts if kind == "parts" else imports.import_stock
    try:
        report = run(uow(), _actor(), _uploaded_text())
    except DomainError as error:
        problems = error.extra.get("problems") or []
        return _failed(
            "inventory/import.html", error, kind=kind, kinds=CSV_KINDS, problems=problems
        )
    flash(f"Imported {report.summary()}.", "ok")
    return redirect(url_for(".csv_import", kind=kind))
