"""What backup and restore must know about each database, and nothing else:
sequence high-water marks, whether a target is empty, emptying one, and handing
a restored SQLite file over to its final name.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection, Engine

from core.errors import Conflict, Invalid

# How long `restore --force` waits for the application's locks on PostgreSQL
# before it says the database is in use.
PG_LOCK_TIMEOUT = "30s"
SQLITE_TAKEOVER_TIMEOUT_S = 5.0

HighWater = dict[str, dict[str, int]]  # table -> column -> the highest id handed out


# --- sequences -----------------------------------------------------------------------------


def owned_sequences(connection: Connection) -> list[tuple[str, str, str]]:
    """PostgreSQL: (table, column, sequence) for every sequence a column of the
    current schema owns (serial and identity columns alike)."""
    rows = connection.execute(
        text(
            """
            SELECT t.relname, a.attname, s.oid::regclass::text
            FROM pg_class s
            JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
                AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
            JOIN pg_class t ON t.oid = d.refobjid
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
            WHERE s.relkind = 'S' AND t.relnamespace = current_schema()::regnamespace
            ORDER BY 1, 2
            """
        )
    )
    return [(table, column, sequence) for table, column, sequence in rows]


def high_water(connection: Connection, metadata: MetaData) -> HighWater:
    """The highest id each sequence has handed out, so a restore never hands one
    out again (ids of rows deleted since stay used). Read in the backup's snapshot."""
    marks: HighWater = {}
    if connection.dialect.name == "postgresql":
        for table, column, sequence in owned_sequences(connection):
            last, called = connection.execute(
                text(f"SELECT last_value, is_called FROM {sequence}")
            ).one()
            if called:
                marks.setdefault(table, {})[column] = int(last)
    elif "sqlite_sequence" in _sqlite_tables(connection):  # AUTOINCREMENT tables only
        for table, value in connection.execute(text("SELECT name, seq FROM sqlite_sequence")):
            key = metadata.tables.get(table)
            if key is not None and len(key.primary_key.columns) == 1:
                column = next(iter(key.primary_key.columns)).name
                marks.setdefault(table, {})[column] = int(value)
    return marks


def restore_sequences(connection: Connection, marks: HighWater) -> None:
    """Set every sequence past the restored ids and the backup's high-water marks:
    PostgreSQL's sequences do not move when rows are inserted with their ids."""
    if connection.dialect.name == "postgresql":
        for table, column, sequence in owned_sequences(connection):
            top = connection.scalar(text(f'SELECT max("{column}") FROM "{table}"')) or 0
            top = max(int(top), marks.get(table, {}).get(column, 0))
            # setval(s, v, true): the next id is v + 1; (s, 1, false): the next is 1.
            connection.execute(
                text("SELECT setval(CAST(:s AS regclass), :v, :called)"),
                {"s": sequence, "v": max(top, 1), "called": top > 0},
            )
    elif "sqlite_sequence" in _sqlite_tables(connection):
        # SQLite moves sqlite_sequence past inserted ids itself; only a higher mark
        # of the source (rows deleted at the top) needs setting.
        for table, columns in marks.items():
            for value in columns.values():
                connection.execute(
                    text("UPDATE sqlite_sequence SET seq = max(seq, :v) WHERE name = :t"),
                    {"v": value, "t": table},
                )


def _sqlite_tables(connection: Connection) -> set[str]:
    rows = connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
    return {name for (name,) in rows}


# --- PostgreSQL targets --------------------------------------------------------------------


def pg_tables(connection: Connection) -> list[str]:
    """The tables of the current schema."""
    return sorted(inspect(connection).get_table_names())


def pg_empty_schema(connection: Connection) -> None:
    """Drop what the migrations create in the current schema (views, tables,
    sequences, functions, types), inside the caller's transaction, so a failed
    restore leaves everything as it was. Objects of extensions stay."""
    connection.execute(text(f"SET LOCAL lock_timeout = '{PG_LOCK_TIMEOUT}'"))
    not_extension = (
        "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')"
    )
    statements = {
        "VIEW": f"""SELECT c.oid::regclass::text FROM pg_class c
            WHERE c.relkind IN ('v', 'm') AND c.relnamespace = current_schema()::regnamespace
            AND {not_extension.format(oid="c.oid")}""",
        "TABLE": f"""SELECT c.oid::regclass::text FROM pg_class c
            WHERE c.relkind IN ('r', 'p') AND c.relnamespace = current_schema()::regnamespace
            AND {not_extension.format(oid="c.oid")}""",
        "SEQUENCE": f"""SELECT c.oid::regclass::text FROM pg_class c
            WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace
            AND {not_extension.format(oid="c.oid")}""",
        "FUNCTION": f"""SELECT p.oid::regprocedure::text FROM pg_proc p
            WHERE p.prokind = 'f' AND p.pronamespace = current_schema()::regnamespace
            AND {not_extension.format(oid="p.oid")}""",
        "TYPE": f"""SELECT t.oid::regtype::text FROM pg_type t
            WHERE t.typtype IN ('e', 'd') AND t.typnamespace = current_schema()::regnamespace
            AND {not_extension.format(oid="t.oid")}""",
    }
    for kind, query in statements.items():
        for (name,) in connection.execute(text(query)).all():
            # Names come from the catalogue already quoted (regclass, regprocedure).
            connection.execute(text(f"DROP {kind} IF EXISTS {name} CASCADE"))


# --- SQLite targets ------------------------------------------------------------------------


def sqlite_path(engine: Engine) -> Path:
    """The file of a SQLite engine; ``Invalid`` for an in-memory database."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        raise Invalid("restore needs a database file, not an in-memory SQLite database")
    return Path(database)


def sqlite_tables(path: Path) -> list[str]:
    """The tables in the SQLite file at ``path`` (none when there is no file),
    read without creating or changing it."""
    if not path.exists() or path.stat().st_size == 0:
        return []
    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
            rows = db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            ).fetchall()
    except sqlite3.DatabaseError as error:
        raise Invalid(f"{path} is not a SQLite database ({error})") from error
    return sorted(name for (name,) in rows)


def sqlite_seal(engine: Engine) -> None:
    """Fold a freshly restored file's write-ahead log into it and leave WAL mode,
    so the file is whole on its own when renamed (the app turns WAL on again)."""
    engine.dispose()  # leaving WAL mode needs the only connection to the file
    # The driver's own connection: a pragma in SQLAlchemy's would open a transaction
    # first, and SQLite leaves WAL mode only outside one.
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        mode = cursor.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        cursor.close()
    finally:
        connection.close()
    engine.dispose()
    if str(mode).lower() != "delete":
        raise Conflict("the restored database file could not be sealed; nothing was changed")


def sqlite_take_over(path: Path) -> None:
    """Make sure nobody else has the SQLite file at ``path`` open, and fold its
    write-ahead log into it, before the restored file replaces it.

    Leaving WAL mode needs the only connection to the file, so it is the test:
    with an app server or timer still connected it fails, and ``Conflict`` says so.
    Afterwards no ``-wal`` file is left that SQLite would replay into the new one.
    """
    in_use = Conflict(
        f"{path} is in use by another process; stop the app servers and timers, then restore"
    )
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=SQLITE_TAKEOVER_TIMEOUT_S)) as db:
            mode = db.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
    except sqlite3.OperationalError as error:
        raise in_use from error
    if str(mode).lower() != "delete":
        raise in_use
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise in_use
    for leftover in (wal, path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)


def remove_sqlite_files(path: Path) -> None:
    """Remove a SQLite file with its journal, log and shared-memory files."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
