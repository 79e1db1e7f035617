"""Factories for RMA tests: a customer with a site, contracts, installed units."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from core import clock
from core.auth import Actor
from core.db import UnitOfWork
from rma.models import Contract, Customer, InstalledUnit, Site
from rma.service import customers
from tests.inventory.conftest import (  # noqa: F401  (fixtures shared with inventory tests)
    make_part,
    planner,
    staff,
    stock_up,
)

_numbers = itertools.count(1)


@pytest.fixture
def engineer(make_user) -> Actor:
    return make_user("engineer")


@pytest.fixture
def supervisor(make_user) -> Actor:
    return make_user("supervisor")


@dataclass
class Account:
    customer: Customer
    site: Site
    contract: Contract | None


@pytest.fixture
def account(engine, supervisor) -> Callable[..., Account]:
    """A customer with one site in ``city`` and, optionally, a contract."""

    def factory(
        city: str = "Shanghai",
        *,
        coverage: str | None = "5x8",
        loaner: bool = False,
        contract_days: int = 365,
    ) -> Account:
        uow = UnitOfWork(engine)
        n = next(_numbers)
        customer = customers.create_customer(uow, supervisor, f"CUST-{n}", f"Customer {n}")
        site = customers.create_site(uow, supervisor, customer.id, f"Site {n}", city)
        contract = None
        if coverage:
            today = clock.local(clock.now()).date()
            contract = customers.create_contract(
                uow,
                supervisor,
                customer.id,
                f"K-{n}",
                coverage,
                today - timedelta(days=30),
                today + timedelta(days=contract_days),
                loaner=loaner,
            )
        return Account(customer, site, contract)

    return factory


@pytest.fixture
def install(engine, supervisor) -> Callable[..., InstalledUnit]:
    """Put a unit of ``part_number`` at the account's site."""

    def factory(
        acct: Account,
        part_number: str,
        *,
        phase: str = "in_warranty",
        warranty_days: int = 200,
        serial: str | None = None,
    ) -> InstalledUnit:
        today = clock.local(clock.now()).date()
        return customers.create_installed_unit(
            UnitOfWork(engine),
            supervisor,
            serial or f"INST{next(_numbers):08d}",
            part_number,
            acct.site.id,
            today - timedelta(days=400),
            today + timedelta(days=warranty_days),
            phase=phase,
            contract_id=acct.contract.id if acct.contract else None,
        )

    return factory


def today() -> date:
    return clock.local(clock.now()).date()
