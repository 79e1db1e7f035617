"""Pages that move stock on one depot's shelf (depot staff): receive new good
stock, and adjust, scrap, change the condition of or count what is there."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from core import auth
from core.errors import DomainError, Invalid, NotFound
from core.web import uow
from inventory.models import CONDITIONS
from inventory.service import moves
from inventory.views import views
from inventory.views.common import (
    STAFF,
    acting_depots,
    current_actor,
    form_with_error,
    part_numbers,
    scanned_serials,
    short_list,
    typed_reference,
    whole_number,
)

CONDITION_NAMES = tuple(c.value for c in CONDITIONS)
MOVE_KINDS = {
    "adjust": "Adjust",
    "scrap": "Scrap",
    "condition": "Change condition",
    "count": "Count",
}


@views.route("/stock/receive", methods=["GET", "POST"])
@auth.page_roles(STAFF)
def receive() -> Any:
    actor = current_actor()
    context = {
        "depots": acting_depots(actor),
        "part_numbers": part_numbers(),
    }
    if request.method == "GET":
        form = {"depot": request.args.get("depot") or actor.depot_code or ""}
        return render_template("inventory/receive.html", form=form, **context)
    form = request.form
    try:
        serials = scanned_serials(form.get("serials"))
        qty = whole_number(form.get("qty"), "Quantity", "qty", default=len(serials) or None)
        movement = moves.receive(
            uow(),
            actor,
            form.get("depot", ""),
            form.get("part_number", ""),
            qty,
            serials,
            reference=typed_reference(form.get("reference")),
        )
    except DomainError as error:
        return form_with_error("inventory/receive.html", error, form=form, **context)
    depot = form.get("depot", "").strip().upper()
    part_number = form.get("part_number", "").strip().upper()
    flash(
        f"Received {qty} × {part_number} into {depot} good stock"
        + (f" (serials {short_list(serials)})" if serials else "")
        + f" — movement #{movement.id}.",
        "ok",
    )
    return redirect(url_for(".receive", depot=depot))


def _do_adjust(actor: auth.Actor, form: Mapping[str, str], serials: list[str]) -> str:
    qty = whole_number(form.get("qty"), "Quantity (+ adds, − removes)", "qty")
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
    qty = whole_number(form.get("qty"), "Quantity", "qty", default=len(serials) or None)
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
    qty = whole_number(form.get("qty"), "Quantity", "qty", default=len(serials) or None)
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
        reference=typed_reference(form.get("reference")),
    )
    return f"Moved {qty} from {source} to {target} — movement #{movement.id}."


def _do_count(actor: auth.Actor, form: Mapping[str, str], serials: list[str]) -> str:
    raw = (form.get("counted") or "").strip()
    if not raw and not serials:
        # A blank count would declare every unit on the books missing.
        raise Invalid("Counted: enter the number counted or scan the serials", field="counted")
    counted = whole_number(raw, "Counted", "counted") if raw else None
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
        details += f" Missing: {short_list(result.missing)}."
    if result.found:
        details += f" Found: {short_list(result.found)}."
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
    actor = current_actor()
    context = {
        "kind": kind,
        "kinds": MOVE_KINDS,
        "depots": acting_depots(actor),
        "conditions": CONDITION_NAMES,
        "part_numbers": part_numbers(),
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
        return form_with_error("inventory/move.html", error, form=form, **context)
    part_number = form.get("part_number", "").strip().upper()
    flash(f"{part_number} at {form.get('depot', '').upper()}: {message}", "ok")
    return redirect(url_for(".move_kind", kind=kind, depot=form.get("depot", "").upper()))
