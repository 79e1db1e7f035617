"""A small world on any test database (``engine``, ``any_engine``, ``pg_engine``) for
tests that act through the API, the pages and the CLI: an app and a client on that
engine, users with bearer tokens or a signed-in page session, and the set-up done
through the services as the server's operator."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine

from core import auth
from core.db import UnitOfWork
from inventory.models import PartIn
from inventory.service import catalog, moves
from rma.models import Site
from rma.service import customers, opening
from rma.service.opening import OpenRequest
from tests.conftest import TEST_PASSWORD, bearer, csrf_token, make_test_app

_names = itertools.count(1)


@dataclass
class World:
    engine: Engine
    app: Any
    client: Any
    _tokens: dict[tuple[str, str | None], dict[str, str]] = field(default_factory=dict)

    @property
    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine)

    def user(self, role: str, depot: str | None = None) -> auth.Actor:
        """A new user with ``role`` (password ``TEST_PASSWORD``)."""
        name = f"{role.replace('_', '-')}-w{next(_names)}"
        return auth.create_user(self.uow, name, TEST_PASSWORD, role, depot_code=depot)

    def headers(self, role: str, depot: str | None = None) -> dict[str, str]:
        """A bearer header of a user with ``role`` (one user per role and depot)."""
        if (role, depot) not in self._tokens:
            answer = self.client.post(
                "/api/v1/auth/token",
                json={"username": self.user(role, depot).username, "password": TEST_PASSWORD},
            )
            assert answer.status_code == 201, answer.get_json()
            self._tokens[(role, depot)] = bearer(answer.get_json()["token"])
        return self._tokens[(role, depot)]

    def call(
        self,
        method: str,
        path: str,
        status: int,
        *,
        role: str = "planner",
        depot: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """One API call as ``role`` (at ``depot``) that must answer ``status``; its JSON."""
        headers = self.headers(role, depot)
        answer = self.client.open(path, method=method, headers=headers, **kwargs)
        assert answer.status_code == status, (answer.status_code, answer.get_json())
        return answer.get_json()

    def login(self, role: str) -> None:
        """Sign the client in through the login form, as a browser would."""
        answer = self.client.post(
            "/login",
            data={
                "username": self.user(role).username,
                "password": TEST_PASSWORD,
                "csrf_token": csrf_token(self.client),
            },
        )
        assert answer.status_code == 302, answer.get_data(as_text=True)

    def part(self, number: str) -> str:
        spec = PartIn(
            part_number=number,
            description=f"test part {number}",
            family="optic",
            serialized=False,
            unit_cost=Decimal("100.00"),
        )
        return catalog.create_part(self.uow, auth.system_actor(), spec).part_number

    def receive(self, depot: str, part: str, qty: int) -> None:
        moves.receive(self.uow, auth.system_actor(), depot, part, qty, [])

    def site(self, city: str) -> Site:
        """A site of a new customer without a contract (its requests wait for approval)."""
        n = next(_names)
        customer = customers.create_customer(
            self.uow, auth.system_actor(), f"W-{n}", f"Customer {n}"
        )
        return customers.create_site(self.uow, auth.system_actor(), customer.id, f"Site {n}", city)

    def request_replacements(self, site: Site, part: str, count: int, at: datetime) -> None:
        """``count`` replacement requests for ``part`` at ``site``, reported ``at``."""
        engineer = self.user("engineer")
        for _ in range(count):
            request = OpenRequest(
                fault_level="C-3",
                kind="advance_replacement",
                symptom="port dead",
                part_number=part,
                site_id=site.id,
                reported_at=at,
            )
            opening.open_rma(self.uow, engineer, request)


def make_world(engine: Engine) -> World:
    app = make_test_app(engine)
    return World(engine, app, app.test_client())
