"""Customers, their sites and contracts, and the installed base: the lists, one
customer, one contract (with what renewing it changes), one installed unit, and
the forms that record and edit them.

Supervisors and engineers edit, supervisors alone record and renew contracts,
planners read. The services decide; pages only hide the forms a user could not
use. A refused form is shown again as typed, with the error next to the field
and the error's status (4xx); nothing has changed.

Chinese names come first on a Chinese page (customer, city), the English after.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from core import auth
from core.errors import DomainError, Invalid
from core.i18n import gettext, lazy_gettext
from core.pagination import PageRequest
from core.web import uow
from rma import kinds
from rma.models import COVERAGES, PHASES, Kind, Site
from rma.service import customers
from rma.views import views
from rma.views.common import ADMIN, ENGINEER, PLANNER, SUPERVISOR, current_actor, today

READERS = (ENGINEER, SUPERVISOR, PLANNER)
EDITORS = tuple(role.value for role in customers.EDITING_ROLES)
CONTRACT_EDITORS = tuple(role.value for role in customers.CONTRACT_ROLES)
KINDS = tuple(kind.value for kind in Kind)
COVERAGE_LABELS = {
    "5x8": lazy_gettext("5x8: working hours, Monday to Friday"),
    "7x24": lazy_gettext("7x24: around the clock"),
}
STATE_LABELS = {
    "active": lazy_gettext("In service"),
    "decommissioned": lazy_gettext("Decommissioned"),
    "all": lazy_gettext("All units"),
}


def _render(template: str, **context: Any) -> str:
    """A page of these, with the names of phases, kinds, statuses and coverages."""
    return render_template(
        template,
        phase_labels=kinds.PHASE_LABELS,
        kind_labels=kinds.LABELS,
        status_labels=kinds.STATUS_LABELS,
        coverage_labels=COVERAGE_LABELS,
        state_labels=STATE_LABELS,
        **context,
    )


def _can(roles: tuple[str, ...]) -> bool:
    return current_actor().role in (*roles, ADMIN)


def _whole(raw: str | None) -> int | None:
    """A whole number from a query or form field; None when empty or not one."""
    text = (raw or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def _date(form: Mapping[str, str], name: str, label: str) -> date:
    """A date typed as YYYY-MM-DD (what a date field sends)."""
    text = (form.get(name) or "").strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(
            gettext("%(field)s: enter a date as YYYY-MM-DD.", field=label), field=name
        ) from None


def _form_page(template: str, error: DomainError | None = None, **context: Any) -> tuple[str, int]:
    """A form page, with the refusal that brought it back (if any) next to its field."""
    return (
        _render(
            template,
            error=error.detail if error else None,
            error_field=error.extra.get("field") if error else None,
            **context,
        ),
        error.status if error else 200,
    )


def _submit(action: Callable[[], str], again: Callable[[DomainError], tuple[str, int]]) -> Any:
    """Run a form's ``action`` (it answers where to go next and flashes what was done);
    on a refusal, show the form again with the error."""
    try:
        return redirect(action())
    except DomainError as error:
        return again(error)


# --- customers ------------------------------------------------------------------------------


@views.route("/customers")
@auth.page_roles(*READERS)
def customers_list() -> Any:
    """Customers, paginated and sorted on the server; filtered by name (English or
    Chinese) or code, and by a city they have a site in."""
    args = request.args
    page_request = PageRequest.from_args(
        args, sorts=tuple(customers.CUSTOMER_SORTS), default_sort="name"
    )
    search = (args.get("q") or "").strip()[:100]
    city_id = _whole(args.get("city"))
    unit = uow()
    with unit.transaction(write=False):
        page, totals = customers.customers_page(
            unit, page_request, search=search, city_id=city_id, today=today()
        )
        cities = customers.cities_with_sites(unit)
    filters = {key: value for key, value in {"q": search, "city": city_id}.items() if value}
    return _render(
        "rma/customers.html",
        page=page,
        totals=totals,
        search=search,
        city_id=city_id,
        cities=cities,
        filters=filters,
        can_edit=_can(EDITORS),
    )


def _customer_form(
    customer: Any = None, form: Mapping[str, str] | None = None, error: DomainError | None = None
) -> tuple[str, int]:
    return _form_page("rma/customer_form.html", error=error, customer=customer, form=form or {})


@views.route("/customers/new", methods=["GET", "POST"])
@auth.page_roles(*EDITORS)
def customer_new() -> Any:
    if request.method == "GET":
        return _customer_form()
    form = request.form

    def create() -> str:
        created = customers.create_customer(
            uow(),
            current_actor(),
            form.get("code", ""),
            form.get("name", ""),
            name_zh=form.get("name_zh", ""),
            email=form.get("email") or None,
        )
        flash(gettext("Customer %(code)s added.", code=created.code), "ok")
        return url_for("rma.customer", customer_id=created.id)

    return _submit(create, lambda error: _customer_form(None, form, error))


@views.route("/customers/<int:customer_id>")
@auth.page_roles(*READERS)
def customer(customer_id: int) -> Any:
    overview = customers.customer_overview(uow(), customer_id, today())
    return _render(
        "rma/customer.html",
        o=overview,
        today=today(),
        can_edit=_can(EDITORS),
        can_contract=_can(CONTRACT_EDITORS),
    )


@views.route("/customers/<int:customer_id>/edit", methods=["GET", "POST"])
@auth.page_roles(*EDITORS)
def customer_edit(customer_id: int) -> Any:
    found = customers.get_customer(uow(), customer_id)
    if request.method == "GET":
        return _customer_form(found)
    form = request.form

    def save() -> str:
        customers.update_customer(
            uow(),
            current_actor(),
            customer_id,
            name=form.get("name", ""),
            name_zh=form.get("name_zh", ""),
            email=form.get("email") or None,
        )
        flash(gettext("Customer %(code)s saved.", code=found.code), "ok")
        return url_for("rma.customer", customer_id=customer_id)

    return _submit(save, lambda error: _customer_form(found, form, error))


# --- sites ----------------------------------------------------------------------------------


def _site_form(
    customer: Any,
    site: Any = None,
    form: Mapping[str, str] | None = None,
    error: DomainError | None = None,
) -> tuple[str, int]:
    return _form_page(
        "rma/site_form.html",
        error=error,
        customer=customer,
        site=site,
        form=form or {},
        cities=customers.list_cities(uow()),
    )


def _site_fields(form: Mapping[str, str]) -> dict[str, Any]:
    city = _whole(form.get("city"))
    if city is None:
        raise Invalid(gettext("City: choose the site's city."), field="city")
    return {
        "address": form.get("address", ""),
        "contact_name": form.get("contact_name", ""),
        "contact_phone": form.get("contact_phone", ""),
        "contact_email": form.get("contact_email") or None,
        "city": city,
    }


@views.route("/customers/<int:customer_id>/sites/new", methods=["GET", "POST"])
@auth.page_roles(*EDITORS)
def site_new(customer_id: int) -> Any:
    owner = customers.get_customer(uow(), customer_id)
    if request.method == "GET":
        return _site_form(owner)
    form = request.form

    def create() -> str:
        fields = _site_fields(form)
        created = customers.create_site(
            uow(), current_actor(), customer_id, form.get("name", ""), fields.pop("city"), **fields
        )
        flash(gettext("Site %(name)s added.", name=created.name), "ok")
        return url_for("rma.customer", customer_id=customer_id)

    return _submit(create, lambda error: _site_form(owner, None, form, error))


@views.route("/customers/<int:customer_id>/sites/<int:site_id>/edit", methods=["GET", "POST"])
@auth.page_roles(*EDITORS)
def site_edit(customer_id: int, site_id: int) -> Any:
    owner = customers.get_customer(uow(), customer_id)
    site = customers.get_site(uow(), site_id)
    if site.customer_id != owner.id:
        abort(404)
    if request.method == "GET":
        return _site_form(owner, site)
    form = request.form

    def save() -> str:
        customers.update_site(
            uow(), current_actor(), site_id, name=form.get("name", ""), **_site_fields(form)
        )
        flash(gettext("Site %(name)s saved.", name=(form.get("name") or "").strip()), "ok")
        return url_for("rma.customer", customer_id=customer_id)

    return _submit(save, lambda error: _site_form(owner, site, form, error))


# --- contracts ------------------------------------------------------------------------------


def _kinds_of(form: Mapping[str, str]) -> dict[str, bool]:
    return {kind: form.get(kind) == "on" for kind in KINDS}


def _coverage_of(form: Mapping[str, str]) -> str:
    coverage = form.get("coverage") or ""
    if coverage not in COVERAGES:
        raise Invalid(gettext("Coverage: choose 5x8 or 7x24."), field="coverage")
    return coverage


def _contract_form(
    customer: Any, form: Mapping[str, str] | None = None, error: DomainError | None = None
) -> tuple[str, int]:
    return _form_page(
        "rma/contract_form.html",
        error=error,
        customer=customer,
        form=form,
        coverages=COVERAGES,
        kinds=KINDS,
        today_iso=today().isoformat(),
        year_later_iso=(today() + timedelta(days=365)).isoformat(),
    )


@views.route("/customers/<int:customer_id>/contracts/new", methods=["GET", "POST"])
@auth.page_roles(*CONTRACT_EDITORS)
def contract_new(customer_id: int) -> Any:
    owner = customers.get_customer(uow(), customer_id)
    if request.method == "GET":
        return _contract_form(owner)
    form = request.form

    def create() -> str:
        created = customers.create_contract(
            uow(),
            current_actor(),
            customer_id,
            form.get("number", ""),
            _coverage_of(form),
            _date(form, "starts_on", gettext("Starts on")),
            _date(form, "ends_on", gettext("Ends on")),
            **_kinds_of(form),
        )
        flash(gettext("Contract %(number)s added.", number=created.number), "ok")
        return url_for("rma.contract", customer_id=customer_id, contract_id=created.id)

    return _submit(create, lambda error: _contract_form(owner, form, error))


def _contract_page(
    customer_id: int,
    contract_id: int,
    *,
    form: Mapping[str, str] | None = None,
    renewal: str | None = None,
    error: DomainError | None = None,
) -> tuple[str, int]:
    overview = customers.contract_overview(uow(), contract_id, today())
    if overview.customer.id != customer_id:
        abort(404)
    return _form_page(
        "rma/contract.html",
        error=error,
        o=overview,
        form=form or {},
        renewal=renewal,
        coverages=COVERAGES,
        kinds=KINDS,
        can_contract=_can(CONTRACT_EDITORS),
    )


def _require_contract_of(customer_id: int, contract_id: int) -> None:
    """404 for a contract that is not this customer's (the path names both)."""
    if customers.get_contract(uow(), contract_id).customer_id != customer_id:
        abort(404)


@views.route("/customers/<int:customer_id>/contracts/<int:contract_id>")
@auth.page_roles(*READERS)
def contract(customer_id: int, contract_id: int) -> Any:
    """A contract, its units and what each is entitled to today and once it ended."""
    return _contract_page(customer_id, contract_id)


@views.route("/customers/<int:customer_id>/contracts/<int:contract_id>/extend", methods=["POST"])
@auth.page_roles(*CONTRACT_EDITORS)
def contract_extend(customer_id: int, contract_id: int) -> Any:
    form = request.form

    def extend() -> str:
        _require_contract_of(customer_id, contract_id)
        done = customers.extend_contract(
            uow(), current_actor(), contract_id, _date(form, "ends_on", gettext("New end date"))
        )
        flash(
            gettext(
                "Contract %(number)s renewed until %(date)s.",
                number=done.number,
                date=done.ends_on.isoformat(),
            ),
            "ok",
        )
        return url_for("rma.contract", customer_id=customer_id, contract_id=contract_id)

    return _submit(
        extend,
        lambda error: _contract_page(
            customer_id, contract_id, form=form, renewal="extend", error=error
        ),
    )


@views.route("/customers/<int:customer_id>/contracts/<int:contract_id>/continue", methods=["POST"])
@auth.page_roles(*CONTRACT_EDITORS)
def contract_continue(customer_id: int, contract_id: int) -> Any:
    form = request.form

    def renew() -> str:
        _require_contract_of(customer_id, contract_id)
        starts = (form.get("starts_on") or "").strip()
        done = customers.continue_contract(
            uow(),
            current_actor(),
            contract_id,
            form.get("number", ""),
            _date(form, "ends_on", gettext("Ends on")),
            starts_on=_date(form, "starts_on", gettext("Starts on")) if starts else None,
            coverage=_coverage_of(form),
            **_kinds_of(form),
        )
        flash(
            gettext(
                "Contract %(number)s continues %(previous)s from %(date)s; %(units)s "
                "installed units moved to it.",
                number=done.contract.number,
                previous=done.previous.number,
                date=done.contract.starts_on.isoformat(),
                units=done.units_moved,
            ),
            "ok",
        )
        return url_for("rma.contract", customer_id=customer_id, contract_id=done.contract.id)

    return _submit(
        renew,
        lambda error: _contract_page(
            customer_id, contract_id, form=form, renewal="continue", error=error
        ),
    )


# --- the installed base ---------------------------------------------------------------------


@views.route("/installed-base")
@auth.page_roles(*READERS)
def installed_base() -> Any:
    """Installed units, paginated and sorted on the server; filtered by customer, site,
    city, part, serial, phase and whether they are still in service."""
    args = request.args
    page_request = PageRequest.from_args(
        args, sorts=tuple(customers.UNIT_SORTS), default_sort="serial"
    )
    phase = args.get("phase") if args.get("phase") in PHASES else None
    state = args.get("state") if args.get("state") in customers.STATES else "active"
    filters = customers.InstalledBaseFilter(
        customer_id=_whole(args.get("customer")),
        site_id=_whole(args.get("site")),
        city_id=_whole(args.get("city")),
        part=(args.get("part") or "").strip()[:40],
        serial=(args.get("serial") or "").strip()[:64],
        phase=phase,
        state=state,
    )
    unit = uow()
    with unit.transaction(write=False):
        page, by_phase = customers.installed_base_page(unit, page_request, filters)
        all_customers = customers.list_customers(unit, limit=1000)
        sites = (
            customers.list_sites(unit, customer_id=filters.customer_id)
            if filters.customer_id
            else []
        )
        cities = customers.cities_with_sites(unit)
    kept = {
        "customer": filters.customer_id,
        "site": filters.site_id,
        "city": filters.city_id,
        "part": filters.part,
        "serial": filters.serial,
        "phase": filters.phase,
        "state": None if state == "active" else state,
    }
    return _render(
        "rma/installed_base.html",
        page=page,
        by_phase=by_phase,
        f=filters,
        filters={key: value for key, value in kept.items() if value},
        customers=all_customers,
        sites=sites,
        cities=cities,
        phases=PHASES,
        states=customers.STATES,
        can_edit=_can(EDITORS),
    )


def _unit_form(
    form: Mapping[str, str] | None = None, error: DomainError | None = None
) -> tuple[str, int]:
    values = dict(form or {})
    if not values:
        values = {"site": request.args.get("site", ""), "phase": "in_warranty"}
    unit = uow()
    with unit.transaction(write=False):
        site_id = _whole(values.get("site"))
        site = unit.session.get(Site, site_id) if site_id else None  # unknown: choose again
        owner = customers.require_customer(unit, site.customer_id) if site else None
        contracts = customers.list_contracts(unit, customer_id=owner.id) if owner else []
        choices = _site_choices(unit) if site is None else []
    return _form_page(
        "rma/installed_form.html",
        error=error,
        form=values,
        site=site,
        owner=owner,
        contracts=contracts,
        site_choices=choices,
        phases=PHASES,
        today=today(),
    )


def _site_choices(unit: Any) -> list[tuple[Any, list[Any]]]:
    """Every customer with its sites, for a form that has no site chosen yet."""
    by_customer: dict[int, list[Any]] = {}
    for site in customers.list_sites(unit):
        by_customer.setdefault(site.customer_id, []).append(site)
    return [
        (owner, by_customer[owner.id])
        for owner in customers.list_customers(unit, limit=1000)
        if owner.id in by_customer
    ]


@views.route("/installed-base/new", methods=["GET", "POST"])
@auth.page_roles(*EDITORS)
def installed_unit_new() -> Any:
    """Register a unit running at a site (``?site=`` chooses the site first)."""
    if request.method == "GET":
        return _unit_form()
    form = request.form

    def register() -> str:
        site_id = _whole(form.get("site"))
        if site_id is None:
            raise Invalid(gettext("Site: choose the customer's site."), field="site")
        contract_id = _whole(form.get("contract_id"))
        created = customers.create_installed_unit(
            uow(),
            current_actor(),
            form.get("serial", ""),
            form.get("part_number", ""),
            site_id,
            _date(form, "shipped_on", gettext("Shipped on")),
            _date(form, "warranty_end", gettext("Warranty ends")),
            phase=form.get("phase", ""),
            contract_id=contract_id,
        )
        flash(gettext("Unit %(serial)s registered.", serial=created.serial), "ok")
        return url_for("rma.installed_unit", serial=created.serial)

    return _submit(register, lambda error: _unit_form(form, error))


def _unit_page(serial: str, error: DomainError | None = None) -> tuple[str, int]:
    overview = customers.unit_overview(uow(), serial, today())
    return _form_page(
        "rma/installed_unit.html",
        error=error,
        o=overview,
        kinds=KINDS,
        can_edit=_can(EDITORS),
    )


@views.route("/installed-base/<serial>")
@auth.page_roles(*READERS)
def installed_unit(serial: str) -> Any:
    """One installed unit: where it runs, its phase, entitlement today, its cases."""
    return _unit_page(serial)


@views.route("/installed-base/<serial>/phase", methods=["POST"])
@auth.page_roles(*EDITORS)
def installed_unit_phase(serial: str) -> Any:
    def move() -> str:
        moved = customers.change_phase(
            uow(), current_actor(), serial, request.form.get("phase", "")
        )
        flash(
            gettext(
                "%(serial)s is now in %(phase)s.",
                serial=moved.serial,
                phase=kinds.PHASE_LABELS[moved.phase],
            ),
            "ok",
        )
        return url_for("rma.installed_unit", serial=moved.serial)

    return _submit(move, lambda error: _unit_page(serial, error))


@views.route("/installed-base/<serial>/decommission", methods=["POST"])
@auth.page_roles(*EDITORS)
def installed_unit_decommission(serial: str) -> Any:
    def take_out() -> str:
        gone = customers.decommission(uow(), current_actor(), serial)
        flash(gettext("%(serial)s has left the installed base.", serial=gone.serial), "ok")
        return url_for("rma.installed_unit", serial=gone.serial)

    return _submit(take_out, lambda error: _unit_page(serial, error))
