"""Engine, sessions and the unit of work that every write goes through.

SQLite is the embedded default and PostgreSQL the production database. The two
lock differently, so this module makes them behave alike for the services:

* SQLite ignores ``SELECT ... FOR UPDATE``. Writes therefore open their
  transaction with ``BEGIN IMMEDIATE``, which takes the database's single writer
  lock up front (SQLAlchemy's documented pysqlite recipe: switch off pysqlite's
  own BEGIN and emit ours on the ``begin`` event). Reads stay deferred so they
  never queue behind writers; WAL lets them run beside a writer.
* PostgreSQL runs at READ COMMITTED; services lock the rows they change with
  ``FOR UPDATE`` in a fixed order. Serialization failures and deadlocks
  (SQLSTATE 40001, 40P01) are retried by re-running the whole use case.

A retry hides a conflict from the user, so it must not hide it from us: every
retry is logged at WARNING with its SQLSTATE and tallied per process
(``retried_conflicts()``). A deadlock means some writer broke the lock order;
the drills assert there are none.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import BigInteger, DateTime, Integer, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, create_engine

from core.errors import Contended

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

# 64-bit ids for tables that grow without bound (the ledger); SQLite needs INTEGER
# for its auto-incrementing row id.
BigId = BigInteger().with_variant(Integer, "sqlite")

RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
DEADLOCK = "40P01"
SQLITE_BUSY = "sqlite_busy"  # SQLite has no SQLSTATE; its lock timeout is tallied under this
CONTENDED = "contended"  # rows chosen while reading were taken before they were locked
MAX_ATTEMPTS = 6
SQLITE_BUSY_TIMEOUT_MS = 30_000
# A pooled PostgreSQL connection idle this long is pinged before use (``_ping_when_idle``).
PING_AFTER_IDLE_S = 2.0
_RETURNED_AT_KEY = "spares_returned_at"

logger = logging.getLogger(__name__)
_retried: Counter[str] = Counter()
_retried_guard = threading.Lock()

P = ParamSpec("P")
T = TypeVar("T")


class UTCDateTime(TypeDecorator[datetime]):
    """An instant stored in UTC and always read back timezone-aware.

    SQLite has no time-zone type and would silently keep the wall-clock digits
    of whatever zone it was given; converting on the way in makes both
    databases store the same instant.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware instant is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(
    url: str, *, echo: bool = False, ping_after_idle_s: float = PING_AFTER_IDLE_S
) -> Engine:
    """Create the engine for ``url`` with this project's connection rules."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        _configure_sqlite(engine)
    else:
        engine = create_engine(url, echo=echo, pool_size=5, max_overflow=10)
        _ping_when_idle(engine, ping_after_idle_s)
    # Connections must never be shared across a fork (gunicorn workers): the
    # child drops the parent's pool without closing the parent's sockets.
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    return engine


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Make sure a pooled connection is alive before handing it out, when it has been
    idle for ``idle_seconds`` or more: a dead one (the server restarted, a firewall
    dropped it) is replaced by a fresh connection instead of failing the request.

    SQLAlchemy's ``pool_pre_ping`` does the same on every checkout: a round trip to
    the server (two per API write: the token check and the use case), about 1 % of
    an RMA opening's CPU, for connections a busy server used milliseconds before. A
    connection that dies while in use fails its request either way, and the pool
    then replaces every connection it holds (SQLAlchemy's disconnect handling).
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _note_return(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT_KEY] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT_KEY)
        if returned is None or time.monotonic() - returned < idle_seconds:
            return  # just connected, or used moments ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                # The pool's documented signal: discard this one, connect afresh.
                raise DisconnectionError(f"stale pooled connection: {error}") from error
            raise


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def conflict_code(error: BaseException) -> str | None:
    """The kind of transient conflict ``error`` is: its SQLSTATE (``40001``
    serialization failure, ``40P01`` deadlock), ``sqlite_busy`` for SQLite past its
    busy timeout, ``contended`` for rows taken between reading and locking them
    (``core.errors.Contended``), or None when it is not one."""
    if isinstance(error, Contended):
        return CONTENDED
    if not isinstance(error, DBAPIError):
        return None
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return str(sqlstate)
    # SQLite past its busy timeout: rare under BEGIN IMMEDIATE, still transient.
    return SQLITE_BUSY if "database is locked" in str(original) else None


def is_retryable(error: BaseException) -> bool:
    """True for a transient conflict that re-running the use case can resolve."""
    return conflict_code(error) is not None


def retried_conflicts() -> Counter[str]:
    """How many times this process re-ran a use case, by conflict code (see
    ``conflict_code``), since it started: a copy, safe to keep and subtract."""
    with _retried_guard:
        return Counter(_retried)


def _note_retry(fn: Callable[..., Any], error: BaseException, attempt: int) -> None:
    code = conflict_code(error) or "unknown"
    with _retried_guard:
        _retried[code] += 1
    logger.warning(
        "%s met a transient conflict (%s); running it again (attempt %d of %d)",
        getattr(fn, "__qualname__", fn),
        f"SQLSTATE {code}" if isinstance(error, DBAPIError) else code,
        attempt + 1,
        MAX_ATTEMPTS,
    )


class UnitOfWork:
    """One transaction around one use case.

    Services receive a unit of work and use ``uow.session``; they never commit.
    The ``transactional`` decorator opens the transaction, commits when the use
    case returns, rolls back when it raises, and re-runs it on a transient
    conflict. A use case called from inside another joins the outer transaction,
    so a composite use case is still all-or-nothing.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("no transaction open: call services through @transactional")
        return self._session

    @property
    def in_transaction(self) -> bool:
        return self._session is not None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """Open a transaction, or join the one already open."""
        if self._session is not None:
            yield self._session
            return
        # Only SQLite's begin listener reads the option; elsewhere an option engine per
        # transaction would be built for nothing.
        immediate = write and self.engine.dialect.name == "sqlite"
        bind = self.engine.execution_options(sqlite_begin="IMMEDIATE") if immediate else self.engine
        with Session(bind, expire_on_commit=False) as session:
            self._session = session
            try:
                with session.begin():
                    yield session
            finally:
                self._session = None


# The session's info key under which the first use case called with an actor notes
# who acts (the ``username`` of its actor argument), for the audit trail.
ACTOR_INFO_KEY = "actor"


def _note_actor(session: Session, args: Any, kwargs: Any) -> None:
    """Remember who the transaction acts for: the first actor argument (an object
    with ``username`` and ``role``, positional right after the unit of work or
    ``actor=``) of the outermost use case that has one."""
    if ACTOR_INFO_KEY in session.info:
        return
    candidate = kwargs.get("actor", args[0] if args else None)
    name = getattr(candidate, "username", None)
    if isinstance(name, str) and hasattr(candidate, "role"):
        session.info[ACTOR_INFO_KEY] = name


def _run(fn: Callable[..., T], uow: UnitOfWork, args: Any, kwargs: Any, *, write: bool) -> T:
    if uow.in_transaction:
        _note_actor(uow.session, args, kwargs)
        return fn(uow, *args, **kwargs)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with uow.transaction(write=write) as session:
                _note_actor(session, args, kwargs)
                return fn(uow, *args, **kwargs)
        except (DBAPIError, Contended) as error:
            if attempt == MAX_ATTEMPTS or not is_retryable(error):
                raise
            _note_retry(fn, error, attempt)
            # Jittered back-off so the colliding transactions do not meet again.
            time.sleep(random.uniform(0, 0.02 * 2**attempt))
    raise AssertionError("unreachable")


def transactional(
    fn: Callable[Concatenate[UnitOfWork, P], T],
) -> Callable[Concatenate[UnitOfWork, P], T]:
    """Run a write use case in one transaction, retried on transient conflicts."""

    @functools.wraps(fn)
    def wrapper(uow: UnitOfWork, *args: P.args, **kwargs: P.kwargs) -> T:
        return _run(fn, uow, args, kwargs, write=True)

    return wrapper


def read_only(
    fn: Callable[Concatenate[UnitOfWork, P], T],
) -> Callable[Concatenate[UnitOfWork, P], T]:
    """Run a query use case in a deferred (non-locking) transaction."""

    @functools.wraps(fn)
    def wrapper(uow: UnitOfWork, *args: P.args, **kwargs: P.kwargs) -> T:
        return _run(fn, uow, args, kwargs, write=False)

    return wrapper


def lock_for_update(statement: Any, uow: UnitOfWork) -> Any:
    """Add ``FOR UPDATE`` where the database honours it.

    On SQLite the writer lock taken by ``BEGIN IMMEDIATE`` already serialises
    writers, and SQLAlchemy would drop the clause anyway.
    """
    return statement.with_for_update() if uow.dialect == "postgresql" else statement
