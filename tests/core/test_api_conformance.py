"""The API answers what its document says, for every role.

schemathesis (``tests/core/api_fuzz.py``) calls every operation of
``/api/v1/openapi.json`` on the demo data as admin, planner, engineer,
supervisor and depot staff, and checks each answer against the document: a
documented status code, content type, headers and response schema, and never a
5xx. The books must still balance afterwards. On PostgreSQL too (it refuses
what SQLite lets by, such as text longer than its column), as the admin, who
reaches every operation, and as depot staff, whose answers are scoped to a depot.
The suite runs a bounded, repeatable round per role; ``make fuzz`` runs many
rounds with a random seed (``SPARES_FUZZ_ROUNDS``, ``SPARES_FUZZ_SEED``).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.cli import DEMO_KEY
from core.db import UnitOfWork, make_engine
from core.demo import load_demo
from inventory.service.ledger import check_books
from tests.conftest import PostgresServer, bearer, make_test_app
from tests.core.api_fuzz import known_path_values, run_fuzz, token_for

DEMO_PASSWORD = "spares-demo"
# Each role's demo login; the offset makes neighbouring roles try the other mode
# (positive or negative data) first on each operation.
USERS = {
    "admin": ("admin", 0),
    "planner": ("planner", 1),
    "engineer": ("engineer", 0),
    "supervisor": ("supervisor", 1),
    "depot_staff": ("staff-bj", 0),
}
ROUNDS = int(os.environ.get("SPARES_FUZZ_ROUNDS", "1"))
SEED = int(os.environ["SPARES_FUZZ_SEED"]) if os.environ.get("SPARES_FUZZ_SEED") else None


def _demo_app(engine: Any) -> Any:
    app = make_test_app(engine)
    load_demo(UnitOfWork(engine), app.extensions[DEMO_KEY], seed=2026)
    return app


@pytest.fixture(scope="module")
def demo_app(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    path = tmp_path_factory.mktemp("conformance") / "demo.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield _demo_app(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def pg_demo_app(postgres: PostgresServer, postgres_template: str) -> Iterator[Any]:
    name = postgres.create(f"fuzz_{uuid.uuid4().hex[:8]}", template=postgres_template)
    engine = make_engine(postgres.url_for(name))
    yield _demo_app(engine)
    engine.dispose()
    postgres.drop(name)


def _known(app: Any) -> dict[str, dict[str, list]]:
    client = app.test_client()
    return known_path_values(client, bearer(token_for(client, "admin", DEMO_PASSWORD)))


@pytest.fixture(scope="module")
def known(demo_app: Any) -> dict[str, dict[str, list]]:
    return _known(demo_app)


def _fuzz_and_check(app: Any, known: dict[str, dict[str, list]], role: str) -> None:
    username, offset = USERS[role]
    client = app.test_client()
    report = run_fuzz(
        app,
        role=role,
        token=lambda: token_for(client, username, DEMO_PASSWORD),
        known=known,
        rounds=ROUNDS,
        offset=offset,
        seed=SEED,
    )
    print(report.summary())
    assert report.operations > 90 and report.cases >= report.operations, report.summary()
    assert not report.failures, report.summary() + "\n\n" + report.failure_text()
    problems = check_books(UnitOfWork(app.extensions["spares.engine"]))
    assert problems == [], problems


@pytest.mark.parametrize("role", list(USERS))
def test_every_answer_matches_the_api_document(demo_app: Any, known: Any, role: str) -> None:
    _fuzz_and_check(demo_app, known, role)


@pytest.mark.postgres
@pytest.mark.parametrize("role", ["admin", "depot_staff"])
def test_every_answer_matches_the_api_document_on_postgresql(pg_demo_app: Any, role: str) -> None:
    _fuzz_and_check(pg_demo_app, _known(pg_demo_app), role)
