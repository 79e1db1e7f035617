"""Pages that move stock on one depot's shelf (depot staff): receive new good
stock into its bins, and adjust, scrap, change the condition of or count what is
there."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from core import auth
from core.errors import DomainError, Invalid, NotFound
from core.i18n import gettext, lazy_gettext
from core.web import uow
from inventory.labels import BUCKET_LABELS, label
from inventory.models import CONDITIONS
from inventory.service import bins, moves
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
    "adjust": lazy_gettext("Adjust"),
    "scrap": lazy_gettext("Scrap"),
    "condition": lazy_gettext("Change condition"),
    "count": lazy_gettext("Count"),
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
        qty = whole_number(
            form.get("qty"), gettext("Quantity"), "qty", default=len(serials) or None
        )
        movement = moves.receive(
            uow(),
            actor,
            form.get("depot", ""),
            form.get("part_number", ""),
            qty,
            serials,
            reference=typed_reference(form.get("reference")),
            bin=form.get("bin"),
        )
    except DomainError as error:
        return form_with_error("inventory/receive.html", error, form=form, **context)
    depot = form.get("depot", "").strip().upper()
    part_number = form.get("part_number", "").strip().upper()
    place = bins.default_bin_of(uow(), depot, part_number) if not serials else None
    if serials:
        placed = bins.where_is(uow(), serials[0])
        message = gettext(
            "Received %(qty)s × %(part)s into %(depot)s good stock (serials %(serials)s), "
            "bin %(bin)s — movement #%(movement)s.",
            qty=qty,
            part=part_number,
            depot=depot,
            serials=short_list(serials),
            bin=placed or "—",
            movement=movement.id,
        )
    else:
        message = gettext(
            "Received %(qty)s × %(part)s into %(depot)s good stock, bin %(bin)s — movement "
            "#%(movement)s.",
            qty=qty,
            part=part_number,
            depot=depot,
            bin=place or "—",
            movement=movement.id,
        )
    flash(message, "ok")
    return redirect(url_for(".receive", depot=depot))


def _condition(name: str) -> str:
    return label(BUCKET_LABELS, name)


def _do_adjust(actor: auth.Actor, form: Mapping[str, str], serials: list[str]) -> str:
    qty = whole_number(form.get("qty"), gettext("Quantity (+ adds, − removes)"), "qty")
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
    signed = f"{qty:+d}"
    return gettext(
        "Adjusted %(qty)s %(condition)s — movement #%(movement)s.",
        qty=signed,
        condition=_condition(form.get("condition") or "good"),
        movement=movement.id,
    )


def _do_scrap(actor: auth.Actor, form: Mapping[str, str], serials: list[str]) -> str:
    qty = whole_number(form.get("qty"), gettext("Quantity"), "qty", default=len(serials) or None)
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
    return gettext(
        "Scrapped %(qty)s %(condition)s — movement #%(movement)s.",
        qty=qty,
        condition=_condition(form.get("condition") or "defective"),
        movement=movement.id,
    )


def _do_condition(actor: auth.Actor, form: Mapping[str, str], serials: list[str]) -> str:
    qty = whole_number(form.get("qty"), gettext("Quantity"), "qty", default=len(serials) or None)
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
    return gettext(
        "Moved %(qty)s from %(source)s to %(target)s — movement #%(movement)s.",
        qty=qty,
        source=_condition(source),
        target=_condition(target),
        movement=movement.id,
    )


def _do_count(actor: auth.Actor, form: Mapping[str, str], serials: list[str]) -> str:
    raw = (form.get("counted") or "").strip()
    if not raw and not serials:
        # A blank count would declare every unit on the books missing.
        raise Invalid(
            gettext("Counted: enter the number counted or scan the serials"), field="counted"
        )
    counted = whole_number(raw, gettext("Counted"), "counted") if raw else None
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
        return gettext(
            "Count recorded: %(counted)s counted, as on the books.", counted=result.counted
        )
    details = ""
    if result.missing:
        details += " " + gettext("Missing: %(serials)s.", serials=short_list(result.missing))
    if result.found:
        details += " " + gettext("Found: %(serials)s.", serials=short_list(result.found))
    return (
        gettext(
            "Count recorded: expected %(expected)s, counted %(counted)s; the books were "
            "corrected by movement #%(movement)s.",
            expected=result.expected,
            counted=result.counted,
            movement=result.movement_id,
        )
        + details
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
    """The stock-move pages start at "adjust" (or the ``kind`` asked for)."""
    args = request.args.to_dict()
    kind = args.pop("kind", "") or "adjust"
    return redirect(url_for(".move_kind", kind=kind, **args))


@views.route("/stock/move/<kind>", methods=["GET", "POST"])
@auth.page_roles(STAFF)
def move_kind(kind: str) -> Any:
    if kind not in MOVE_KINDS:
        raise NotFound(gettext("unknown kind of stock move %(kind)r", kind=kind))
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
    flash(
        gettext(
            "%(part)s at %(depot)s: %(message)s",
            part=part_number,
            depot=form.get("depot", "").upper(),
            message=message,
        ),
        "ok",
    )
    return redirect(url_for(".move_kind", kind=kind, depot=form.get("depot", "").upper()))
