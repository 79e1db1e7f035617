"""Test databases and factories.

Every test gets its own database with the schema migrated by Alembic (so the
migrations are what is tested) and the reference data seeded:

* SQLite always: a migrated template file is copied per test.
* PostgreSQL when ``TEST_POSTGRES_URL`` answers (default: the local server).
  Each test run creates databases of its own with random names and drops them
  at the end, so parallel runs never collide. With ``REQUIRE_POSTGRES=1`` an
  unreachable server fails the run instead of skipping.

Use ``engine`` for tests that run on SQLite, ``any_engine`` for behaviour
that can differ between the databases (locking, concurrency), ``pg_engine``
for PostgreSQL only.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Cheap password hashing for the many users tests create (production keeps the default).
os.environ.setdefault("PASSWORD_HASH_METHOD", "scrypt:1024:8:1")
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from app import create_app
from core import auth, schema
from core.cli import DEMO_KEY, SEEDERS_KEY
from core.config import load_settings
from core.db import UnitOfWork, make_engine
from core.demo import load_demo

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TEST_PASSWORD = "test-password-1"


def _postgres_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_PG_URL)


def _require_postgres() -> bool:
    return os.environ.get("REQUIRE_POSTGRES") == "1"


# --- SQLite -----------------------------------------------------------------------------


def prepare_database(engine: Engine) -> None:
    """Migrate and add the reference data, exactly as `spares db upgrade` does."""
    schema.upgrade(engine)
    app = create_app(load_settings(secret_key="test-secret"), engine=engine)
    for seed in app.extensions[SEEDERS_KEY]:
        seed(UnitOfWork(engine))


@pytest.fixture(scope="session", autouse=True)
def _instance_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """What the app writes to its instance folder (plan runs, the secret key) goes to a
    folder of the test run, never to the checkout's ``instance/``."""
    if "SPARES_INSTANCE" in os.environ:
        yield
        return
    os.environ["SPARES_INSTANCE"] = str(tmp_path_factory.mktemp("instance"))
    yield
    os.environ.pop("SPARES_INSTANCE", None)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    prepare_database(engine)
    engine.dispose()  # closing the last connection checkpoints the WAL into the file
    return path


def _sqlite_engine(template: Path, tmp_path: Path) -> Engine:
    path = tmp_path / "spares.db"
    shutil.copyfile(template, path)
    return make_engine(f"sqlite:///{path}")


# --- PostgreSQL -------------------------------------------------------------------------


class PostgresServer:
    """Creates uniquely named databases on the test server and drops them afterwards."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
        self.prefix = f"spares_t_{uuid.uuid4().hex[:10]}"
        self.created: list[str] = []

    def create(self, name: str, template: str | None = None) -> str:
        full = f"{self.prefix}_{name}"
        # WAL_LOG (PostgreSQL 15's default) copies a small template about 5x faster
        # than FILE_COPY, which forces a checkpoint.
        clause = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{full}"{clause}'))
        self.created.append(full)
        return full

    def url_for(self, database: str) -> str:
        return self.url.set(database=database).render_as_string(hide_password=False)

    def drop(self, database: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        if database in self.created:
            self.created.remove(database)

    def drop_all(self) -> None:
        for database in list(reversed(self.created)):
            self.drop(database)
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer(_postgres_url())
        with server.admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure to reach the server
        message = f"PostgreSQL not reachable at {_postgres_url()}: {error}"
        if _require_postgres():
            pytest.fail(message)
        pytest.skip(message)
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def postgres_template(postgres: PostgresServer) -> str:
    name = postgres.create("template")
    engine = make_engine(postgres.url_for(name))
    prepare_database(engine)
    engine.dispose()
    return name


@pytest.fixture
def pg_engine(postgres: PostgresServer, postgres_template: str) -> Iterator[Engine]:
    name = postgres.create(uuid.uuid4().hex[:8], template=postgres_template)
    engine = make_engine(postgres.url_for(name))
    yield engine
    engine.dispose()
    postgres.drop(name)


# --- engines, apps, clients ---------------------------------------------------------------


def assert_books_balance(request: pytest.FixtureRequest, engine: Engine) -> None:
    """`spares check` must be clean after every test, unless the test tampers on purpose."""
    if request.node.get_closest_marker("tampers_with_books"):
        return
    from inventory.service.ledger import check_books

    problems = check_books(UnitOfWork(engine))
    assert problems == [], "books do not balance after the test: " + "; ".join(map(str, problems))


@pytest.fixture
def engine(
    sqlite_template: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Engine]:
    engine = _sqlite_engine(sqlite_template, tmp_path)
    yield engine
    assert_books_balance(request, engine)
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = _sqlite_engine(request.getfixturevalue("sqlite_template"), tmp_path)
        yield engine
        assert_books_balance(request, engine)
        engine.dispose()
    else:
        engine = request.getfixturevalue("pg_engine")
        yield engine
        assert_books_balance(request, engine)


@pytest.fixture
def uow(engine: Engine) -> UnitOfWork:
    return UnitOfWork(engine)


def make_test_app(engine: Engine, **overrides: Any) -> Any:
    settings = load_settings(
        database_url=engine.url.render_as_string(hide_password=False),
        secret_key="test-secret",
        ratelimit_storage_uri=overrides.pop("ratelimit_storage_uri", "memory://"),
        login_rate_limit=overrides.pop("login_rate_limit", "1000 per minute"),
        **overrides,
    )
    app = create_app(settings, engine=engine)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def app(engine: Engine) -> Any:
    return make_test_app(engine)


@pytest.fixture(scope="module")
def demo(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The demo data set (seed 2026) in a SQLite database of its own, loaded once per
    test module: loading it takes seconds, and the modules that read it do not change it
    in ways the others would see."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    app = make_test_app(engine)
    load_demo(UnitOfWork(engine), app.extensions[DEMO_KEY], seed=2026)
    yield engine
    engine.dispose()


@pytest.fixture
def client(app: Any) -> FlaskClient:
    return app.test_client()


# --- factories ----------------------------------------------------------------------------


@pytest.fixture
def make_user(engine: Engine) -> Callable[..., auth.Actor]:
    """Create a user: ``make_user("planner")`` or ``make_user("depot_staff", depot="SH")``."""
    counter = iter(range(1, 10_000))

    def factory(role: str, *, depot: str | None = None, username: str | None = None) -> auth.Actor:
        name = username or f"{role.replace('_', '-')}-{next(counter)}"
        return auth.create_user(
            UnitOfWork(engine), name, TEST_PASSWORD, role, depot_code=depot, full_name=name
        )

    return factory


@pytest.fixture
def api_token(client: FlaskClient, make_user: Callable[..., auth.Actor]) -> Callable[..., str]:
    """A bearer token for a new user of ``role``: ``api_token("planner")``."""

    def factory(role: str, *, depot: str | None = None) -> str:
        actor = make_user(role, depot=depot)
        response = client.post(
            "/api/v1/auth/token", json={"username": actor.username, "password": TEST_PASSWORD}
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()["token"]

    return factory


@pytest.fixture
def auth_for(api_token: Callable[..., str]) -> Callable[..., dict[str, str]]:
    """Headers with a bearer token of a user of ``role`` (one user per role and depot):
    ``auth_for("depot_staff", "SH")``."""
    cache: dict[tuple[str, str | None], dict[str, str]] = {}

    def factory(role: str, depot: str | None = None) -> dict[str, str]:
        if (role, depot) not in cache:
            cache[(role, depot)] = bearer(api_token(role, depot=depot))
        return cache[(role, depot)]

    return factory


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the form on ``path``, as a browser would read it."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture
def login(client: FlaskClient, make_user: Callable[..., auth.Actor]) -> Callable[..., auth.Actor]:
    """Sign a new user of ``role`` in through the real login form."""

    def factory(role: str, *, depot: str | None = None) -> auth.Actor:
        actor = make_user(role, depot=depot)
        response = client.post(
            "/login",
            data={
                "username": actor.username,
                "password": TEST_PASSWORD,
                "csrf_token": csrf_token(client),
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        return actor

    return factory


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    """Playwright, started once per test process: its sync API refuses to start a
    second instance while one runs, so every browser test of a worker shares this one
    (the journeys in tests/e2e and the phone checks alike)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver
