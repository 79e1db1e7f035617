"""Serialized units: the list (paged, sorted, filtered by depot, part, family,
condition, location and serial text), finding one by its serial, and a unit's
page - where it is and in which bin, its history, the RMAs and the customer it
has to do with - with the form that moves it to another bin.

Inventory knows no customers or cases. The unit's page links the RMAs its ledger
lines name (a reference like ``RMA-2026-000123`` opens ``/rmas/<number>``), and
asks the *link providers* other packages register (``register_unit_links``) who
else has to do with the serial - the installed base names the customer's site
and links the customer. Where another domain holds the serial, the serial
space's holders say so in words (``inventory.service.serials``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for

from core import auth
from core.errors import DomainError, NotFound
from core.i18n import gettext
from core.web import uow
from inventory.models import CONDITIONS, FAMILIES, Location
from inventory.service import bins, catalog, lists, queries, serials
from inventory.service.lists import UnitFilters
from inventory.service.stock import describe_location
from inventory.views import views
from inventory.views.common import (
    BIN_KEEPERS,
    VIEWERS,
    current_actor,
    depot_list,
    form_with_error,
    is_staff,
    kept_args,
    page_request,
)

RMA_REFERENCE = re.compile(r"^RMA-\d{4}-\d+$")
UNIT_FILTERS = ("serial", "q", "depot", "part_number", "family", "condition", "location")
LOCATIONS = tuple(location.value for location in Location)


@dataclass(frozen=True)
class UnitLink:
    """Something a unit has to do with, as its page shows it: a label in the reader's
    language (``kind``), a name, and the page that shows it (None: no page)."""

    kind: str
    text: str
    url: str | None = None


UnitLinks = Callable[[str], list[UnitLink]]
_providers: list[UnitLinks] = []


def register_unit_links(provider: UnitLinks) -> None:
    """Add a package's provider of links for a serial (idempotent). It is called while
    a unit's page is rendered, in the request, with the serial."""
    if provider not in _providers:
        _providers.append(provider)


def rma_url(number: str) -> str:
    """The page of an RMA named in a ledger reference."""
    if "rma.rma" in current_app.view_functions:
        return url_for("rma.rma", number=number)
    return f"/rmas/{number}"


def rma_links(history: list[queries.LedgerLine]) -> list[UnitLink]:
    """The RMAs the unit's ledger lines name, most recent first, each once."""
    found: list[UnitLink] = []
    seen: set[str] = set()
    for line in reversed(history):
        reference = line.reference or ""
        if RMA_REFERENCE.match(reference) and reference not in seen:
            seen.add(reference)
            found.append(UnitLink(gettext("RMA"), reference, rma_url(reference)))
    return found


@views.route("/units")
@auth.page_roles(*VIEWERS)
def unit_lookup() -> Any:
    """The units list; a serial scanned into "Find a unit" (``?serial=``) opens that
    unit's page."""
    actor = current_actor()
    args = request.args
    serial = (args.get("serial") or "").strip()
    if serial:
        try:
            unit, _ = queries.get_unit(uow(), serial)
        except NotFound as error:
            return _units_page(actor, args, error=error)
        return redirect(url_for(".unit", serial=unit.serial))
    return _units_page(actor, args)


def _units_page(actor: auth.Actor, args: Any, *, error: DomainError | None = None) -> Any:
    requested = (args.get("depot") or "").strip().upper() or None
    depot = actor.depot_code if is_staff(actor) and "depot" not in args else requested
    filters = UnitFilters(
        depot=depot,
        part_number=(args.get("part_number") or "").strip() or None,
        family=args.get("family") if args.get("family") in FAMILIES else None,
        condition=args.get("condition") if args.get("condition") in _conditions() else None,
        location=args.get("location") if args.get("location") in LOCATIONS else None,
        serial=(args.get("q") or "").strip() or None,
    )
    page = lists.units_page(uow(), filters, page_request(args, lists.UNIT_SORTS, "serial"))
    context = {
        "page": page,
        "filters": filters,
        "args": {**kept_args(args, UNIT_FILTERS), **({"depot": depot} if depot else {})},
        "serial": args.get("serial", ""),
        "depots": depot_list(),
        "families": FAMILIES,
        "conditions": _conditions(),
        "locations": LOCATIONS,
        "describe_location": describe_location,
    }
    if error is not None:
        return form_with_error("inventory/units.html", error, **context)
    return render_template("inventory/units.html", error=None, error_field=None, **context)


def _conditions() -> tuple[str, ...]:
    return tuple(condition.value for condition in CONDITIONS)


def _unit_page(serial: str, *, error: DomainError | None = None, form: Any = None) -> Any:
    actor = current_actor()
    found, history = queries.get_unit(uow(), serial)
    place = bins.where_is(uow(), found.serial)
    links = rma_links(history)
    for provider in _providers:
        links += provider(found.serial)
    # Another domain's own words about where it holds the serial, when no provider
    # could link it (the providers say it in the reader's language).
    held = (
        serials.held_elsewhere(uow(), [found.serial]).get(found.serial)
        if found.location not in serials.IN_STOCK and not links
        else None
    )
    on_shelf = found.location == Location.DEPOT and found.depot_code is not None
    context = {
        "unit": found,
        "part": catalog.get_part(uow(), found.part_number),
        "where": describe_location(found),
        "bin": place,
        "own_bin": found.bin,
        "history": history,
        "links": links,
        "held": held,
        "can_move_bin": on_shelf
        and actor.role in BIN_KEEPERS
        and actor.can_act_for_depot(found.depot_code or ""),
        "form": form or {},
        "rma_reference": RMA_REFERENCE,
        "rma_url": rma_url,
    }
    if error is not None:
        return form_with_error("inventory/unit.html", error, **context)
    return render_template("inventory/unit.html", error=None, error_field=None, **context)


@views.route("/units/<path:serial>")
@auth.page_roles(*VIEWERS)
def unit(serial: str) -> Any:
    return _unit_page(serial)


@views.route("/units/<path:serial>/bin", methods=["POST"])
@auth.page_roles(*BIN_KEEPERS)
def unit_bin(serial: str) -> Any:
    """Move a unit on its depot's shelves to another bin (blank: the part's default)."""
    queries.get_unit(uow(), serial)  # an unknown serial is a 404 page
    try:
        moved = bins.move_unit(uow(), current_actor(), serial, request.form.get("bin"))
    except DomainError as error:
        return _unit_page(serial, error=error, form=request.form)
    if moved.bin:
        flash(
            gettext("%(serial)s is now in bin %(bin)s.", serial=moved.serial, bin=moved.bin), "ok"
        )
    else:
        flash(gettext("%(serial)s is back in its part's default bin.", serial=moved.serial), "ok")
    return redirect(url_for(".unit", serial=moved.serial))
