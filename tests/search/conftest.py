"""Things to find: customers with Chinese names and their sites, installed units,
parts, open and closed cases, on whichever database the test runs."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine

from core import auth, clock
from core.db import UnitOfWork
from inventory.models import PartIn
from inventory.service import catalog, moves
from rma.models import Customer, InstalledUnit, Rma, Site
from rma.service import customers, lifecycle, opening
from rma.service.opening import OpenRequest
from search.service import find

_numbers = itertools.count(1)


@dataclass
class World:
    """Factories writing through the owning services, as the pages and API do."""

    engine: Engine
    supervisor: auth.Actor
    engineer: auth.Actor
    planner: auth.Actor

    @property
    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine)

    def customer(self, name: str, name_zh: str = "", *, code: str | None = None) -> Customer:
        return customers.create_customer(
            self.uow, self.supervisor, code or f"C-{next(_numbers)}", name, name_zh=name_zh
        )

    def site(self, customer: Customer, name: str, city: str) -> Site:
        return customers.create_site(self.uow, self.supervisor, customer.id, name, city)

    def part(self, description: str, *, part_number: str | None = None) -> str:
        spec = PartIn(
            part_number=part_number or f"SP-{next(_numbers):04d}",
            description=description,
            family="line_card",
            serialized=True,
            unit_cost=Decimal("1000.00"),
        )
        return catalog.create_part(self.uow, self.planner, spec).part_number

    def install(self, site: Site, part_number: str, serial: str) -> InstalledUnit:
        today = clock.local(clock.now()).date()
        return customers.create_installed_unit(
            self.uow,
            self.supervisor,
            serial,
            part_number,
            site.id,
            today - timedelta(days=100),
            today + timedelta(days=300),
        )

    def stock(self, depot: str, part_number: str, serials: list[str]) -> list[str]:
        """Receive units with ``serials`` into ``depot``'s stock."""
        staff = _actor(self.engine, "depot_staff", depot=depot)
        moves.receive(self.uow, staff, depot, part_number, len(serials), serials)
        return serials

    def case(self, unit: InstalledUnit) -> Rma:
        """An open repair case for the unit (approved at once: it is in warranty)."""
        return opening.open_rma(
            self.uow,
            self.engineer,
            OpenRequest(fault_level="C-3", kind="repair", symptom="fan noise", serial=unit.serial),
        )

    def cancel(self, rma: Rma) -> Rma:
        return lifecycle.cancel(self.uow, self.engineer, rma.number, "opened by mistake")

    def find(self, text: str, **options) -> find.Results:
        return find.find(self.uow, text, **options)

    def found(self, text: str, kind: str) -> list[str]:
        """The English titles of the hits of ``kind`` that ``text`` finds."""
        return [
            hit.title.en
            for group in self.find(text, kind=kind, paging=find.first_page(100)).groups
            for hit in group.hits
        ]


def _actor(engine: Engine, role: str, *, depot: str | None = None) -> auth.Actor:
    name = f"finder-{role.replace('_', '-')}-{next(_numbers)}"
    return auth.create_user(
        UnitOfWork(engine), name, "test-password-1", role, depot_code=depot, full_name=name
    )


@pytest.fixture
def world_on() -> Callable[[Engine], World]:
    def factory(engine: Engine) -> World:
        return World(
            engine,
            supervisor=_actor(engine, "supervisor"),
            engineer=_actor(engine, "engineer"),
            planner=_actor(engine, "planner"),
        )

    return factory


@pytest.fixture
def world(engine: Engine, world_on: Callable[[Engine], World]) -> World:
    """Factories on the SQLite test database (the one ``client`` serves)."""
    return world_on(engine)
