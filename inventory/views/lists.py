"""The ledger and the reservations as lists: paged, sorted and filtered on the
server (``inventory.service.lists``). Depot staff start on their own depot and
may look at the others; everyone who reads stock may read these."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from core import auth
from core.web import uow
from inventory.models import Reservation
from inventory.service import lists
from inventory.service.lists import LedgerFilters, ReservationFilters
from inventory.views import views
from inventory.views.common import (
    VIEWERS,
    current_actor,
    depot_list,
    is_staff,
    kept_args,
    page_request,
)

LEDGER_FILTERS = ("depot", "part_number", "serial", "reference", "kind")
RESERVATION_FILTERS = ("depot", "part_number", "status", "reference")
RESERVATION_STATUSES = ("active", "released", "picked")


def _depot(args: Any) -> str | None:
    """The depot asked for; depot staff start on their own (``depot=`` shows all)."""
    actor = current_actor()
    if "depot" not in args and is_staff(actor):
        return actor.depot_code
    return (args.get("depot") or "").strip().upper() or None


@views.route("/ledger")
@auth.page_roles(*VIEWERS)
def ledger() -> Any:
    args = request.args
    depot = _depot(args)
    filters = LedgerFilters(
        depot=depot,
        part_number=(args.get("part_number") or "").strip() or None,
        serial=(args.get("serial") or "").strip() or None,
        reference=(args.get("reference") or "").strip() or None,
        kind=(args.get("kind") or "").strip() or None,
    )
    page = lists.ledger_page(
        uow(), filters, page_request(args, lists.LEDGER_SORTS, "at", descending=True)
    )
    return render_template(
        "inventory/ledger.html",
        page=page,
        filters=filters,
        args={**kept_args(args, LEDGER_FILTERS), "depot": depot or ""},
        depots=depot_list(),
        kinds=lists.movement_kinds(),
    )


@views.route("/stock/reservations", endpoint="reservations")
@auth.page_roles(*VIEWERS)
def reservations_list() -> Any:
    args = request.args
    depot = _depot(args)
    status = args.get("status", "active")
    filters = ReservationFilters(
        depot=depot,
        part_number=(args.get("part_number") or "").strip() or None,
        status=status if status in RESERVATION_STATUSES else None,
        reference=(args.get("reference") or "").strip() or None,
    )
    page = lists.reservations_page(
        uow(), filters, page_request(args, lists.RESERVATION_SORTS, "id", descending=True)
    )
    held: list[Reservation] = page.items
    return render_template(
        "inventory/reservations.html",
        page=page,
        rows=held,
        filters=filters,
        args={**kept_args(args, RESERVATION_FILTERS), "depot": depot or "", "status": status},
        depots=depot_list(),
        statuses=RESERVATION_STATUSES,
    )
