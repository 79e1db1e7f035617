"""Requests racing each other through the RMA API, on SQLite and PostgreSQL: the
same step taken twice at once happens once (the other answers 409), and stock
is never handed out twice."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine

from core import auth, clock
from core.db import UnitOfWork
from inventory.models import PartIn
from inventory.service import catalog, ledger, moves, queries
from rma.service import customers
from tests.conftest import TEST_PASSWORD, bearer, make_test_app

_names = itertools.count(1)


@dataclass
class World:
    client: Any
    app: Any
    engine: Engine
    part: str
    serials: list[str]
    units: list[str]
    headers: Callable[..., dict[str, str]]


def _world(engine: Engine, *, stock: int = 2, units: int = 1) -> World:
    uow = UnitOfWork(engine)
    admin = auth.system_actor()
    part = catalog.create_part(
        uow,
        admin,
        PartIn(
            part_number="CC-SW-48",
            description="48-port switch",
            family="chassis",
            serialized=True,
            unit_cost=Decimal("1000.00"),
        ),
    ).part_number
    serials = [f"CCSH{n:05d}" for n in range(stock)]
    moves.receive(uow, admin, "SH", part, stock, serials)
    customer = customers.create_customer(uow, admin, "CC", "Concurrent Co")
    site = customers.create_site(uow, admin, customer.id, "HQ", "Suzhou")
    today = clock.local(clock.now()).date()
    installed = [
        customers.create_installed_unit(
            uow,
            admin,
            f"CCINST{n:04d}",
            part,
            site.id,
            today - timedelta(days=400),
            today + timedelta(days=200),
        ).serial
        for n in range(units)
    ]
    app = make_test_app(engine)
    client = app.test_client()

    def headers(role: str, depot: str | None = None) -> dict[str, str]:
        name = f"{role.replace('_', '-')}-cc{next(_names)}"
        auth.create_user(uow, name, TEST_PASSWORD, role, depot_code=depot)
        answer = client.post(
            "/api/v1/auth/token", json={"username": name, "password": TEST_PASSWORD}
        )
        return bearer(answer.get_json()["token"])

    return World(client, app, engine, part, serials, installed, headers)


def _race(world: World, requests: list[tuple[str, dict[str, Any] | None, dict[str, str]]]):
    """Send the POSTs at the same moment, each from its own thread and client."""
    barrier = threading.Barrier(len(requests))
    answers: list[Any] = [None] * len(requests)

    def send(index: int, url: str, body: dict[str, Any] | None, headers: dict[str, str]) -> None:
        client = world.app.test_client()
        barrier.wait()
        answers[index] = client.post(url, json=body, headers=headers)

    threads = [
        threading.Thread(target=send, args=(i, *request)) for i, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def _open(world: World, headers: dict[str, str], serial: str) -> dict[str, Any]:
    answer = world.client.post(
        "/api/v1/rmas",
        json={
            "serial": serial,
            "fault_level": "C-2",
            "kind": "advance_replacement",
            "symptom": "x",
        },
        headers=headers,
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _stock(world: World) -> Any:
    return queries.stock(UnitOfWork(world.engine), depot="SH", part_number=world.part)[0]


def test_the_same_rma_shipped_twice_at_once_ships_once(any_engine):
    world = _world(any_engine)
    rma = _open(world, world.headers("engineer"), world.units[0])
    assert rma["allocation"]["depot"] == "SH"
    first, second = world.headers("depot_staff", "SH"), world.headers("depot_staff", "SH")
    url = f"/api/v1/rmas/{rma['number']}/ship"
    answers = _race(
        world,
        [(url, {"serial": world.serials[0]}, first), (url, {"serial": world.serials[1]}, second)],
    )
    assert sorted(a.status_code for a in answers) == [200, 409], [a.get_json() for a in answers]
    refused = next(a for a in answers if a.status_code == 409).get_json()
    assert refused["allowed"] == ["deliver", "cancel"] and refused["status"] == "shipped"
    shipped = next(a for a in answers if a.status_code == 200).get_json()
    stock = _stock(world)
    assert (stock.good, stock.reserved) == (1, 0)  # one unit left, nothing held
    assert shipped["shipped_serial"] in world.serials
    assert ledger.check_books(UnitOfWork(any_engine)) == []


def test_a_case_closed_twice_at_once_is_closed_once_with_one_verdict(any_engine):
    world = _world(any_engine)
    engineer, sh = world.headers("engineer"), world.headers("depot_staff", "SH")
    number = _open(world, engineer, world.units[0])["number"]
    for action, body in (
        ("ship", {"serial": world.serials[0]}),
        ("deliver", None),
        ("receive-defective", {"depot": "SH"}),
    ):
        answer = world.client.post(f"/api/v1/rmas/{number}/{action}", json=body, headers=sh)
        assert answer.status_code == 200, answer.get_json()
    url = f"/api/v1/rmas/{number}/close"
    answers = _race(
        world,
        [
            (url, {"rating": 5, "signed_by": "First"}, engineer),
            (url, {"rating": 2, "signed_by": "Second"}, world.headers("supervisor")),
        ],
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    winner = next(a for a in answers if a.status_code == 200).get_json()
    final = world.client.get(f"/api/v1/rmas/{number}", headers=engineer).get_json()
    assert (final["rating"], final["signed_by"]) == (winner["rating"], winner["signed_by"])
    assert [e["action"] for e in final["events"]].count("close") == 1


def test_two_cases_racing_for_the_last_unit_never_get_it_both(any_engine):
    world = _world(any_engine, stock=1, units=2)
    engineer = world.headers("engineer")
    body = {"fault_level": "C-2", "kind": "advance_replacement", "symptom": "dead"}
    answers = _race(
        world,
        [
            ("/api/v1/rmas", {**body, "serial": world.units[0]}, engineer),
            ("/api/v1/rmas", {**body, "serial": world.units[1]}, world.headers("supervisor")),
        ],
    )
    assert [a.status_code for a in answers] == [201, 201], [a.get_json() for a in answers]
    outcomes = sorted((a.get_json()["status"], a.get_json()["backorder"]) for a in answers)
    assert outcomes == [("allocated", False), ("approved", True)]
    stock = _stock(world)
    assert (stock.good, stock.reserved, stock.available) == (1, 1, 0)
    assert ledger.check_books(UnitOfWork(any_engine)) == []


def test_one_serial_opened_twice_at_once_gets_one_open_rma(any_engine):
    world = _world(any_engine)
    body = {"serial": world.units[0], "fault_level": "C-1", "kind": "advance_replacement"}
    answers = _race(
        world,
        [
            ("/api/v1/rmas", {**body, "symptom": "first call"}, world.headers("engineer")),
            ("/api/v1/rmas", {**body, "symptom": "second call"}, world.headers("supervisor")),
        ],
    )
    assert sorted(a.status_code for a in answers) == [201, 409], [a.get_json() for a in answers]
    assert _stock(world).reserved == 1
