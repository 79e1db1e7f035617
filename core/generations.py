"""Reference data cached per process, kept right across processes by a generation
number in the database.

Depots, cities, lanes and calendars change a few times a year and are read by
every RMA opening; reading them afresh each time cost most of an opening's
statements. Several app servers (and `spares` commands) share one database, so a
process cannot tell from its own memory that another changed them. Hence:

* each kind of reference data has a **generation** (a row of
  ``reference_generation``), bumped in the **same transaction** as any change to
  the tables it covers (``watch``): an ``after_flush`` listener notes the ORM
  objects changed, a ``do_orm_execute`` listener notes bulk statements, and a
  ``before_commit`` listener bumps the generations noted (one upsert each). A
  rolled-back change bumps nothing; a committed one is seen by every process with
  its generation, never before it.
* a ``Cached`` value remembers the generation it was loaded at. A transaction
  reads every generation once (one small SELECT, kept on the session; a hot path
  selects them with its first query instead, ``generations_column``) and a
  cached value is used only while its generation is the database's. The
  generation is read before the data, so data loaded in a transaction is never
  older than the generation it is stored under (at worst newer: one extra reload).
* a transaction that changes the watched tables itself reads them afresh and does
  not store what it read (it is not committed yet).

SQL written by hand on a watched table (outside the ORM) does not bump: run
``bump`` in the same transaction, or restart the servers.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from sqlalchemy import Text, cast, event, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import ORMExecuteState, Session
from sqlmodel import Field, SQLModel

from core.db import UnitOfWork

T = TypeVar("T")

SEEN_KEY = "reference_generations"  # session.info: {name: generation} read this transaction
CHANGED_KEY = "reference_changed"  # session.info: names whose tables this transaction changed

_watched: dict[str, str] = {}  # table name -> generation name


class ReferenceGeneration(SQLModel, table=True):
    """How many committed changes a kind of reference data has seen (see module doc)."""

    __tablename__ = "reference_generation"

    name: str = Field(primary_key=True, max_length=40)
    generation: int = Field(default=0)


def watch(name: str, *models: Any) -> None:
    """Bump generation ``name`` whenever a row of one of ``models``' tables changes.
    Called where the models are defined, so every process that can change them
    bumps."""
    for model in models:
        _watched[model.__tablename__] = name


def bump(session: Session, name: str) -> None:
    """Add one to generation ``name`` in the session's transaction (creating it)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = ReferenceGeneration.__table__  # type: ignore[attr-defined]
    statement = insert(table).values(name=name, generation=1)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.name], set_={"generation": table.c.generation + 1}
        )
    )


def _changed(session: Session) -> set[str]:
    return session.info.setdefault(CHANGED_KEY, set())  # type: ignore[no-any-return]


def _note(session: Session, objects: Any) -> None:
    for obj in objects:
        table = getattr(obj, "__tablename__", None)
        if table in _watched:
            _changed(session).add(_watched[table])


def _after_flush(session: Session, _context: Any) -> None:
    _note(session, session.new)
    _note(session, session.dirty)
    _note(session, session.deleted)


def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name in _watched:
        _changed(state.session).add(_watched[name])


def _before_commit(session: Session) -> None:
    if session.new or session.dirty or session.deleted:
        session.flush()
    for name in sorted(session.info.pop(CHANGED_KEY, ())):
        bump(session, name)


def _forget(session: Session, *_: Any) -> None:
    session.info.pop(CHANGED_KEY, None)
    session.info.pop(SEEN_KEY, None)


def install() -> None:
    """Listen on every session (idempotent; done when this module is imported)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _on_execute)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_rollback", _forget)
        event.listen(Session, "after_soft_rollback", _forget)


install()


# Built once: every transaction that uses a cached value asks it. Over the table's
# columns and on the session's connection: a plain statement costs less than an ORM
# one, and needs not flush the session first (generations never change through it).
_GENERATIONS_TABLE = ReferenceGeneration.__table__  # type: ignore[attr-defined]
_ALL_GENERATIONS = select(_GENERATIONS_TABLE.c.name, _GENERATIONS_TABLE.c.generation)


def generations(uow: UnitOfWork) -> dict[str, int]:
    """Every generation as the database has it, read once per transaction."""
    session = uow.session
    seen = session.info.get(SEEN_KEY)
    if seen is None:
        seen = dict(session.connection().execute(_ALL_GENERATIONS).all())  # type: ignore[arg-type]
        session.info[SEEN_KEY] = seen
    return seen  # type: ignore[no-any-return]


@functools.cache
def generations_column(dialect: str) -> Any:
    """Every generation as one JSON object (text), a column a transaction's first query
    can select so that ``generations`` needs no statement of its own: hand what it
    read to ``remember_generations``. Read in the same transaction, it is the read
    ``generations`` would make (a hot path saves a round trip)."""
    name, generation = _GENERATIONS_TABLE.c.name, _GENERATIONS_TABLE.c.generation
    if dialect == "postgresql":
        aggregate: Any = cast(func.json_object_agg(name, generation), Text)
    elif dialect == "sqlite":
        aggregate = func.json_group_object(name, generation)
    else:  # pragma: no cover - only the two supported databases
        raise RuntimeError(f"unsupported database {dialect}")
    return select(aggregate).scalar_subquery().label("reference_generations")


def remember_generations(uow: UnitOfWork, read: str | None) -> None:
    """Keep what ``generations_column`` read as this transaction's generations (unless
    they were read already: once per transaction, the first read stands)."""
    found = json.loads(read) if read else {}
    uow.session.info.setdefault(SEEN_KEY, {str(k): int(v) for k, v in found.items()})


def _changing(session: Session, name: str) -> bool:
    """Whether this transaction has changed (or is about to flush changes to) ``name``'s
    tables."""
    if name in session.info.get(CHANGED_KEY, ()):
        return True
    pending = (*session.new, *session.dirty, *session.deleted)
    return any(_watched.get(getattr(obj, "__tablename__", "")) == name for obj in pending)


S = TypeVar("S")


class _KeptPerDatabase(Generic[S]):
    """What ``Cached`` and ``CachedByKey`` share: what a process keeps per database
    (a process, a test run, may use several), with the generation it was loaded at."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        # {database URL: (generation, what is kept)}
        self._values: dict[str, tuple[int, S]] = {}

    def _where(self, uow: UnitOfWork) -> tuple[str, int] | None:
        """(database URL, current generation) of ``uow``'s transaction; None when the
        transaction changes the watched tables itself: read them afresh, keep nothing."""
        if _changing(uow.session, self.name):
            return None
        return str(uow.engine.url), generations(uow).get(self.name, 0)

    def clear(self) -> None:
        """Forget every value (after SQL written by hand on the watched tables)."""
        with self._lock:
            self._values.clear()


class Cached(_KeptPerDatabase[T]):
    """One value per process and database, loaded by ``load(uow)`` and kept while
    generation ``name`` stays the same in that database. Values must be immutable
    (frozen dataclasses, tuples, read-only mappings): every request shares them."""

    def __init__(self, name: str, load: Callable[[UnitOfWork], T]) -> None:
        super().__init__(name)
        self._load = load

    def get(self, uow: UnitOfWork) -> T:
        """The value, from memory while its generation is current, else loaded now
        in ``uow``'s transaction."""
        where = self._where(uow)
        if where is None:
            return self._load(uow)
        database, generation = where
        kept = self._values.get(database)
        if kept is not None and kept[0] == generation:
            return kept[1]
        value = self._load(uow)
        with self._lock:
            self._values[database] = (generation, value)
        return value


K = TypeVar("K")
V = TypeVar("V")


class CachedByKey(_KeptPerDatabase[dict[K, V]]):
    """``Cached`` for data too large to keep whole and asked for a few keys at a time
    (the targets of the parts one case can ship): each key's value is loaded the first
    time it is asked for, together with the other missing keys of the same call
    (``load(uow, keys)`` answers every key it is given), and kept while generation
    ``name`` stays the same. At most ``max_keys`` are kept per database; past that
    the memory starts again empty. Values must be immutable."""

    def __init__(
        self,
        name: str,
        load: Callable[[UnitOfWork, frozenset[K]], Mapping[K, V]],
        *,
        max_keys: int = 10_000,
    ) -> None:
        super().__init__(name)
        self._load = load
        self._max_keys = max_keys

    def get_many(self, uow: UnitOfWork, keys: Iterable[K]) -> dict[K, V]:
        """{key: value} for every key of ``keys``: from memory while the generation is
        current, the missing ones loaded now in ``uow``'s transaction (one call)."""
        wanted = frozenset(keys)
        if not wanted:
            return {}
        where = self._where(uow)
        if where is None:
            return dict(self._load(uow, wanted))
        database, generation = where
        kept = self._values.get(database)
        values = kept[1] if kept is not None and kept[0] == generation else {}
        found = {key: values[key] for key in wanted if key in values}
        missing = wanted.difference(found)
        if missing:
            loaded = self._load(uow, frozenset(missing))
            found.update((key, loaded[key]) for key in missing)
            with self._lock:
                kept = self._values.get(database)
                if kept is None or kept[0] != generation or len(kept[1]) >= self._max_keys:
                    kept = (generation, {})
                    self._values[database] = kept
                kept[1].update((key, found[key]) for key in missing)
        return found
