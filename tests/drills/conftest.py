"""Deployments for the drills: a fresh database made ready by the real CLI.

The PostgreSQL database comes from the shared ``postgres`` fixture (so it is
skipped when the server is unreachable, or fails with ``REQUIRE_POSTGRES=1``)
and is migrated and filled with `spares db upgrade` and `spares demo`, exactly
as an operator would. Drills in one module share a deployment and keep apart
by working on parts of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import PostgresServer
from tests.drills.harness import Deployment


@pytest.fixture(scope="module")
def pg_deployment(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    name = postgres.create(f"drill_{uuid.uuid4().hex[:8]}")
    deployment = Deployment.create(postgres.url_for(name), tmp_path_factory.mktemp("pg-drill"))
    deployment.prepare()
    yield deployment
    postgres.drop(name)


@pytest.fixture(scope="module")
def sqlite_deployment(tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    folder = tmp_path_factory.mktemp("sqlite-drill")
    deployment = Deployment.create(f"sqlite:///{folder / 'drill.db'}", folder)
    deployment.prepare()
    return deployment


@pytest.fixture(params=["sqlite", "postgres"])
def deployment(request: pytest.FixtureRequest) -> Deployment:
    """A deployment on each database."""
    name = "sqlite_deployment" if request.param == "sqlite" else "pg_deployment"
    return request.getfixturevalue(name)
