"""`spares backup`: every table of the database, read in one consistent snapshot
while the application keeps writing.

The tables come from the database itself (reflection), not from a list: a table a
later migration adds is backed up without a change here. The snapshot is one
read transaction: REPEATABLE READ, READ ONLY on PostgreSQL; on SQLite (WAL) a
deferred transaction, whose first read fixes the snapshot. Neither blocks the
writers, and both see exactly the transactions committed before the snapshot,
so the books of a backup balance as the live ones do.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, Text, cast, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.types import JSON

from core import clock
from core.backup.archive import ArchiveWriter, Manifest, TableEntry, encode, encode_json_text
from core.backup.databases import high_water
from core.errors import Invalid

VERSION_TABLE = "alembic_version"
ROWS_PER_FETCH = 2000

# Told after each table is written, still inside the snapshot: (table, rows).
Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class BackupReport:
    path: Path
    revision: str
    dialect: str
    tables: int
    rows: int
    size: int
    seconds: float

    def summary(self) -> str:
        return (
            f"backed up {self.tables} tables, {self.rows} rows (revision {self.revision}, "
            f"{self.dialect}) to {self.path}: {self.size} bytes in {self.seconds:.1f} s"
        )


def reflect(connection: Connection) -> MetaData:
    """Every table of the database as it is (the current schema on PostgreSQL)."""
    metadata = MetaData()
    metadata.reflect(connection)
    return metadata


def _begin_snapshot(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execution_options(isolation_level="REPEATABLE READ")
        connection.begin()
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
    else:
        connection.begin()  # BEGIN DEFERRED (core.db): a WAL snapshot, no writer lock


def _revision(connection: Connection, metadata: MetaData) -> str:
    table = metadata.tables.get(VERSION_TABLE)
    revisions = [] if table is None else list(connection.scalars(select(table.c.version_num)))
    if len(revisions) != 1:
        raise Invalid(
            "the database has no schema yet (run `spares db upgrade`); nothing to back up"
        )
    return str(revisions[0])


def _rows(connection: Connection, table: Table) -> Iterator[list[Any]]:
    """The table's rows in primary-key order, encoded for the archive."""
    columns = list(table.columns)
    selected = [
        cast(column, Text).label(column.name) if isinstance(column.type, JSON) else column
        for column in columns
    ]
    encoders = [encode_json_text if isinstance(column.type, JSON) else encode for column in columns]
    statement = select(*selected).order_by(*table.primary_key.columns)
    result = connection.execute(statement.execution_options(yield_per=ROWS_PER_FETCH))
    for row in result:
        try:
            yield [encoder(value) for encoder, value in zip(encoders, row, strict=True)]
        except TypeError as error:
            raise Invalid(f"table {table.name}: {error}") from error


def backup(engine: Engine, path: Path, *, progress: Progress | None = None) -> BackupReport:
    """Write every table of ``engine``'s database to ``path`` from one snapshot,
    while writers go on. ``path`` appears only once the backup is complete
    (an older file there is replaced at that moment). ``Invalid`` when the
    database has no schema or ``path`` cannot be written."""
    started = time.monotonic()
    path = Path(path)
    if path.is_dir():
        raise Invalid(f"{path} is a directory; give the backup a file name")
    with engine.connect() as connection:
        _begin_snapshot(connection)
        try:
            metadata = reflect(connection)
            revision = _revision(connection, metadata)
            marks = high_water(connection, metadata)
            archive = ArchiveWriter(path)
            try:
                entries = []
                for table in metadata.sorted_tables:
                    count = archive.add_table(table.name, _rows(connection, table))
                    entries.append(
                        TableEntry(
                            table.name,
                            tuple(column.name for column in table.columns),
                            count,
                            marks.get(table.name, {}),
                        )
                    )
                    if progress is not None:
                        progress(table.name, count)
                manifest = Manifest(
                    revision=revision,
                    dialect=engine.dialect.name,
                    created_at=clock.now().isoformat(timespec="seconds"),
                    tables=tuple(entries),
                )
                size = archive.finish(manifest)
            except OSError as error:  # the disk filled up, the folder went away
                archive.abort()
                raise Invalid(f"cannot write {path}: {error.strerror or error}") from error
            except BaseException:
                archive.abort()
                raise
        finally:
            connection.rollback()  # read only: nothing to keep
    return BackupReport(
        path=path,
        revision=revision,
        dialect=engine.dialect.name,
        tables=len(manifest.tables),
        rows=manifest.rows,
        size=size,
        seconds=time.monotonic() - started,
    )
