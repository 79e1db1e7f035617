"""Pages that show stock: stock per depot and part (with targets), one part
with its stock, units and recent ledger lines, and serialized units looked up
by serial."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import redirect, render_template, request, url_for

from core import auth
from core.errors import Invalid, NotFound
from core.web import uow
from inventory.models import BUCKET_NAMES, FAMILIES
from inventory.service import catalog, queries, targets
from inventory.service.stock import describe_location
from inventory.views import views
from inventory.views.common import (
    VIEWERS,
    current_actor,
    depot_list,
    form_with_error,
    is_staff,
    viewed_depot,
)

STOCK_ROW_LIMIT = 500
LEDGER_ROWS_ON_PART_PAGE = 50
UNITS_ON_PART_PAGE = 200


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
        depots=depot_list(),
        can_pick_depot=not is_staff(actor),
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
    actor = current_actor()
    found = catalog.get_part(uow(), part_number)
    depot = viewed_depot(actor, request.args.get("depot"))
    return render_template(
        "inventory/part.html",
        part=found,
        substitutes=catalog.substitutes(uow(), found.part_number)[1:],
        stock_rows=queries.stock(uow(), part_number=found.part_number, nonzero=False),
        depot=depot,
        depots=depot_list(),
        can_pick_depot=not is_staff(actor),
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
            return form_with_error("inventory/unit_lookup.html", error, serial=serial)
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
