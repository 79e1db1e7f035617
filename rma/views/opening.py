"""Opening an RMA: find the unit by serial (or the site), see what each kind of
service would cost, open the case."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from core import auth, clock
from core.db import UnitOfWork
from core.errors import DomainError, Invalid
from core.i18n import gettext
from core.web import uow
from depots.models import City
from inventory.service import catalog
from rma import kinds as kind_rules
from rma.models import FAULT_LEVELS, Customer, Rma, Site, Status
from rma.service import customers, entitlement, opening, wording
from rma.service.opening import OpenRequest
from rma.views import views
from rma.views.common import (
    KIND_LABELS,
    KINDS,
    LEVEL_HINTS,
    OPENERS,
    PART_SUGGESTIONS,
    SEARCH_LIMIT,
    UNKNOWN_SERIAL,
    current_actor,
    today,
)

# --- new RMA --------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitMatch:
    """An installed unit found by the search, with what each kind of service would cost."""

    found: customers.InstalledUnitView
    entitlements: dict[str, entitlement.Entitlement]


@dataclass(frozen=True)
class SiteChoice:
    customer: Customer
    sites: list[tuple[Site, City]]


def _search(unit: UnitOfWork, text: str) -> list[UnitMatch]:
    on = today()
    return [
        UnitMatch(
            found,
            {
                kind: entitlement.decide(unit, found.customer.id or 0, found.unit, kind, on)
                for kind in KINDS
            },
        )
        for found in customers.search_installed_units(unit, text, limit=SEARCH_LIMIT)
    ]


def _site_choices(unit: UnitOfWork, text: str) -> tuple[list[SiteChoice], bool]:
    """Sites for "serial unknown": of the customers the search names (True), else of
    everyone (False)."""
    found = customers.list_customers(unit, search=text) if text else []
    filtered = bool(found)
    if not found:
        found = customers.list_customers(unit)
    choices = []
    for customer in found:
        sites = [
            (site, customers.require_city(unit, site.city_id))
            for site in customers.list_sites(unit, customer_id=customer.id)
        ]
        if sites:
            choices.append(SiteChoice(customer, sites))
    return choices, filtered


def _new_page(
    text: str, form: Mapping[str, str], error: DomainError | None = None
) -> tuple[str, int]:
    unit = uow()
    with unit.transaction(write=False):  # one read transaction for the whole page
        matches = _search(unit, text) if text else []
        site_choices, sites_filtered = _site_choices(unit, text)
        part_numbers = [p.part_number for p in catalog.list_parts(unit, limit=PART_SUGGESTIONS)]
    selected = form.get("unit")
    if selected is None and len(matches) == 1 and matches[0].found.unit.active:
        selected = matches[0].found.unit.serial  # a scanned serial: one match, ready to go
    return (
        render_template(
            "rma/new.html",
            q=text,
            matches=matches,
            site_choices=site_choices,
            sites_filtered=sites_filtered,
            part_numbers=part_numbers,
            form=form,
            selected=selected,
            kinds=KIND_LABELS,
            levels=LEVEL_HINTS,
            unknown=UNKNOWN_SERIAL,
            error=error.detail if error else None,
            error_field=error.extra.get("field") if error else None,
        ),
        error.status if error else 200,
    )


def _open_request(form: Mapping[str, str]) -> OpenRequest:
    """The request typed into the form; ``Invalid`` naming the field that is wrong."""
    choice = (form.get("unit") or "").strip()
    if not choice:
        raise Invalid(
            gettext("Unit: search the serial and pick the faulty unit, or choose 'serial unknown'"),
            field="unit",
        )
    level = form.get("fault_level") or ""
    if level not in FAULT_LEVELS:
        raise Invalid(gettext("Fault level: choose C-1, C-2 or C-3"), field="fault_level")
    kind = form.get("kind") or ""
    if kind not in KINDS:
        raise Invalid(gettext("Kind: choose advance replacement, repair or loaner"), field="kind")
    symptom = (form.get("symptom") or "").strip()
    if not symptom:
        raise Invalid(gettext("Symptom: describe what the customer is seeing"), field="symptom")
    if choice != UNKNOWN_SERIAL:
        return OpenRequest(fault_level=level, kind=kind, symptom=symptom, serial=choice)
    site = (form.get("site_id") or "").strip()
    if not site.isdigit():
        raise Invalid(gettext("Site: choose the customer's site"), field="site_id")
    part_number = (form.get("part_number") or "").strip()
    if not part_number:
        raise Invalid(gettext("Part number: which part is faulty?"), field="part_number")
    return OpenRequest(
        fault_level=level, kind=kind, symptom=symptom, part_number=part_number, site_id=int(site)
    )


@views.route("/rmas/new", methods=["GET"])
@auth.page_roles(*OPENERS)
def new_rma() -> Any:
    """Search the installed base (``?q=`` serial or customer) and fill in the request."""
    return _new_page((request.args.get("q") or "").strip(), {})


@views.route("/rmas/new", methods=["POST"])
@auth.page_roles(*OPENERS)
def open_rma() -> Any:
    form = request.form
    try:
        opened = opening.open_rma(uow(), current_actor(), _open_request(form))
    except DomainError as error:
        return _new_page((form.get("q") or "").strip(), form, error)
    flash(_opened_message(opened), "ok")
    return redirect(url_for(".rma", number=opened.number))


def _opened_message(rma: Rma) -> str:
    if rma.status == Status.REQUESTED:
        return gettext(
            "%(rma)s opened. It is billable (%(why)s) and waits for a supervisor's approval.",
            rma=rma.number,
            why=wording.entitlement_text(rma.entitlement_reason),
        )
    if rma.status == Status.ALLOCATED:
        promised = (
            f"{clock.local(rma.promised_delivery):%Y-%m-%d %H:%M}" if rma.promised_delivery else ""
        )
        if rma.at_risk:
            return gettext(
                "%(rma)s opened and allocated to %(depot)s, promised delivery %(when)s — at "
                "risk: no depot can deliver in time.",
                rma=rma.number,
                depot=rma.depot_code,
                when=promised,
            )
        return gettext(
            "%(rma)s opened and allocated to %(depot)s, promised delivery %(when)s.",
            rma=rma.number,
            depot=rma.depot_code,
            when=promised,
        )
    if rma.backorder:
        return gettext(
            "%(rma)s opened; no depot has the part in stock (backorder), planners are told.",
            rma=rma.number,
        )
    return gettext(
        "%(rma)s opened (%(status)s).", rma=rma.number, status=kind_rules.status_label(rma.status)
    )
