"""Pages that show stock: stock per depot and part (paged, sorted, filtered, with
the totals of the whole selection, targets and bins, and "Find a unit" on top),
and one part with its stock and default bin per depot, its units and recent
ledger lines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from core import auth
from core.errors import DomainError, Invalid
from core.i18n import gettext
from core.web import uow
from inventory.models import BUCKET_NAMES, FAMILIES
from inventory.service import bins, catalog, lists, queries, targets
from inventory.service.lists import StockFilters
from inventory.service.stock import describe_location
from inventory.views import views
from inventory.views.common import (
    BIN_KEEPERS,
    MOVERS,
    VIEWERS,
    current_actor,
    depot_list,
    form_with_error,
    is_staff,
    kept_args,
    page_request,
    viewed_depot,
)

LEDGER_ROWS_ON_PART_PAGE = 50
UNITS_ON_PART_PAGE = 200
STOCK_FILTERS = ("q", "depot", "family", "condition")


def stock_targets(depot: str | None) -> Mapping[tuple[str, str], int] | None:
    """Effective target stock per (depot, part number), for the Target column and
    low-stock highlighting (one depot's, or every depot's when ``depot`` is None)."""
    return targets.effective_targets(uow(), depot=depot)


@views.route("/stock")
@auth.page_roles(*VIEWERS)
def stock() -> Any:
    actor = current_actor()
    args = request.args
    depot = viewed_depot(actor, args.get("depot"))
    family = args.get("family") or None
    condition = args.get("condition") or None
    search = (args.get("q") or "").strip() or None
    if family not in (None, *FAMILIES):
        raise Invalid(gettext("family must be one of %(names)s", names=", ".join(FAMILIES)))
    filters = StockFilters(depot=depot, search=search, family=family, condition=condition)
    listing = lists.stock_page(uow(), filters, page_request(args, lists.STOCK_SORTS, "part"))
    kept = kept_args(args, STOCK_FILTERS)
    if is_staff(actor):
        kept.pop("depot", None)
    return render_template(
        "inventory/stock.html",
        listing=listing,
        page=listing.page,
        totals=listing.totals,
        args=kept,
        depot=depot,
        depots=depot_list(),
        can_pick_depot=not is_staff(actor),
        can_move=actor.role in MOVERS,
        families=FAMILIES,
        buckets=BUCKET_NAMES,
        family=family,
        condition=condition,
        search=search or "",
        targets=stock_targets(depot),
    )


def _part_page(part_number: str, *, error: DomainError | None = None, form: Any = None) -> Any:
    actor = current_actor()
    found = catalog.get_part(uow(), part_number)
    depot = viewed_depot(actor, request.values.get("depot"))
    stock_rows = queries.stock(uow(), part_number=found.part_number, nonzero=False)
    depots = depot_list()
    context = {
        "part": found,
        "substitutes": catalog.substitutes(uow(), found.part_number)[1:],
        "stock_rows": stock_rows,
        "default_bins": bins.default_bins_of(uow(), [(d.code, found.part_number) for d in depots]),
        "depot": depot,
        "depots": depots,
        "can_pick_depot": not is_staff(actor),
        "bin_depots": [
            d for d in depots if actor.role in BIN_KEEPERS and actor.can_act_for_depot(d.code)
        ],
        "units": (
            queries.list_units(
                uow(), depot=depot, part_number=found.part_number, limit=UNITS_ON_PART_PAGE
            )
            if found.serialized
            else []
        ),
        "unit_limit": UNITS_ON_PART_PAGE,
        "ledger": queries.ledger_lines(
            uow(), depot=depot, part_number=found.part_number, limit=LEDGER_ROWS_ON_PART_PAGE
        ),
        "describe_location": describe_location,
        "form": form or {},
    }
    if error is not None:
        return form_with_error("inventory/part.html", error, **context)
    return render_template("inventory/part.html", error=None, error_field=None, **context)


@views.route("/parts/<path:part_number>")
@auth.page_roles(*VIEWERS)
def part(part_number: str) -> Any:
    return _part_page(part_number)


@views.route("/parts/<path:part_number>/bin", methods=["POST"])
@auth.page_roles(*BIN_KEEPERS)
def part_bin(part_number: str) -> Any:
    """Set (or clear) the part's default bin at a depot."""
    form = request.form
    depot = (form.get("depot") or "").strip().upper()
    try:
        placed = bins.set_default_bin(uow(), current_actor(), depot, part_number, form.get("bin"))
    except DomainError as error:
        return _part_page(part_number, error=error, form=form)
    number = part_number.strip().upper()
    if placed:
        flash(
            gettext(
                "%(part)s at %(depot)s is kept in bin %(bin)s.",
                part=number,
                depot=depot,
                bin=placed,
            ),
            "ok",
        )
    else:
        flash(gettext("%(part)s has no default bin at %(depot)s now.", part=number, depot=depot))
    return redirect(url_for(".part", part_number=number, depot=form.get("view_depot") or None))
