"""Customers, their sites, contracts and installed base: recording and editing them,
and the reads their pages and the API share.

Who may do what (administrators pass every check): service engineers and
supervisors record and edit customers, sites and the installed base; contracts are
commercial terms, recorded and renewed by supervisors; everyone signed in reads.

A contract is renewed in one of two ways: its end date moves later (the same terms
go on), or a new contract continues it (new number, its own coverage and kinds):
the old one then ends the day before the new one starts, and the units it covered
move to the new one.

An installed unit's phase only goes forward (``PHASES``); see ``change_phase``
for why. A unit leaves the installed base when it is decommissioned or taken back
through an RMA (``rma.service.returns``); its row stays, inactive, for the history
of its cases.

Errors are translated when they are raised (``gettext``): a page reads them in the
user's language, the API and the CLI (which have no Chinese locale) in English.
Programs tell refusals apart by the error code: ``invalid``, ``not_found``,
``conflict``, and the specific conflicts below.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import case, func, select, update

from core.auth import Actor, Role
from core.db import UnitOfWork, lock_for_update, read_only, transactional
from core.errors import Conflict, Invalid, NotFound
from core.i18n import gettext, lazy_gettext
from core.pagination import Page, PageRequest, paginate
from depots.models import City
from inventory.models import Part
from inventory.service import serials as serial_space
from rma import kinds
from rma.models import (
    COVERAGES,
    OPEN_STATUSES,
    PHASES,
    Contract,
    Customer,
    InstalledUnit,
    Kind,
    Rma,
    Site,
)
from rma.service.entitlement import Entitlement, decide

EDITING_ROLES = (Role.ENGINEER, Role.SUPERVISOR)
CONTRACT_ROLES = (Role.SUPERVISOR,)
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,19}$")
CONTRACT_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,29}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
STATES = ("active", "decommissioned", "all")  # which installed units a list shows
DETAIL_ROWS = 50  # rows of each table on a customer's or contract's page
FIELD_NAMES = {
    "code": lazy_gettext("code"),
    "name": lazy_gettext("name"),
    "name_zh": lazy_gettext("Chinese name"),
    "email": lazy_gettext("e-mail"),
    "address": lazy_gettext("address"),
    "contact_name": lazy_gettext("contact name"),
    "contact_phone": lazy_gettext("contact phone"),
    "contact_email": lazy_gettext("contact e-mail"),
    "serial": lazy_gettext("serial"),
}
T = TypeVar("T")


class Keep(Enum):
    """An edit's value for a field it leaves as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


class UnitDecommissioned(Conflict):
    """The unit has left the installed base: nothing more happens to it here."""

    code = "unit_decommissioned"


class HeldByOpenRma(Conflict):
    """An open RMA holds the unit (its serial, or the unit it shipped)."""

    code = "open_rma"


class PhaseNotForward(Conflict):
    """A phase change that stays or goes back."""

    code = "phase_not_forward"


class SiteHasOpenCases(Conflict):
    """A site's city cannot change while cases promised for that city are open."""

    code = "site_has_open_cases"


# --- checks ---------------------------------------------------------------------------------


def _text(value: str | None, name: str, *, max_length: int, required: bool = True) -> str:
    text = (value or "").strip()
    label = str(FIELD_NAMES.get(name, name))
    if required and not text:
        raise Invalid(gettext("%(field)s is required", field=label), field=name)
    if len(text) > max_length:
        raise Invalid(
            gettext("%(field)s must be at most %(max)s characters", field=label, max=max_length),
            field=name,
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise Invalid(gettext("%(field)s must be one line of text", field=label), field=name)
    return text


def _email(value: str | None, name: str) -> str | None:
    text = _text(value, name, max_length=200, required=False)
    if text and not EMAIL_PATTERN.match(text):
        label = str(FIELD_NAMES[name])
        raise Invalid(gettext("%(field)s is not an e-mail address", field=label), field=name)
    return text or None


def _kept(value: T | Keep, current: T) -> T:
    return current if value is KEEP else value  # type: ignore[return-value]


def require_customer(uow: UnitOfWork, customer_id: int) -> Customer:
    customer = uow.session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(gettext("unknown customer %(id)s", id=customer_id))
    return customer


def unknown_site(site_id: int) -> NotFound:
    """The refusal for a site id nobody recorded."""
    return NotFound(gettext("unknown site %(id)s", id=site_id))


def require_site(uow: UnitOfWork, site_id: int) -> Site:
    site = uow.session.get(Site, site_id)
    if site is None:
        raise unknown_site(site_id)
    return site


def require_contract(uow: UnitOfWork, contract_id: int) -> Contract:
    contract = uow.session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(gettext("unknown contract %(id)s", id=contract_id))
    return contract


@read_only
def get_customer(uow: UnitOfWork, customer_id: int) -> Customer:
    """A customer (``NotFound`` when unknown), in a read of its own."""
    return require_customer(uow, customer_id)


@read_only
def get_site(uow: UnitOfWork, site_id: int) -> Site:
    """A site (``NotFound`` when unknown), in a read of its own."""
    return require_site(uow, site_id)


@read_only
def get_contract(uow: UnitOfWork, contract_id: int) -> Contract:
    """A contract (``NotFound`` when unknown), in a read of its own."""
    return require_contract(uow, contract_id)


def require_city(uow: UnitOfWork, city: str | int) -> City:
    """A city by id, or by its name in English (any case) or Chinese."""
    if isinstance(city, int):
        found = uow.session.get(City, city)
    else:
        name = city.strip()
        found = uow.session.scalar(
            select(City).where((func.lower(City.name) == name.lower()) | (City.name_zh == name))
        )
    if found is None:
        raise NotFound(gettext("unknown city %(city)s", city=repr(city)), field="city")
    return found


def _locked(uow: UnitOfWork, model: Any, *where: Any) -> Any:
    query = select(model).where(*where).execution_options(populate_existing=True)
    return uow.session.scalars(lock_for_update(query, uow)).first()


# --- customers ------------------------------------------------------------------------------


@transactional
def create_customer(
    uow: UnitOfWork,
    actor: Actor,
    code: str,
    name: str,
    *,
    name_zh: str = "",
    email: str | None = None,
) -> Customer:
    actor.require_role(*EDITING_ROLES)
    code = (code or "").strip().upper()
    if not CODE_PATTERN.match(code):
        raise Invalid(gettext("customer code must be 2-20 letters, digits or '-'"), field="code")
    customer = Customer(
        code=code,
        name=_text(name, "name", max_length=120),
        name_zh=_text(name_zh, "name_zh", max_length=60, required=False),
        email=_email(email, "email"),
    )
    if uow.session.scalar(select(Customer.id).where(Customer.code == code)) is not None:
        raise Conflict(gettext("customer %(code)s already exists", code=code), field="code")
    uow.session.add(customer)
    uow.session.flush()
    return customer


@transactional
def update_customer(
    uow: UnitOfWork,
    actor: Actor,
    customer_id: int,
    *,
    name: str | Keep = KEEP,
    name_zh: str | Keep = KEEP,
    email: str | Keep | None = KEEP,
) -> Customer:
    """Change a customer's names or e-mail (its code is how everyone refers to it and
    stays)."""
    actor.require_role(*EDITING_ROLES)
    customer = _locked(uow, Customer, Customer.id == customer_id)
    if customer is None:
        require_customer(uow, customer_id)
    customer.name = _text(_kept(name, customer.name), "name", max_length=120)
    customer.name_zh = _text(
        _kept(name_zh, customer.name_zh), "name_zh", max_length=60, required=False
    )
    customer.email = _email(_kept(email, customer.email), "email")
    uow.session.add(customer)
    uow.session.flush()
    return customer


# --- sites ----------------------------------------------------------------------------------


@transactional
def create_site(
    uow: UnitOfWork,
    actor: Actor,
    customer_id: int,
    name: str,
    city: str | int,
    *,
    address: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    contact_email: str | None = None,
) -> Site:
    actor.require_role(*EDITING_ROLES)
    require_customer(uow, customer_id)
    site = Site(
        customer_id=customer_id,
        name=_text(name, "name", max_length=120),
        city_id=require_city(uow, city).id,
        address=_text(address, "address", max_length=200, required=False),
        contact_name=_text(contact_name, "contact_name", max_length=80, required=False),
        contact_phone=_text(contact_phone, "contact_phone", max_length=40, required=False),
        contact_email=_email(contact_email, "contact_email"),
    )
    uow.session.add(site)
    uow.session.flush()
    return site


@transactional
def update_site(
    uow: UnitOfWork,
    actor: Actor,
    site_id: int,
    *,
    name: str | Keep = KEEP,
    city: str | int | Keep = KEEP,
    address: str | Keep = KEEP,
    contact_name: str | Keep = KEEP,
    contact_phone: str | Keep = KEEP,
    contact_email: str | Keep | None = KEEP,
) -> Site:
    """Change a site's name, city, address or contact.

    The city stays while the site has open cases: their depot, due times and
    delivery promises were worked out for that city.
    """
    actor.require_role(*EDITING_ROLES)
    site = _locked(uow, Site, Site.id == site_id)
    if site is None:
        require_site(uow, site_id)
    city_id = site.city_id if city is KEEP else require_city(uow, city).id  # type: ignore[arg-type]
    changes = {
        "name": _text(_kept(name, site.name), "name", max_length=120),
        "address": _text(_kept(address, site.address), "address", max_length=200, required=False),
        "contact_name": _text(
            _kept(contact_name, site.contact_name), "contact_name", max_length=80, required=False
        ),
        "contact_phone": _text(
            _kept(contact_phone, site.contact_phone), "contact_phone", max_length=40, required=False
        ),
        "contact_email": _email(_kept(contact_email, site.contact_email), "contact_email"),
    }
    if city_id != site.city_id:
        open_case = uow.session.scalar(
            select(Rma.number)
            .where(Rma.site_id == site.id, Rma.status.in_(OPEN_STATUSES))
            .order_by(Rma.id)
        )
        if open_case is not None:
            raise SiteHasOpenCases(
                gettext(
                    "the site's city cannot change while it has open cases (%(rma)s): their "
                    "depot and due times were worked out for its city",
                    rma=open_case,
                ),
                field="city",
                rma=open_case,
            )
    site.city_id = city_id
    for key, value in changes.items():
        setattr(site, key, value)
    uow.session.add(site)
    uow.session.flush()
    return site


# --- contracts ------------------------------------------------------------------------------


def _contract_terms(
    uow: UnitOfWork, number: str, coverage: str, starts_on: date, ends_on: date
) -> str:
    """The contract number, upper-case, once the terms are checked."""
    number = (number or "").strip().upper()
    if not CONTRACT_PATTERN.match(number):
        raise Invalid(
            gettext("contract number must be 2-30 letters, digits or '-'"), field="number"
        )
    if coverage not in COVERAGES:
        raise Invalid(
            gettext("coverage must be one of %(choices)s", choices=", ".join(COVERAGES)),
            field="coverage",
        )
    if ends_on < starts_on:
        raise Invalid(gettext("a contract cannot end before it starts"), field="ends_on")
    if uow.session.scalar(select(Contract.id).where(Contract.number == number)) is not None:
        raise Conflict(gettext("contract %(number)s already exists", number=number), field="number")
    return number


@transactional
def create_contract(
    uow: UnitOfWork,
    actor: Actor,
    customer_id: int,
    number: str,
    coverage: str,
    starts_on: date,
    ends_on: date,
    *,
    advance_replacement: bool = True,
    repair: bool = True,
    loaner: bool = False,
) -> Contract:
    actor.require_role(*CONTRACT_ROLES)
    require_customer(uow, customer_id)
    contract = Contract(
        customer_id=customer_id,
        number=_contract_terms(uow, number, coverage, starts_on, ends_on),
        coverage=coverage,
        starts_on=starts_on,
        ends_on=ends_on,
        advance_replacement=advance_replacement,
        repair=repair,
        loaner=loaner,
    )
    uow.session.add(contract)
    uow.session.flush()
    return contract


@transactional
def extend_contract(uow: UnitOfWork, actor: Actor, contract_id: int, ends_on: date) -> Contract:
    """Renew a contract on the same terms: it now ends on ``ends_on``, later than before."""
    actor.require_role(*CONTRACT_ROLES)
    contract = _locked(uow, Contract, Contract.id == contract_id)
    if contract is None:
        require_contract(uow, contract_id)
    if ends_on <= contract.ends_on:
        raise Invalid(
            gettext(
                "a renewal must end after the contract's current end (%(date)s)",
                date=contract.ends_on.isoformat(),
            ),
            field="ends_on",
        )
    contract.ends_on = ends_on
    uow.session.add(contract)
    uow.session.flush()
    return contract


@dataclass(frozen=True)
class Continuation:
    """A contract continued by a new one: the new contract, the old one as it ends
    now, and how many installed units moved to the new one."""

    contract: Contract
    previous: Contract
    units_moved: int


@transactional
def continue_contract(
    uow: UnitOfWork,
    actor: Actor,
    contract_id: int,
    number: str,
    ends_on: date,
    *,
    starts_on: date | None = None,
    coverage: str | None = None,
    advance_replacement: bool | None = None,
    repair: bool | None = None,
    loaner: bool | None = None,
) -> Continuation:
    """Renew a contract with a new one: its own number, coverage and kinds (None:
    the old contract's), starting the day after the old one ends unless
    ``starts_on`` says earlier (an upgrade during the term).

    There is no gap and no overlap: the new contract starts after the old one
    started and no later than the day after it ends, and the old one ends the day
    before the new one starts. The customer's active units under the old contract
    move to the new one, so their entitlement follows the renewal.
    """
    actor.require_role(*CONTRACT_ROLES)
    previous = _locked(uow, Contract, Contract.id == contract_id)
    if previous is None:
        require_contract(uow, contract_id)
    day_after = previous.ends_on + timedelta(days=1)
    starts_on = starts_on or day_after
    if not previous.starts_on < starts_on <= day_after:
        raise Invalid(
            gettext(
                "a contract continuing %(number)s starts after %(start)s and no later than "
                "%(day_after)s",
                number=previous.number,
                start=previous.starts_on.isoformat(),
                day_after=day_after.isoformat(),
            ),
            field="starts_on",
        )
    coverage = coverage or previous.coverage
    contract = Contract(
        customer_id=previous.customer_id,
        number=_contract_terms(uow, number, coverage, starts_on, ends_on),
        coverage=coverage,
        starts_on=starts_on,
        ends_on=ends_on,
        advance_replacement=_given(advance_replacement, previous.advance_replacement),
        repair=_given(repair, previous.repair),
        loaner=_given(loaner, previous.loaner),
    )
    uow.session.add(contract)
    previous.ends_on = min(previous.ends_on, starts_on - timedelta(days=1))
    uow.session.add(previous)
    uow.session.flush()
    moved = uow.session.execute(
        update(InstalledUnit)
        .where(InstalledUnit.contract_id == previous.id, InstalledUnit.active)
        .values(contract_id=contract.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    return Continuation(contract, previous, moved or 0)


def _given(value: bool | None, default: bool) -> bool:
    return default if value is None else value


def contract_state(contract: Contract, today: date) -> str:
    """``upcoming``, ``active`` or ``expired`` on ``today``."""
    if today < contract.starts_on:
        return "upcoming"
    return "active" if today <= contract.ends_on else "expired"


# --- the installed base: recording, phases, decommissioning ----------------------------------


def _in_stock_words(where: str) -> str:
    """Inventory's "in stock at SH" / "in transit to GZ", in the reader's language."""
    found = re.match(r"^in (stock at|transit to) (\w+)$", where)
    if not found:
        return where
    if found.group(1) == "stock at":
        return gettext("in stock at %(depot)s", depot=found.group(2))
    return gettext("in transit to %(depot)s", depot=found.group(2))


@transactional
def create_installed_unit(
    uow: UnitOfWork,
    actor: Actor,
    serial: str,
    part_number: str,
    site_id: int,
    shipped_on: date,
    warranty_end: date,
    *,
    phase: str = "in_warranty",
    contract_id: int | None = None,
) -> InstalledUnit:
    actor.require_role(*EDITING_ROLES)
    serial = (serial or "").strip().upper()
    if not re.match(r"^[A-Z0-9][A-Z0-9._/-]{2,63}$", serial):
        raise Invalid(gettext("serial must be 3-64 letters, digits or . _ / -"), field="serial")
    if phase not in PHASES:
        raise Invalid(
            gettext("phase must be one of %(choices)s", choices=", ".join(PHASES)),
            field="phase",
        )
    site = require_site(uow, site_id)
    part = uow.session.get(Part, (part_number or "").strip().upper())
    if part is None:
        raise NotFound(
            gettext("unknown part %(part)s", part=repr(part_number)), field="part_number"
        )
    if contract_id is not None:
        contract = uow.session.get(Contract, contract_id)
        if contract is None or contract.customer_id != site.customer_id:
            raise Invalid(
                gettext("the contract must belong to the site's customer"), field="contract_id"
            )
    if warranty_end < shipped_on:
        raise Invalid(gettext("warranty cannot end before the unit shipped"), field="warranty_end")
    if uow.session.scalar(select(InstalledUnit.id).where(InstalledUnit.serial == serial)):
        raise Conflict(
            gettext("serial %(serial)s is already installed somewhere", serial=serial),
            field="serial",
        )
    stocked = serial_space.in_stock(uow, [serial])
    if stocked:
        raise Conflict(
            gettext(
                "serial %(serial)s is %(where)s; one serial cannot be in two places (ship it "
                "through an RMA, or correct the stock first)",
                serial=serial,
                where=_in_stock_words(stocked[serial]),
            ),
            field="serial",
        )
    unit = InstalledUnit(
        serial=serial,
        part_number=part.part_number,
        site_id=site_id,
        contract_id=contract_id,
        shipped_on=shipped_on,
        warranty_end=warranty_end,
        phase=phase,
    )
    uow.session.add(unit)
    uow.session.flush()
    return unit


def _lock_active_unit(uow: UnitOfWork, serial: str) -> InstalledUnit:
    """The unit with ``serial``, locked (the one document a phase change or a
    decommissioning acts on; opening an RMA locks it too)."""
    serial = (serial or "").strip().upper()
    unit = _locked(uow, InstalledUnit, InstalledUnit.serial == serial)
    if unit is None:
        raise NotFound(
            gettext("serial %(serial)s is not in the installed base", serial=repr(serial))
        )
    if not unit.active:
        raise UnitDecommissioned(
            gettext("%(serial)s has left the installed base", serial=unit.serial)
        )
    return unit


def next_phases(phase: str) -> tuple[str, ...]:
    """The phases a unit in ``phase`` may move to: the later ones."""
    return PHASES[PHASES.index(phase) + 1 :] if phase in PHASES else ()


@transactional
def change_phase(uow: UnitOfWork, actor: Actor, serial: str, phase: str) -> InstalledUnit:
    """Move a unit on to a later phase (one step, or several: a small unit may have no
    trial run).

    A phase never goes back. The phases are what happened to the installation,
    and entitlement rests on them: a unit moved back before warranty would make
    every service free again, and a unit moved back into warranty would undo the
    end the warranty date already recorded. A phase recorded by mistake is not
    silently undone: there is no history of phase changes to keep the correction
    in (see the notes on the installed base).
    """
    actor.require_role(*EDITING_ROLES)
    if phase not in PHASES:
        raise Invalid(
            gettext("phase must be one of %(choices)s", choices=", ".join(PHASES)),
            field="phase",
        )
    unit = _lock_active_unit(uow, serial)
    if phase not in next_phases(unit.phase):
        raise PhaseNotForward(
            gettext(
                "%(serial)s is in %(now)s; a phase only moves forward, not to %(wanted)s",
                serial=unit.serial,
                now=kinds.PHASE_LABELS[unit.phase],
                wanted=kinds.PHASE_LABELS[phase],
            ),
            field="phase",
            phase=unit.phase,
            allowed=list(next_phases(unit.phase)),
        )
    unit.phase = phase
    uow.session.add(unit)
    uow.session.flush()
    return unit


def _open_rma_holding(uow: UnitOfWork, unit: InstalledUnit) -> str | None:
    return uow.session.scalar(
        select(Rma.number)
        .where(
            Rma.status.in_(OPEN_STATUSES),
            (Rma.installed_unit_id == unit.id)
            | (Rma.serial == unit.serial)
            | (Rma.shipped_serial == unit.serial),
        )
        .order_by(Rma.id)
    )


@transactional
def decommission(uow: UnitOfWork, actor: Actor, serial: str) -> InstalledUnit:
    """The unit leaves the installed base (taken out of service at the customer's).

    Refused while an open RMA holds it (its serial, or the replacement it shipped):
    the case finishes first, and takes the unit back itself if it comes back.
    """
    actor.require_role(*EDITING_ROLES)
    unit = _lock_active_unit(uow, serial)
    holding = _open_rma_holding(uow, unit)
    if holding is not None:
        raise HeldByOpenRma(
            gettext(
                "%(serial)s stays in the installed base while %(rma)s is open",
                serial=unit.serial,
                rma=holding,
            ),
            rma=holding,
        )
    unit.active = False
    uow.session.add(unit)
    uow.session.flush()
    return unit


def installed_serials(uow: UnitOfWork, serials: Sequence[str]) -> dict[str, str]:
    """{serial: where} for those of ``serials`` installed and running at a customer's
    site: the installed base's share of the one serial space (see
    ``inventory.service.serials``); in the reader's language."""
    rows = uow.session.execute(
        select(InstalledUnit.serial, Site.name, Customer.code)
        .join(Site, Site.id == InstalledUnit.site_id)
        .join(Customer, Customer.id == Site.customer_id)
        .where(InstalledUnit.serial.in_(list(serials)), InstalledUnit.active)
    )
    return {
        serial: gettext("installed at %(site)s (%(customer)s)", site=site, customer=customer)
        for serial, site, customer in rows
    }


# --- reads: one unit, searches, lists -------------------------------------------------------


@dataclass(frozen=True)
class InstalledUnitView:
    unit: InstalledUnit
    site: Site
    customer: Customer
    city: City


def _units_query() -> Any:
    return (
        select(InstalledUnit, Site, Customer, City)
        .join(Site, Site.id == InstalledUnit.site_id)
        .join(Customer, Customer.id == Site.customer_id)
        .join(City, City.id == Site.city_id)
    )


@read_only
def find_installed_unit(uow: UnitOfWork, serial: str) -> InstalledUnitView:
    """The installed unit with this serial, with its site, customer and city."""
    row = uow.session.execute(
        _units_query().where(InstalledUnit.serial == (serial or "").strip().upper())
    ).first()
    if row is None:
        raise NotFound(
            gettext("serial %(serial)s is not in the installed base", serial=repr(serial))
        )
    return InstalledUnitView(*row)


@read_only
def search_installed_units(uow: UnitOfWork, text: str, limit: int = 20) -> list[InstalledUnitView]:
    """Installed units whose serial starts with, or customer name (English or Chinese)
    contains, ``text``."""
    pattern = (text or "").strip()
    if not pattern:
        return []
    query = (
        _units_query()
        .where(
            InstalledUnit.serial.startswith(pattern.upper(), autoescape=True)
            | _customer_named(pattern)
        )
        .order_by(InstalledUnit.serial)
        .limit(limit)
    )
    return [InstalledUnitView(*row) for row in uow.session.execute(query)]


def _customer_named(text: str) -> Any:
    """Customers whose code, English name (any case) or Chinese name contains ``text``."""
    lowered = text.strip().lower()
    return (
        func.lower(Customer.name).contains(lowered, autoescape=True)
        | Customer.name_zh.contains(text.strip(), autoescape=True)
        | func.lower(Customer.code).contains(lowered, autoescape=True)
    )


@read_only
def list_customers(uow: UnitOfWork, search: str | None = None, limit: int = 200) -> list[Customer]:
    """Customers by code; ``search`` is part of the code or of either name."""
    query = select(Customer).order_by(Customer.code).limit(limit)
    if search and search.strip():
        query = query.where(_customer_named(search))
    return list(uow.session.scalars(query))


@read_only
def list_sites(uow: UnitOfWork, customer_id: int | None = None) -> list[Site]:
    query = select(Site).order_by(Site.id)
    if customer_id is not None:
        query = query.where(Site.customer_id == customer_id)
    return list(uow.session.scalars(query))


@read_only
def list_contracts(uow: UnitOfWork, customer_id: int | None = None) -> list[Contract]:
    query = select(Contract).order_by(Contract.id)
    if customer_id is not None:
        query = query.where(Contract.customer_id == customer_id)
    return list(uow.session.scalars(query))


@read_only
def list_installed_units(
    uow: UnitOfWork,
    *,
    site_id: int | None = None,
    customer_id: int | None = None,
    limit: int = 500,
) -> list[InstalledUnit]:
    query = select(InstalledUnit).order_by(InstalledUnit.serial).limit(limit)
    if site_id is not None:
        query = query.where(InstalledUnit.site_id == site_id)
    if customer_id is not None:
        query = query.join(Site, Site.id == InstalledUnit.site_id).where(
            Site.customer_id == customer_id
        )
    return list(uow.session.scalars(query))


@read_only
def cities_with_sites(uow: UnitOfWork) -> list[City]:
    """The cities some customer has a site in (what lists filter by), by name."""
    used = select(Site.city_id).distinct()
    return list(uow.session.scalars(select(City).where(City.id.in_(used)).order_by(City.name)))


@read_only
def list_cities(uow: UnitOfWork) -> list[City]:
    return list(uow.session.scalars(select(City).order_by(City.name)))


# --- the customers' list --------------------------------------------------------------------

_SITES = select(func.count(Site.id)).where(Site.customer_id == Customer.id).scalar_subquery()
_UNITS = (
    select(func.count(InstalledUnit.id))
    .join(Site, Site.id == InstalledUnit.site_id)
    .where(Site.customer_id == Customer.id, InstalledUnit.active)
    .scalar_subquery()
)
_OPEN_CASES = (
    select(func.count(Rma.id))
    .where(Rma.customer_id == Customer.id, Rma.status.in_(OPEN_STATUSES))
    .scalar_subquery()
)
# Names sort on their English form in both languages: it is mostly pinyin (Changsha,
# Urumqi), so it is close to the order a Chinese reader expects; the Chinese form's
# code points are not (a pinyin key per name would need a column of its own).
CUSTOMER_SORTS = {
    "code": Customer.code,
    "name": func.lower(Customer.name),
    "sites": _SITES,
    "units": _UNITS,
    "open_cases": _OPEN_CASES,
}


@dataclass(frozen=True)
class CustomerRow:
    customer: Customer
    sites: int
    units: int  # active installed units
    open_cases: int
    cities: list[City]
    coverage: str | None  # of the active contracts, the widest; None without one


@dataclass(frozen=True)
class CustomerTotals:
    """The whole selection's figures (all its pages)."""

    customers: int
    sites: int
    units: int
    open_cases: int


@read_only
def customers_page(
    uow: UnitOfWork,
    request: PageRequest,
    *,
    search: str = "",
    city_id: int | None = None,
    today: date,
) -> tuple[Page[CustomerRow], CustomerTotals]:
    """One page of customers whose code or name (English or Chinese) contains
    ``search`` and, with ``city_id``, that have a site in that city; and the
    figures of the whole selection."""
    query = select(
        Customer,
        _SITES.label("sites"),
        _UNITS.label("units"),
        _OPEN_CASES.label("open_cases"),
    )
    if search.strip():
        query = query.where(_customer_named(search))
    if city_id is not None:
        query = query.where(
            select(Site.id).where(Site.customer_id == Customer.id, Site.city_id == city_id).exists()
        )
    page = paginate(uow.session, query, request, CUSTOMER_SORTS, Customer.id, scalars=False)
    whole = query.subquery()
    figures = uow.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(whole.c.sites), 0),
            func.coalesce(func.sum(whole.c.units), 0),
            func.coalesce(func.sum(whole.c.open_cases), 0),
        ).select_from(whole)
    ).one()
    ids = [row[0].id for row in page.items]
    cities: dict[int, list[City]] = {}
    for customer_id, city in uow.session.execute(
        select(Site.customer_id, City)
        .join(City, City.id == Site.city_id)
        .where(Site.customer_id.in_(ids))
        .distinct()
        .order_by(Site.customer_id, City.name)
    ):
        cities.setdefault(customer_id, []).append(city)
    coverage = _coverage_today(uow, ids, today)
    rows = [
        CustomerRow(
            customer,
            sites,
            units,
            open_cases,
            cities.get(customer.id, []),
            coverage.get(customer.id),
        )
        for customer, sites, units, open_cases in page.items
    ]
    return (
        Page(rows, page.total, page.request),
        CustomerTotals(*(int(value) for value in figures)),
    )


def _coverage_today(uow: UnitOfWork, customer_ids: Iterable[int], today: date) -> dict[int, str]:
    """{customer: the widest coverage of its active contracts} (7x24 over 5x8)."""
    found: dict[int, str] = {}
    for customer_id, coverage in uow.session.execute(
        select(Contract.customer_id, Contract.coverage).where(
            Contract.customer_id.in_(list(customer_ids)),
            Contract.starts_on <= today,
            Contract.ends_on >= today,
        )
    ):
        if found.get(customer_id) != "7x24":
            found[customer_id] = coverage
    return found


# --- one customer ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteLine:
    site: Site
    city: City
    units: int


@dataclass(frozen=True)
class ContractLine:
    contract: Contract
    state: str  # upcoming, active, expired
    units: int  # active installed units under it


@dataclass(frozen=True)
class CaseLine:
    rma: Rma
    site: Site


@dataclass(frozen=True)
class CustomerOverview:
    customer: Customer
    sites: list[SiteLine]
    contracts: list[ContractLine]
    coverage: Entitlement  # what a case of this customer without a serial gets today
    units: list[InstalledUnitView]  # the first DETAIL_ROWS active units
    unit_count: int
    open_cases: list[CaseLine]  # the first DETAIL_ROWS, newest first
    open_case_count: int


@read_only
def customer_overview(uow: UnitOfWork, customer_id: int, today: date) -> CustomerOverview:
    """A customer with its sites, contracts, installed units and open cases."""
    customer = require_customer(uow, customer_id)
    unit_counts = dict(
        uow.session.execute(
            select(InstalledUnit.site_id, func.count())
            .join(Site, Site.id == InstalledUnit.site_id)
            .where(Site.customer_id == customer_id, InstalledUnit.active)
            .group_by(InstalledUnit.site_id)
        ).all()
    )
    sites = [
        SiteLine(site, city, unit_counts.get(site.id, 0))
        for site, city in uow.session.execute(
            select(Site, City)
            .join(City, City.id == Site.city_id)
            .where(Site.customer_id == customer_id)
            .order_by(Site.name, Site.id)
        )
    ]
    contracts = _contract_lines(uow, customer_id, today)
    units_query = _units_query().where(Customer.id == customer_id, InstalledUnit.active)
    units = [
        InstalledUnitView(*row)
        for row in uow.session.execute(
            units_query.order_by(InstalledUnit.serial).limit(DETAIL_ROWS)
        )
    ]
    open_query = (
        select(Rma, Site)
        .join(Site, Site.id == Rma.site_id)
        .where(Rma.customer_id == customer_id, Rma.status.in_(OPEN_STATUSES))
    )
    return CustomerOverview(
        customer=customer,
        sites=sites,
        contracts=contracts,
        coverage=decide(uow, customer_id, None, Kind.ADVANCE_REPLACEMENT, today),
        units=units,
        unit_count=_count(uow, units_query),
        open_cases=[
            CaseLine(*row)
            for row in uow.session.execute(open_query.order_by(Rma.id.desc()).limit(DETAIL_ROWS))
        ],
        open_case_count=_count(uow, open_query),
    )


def _count(uow: UnitOfWork, query: Any) -> int:
    return (
        uow.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    )


def _contract_lines(uow: UnitOfWork, customer_id: int, today: date) -> list[ContractLine]:
    counts = dict(
        uow.session.execute(
            select(InstalledUnit.contract_id, func.count())
            .join(Contract, Contract.id == InstalledUnit.contract_id)
            .where(Contract.customer_id == customer_id, InstalledUnit.active)
            .group_by(InstalledUnit.contract_id)
        ).all()
    )
    contracts = uow.session.scalars(
        select(Contract)
        .where(Contract.customer_id == customer_id)
        .order_by(Contract.ends_on.desc(), Contract.id.desc())
    )
    return [
        ContractLine(contract, contract_state(contract, today), counts.get(contract.id, 0))
        for contract in contracts
    ]


# --- one contract ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitCover:
    """What a unit under a contract is entitled to today and the day after the
    contract ends, by kind."""

    view: InstalledUnitView
    today: dict[str, Entitlement]
    after_end: dict[str, Entitlement]


@dataclass(frozen=True)
class ContractOverview:
    contract: Contract
    customer: Customer
    state: str
    day_after_end: date
    units: list[UnitCover]  # the first DETAIL_ROWS active units under it
    unit_count: int
    others: list[ContractLine]  # the customer's other contracts


@read_only
def contract_overview(uow: UnitOfWork, contract_id: int, today: date) -> ContractOverview:
    """A contract with its units and what each is entitled to today and once the
    contract has ended: the consequence of renewing it or not."""
    contract = require_contract(uow, contract_id)
    customer = require_customer(uow, contract.customer_id)
    day_after = contract.ends_on + timedelta(days=1)
    query = _units_query().where(InstalledUnit.contract_id == contract.id, InstalledUnit.active)
    views = [
        InstalledUnitView(*row)
        for row in uow.session.execute(query.order_by(InstalledUnit.serial).limit(DETAIL_ROWS))
    ]
    covers = [
        UnitCover(
            view,
            _by_kind(uow, customer.id or 0, view.unit, today),
            _by_kind(uow, customer.id or 0, view.unit, day_after),
        )
        for view in views
    ]
    others = [
        line
        for line in _contract_lines(uow, customer.id or 0, today)
        if line.contract.id != contract.id
    ]
    return ContractOverview(
        contract,
        customer,
        contract_state(contract, today),
        day_after,
        covers,
        _count(uow, query),
        others,
    )


def _by_kind(
    uow: UnitOfWork, customer_id: int, unit: InstalledUnit | None, on: date
) -> dict[str, Entitlement]:
    return {kind.value: decide(uow, customer_id, unit, kind, on) for kind in Kind}


# --- one installed unit and the installed base ----------------------------------------------


@dataclass(frozen=True)
class UnitOverview:
    view: InstalledUnitView
    contract: Contract | None
    entitlements: dict[str, Entitlement]  # today, by kind
    cases: list[Rma]  # the serial's cases, newest first (the first DETAIL_ROWS)
    holding_case: str | None  # the open RMA that holds it, if any
    next_phases: tuple[str, ...]


@read_only
def unit_overview(uow: UnitOfWork, serial: str, today: date) -> UnitOverview:
    """An installed unit with its contract, entitlement today and its cases."""
    view = find_installed_unit(uow, serial)
    unit = view.unit
    cases = uow.session.scalars(
        select(Rma)
        .where(
            (Rma.installed_unit_id == unit.id)
            | (Rma.serial == unit.serial)
            | (Rma.shipped_serial == unit.serial)
        )
        .order_by(Rma.id.desc())
        .limit(DETAIL_ROWS)
    )
    return UnitOverview(
        view=view,
        contract=uow.session.get(Contract, unit.contract_id) if unit.contract_id else None,
        entitlements=_by_kind(uow, view.customer.id or 0, unit, today),
        cases=list(cases),
        holding_case=_open_rma_holding(uow, unit) if unit.active else None,
        next_phases=next_phases(unit.phase) if unit.active else (),
    )


@dataclass(frozen=True)
class InstalledBaseFilter:
    """Which installed units a list shows; empty values do not filter."""

    customer_id: int | None = None
    site_id: int | None = None
    city_id: int | None = None
    part: str = ""  # start of the part number
    serial: str = ""  # start of the serial
    phase: str | None = None
    state: str = "active"  # active, decommissioned or all


_PHASE_ORDER = case({phase: index for index, phase in enumerate(PHASES)}, value=InstalledUnit.phase)
UNIT_SORTS = {
    "serial": InstalledUnit.serial,
    "part": InstalledUnit.part_number,
    "customer": func.lower(Customer.name),  # pinyin-like in both languages (see above)
    "city": City.name,
    "phase": _PHASE_ORDER,
    "shipped": InstalledUnit.shipped_on,
    "warranty": InstalledUnit.warranty_end,
}


@read_only
def installed_base_page(
    uow: UnitOfWork, request: PageRequest, filters: InstalledBaseFilter
) -> tuple[Page[InstalledUnitView], dict[str, int]]:
    """One page of the installed base, and how many units of the whole selection are
    in each phase."""
    if filters.phase is not None and filters.phase not in PHASES:
        raise Invalid(
            gettext("phase must be one of %(choices)s", choices=", ".join(PHASES)),
            field="phase",
        )
    if filters.state not in STATES:
        raise Invalid(
            gettext("show must be one of %(choices)s", choices=", ".join(STATES)), field="state"
        )
    conditions = []
    if filters.customer_id is not None:
        conditions.append(Customer.id == filters.customer_id)
    if filters.site_id is not None:
        conditions.append(Site.id == filters.site_id)
    if filters.city_id is not None:
        conditions.append(City.id == filters.city_id)
    if filters.part.strip():
        conditions.append(
            InstalledUnit.part_number.startswith(filters.part.strip().upper(), autoescape=True)
        )
    if filters.serial.strip():
        conditions.append(
            InstalledUnit.serial.startswith(filters.serial.strip().upper(), autoescape=True)
        )
    if filters.phase:
        conditions.append(InstalledUnit.phase == filters.phase)
    if filters.state != "all":
        conditions.append(InstalledUnit.active.is_(filters.state == "active"))
    query = _units_query().where(*conditions)
    page = paginate(uow.session, query, request, UNIT_SORTS, InstalledUnit.id, scalars=False)
    whole = query.subquery()
    phases = dict(
        uow.session.execute(
            select(whole.c.phase, func.count()).select_from(whole).group_by(whole.c.phase)
        ).all()
    )
    rows = [InstalledUnitView(*row) for row in page.items]
    return Page(rows, page.total, page.request), {p: phases.get(p, 0) for p in PHASES}
