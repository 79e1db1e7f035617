"""Is this server fit to take requests? The checks behind ``GET /healthz``.

Each check is cheap (one connection, ``SELECT 1``, the Alembic version row, a Redis
``PING`` with a one-second timeout), so a load balancer can ask every few seconds.
What failed is said in a few words for the caller; the full error goes to the log
only, because ``/healthz`` is public and an error text can name hosts and users.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import redis
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from core.schema import MIGRATIONS_DIR

logger = logging.getLogger(__name__)

OK = "ok"
FAIL = "fail"
SKIPPED = "skipped"
REDIS_TIMEOUT_S = 1.0
VERSION_TABLE = "alembic_version"  # Alembic's default, which core.schema keeps
# Schemes redis-py connects to directly (limits' ``redis+unix`` is redis-py's ``unix``).
_REDIS_SCHEMES = {"redis": "redis", "rediss": "rediss", "redis+unix": "unix", "unix": "unix"}


@dataclass(frozen=True)
class Check:
    """The outcome of one check: ``ok``, ``fail`` or ``skipped``, with a short reason."""

    status: str
    detail: str = ""
    facts: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status, **self.facts}
        if self.detail:
            body["detail"] = self.detail
        return body


@dataclass(frozen=True)
class Health:
    """All checks, by name; healthy when none failed."""

    checks: dict[str, Check]

    @property
    def healthy(self) -> bool:
        return all(check.status != FAIL for check in self.checks.values())

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": OK if self.healthy else FAIL}
        failed = [name for name, check in self.checks.items() if check.status == FAIL]
        if failed:
            body["failed"] = failed
        body["checks"] = {name: check.as_json() for name, check in self.checks.items()}
        return body


@functools.cache
def code_heads() -> frozenset[str]:
    """The newest migration revision(s) this code ships (read once per process)."""
    return frozenset(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())


def check_database(engine: Engine) -> tuple[Check, Check]:
    """(database, migrations): the database answers ``SELECT 1``, and its Alembic
    revision is the code's head. Both on one pooled connection, so the check also
    fails when this worker cannot get a connection."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = _database_heads(connection)
    except Exception as error:  # any failure means "not reachable" to the caller
        logger.warning("health: database unreachable: %s", error)
        return Check(FAIL, "database unreachable"), Check(SKIPPED, "database unreachable")
    return Check(OK), _compare_revisions(current, code_heads())


def _database_heads(connection: Connection) -> frozenset[str]:
    # Alembic's own reader (MigrationContext) logs two INFO lines each time, which
    # a probe every few seconds would fill the log with; its table is read directly.
    if not inspect(connection).has_table(VERSION_TABLE):
        return frozenset()
    return frozenset(connection.scalars(text(f"SELECT version_num FROM {VERSION_TABLE}")))


def _compare_revisions(current: frozenset[str], heads: frozenset[str]) -> Check:
    facts = {"database": _joined(current), "code": _joined(heads)}
    if current == heads:
        return Check(OK, facts={"revision": _joined(current)})
    if not current:
        return Check(FAIL, "the database has no schema: run `spares db upgrade`", facts)
    known = set(ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions())
    if current - {script.revision for script in known}:
        # A revision this code does not know: the database was migrated by newer code.
        return Check(FAIL, "the database is ahead of this code", facts)
    return Check(FAIL, "migrations pending: run `spares db upgrade`", facts)


def _joined(revisions: frozenset[str]) -> str | None:
    return ",".join(sorted(revisions)) or None


def redis_url_to_check(url: str) -> str | None:
    """The redis-py URL for a configured storage URI, or None when it is not Redis
    (``memory://``) or not one redis-py can ping directly (sentinel, cluster)."""
    scheme = urlsplit(url).scheme
    if scheme not in _REDIS_SCHEMES:
        return None
    return _REDIS_SCHEMES[scheme] + url[len(scheme) :]


@functools.cache
def _redis_client(url: str) -> redis.Redis:
    # One client (and connection pool) per URL and process; redis-py replaces the
    # pool after a fork by itself.
    return redis.Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S
    )


def check_redis(url: str | None) -> Check:
    """Redis answers ``PING`` within a second; skipped when none is configured."""
    if url is None:
        return Check(SKIPPED, "not configured")
    try:
        _redis_client(url).ping()
    except Exception as error:  # timeouts, refusals, authentication: all "unreachable"
        logger.warning("health: redis unreachable: %s", error)
        return Check(FAIL, "redis unreachable")
    return Check(OK)


def health(engine: Engine, redis_url: str | None) -> Health:
    """Run every check: the database, its migrations, and Redis when configured."""
    database, migrations = check_database(engine)
    return Health({"database": database, "migrations": migrations, "redis": check_redis(redis_url)})
