"""`spares backup` and `spares restore`: every table, one portable file, all or nothing.

Through the CLI (and ``core.backup.backup`` where a test needs to act while the
snapshot is being read), on real databases: SQLite and PostgreSQL, and across
them (a SQLite installation moves to PostgreSQL with a backup and a restore).
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import threading
import uuid
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import JSON, MetaData, func, insert, inspect, null, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from core import auth, backup, schema
from core.audit.models import AuditEntry
from core.db import UnitOfWork, make_engine
from inventory.models import PartIn
from inventory.service import catalog, moves, receipts, transfers
from inventory.service.ledger import check_books
from inventory.service.transfers import LineIn
from tests.conftest import PostgresServer, make_test_app
from tests.drills import stock_writers

PASSWORD = "backup-password"


# --- helpers ---------------------------------------------------------------------------------


def spares(engine: Engine, *args: str) -> Result:
    """`spares ARGS` with DATABASE_URL pointing at ``engine``'s database."""
    return make_test_app(engine).test_cli_runner().invoke(args=list(args))


def one_line(result: Result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.fixture
def new_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[str], Engine]]:
    """A new, empty database: ``new_database("sqlite")`` (a file not yet created)
    or ``new_database("postgresql")`` (a database without tables)."""
    made: list[tuple[Engine, str | None]] = []

    def make(dialect: str) -> Engine:
        if dialect == "sqlite":
            engine = make_engine(f"sqlite:///{tmp_path / f'restored-{len(made)}.db'}")
            made.append((engine, None))
        else:
            server: PostgresServer = request.getfixturevalue("postgres")
            name = server.create(f"restore_{uuid.uuid4().hex[:8]}")
            engine = make_engine(server.url_for(name))
            made.append((engine, name))
        return engine

    yield make
    for engine, name in made:
        engine.dispose()
        if name:
            request.getfixturevalue("postgres").drop(name)


def fill(engine: Engine) -> dict[str, auth.Actor]:
    """Stock, a transfer, and a part superseded by one whose number sorts after it
    (a row that refers to a later row of its own table)."""
    uow = UnitOfWork(engine)
    planner = auth.create_user(uow, "bk-planner", PASSWORD, "planner")
    staff = {
        depot: auth.create_user(
            uow, f"bk-{depot.lower()}", PASSWORD, "depot_staff", depot_code=depot
        )
        for depot in ("BJ", "SH")
    }
    for number, serialized, successor in (
        ("ZZ-NEW", False, None),
        ("AA-OLD", False, "ZZ-NEW"),
        ("BK-SER", True, None),
    ):
        catalog.create_part(
            uow,
            planner,
            PartIn(
                part_number=number,
                description=f"备件 {number}",
                family="power",
                serialized=serialized,
                unit_cost=Decimal("1234.56"),
                weight_kg=2.5,
                superseded_by=successor,
            ),
        )
    moves.receive(uow, staff["BJ"], "BJ", "ZZ-NEW", 7)
    moves.receive(uow, staff["BJ"], "BJ", "BK-SER", 2, ["BKS000001", "BKS000002"])
    draft = transfers.create_transfer(
        uow, planner, "BJ", "SH", [LineIn("ZZ-NEW", 2), LineIn("BK-SER", 1)]
    )
    transfers.ship_transfer(uow, staff["BJ"], draft.transfer.id)
    receipts.receive_transfer(uow, staff["SH"], draft.transfer.id, as_shipped=True)
    return {"planner": planner, **staff}


def add_audit_entries(engine: Engine) -> None:
    """Audit entries whose JSON columns hold SQL NULL, JSON ``null``, text and numbers."""
    at = datetime(2026, 3, 16, 1, 30, tzinfo=UTC)
    entry = {"at": at, "actor": "bk", "entity": "lane", "entity_key": "1", "action": "update"}
    with engine.begin() as connection:
        connection.execute(
            insert(AuditEntry.__table__),  # type: ignore[attr-defined]
            [
                {**entry, "before": null(), "after": {"hours": "12.5", "名": "乌鲁木齐"}},
                {**entry, "before": JSON.NULL, "after": [1, 2.5, None, True]},
            ],
        )


def sql_nulls_in_audit(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(text("SELECT count(*) FROM audit_entry WHERE before IS NULL"))


def row_counts(engine: Engine) -> dict[str, int]:
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return {
            name: connection.scalar(select(func.count()).select_from(table)) or 0
            for name, table in metadata.tables.items()
        }


def _same(value: Any) -> Any:
    """A value as both databases should give it back: instants aware, in UTC."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, comparable across the two databases."""
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return {
            name: sorted(
                (tuple(_same(v) for v in row) for row in connection.execute(select(table))),
                key=repr,
            )
            for name, table in metadata.tables.items()
        }


def manifest_of(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("manifest.json"))


def rewrite(source: Path, target: Path, edit: Callable[[dict[str, bytes]], None]) -> Path:
    """A copy of the backup ``source`` with its members changed by ``edit``."""
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    edit(members)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def assert_books_balance(engine: Engine) -> None:
    assert check_books(UnitOfWork(engine)) == []
    result = spares(engine, "check")
    assert result.exit_code == 0 and "books balance" in result.output, result.output


def assert_untouched(engine: Engine, tmp_path: Path) -> None:
    """A failed restore into a new database left nothing behind."""
    if engine.dialect.name == "sqlite":
        assert not Path(engine.url.database or "").exists()
        assert [p.name for p in tmp_path.iterdir() if "restor" in p.name] == []
    else:
        assert inspect(engine).get_table_names() == []


# --- round trips -----------------------------------------------------------------------------


def test_restore_brings_back_every_table_row_for_row(
    any_engine: Engine, new_database: Callable[[str], Engine], tmp_path: Path
) -> None:
    people = fill(any_engine)
    file = tmp_path / "spares.backup"

    made = spares(any_engine, "backup", str(file))
    target = new_database(any_engine.dialect.name)
    restored = spares(target, "restore", str(file))

    assert made.exit_code == 0, made.output
    assert restored.exit_code == 0, restored.output
    assert "restored" in one_line(restored)
    assert stat.S_IMODE(file.stat().st_mode) == 0o600  # it holds password hashes
    manifest = manifest_of(file)
    assert {t["name"]: t["rows"] for t in manifest["tables"]} == row_counts(target)
    assert row_counts(target) == row_counts(any_engine)  # every table, alembic_version too
    assert contents(target) == contents(any_engine)
    assert spares(target, "db", "current").output.strip() == manifest["revision"]
    assert_books_balance(target)
    # The schema is the migrations' own: the ledger is still append-only ...
    with pytest.raises(DBAPIError, match="append-only"), target.begin() as connection:
        connection.execute(text("DELETE FROM ledger_entry"))
    # ... and new rows get ids past the restored ones (PostgreSQL's sequences moved).
    moves.receive(UnitOfWork(target), people["BJ"], "BJ", "ZZ-NEW", 1)
    auth.create_user(UnitOfWork(target), "after-restore", PASSWORD, "engineer")
    assert_books_balance(target)


@pytest.mark.parametrize(("source", "target"), [("sqlite", "postgresql"), ("postgresql", "sqlite")])
def test_a_backup_moves_an_installation_between_the_databases(
    source: str,
    target: str,
    engine: Engine,
    new_database: Callable[[str], Engine],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    origin = engine if source == "sqlite" else request.getfixturevalue("pg_engine")
    people = fill(origin)
    add_audit_entries(origin)
    file = tmp_path / "move.backup"
    assert spares(origin, "backup", str(file)).exit_code == 0

    destination = new_database(target)
    result = spares(destination, "restore", str(file))

    assert result.exit_code == 0, result.output
    assert f"backed up from {source}) into {target}" in result.output
    assert contents(destination) == contents(origin)
    assert sql_nulls_in_audit(destination) == sql_nulls_in_audit(origin) > 0
    assert_books_balance(destination)
    moves.receive(UnitOfWork(destination), people["SH"], "SH", "BK-SER", 1, ["BKS000009"])
    assert_books_balance(destination)


# --- refusals --------------------------------------------------------------------------------


def test_restore_refuses_a_database_that_is_not_empty_unless_forced(
    any_engine: Engine, new_database: Callable[[str], Engine], tmp_path: Path
) -> None:
    source = new_database(any_engine.dialect.name)
    file = tmp_path / "spares.backup"
    assert spares(any_engine, "backup", str(file)).exit_code == 0  # reference data only
    assert spares(source, "restore", str(file)).exit_code == 0
    fill(source)
    assert spares(source, "backup", str(file)).exit_code == 0
    before = contents(any_engine)

    refused = spares(any_engine, "restore", str(file))

    assert refused.exit_code == 4
    assert "is not empty" in one_line(refused) and "--force" in refused.output
    assert contents(any_engine) == before

    any_engine.dispose()  # a forced restore needs the database to itself (app servers stopped)
    forced = spares(any_engine, "restore", "--force", str(file))

    assert forced.exit_code == 0, forced.output
    assert contents(any_engine) == contents(source)


def test_a_forced_restore_refuses_a_sqlite_file_still_in_use(
    engine: Engine, tmp_path: Path
) -> None:
    file = tmp_path / "spares.backup"
    assert spares(engine, "backup", str(file)).exit_code == 0
    before = contents(engine)
    app_server = sqlite3.connect(engine.url.database or "")  # still connected
    try:
        app_server.execute("SELECT count(*) FROM app_user").fetchall()
        result = spares(engine, "restore", "--force", str(file))
    finally:
        app_server.close()

    assert result.exit_code == 4
    assert "in use" in one_line(result)
    assert contents(engine) == before


def _duplicate_first_ledger_row(members: dict[str, bytes]) -> None:
    """A row the database refuses (a repeated id), late in the load order."""
    name = "tables/ledger_entry.jsonl"
    lines = members[name].splitlines(keepends=True)
    members[name] = lines[0] + members[name]
    manifest = json.loads(members["manifest.json"])
    for table in manifest["tables"]:
        if table["name"] == "ledger_entry":
            table["rows"] += 1
    members["manifest.json"] = json.dumps(manifest).encode()


def _drop_last_ledger_row(members: dict[str, bytes]) -> None:
    """Fewer rows than the manifest says: a damaged file."""
    name = "tables/ledger_entry.jsonl"
    members[name] = b"".join(members[name].splitlines(keepends=True)[:-1])


@pytest.mark.parametrize("damage", [_duplicate_first_ledger_row, _drop_last_ledger_row])
def test_a_restore_that_fails_changes_nothing(
    any_engine: Engine,
    new_database: Callable[[str], Engine],
    tmp_path: Path,
    damage: Callable[[dict[str, bytes]], None],
) -> None:
    fill(any_engine)
    good = tmp_path / "good.backup"
    assert spares(any_engine, "backup", str(good)).exit_code == 0
    bad = rewrite(good, tmp_path / "bad.backup", damage)
    target = new_database(any_engine.dialect.name)

    result = spares(target, "restore", str(bad))

    assert result.exit_code == 2
    assert "ledger_entry" in one_line(result)
    assert_untouched(target, tmp_path)

    # Forced over a database with data: that database stays exactly as it was.
    before = contents(any_engine)
    any_engine.dispose()
    forced = spares(any_engine, "restore", "--force", str(bad))
    assert forced.exit_code == 2, forced.output
    assert contents(any_engine) == before


def test_restore_refuses_what_is_not_a_whole_backup(
    engine: Engine, new_database: Callable[[str], Engine], tmp_path: Path
) -> None:
    good = tmp_path / "good.backup"
    assert spares(engine, "backup", str(good)).exit_code == 0
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a backup\n")
    cut = tmp_path / "cut.backup"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])

    def future(members: dict[str, bytes]) -> None:
        manifest = json.loads(members["manifest.json"])
        manifest["revision"] = "9999"
        members["manifest.json"] = json.dumps(manifest).encode()

    unknown = rewrite(good, tmp_path / "future.backup", future)
    target = new_database("sqlite")

    for file, says in (
        (tmp_path / "missing.backup", "no backup file"),
        (text_file, "not a Spares backup"),
        (cut, "not a Spares backup"),
        (unknown, "revision 9999"),
    ):
        result = spares(target, "restore", str(file))
        assert result.exit_code == 2, result.output
        assert says in one_line(result)
    assert_untouched(target, tmp_path)


def test_backup_refuses_a_database_without_schema_and_a_place_it_cannot_write(
    engine: Engine, new_database: Callable[[str], Engine], tmp_path: Path
) -> None:
    nowhere = tmp_path / "no-such-folder" / "spares.backup"
    empty = new_database("sqlite")

    no_schema = spares(empty, "backup", str(tmp_path / "empty.backup"))
    no_folder = spares(engine, "backup", str(nowhere))

    assert no_schema.exit_code == 2 and "no schema yet" in one_line(no_schema)
    assert no_folder.exit_code == 2 and "cannot write" in one_line(no_folder)
    assert [p.name for p in tmp_path.iterdir() if "backup" in p.name] == []


# --- while writers run ---------------------------------------------------------------------


class CommitCounter:
    """Commits made by the writer threads, and a way to wait for more of them."""

    def __init__(self) -> None:
        self.commits = 0
        self.broken = False
        self._changed = threading.Condition()

    def committed(self) -> None:
        with self._changed:
            self.commits += 1
            self._changed.notify_all()

    def writer_stopped(self) -> None:
        with self._changed:
            self.broken = True
            self._changed.notify_all()

    def wait_beyond(self, commits: int) -> int:
        """Wait until more than ``commits`` commits were made (or a writer stopped)."""
        with self._changed:
            self._changed.wait_for(lambda: self.commits > commits or self.broken, timeout=120)
            return self.commits


def test_a_backup_taken_while_writers_run_restores_books_that_balance(
    any_engine: Engine, new_database: Callable[[str], Engine], tmp_path: Path
) -> None:
    """Three writer threads commit between every two tables the backup reads: a
    backup that were not one snapshot would hold ledger entries without their
    balances (or the reverse), and the restored books would not balance."""
    plans = stock_writers.stock_up(any_engine, 3)
    counter = CommitCounter()
    running = threading.Event()
    running.set()
    reports: list[stock_writers.WriterReport] = []

    def writer(plan: stock_writers.WriterPlan) -> None:
        report = stock_writers.write(any_engine, plan, running.is_set, counter.committed)
        reports.append(report)
        counter.writer_stopped()

    threads = [threading.Thread(target=writer, args=(plan,)) for plan in plans]
    for thread in threads:
        thread.start()
    interleaved: list[int] = []

    def between_tables(_table: str, _rows: int) -> None:
        before = counter.commits
        interleaved.append(counter.wait_beyond(before) - before)

    try:
        counter.wait_beyond(3)  # the writers are under way
        file = tmp_path / "busy.backup"
        report = backup.backup(any_engine, file, progress=between_tables)
    finally:
        running.clear()
        for thread in threads:
            thread.join(timeout=120)

    assert [error for r in reports for error in r.errors] == []
    assert all(count > 0 for count in interleaved), interleaved  # writes between every table
    target = new_database(any_engine.dialect.name)
    result = spares(target, "restore", str(file))
    assert result.exit_code == 0, result.output
    manifest = manifest_of(file)
    assert {t["name"]: t["rows"] for t in manifest["tables"]} == row_counts(target)
    assert report.rows == sum(row_counts(target).values())
    assert_books_balance(target)
    # The writers went on after the snapshot: the backup is not the final state.
    assert row_counts(target)["ledger_entry"] < row_counts(any_engine)["ledger_entry"]


def test_the_backup_file_appears_only_when_complete(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    file = folder / "spares.backup"
    file.write_bytes(b"yesterday's backup")
    seen: list[list[str]] = []

    def look(_table: str, _rows: int) -> None:
        seen.append(sorted(os.listdir(folder)))
        assert file.read_bytes() == b"yesterday's backup"

    backup.backup(engine, file, progress=look)

    assert seen and all(names == ["spares.backup", "spares.backup.partial"] for names in seen)
    assert sorted(os.listdir(folder)) == ["spares.backup"]
    assert manifest_of(file)["format"] == "spares-backup"


def test_an_older_backup_restores_at_its_revision_and_upgrades(
    new_database: Callable[[str], Engine], tmp_path: Path
) -> None:
    old = new_database("sqlite")
    schema.upgrade(old, "0007")
    file = tmp_path / "old.backup"
    assert spares(old, "backup", str(file)).exit_code == 0
    target = new_database("sqlite")

    restored = spares(target, "restore", str(file))

    assert restored.exit_code == 0, restored.output
    assert "revision 0007" in restored.output and "run `spares db upgrade`" in restored.output
    assert spares(target, "db", "current").output.strip() == "0007"
    upgraded = spares(target, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert_books_balance(target)
