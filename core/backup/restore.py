"""`spares restore`: a backup into an empty database, all or nothing.

The schema is not copied from the backup: the Alembic migrations build it at the
backup's revision, exactly as `spares db upgrade` builds production, so the
append-only triggers, constraints, indexes and sequences are the real ones and
``alembic_version`` says where the schema stands. Then the rows go in, table by
table in foreign-key order (rows of a table that refers to itself, such as a part
and the part superseding it, referred-to first), the counts are checked against
the manifest and the sequences are set past every restored id.

All or nothing:

* PostgreSQL: one transaction holds everything, emptying the schema for
  ``--force`` included (PostgreSQL's DDL is transactional); a failure rolls it
  all back.
* SQLite: the restore is built in a new file next to the target and renamed over
  it only when complete; a failure leaves the target as it was (or absent).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Column, MetaData, Table, func, null, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import JSON, Boolean, DateTime

from core import schema
from core.backup.archive import ArchiveReader, Manifest, TableEntry
from core.backup.databases import (
    pg_empty_schema,
    pg_tables,
    remove_sqlite_files,
    restore_sequences,
    sqlite_path,
    sqlite_seal,
    sqlite_tables,
    sqlite_take_over,
)
from core.backup.snapshot import VERSION_TABLE, reflect
from core.db import make_engine
from core.errors import Conflict, Invalid

ROWS_PER_INSERT = 1000


@dataclass(frozen=True)
class RestoreReport:
    path: Path
    revision: str
    head: str | None
    source: str
    target: str
    tables: int
    rows: int
    seconds: float

    def summary(self) -> str:
        line = (
            f"restored {self.tables} tables, {self.rows} rows (revision {self.revision}, "
            f"backed up from {self.source}) into {self.target} in {self.seconds:.1f} s"
        )
        if self.head and self.head != self.revision:
            line += f"; this version of Spares is at {self.head}: run `spares db upgrade`"
        return line


def restore(engine: Engine, path: Path, *, force: bool = False) -> RestoreReport:
    """Restore the backup at ``path`` into ``engine``'s database.

    The database must be empty (a new SQLite file, a PostgreSQL database without
    tables) unless ``force``, which replaces everything in it. ``Conflict`` for a
    database that is not empty or is in use, ``Invalid`` for a file that is not
    a whole backup or a revision this code does not know; either way nothing
    changed."""
    started = time.monotonic()
    with ArchiveReader(Path(path)) as archive:
        head = _require_known_revision(engine, archive.manifest.revision)
        if engine.dialect.name == "sqlite":
            _restore_sqlite(engine, archive, force=force)
        elif engine.dialect.name == "postgresql":
            _restore_postgres(engine, archive, force=force)
        else:
            raise Invalid(f"restore does not know the {engine.dialect.name} database")
        manifest = archive.manifest
    return RestoreReport(
        path=Path(path),
        revision=manifest.revision,
        head=head,
        source=manifest.dialect,
        target=engine.dialect.name,
        tables=len(manifest.tables),
        rows=manifest.rows,
        seconds=time.monotonic() - started,
    )


def _require_known_revision(engine: Engine, revision: str) -> str | None:
    """The code's newest revision, once ``revision`` is known to be one of its own."""
    scripts = ScriptDirectory.from_config(schema.alembic_config(engine))
    try:
        known = scripts.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise Invalid(
            f"the backup is at schema revision {revision}, which this version of Spares "
            "does not know; restore it with the version that wrote it"
        )
    return scripts.get_current_head()


def _not_empty(where: str, tables: list[str]) -> Conflict:
    return Conflict(
        f"{where} is not empty ({len(tables)} tables, e.g. {', '.join(tables[:3])}); "
        "restore into a new database, or add --force to replace everything in it"
    )


def _refused(error: DBAPIError, table: str | None = None) -> Invalid:
    first = (str(error.orig) or str(error)).strip().splitlines()[0]
    where = f"table {table}: " if table else ""
    return Invalid(f"the backup could not be restored, nothing was changed: {where}{first}")


# --- the two databases ---------------------------------------------------------------------


def _restore_postgres(engine: Engine, archive: ArchiveReader, *, force: bool) -> None:
    with engine.connect() as connection:
        try:
            with connection.begin():
                tables = pg_tables(connection)
                if tables and not force:
                    raise _not_empty(f"database {engine.url.database}", tables)
                if tables:
                    pg_empty_schema(connection)
                _migrate(engine, connection, archive.manifest.revision)
                _load(connection, archive)
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) == "55P03":  # lock_not_available
                raise Conflict(
                    f"database {engine.url.database} is in use; stop the app servers and "
                    "timers, then restore"
                ) from error
            raise _refused(error) from error


def _restore_sqlite(engine: Engine, archive: ArchiveReader, *, force: bool) -> None:
    target = sqlite_path(engine)
    tables = sqlite_tables(target)
    if tables and not force:
        raise _not_empty(str(target), tables)
    if not target.parent.is_dir():
        raise Invalid(f"no folder {target.parent} for the database file")
    building = target.with_name(target.name + ".restoring")
    remove_sqlite_files(building)  # the remains of a restore that died
    scratch = make_engine(f"sqlite:///{building}")
    try:
        schema.upgrade(scratch, archive.manifest.revision)
        with scratch.connect() as connection, connection.begin():
            _load(connection, archive)
        sqlite_seal(scratch)
        engine.dispose()  # this process's own connections to the old file
        if target.exists():
            sqlite_take_over(target)
        building.replace(target)
    except DBAPIError as error:
        raise _refused(error) from error
    except OSError as error:
        raise Invalid(
            f"cannot write the database in {target.parent}: {error.strerror or error}; "
            "nothing was changed"
        ) from error
    finally:
        scratch.dispose()
        remove_sqlite_files(building)


def _migrate(engine: Engine, connection: Connection, revision: str) -> None:
    """Build the schema at ``revision`` on ``connection``, inside its transaction."""
    config = schema.alembic_config(engine)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


# --- the rows ------------------------------------------------------------------------------


def _load(connection: Connection, archive: ArchiveReader) -> None:
    """Insert every table's rows into the freshly migrated schema on ``connection``."""
    manifest = archive.manifest
    metadata = reflect(connection)
    _require_same_tables(manifest, metadata)
    # Rows a migration may have written would collide with the backup's.
    for table in reversed(metadata.sorted_tables):
        if table.name != VERSION_TABLE and _count(connection, table):
            connection.execute(table.delete())
    for table in metadata.sorted_tables:
        entry = manifest.table(table.name)
        assert entry is not None  # _require_same_tables
        if table.name == VERSION_TABLE:
            continue  # the migrations wrote it, at the backup's revision
        try:
            _insert(connection, table, entry, archive.rows(entry))
        except DBAPIError as error:
            raise _refused(error, table.name) from error
    for table in metadata.sorted_tables:
        entry = manifest.table(table.name)
        assert entry is not None
        found = _count(connection, table)
        if found != entry.rows:
            raise Invalid(
                f"table {table.name} has {found} rows after the restore, the backup "
                f"{entry.rows}; nothing was changed"
            )
    restore_sequences(connection, {entry.name: entry.high_water for entry in manifest.tables})


def _require_same_tables(manifest: Manifest, metadata: MetaData) -> None:
    backed_up = {entry.name for entry in manifest.tables}
    built = set(metadata.tables)
    if backed_up != built:
        raise Invalid(
            f"revision {manifest.revision} builds tables the backup does not match "
            f"(only in the backup: {sorted(backed_up - built) or 'none'}; only in the "
            f"schema: {sorted(built - backed_up) or 'none'}); was the schema changed by hand?"
        )
    for entry in manifest.tables:
        columns = set(metadata.tables[entry.name].columns.keys())
        if set(entry.columns) != columns:
            raise Invalid(
                f"table {entry.name}: the backup's columns differ from revision "
                f"{manifest.revision}'s ({sorted(set(entry.columns) ^ columns)})"
            )


def _count(connection: Connection, table: Table) -> int:
    return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def _insert(
    connection: Connection, table: Table, entry: TableEntry, rows: Iterator[list[Any]]
) -> None:
    names = entry.columns
    adapters = [_adapter(table.columns[name]) for name in names]
    records = (
        {name: adapt(value) for name, adapt, value in zip(names, adapters, row, strict=True)}
        for row in rows
    )
    if any(fk.referred_table is table for fk in table.foreign_key_constraints):
        records = iter(_referred_first(table, list(records)))
    batch: list[dict[str, Any]] = []
    written = 0
    for record in records:
        batch.append(record)
        if len(batch) >= ROWS_PER_INSERT:
            connection.execute(table.insert(), batch)
            written += len(batch)
            batch = []
    if batch:
        connection.execute(table.insert(), batch)
        written += len(batch)
    if written != entry.rows:
        raise Invalid(
            f"the backup's table {table.name} holds {written} rows, its manifest says "
            f"{entry.rows}; the file is damaged"
        )


def _adapter(column: Column[Any]) -> Callable[[Any], Any]:
    """How a decoded value becomes a value of ``column`` in this database."""
    type_ = column.type
    if isinstance(type_, JSON):
        return _json_value
    if isinstance(type_, DateTime):
        return _aware_utc if type_.timezone else _naive_utc
    if isinstance(type_, Boolean):
        return lambda value: value if value is None else bool(value)
    return lambda value: value


def _json_value(value: Any) -> Any:
    if value is None:
        return null()  # SQL NULL, not the JSON text 'null'
    text = value["json"] if isinstance(value, dict) and "json" in value else None
    if text is None:
        return value
    parsed = json.loads(text)
    return JSON.NULL if parsed is None else parsed


def _aware_utc(value: Any) -> Any:
    # An instant from SQLite comes naive, and SQLite keeps instants in UTC (core.db).
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _naive_utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _referred_first(table: Table, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``records`` of a table that refers to itself, each after the rows it refers
    to (foreign keys are checked row by row). A cycle is left in file order for
    the database to refuse."""
    links = [
        ([e.parent.name for e in fk.elements], [e.column.name for e in fk.elements])
        for fk in table.foreign_key_constraints
        if fk.referred_table is table
    ]
    present = [
        {tuple(record[name] for name in referred) for record in records} for _, referred in links
    ]
    placed: list[set[tuple[Any, ...]]] = [set() for _ in links]
    ordered: list[dict[str, Any]] = []
    pending = records
    while pending:
        waiting = []
        for record in pending:
            ready = True
            for (local, _), keys, done in zip(links, present, placed, strict=True):
                key = tuple(record[name] for name in local)
                if None not in key and key in keys and key not in done:
                    ready = False
            if ready:
                ordered.append(record)
                for (_, referred), done in zip(links, placed, strict=True):
                    done.add(tuple(record[name] for name in referred))
            else:
                waiting.append(record)
        if len(waiting) == len(pending):  # a cycle
            ordered.extend(waiting)
            break
        pending = waiting
    return ordered
