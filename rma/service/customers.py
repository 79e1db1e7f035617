"""Customers, their sites, contracts and installed base."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from core.auth import Actor, Role
from core.db import UnitOfWork, read_only, transactional
from core.errors import Conflict, Invalid, NotFound
from depots.models import City
from inventory.models import Part
from inventory.service import serials as serial_space
from rma.models import COVERAGES, PHASES, Contract, Customer, InstalledUnit, Site

EDITING_ROLES = (Role.ENGINEER, Role.SUPERVISOR, Role.PLANNER)
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,19}$")


def _text(value: str | None, name: str, *, max_length: int, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise Invalid(f"{name} is required")
    if len(text) > max_length:
        raise Invalid(f"{name} must be at most {max_length} characters")
    return text


def require_customer(uow: UnitOfWork, customer_id: int) -> Customer:
    customer = uow.session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"unknown customer {customer_id}")
    return customer


def require_site(uow: UnitOfWork, site_id: int) -> Site:
    site = uow.session.get(Site, site_id)
    if site is None:
        raise NotFound(f"unknown site {site_id}")
    return site


def require_city(uow: UnitOfWork, city: str | int) -> City:
    if isinstance(city, int):
        found = uow.session.get(City, city)
    else:
        found = uow.session.scalar(
            select(City).where(func.lower(City.name) == city.strip().lower())
        )
    if found is None:
        raise NotFound(f"unknown city {city!r}")
    return found


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
        raise Invalid("customer code must be 2-20 letters, digits or '-'")
    if uow.session.scalar(select(Customer.id).where(Customer.code == code)) is not None:
        raise Conflict(f"customer {code} already exists")
    customer = Customer(
        code=code,
        name=_text(name, "name", max_length=120),
        name_zh=_text(name_zh, "name_zh", max_length=60, required=False),
        email=(email or "").strip() or None,
    )
    uow.session.add(customer)
    uow.session.flush()
    return customer


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
        contact_email=(contact_email or "").strip() or None,
    )
    uow.session.add(site)
    uow.session.flush()
    return site


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
    actor.require_role(Role.SUPERVISOR, Role.PLANNER)
    require_customer(uow, customer_id)
    number = (number or "").strip().upper()
    if not CODE_PATTERN.match(number[:20]) or len(number) > 30:
        raise Invalid("contract number must be letters, digits or '-', at most 30")
    if coverage not in COVERAGES:
        raise Invalid(f"coverage must be one of {', '.join(COVERAGES)}")
    if ends_on < starts_on:
        raise Invalid("a contract cannot end before it starts")
    if uow.session.scalar(select(Contract.id).where(Contract.number == number)) is not None:
        raise Conflict(f"contract {number} already exists")
    contract = Contract(
        customer_id=customer_id,
        number=number,
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
    if not serial or len(serial) > 64:
        raise Invalid("serial is required (at most 64 characters)")
    if phase not in PHASES:
        raise Invalid(f"phase must be one of {', '.join(PHASES)}")
    site = require_site(uow, site_id)
    if uow.session.get(Part, (part_number or "").strip().upper()) is None:
        raise NotFound(f"unknown part {part_number!r}")
    if contract_id is not None:
        contract = uow.session.get(Contract, contract_id)
        if contract is None or contract.customer_id != site.customer_id:
            raise Invalid("the contract must belong to the site's customer")
    if warranty_end < shipped_on:
        raise Invalid("warranty cannot end before the unit shipped")
    if uow.session.scalar(select(InstalledUnit.id).where(InstalledUnit.serial == serial)):
        raise Conflict(f"serial {serial} is already installed somewhere")
    stocked = serial_space.in_stock(uow, [serial])
    if stocked:
        raise Conflict(
            f"serial {serial} is {stocked[serial]}; one serial cannot be in two places "
            "(ship it through an RMA, or correct the stock first)"
        )
    unit = InstalledUnit(
        serial=serial,
        part_number=part_number.strip().upper(),
        site_id=site_id,
        contract_id=contract_id,
        shipped_on=shipped_on,
        warranty_end=warranty_end,
        phase=phase,
    )
    uow.session.add(unit)
    uow.session.flush()
    return unit


def installed_serials(uow: UnitOfWork, serials: Sequence[str]) -> dict[str, str]:
    """{serial: where} for those of ``serials`` installed and running at a customer's
    site: the installed base's share of the one serial space (see
    ``inventory.service.serials``)."""
    rows = uow.session.execute(
        select(InstalledUnit.serial, Site.name, Customer.code)
        .join(Site, Site.id == InstalledUnit.site_id)
        .join(Customer, Customer.id == Site.customer_id)
        .where(InstalledUnit.serial.in_(list(serials)), InstalledUnit.active)
    )
    return {serial: f"installed at {site} ({customer})" for serial, site, customer in rows}


@dataclass(frozen=True)
class InstalledUnitView:
    unit: InstalledUnit
    site: Site
    customer: Customer
    city: City


@read_only
def find_installed_unit(uow: UnitOfWork, serial: str) -> InstalledUnitView:
    """The installed unit with this serial, with its site, customer and city."""
    row = uow.session.execute(
        select(InstalledUnit, Site, Customer, City)
        .join(Site, Site.id == InstalledUnit.site_id)
        .join(Customer, Customer.id == Site.customer_id)
        .join(City, City.id == Site.city_id)
        .where(InstalledUnit.serial == (serial or "").strip().upper())
    ).first()
    if row is None:
        raise NotFound(f"serial {serial!r} is not in the installed base")
    return InstalledUnitView(*row)


@read_only
def search_installed_units(uow: UnitOfWork, text: str, limit: int = 20) -> list[InstalledUnitView]:
    """Installed units whose serial starts with, or customer name contains, ``text``."""
    pattern = (text or "").strip()
    if not pattern:
        return []
    query = (
        select(InstalledUnit, Site, Customer, City)
        .join(Site, Site.id == InstalledUnit.site_id)
        .join(Customer, Customer.id == Site.customer_id)
        .join(City, City.id == Site.city_id)
        .where(
            (InstalledUnit.serial.like(f"{pattern.upper()}%"))
            | (func.lower(Customer.name).like(f"%{pattern.lower()}%"))
        )
        .order_by(InstalledUnit.serial)
        .limit(limit)
    )
    return [InstalledUnitView(*row) for row in uow.session.execute(query)]


@read_only
def list_customers(uow: UnitOfWork, search: str | None = None, limit: int = 200) -> list[Customer]:
    query = select(Customer).order_by(Customer.code).limit(limit)
    if search:
        query = query.where(func.lower(Customer.name).like(f"%{search.strip().lower()}%"))
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
