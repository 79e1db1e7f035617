"""Keep the search keys of customers, sites, cities and parts current.

Why ORM events, not calls in the owning services: customers and sites belong to
``rma``, cities to ``depots``, parts to ``inventory``, and those packages are
beneath this one (they must not import ``search``). So ``search`` listens to
their models instead of asking them to call it:

* mapper events (``after_insert``, ``after_update``, ``after_delete``) write the
  keys of a thing created, renamed or removed through the ORM's unit of work,
  on the same connection and in the same transaction as the change itself, so
  a rename that rolls back leaves its keys as they were;
* ORM bulk statements skip mapper events (the CSV parts import and the demo
  insert their parts with ``session.execute(insert(Part), rows)``), so a
  ``do_orm_execute`` hook on every session indexes the rows such a statement
  inserts, updates or deletes, in the same transaction;
* SQL written by hand (``text()`` or Core on a bare connection) is seen by
  neither: run ``spares search reindex`` after changing names that way.

The listeners are registered when this module is imported, which the search
pages, API and CLI do, so any process built by ``create_app`` keeps the keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, event, insert, select, text
from sqlalchemy.orm import ORMExecuteState, Session, attributes
from sqlmodel import SQLModel

from core.db import UnitOfWork, transactional
from depots.models import City
from inventory.models import Part
from rma.models import Customer, Site
from search.keys import keys_for
from search.models import SearchKey

CHUNK = 1000  # rows per statement: well under every database's bound-parameter limit


@dataclass(frozen=True)
class Source:
    """Where the keys of one kind come from: the model, its key column, and the
    columns whose text is searched."""

    kind: str
    model: type[SQLModel]
    ref_column: str
    text_columns: tuple[str, ...]

    def ref_of(self, values: Any) -> str:
        return str(getattr(values, self.ref_column))

    def columns(self) -> list[Any]:
        return [getattr(self.model, name) for name in (self.ref_column, *self.text_columns)]


def chinese_column(model: type[SQLModel], name: str) -> str | None:
    """``name`` if ``model`` has that column: sites and parts have no Chinese name yet,
    and theirs is searched and shown from the day they get one."""
    return name if name in model.__table__.columns else None  # type: ignore[attr-defined]


SITE_NAME_ZH = chinese_column(Site, "name_zh")
PART_DESCRIPTION_ZH = chinese_column(Part, "description_zh")


SOURCES = (
    Source("customer", Customer, "id", ("code", "name", "name_zh")),
    Source("site", Site, "id", ("name", *filter(None, [SITE_NAME_ZH]))),
    Source("city", City, "id", ("name", "name_zh")),
    Source(
        "part",
        Part,
        "part_number",
        ("part_number", "description", *filter(None, [PART_DESCRIPTION_ZH])),
    ),
)
SOURCE_OF_MODEL: dict[type, Source] = {source.model: source for source in SOURCES}
_KEYS = SearchKey.__table__  # type: ignore[attr-defined]


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert_keys(connection: Connection, kind: str, things: Iterable[tuple[str, list[Any]]]) -> int:
    """Insert the keys of ``things`` ((ref, texts) pairs); the number of keys."""
    rows = [
        {"kind": kind, "ref": ref, "key": key}
        for ref, texts in things
        for key in sorted(keys_for(texts))
    ]
    for chunk in _chunks(rows):
        connection.execute(insert(_KEYS), list(chunk))
    return len(rows)


def _forget(connection: Connection, kind: str, refs: Sequence[str]) -> None:
    for chunk in _chunks(refs):
        connection.execute(delete(_KEYS).where(_KEYS.c.kind == kind, _KEYS.c.ref.in_(chunk)))


def index_refs(connection: Connection, source: Source, refs: Sequence[Any]) -> None:
    """Rewrite the keys of the things ``refs`` of ``source``, read as they are in
    the database now; a ref no longer there loses its keys."""
    refs = sorted({str(ref) for ref in refs})
    _forget(connection, source.kind, refs)
    key_column = getattr(source.model, source.ref_column)
    typed = [int(ref) for ref in refs] if source.ref_column == "id" else refs
    for chunk in _chunks(typed):
        rows = connection.execute(select(*source.columns()).where(key_column.in_(chunk))).all()
        _insert_keys(connection, source.kind, [(str(row[0]), list(row[1:])) for row in rows])


def _index_kind(connection: Connection, source: Source) -> int:
    """Rebuild every key of one kind; the number of things indexed."""
    connection.execute(delete(_KEYS).where(_KEYS.c.kind == source.kind))
    rows = [(str(row[0]), list(row[1:])) for row in connection.execute(select(*source.columns()))]
    _insert_keys(connection, source.kind, rows)
    return len(rows)


@transactional
def reindex(uow: UnitOfWork) -> dict[str, int]:
    """Rebuild the whole search index from the customers, sites, cities and parts as
    they are; answers how many things of each kind were indexed."""
    connection = uow.session.connection()
    if uow.dialect == "postgresql":
        # A name written while the index is rebuilt waits, then lands on the new keys
        # (its key rows would otherwise meet the rebuilt ones).
        connection.execute(text("LOCK TABLE search_key IN EXCLUSIVE MODE"))
    return {source.kind: _index_kind(connection, source) for source in SOURCES}


# --- keeping the keys current --------------------------------------------------------------


def _texts(source: Source, thing: Any) -> list[Any]:
    return [getattr(thing, name) for name in source.text_columns]


def _after_insert(_mapper: Any, connection: Connection, thing: Any) -> None:
    source = SOURCE_OF_MODEL[type(thing)]
    _insert_keys(connection, source.kind, [(source.ref_of(thing), _texts(source, thing))])


def _after_update(_mapper: Any, connection: Connection, thing: Any) -> None:
    source = SOURCE_OF_MODEL[type(thing)]
    watched = (source.ref_column, *source.text_columns)
    histories = {name: attributes.get_history(thing, name) for name in watched}
    if not any(history.has_changes() for history in histories.values()):
        return  # flushed for another column: the keys still hold
    old_refs = [str(ref) for ref in histories[source.ref_column].deleted or ()]
    _forget(connection, source.kind, [*old_refs, source.ref_of(thing)])
    _insert_keys(connection, source.kind, [(source.ref_of(thing), _texts(source, thing))])


def _after_delete(_mapper: Any, connection: Connection, thing: Any) -> None:
    source = SOURCE_OF_MODEL[type(thing)]
    _forget(connection, source.kind, [source.ref_of(thing)])


def _bulk_statement(state: ORMExecuteState) -> Any:
    """Index what an ORM bulk INSERT, UPDATE or DELETE on a searched model changes
    (mapper events do not run for those). Other statements pass untouched."""
    if not (state.is_insert or state.is_update or state.is_delete) or state.bind_mapper is None:
        return None
    source = SOURCE_OF_MODEL.get(state.bind_mapper.class_)
    if source is None:
        return None
    given = state.parameters
    rows = [given] if isinstance(given, dict) else list(given or [])
    if not rows and state.is_insert:  # insert(Model).values(...): the statement holds them
        written = state.statement.compile().params
        rows = [written] if source.ref_column in written else []
    connection = state.session.connection()
    refs: list[Any] | None = None  # None: every thing of the kind may have changed
    if rows and all(source.ref_column in row for row in rows):
        changed = set().union(*rows) - {source.ref_column}
        if state.is_update and not changed & set(source.text_columns):
            return None  # a bulk update of other columns (the import's supersessions)
        refs = [row[source.ref_column] for row in rows]
    elif not state.is_insert and state.statement.whereclause is not None:
        # Read which rows the statement touches before it runs: afterwards a
        # renamed row may no longer match its WHERE.
        key_column = getattr(source.model, source.ref_column)
        refs = list(
            connection.execute(select(key_column).where(state.statement.whereclause)).scalars()
        )
    result = state.invoke_statement()
    if refs is None:
        _index_kind(connection, source)
    else:
        index_refs(connection, source, refs)
    return result


def _listen() -> None:
    for source in SOURCES:
        for name, listener in (
            ("after_insert", _after_insert),
            ("after_update", _after_update),
            ("after_delete", _after_delete),
        ):
            if not event.contains(source.model, name, listener):
                event.listen(source.model, name, listener)
    if not event.contains(Session, "do_orm_execute", _bulk_statement):
        event.listen(Session, "do_orm_execute", _bulk_statement)


_listen()
