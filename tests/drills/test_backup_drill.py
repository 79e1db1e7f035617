"""Backups taken by `spares backup` while writer processes keep the books busy,
restored by `spares restore` into new databases of both kinds: `spares check` is
clean on every restored database and every table holds the rows its backup's
manifest counts.

Writers (``tests.drills.stock_writers``) run in processes of their own with
engines of their own, through the inventory service: receipts, corrections and
transfers shipped and received, each one transaction over several tables. The
backups are real `spares` processes, one after the other for as long as the
writers run. CI runs it for a few seconds and restores the last backup into the
same kind of database; `make drill` (``SPARES_BACKUP_DRILL_SECONDS``, default
120 there) restores every backup into SQLite and PostgreSQL both.
"""

from __future__ import annotations

import json
import os
import uuid
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import MetaData, func, select, text
from sqlalchemy.engine import Engine

from core.db import make_engine
from tests.conftest import PostgresServer, prepare_database
from tests.drills import stock_writers
from tests.drills.harness import Deployment, together

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("SPARES_BACKUP_DRILL_SECONDS", "5"))
LONG = SECONDS >= 30  # `make drill`: restore every backup, into both databases
WRITERS = 3


@dataclass(frozen=True)
class Taken:
    """One backup, and the movements in the live database before and after it ran."""

    file: Path
    movements_before: int
    movements_after: int

    @property
    def overlapped_writes(self) -> bool:
        return self.movements_after > self.movements_before


@pytest.fixture
def new_deployment(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[str], Deployment]]:
    """A deployment on a new, empty database of the kind asked for."""
    made: list[str] = []
    folders = iter(range(1_000))

    def make(dialect: str) -> Deployment:
        folder = tmp_path / f"{dialect}-{next(folders)}"
        if dialect == "sqlite":
            url = f"sqlite:///{folder / 'spares.db'}"
        else:
            server: PostgresServer = request.getfixturevalue("postgres")
            name = server.create(f"drill_restore_{uuid.uuid4().hex[:8]}")
            made.append(name)
            url = server.url_for(name)
        return Deployment.create(url, folder)

    yield make
    for name in made:
        request.getfixturevalue("postgres").drop(name)


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


def _row_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return {
                name: int(connection.scalar(select(func.count()).select_from(table)) or 0)
                for name, table in metadata.tables.items()
            }
    finally:
        engine.dispose()


def _revision(url: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.scalar(text("SELECT version_num FROM alembic_version")))
    finally:
        engine.dispose()


def _manifest_counts(file: Path) -> tuple[str, dict[str, int]]:
    with zipfile.ZipFile(file) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    return manifest["revision"], {t["name"]: t["rows"] for t in manifest["tables"]}


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_backups_taken_while_writers_run_restore_to_balanced_books(
    dialect: str, new_deployment: Callable[[str], Deployment]
) -> None:
    live = new_deployment(dialect)
    engine = make_engine(live.database_url)
    prepare_database(engine)
    plans = stock_writers.stock_up(engine, WRITERS)

    taken: list[Taken] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        writing = pool.submit(
            together,
            stock_writers.write_for,
            [(live.database_url, plan, SECONDS) for plan in plans],
            timeout=SECONDS + 180,
        )
        # Back up again and again for as long as the writers run.
        while not writing.done() or not taken:
            file = live.folder / f"backup-{len(taken)}.spares"
            before = _count(engine, "movement")
            live.must("backup", str(file))
            taken.append(Taken(file, before, _count(engine, "movement")))
        outcomes = writing.result()

    assert [o.error for o in outcomes if o.error] == []
    reports: list[stock_writers.WriterReport] = [o.value for o in outcomes]
    assert [error for r in reports for error in r.errors] == []
    assert sum(r.commits for r in reports) > 0
    assert any(t.overlapped_writes for t in taken), taken  # backed up while writing
    engine.dispose()

    chosen = taken if LONG else [next(t for t in reversed(taken) if t.overlapped_writes)]
    targets = ("sqlite", "postgresql") if LONG else (dialect,)
    for backup in chosen:
        revision, counts = _manifest_counts(backup.file)
        for target_dialect in targets:
            target = new_deployment(target_dialect)
            restored = target.must("restore", str(backup.file))

            assert "restored" in restored
            assert _row_counts(target.database_url) == counts
            assert _revision(target.database_url) == revision
            if "spares db upgrade" in restored:  # the code moved on since the backup
                target.must("db", "upgrade")
            check = target.cli("check")
            assert check.returncode == 0, check.stdout + check.stderr
    print(  # the drill's figures, for `pytest -s`
        f"{dialect}: {len(taken)} backups while {WRITERS} writers committed "
        f"{sum(r.commits for r in reports)} transactions; restored {len(chosen)} into "
        f"{', '.join(targets)}"
    )
