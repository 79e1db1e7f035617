"""The unit of work: all-or-nothing, nested use cases, writer locking, retries, instants."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, select, text, update
from sqlalchemy.exc import DBAPIError

from core.db import (
    DEADLOCK,
    UnitOfWork,
    UTCDateTime,
    lock_for_update,
    make_engine,
    read_only,
    retried_conflicts,
    transactional,
)

scratch = MetaData()
counter = Table(
    "test_counter", scratch, Column("id", Integer, primary_key=True), Column("n", Integer)
)
stamps = Table(
    "test_stamp", scratch, Column("id", Integer, primary_key=True), Column("at", UTCDateTime)
)


@pytest.fixture
def scratch_tables(any_engine):
    scratch.create_all(any_engine)
    with any_engine.begin() as connection:
        connection.execute(counter.insert(), [{"id": 1, "n": 0}, {"id": 2, "n": 0}])
    yield any_engine
    scratch.drop_all(any_engine)


@transactional
def _increment_slowly(uow: UnitOfWork, row_id: int) -> None:
    # Read, pause, write: the lost-update pattern, safe only if writers are serialised.
    statement = lock_for_update(select(counter.c.n).where(counter.c.id == row_id), uow)
    current = uow.session.execute(statement).scalar_one()
    time.sleep(0.005)
    uow.session.execute(update(counter).where(counter.c.id == row_id).values(n=current + 1))


@read_only
def _read(uow: UnitOfWork, row_id: int) -> int:
    return uow.session.execute(select(counter.c.n).where(counter.c.id == row_id)).scalar_one()


def test_concurrent_read_modify_write_loses_no_update(scratch_tables):
    engine = scratch_tables
    workers = [
        threading.Thread(target=_increment_slowly, args=(UnitOfWork(engine), 1)) for _ in range(20)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert _read(UnitOfWork(engine), 1) == 20


@transactional
def _write_then_fail(uow: UnitOfWork) -> None:
    uow.session.execute(update(counter).where(counter.c.id == 1).values(n=99))
    raise ValueError("use case refused halfway")


def test_a_failing_use_case_writes_nothing(scratch_tables):
    with pytest.raises(ValueError):
        _write_then_fail(UnitOfWork(scratch_tables))
    assert _read(UnitOfWork(scratch_tables), 1) == 0


@transactional
def _composite(uow: UnitOfWork) -> None:
    _increment_slowly(uow, 1)
    _increment_slowly(uow, 2)
    raise ValueError("second half refused")


def test_nested_use_cases_join_the_outer_transaction(scratch_tables):
    with pytest.raises(ValueError):
        _composite(UnitOfWork(scratch_tables))
    assert _read(UnitOfWork(scratch_tables), 1) == 0
    assert _read(UnitOfWork(scratch_tables), 2) == 0


def test_services_cannot_run_outside_a_transaction(engine):
    with pytest.raises(RuntimeError, match="no transaction"):
        _ = UnitOfWork(engine).session


def test_instants_round_trip_as_aware_utc_from_any_zone(scratch_tables):
    beijing_evening = datetime(2026, 3, 2, 18, 30, tzinfo=timezone(timedelta(hours=8)))
    with scratch_tables.begin() as connection:
        connection.execute(stamps.insert(), {"id": 1, "at": beijing_evening})
    with scratch_tables.connect() as connection:
        stored = connection.execute(select(stamps.c.at)).scalar_one()
    assert stored == beijing_evening
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored.hour == 10


def test_naive_instants_are_refused(scratch_tables):
    with pytest.raises(Exception, match="naive"), scratch_tables.begin() as connection:
        connection.execute(stamps.insert(), {"id": 2, "at": datetime(2026, 1, 1, 12)})


def test_deadlock_is_retried_until_both_use_cases_commit(pg_engine, caplog):
    """Two use cases lock the same two rows in opposite order; PostgreSQL kills one
    with SQLSTATE 40P01 and the unit of work re-runs it. How many times it takes
    depends on the machine's load; that both commit once, and that the retry is
    tallied as a deadlock, does not."""
    scratch.create_all(pg_engine)
    with pg_engine.begin() as connection:
        connection.execute(counter.insert(), [{"id": 1, "n": 0}, {"id": 2, "n": 0}])
    both_hold_first_lock = threading.Barrier(2, timeout=60)
    deadlocks_before = retried_conflicts()[DEADLOCK]
    attempts = {"a": 0, "b": 0}

    @transactional
    def move(uow: UnitOfWork, name: str, first: int, second: int) -> None:
        attempts[name] += 1
        uow.session.execute(update(counter).where(counter.c.id == first).values(n=counter.c.n + 1))
        if attempts[name] == 1:
            both_hold_first_lock.wait()
        uow.session.execute(update(counter).where(counter.c.id == second).values(n=counter.c.n + 1))

    errors: list[BaseException] = []

    def run(name: str, first: int, second: int) -> None:
        try:
            move(UnitOfWork(pg_engine), name, first, second)
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=("a", 1, 2)),
        threading.Thread(target=run, args=("b", 2, 1)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with pg_engine.connect() as connection:
        rows = dict(connection.execute(text("SELECT id, n FROM test_counter")).all())
    assert rows == {1: 2, 2: 2}  # each use case's two increments, committed once
    assert attempts["a"] + attempts["b"] > 2  # at least one ran again
    assert retried_conflicts()[DEADLOCK] > deadlocks_before
    assert any(
        r.levelname == "WARNING" and "SQLSTATE 40P01" in r.getMessage() for r in caplog.records
    )
    scratch.drop_all(pg_engine)


def test_a_non_transient_database_error_is_not_retried(scratch_tables):
    calls = []

    @transactional
    def broken(uow: UnitOfWork) -> None:
        calls.append(1)
        uow.session.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(DBAPIError):
        broken(UnitOfWork(scratch_tables))
    assert calls == [1]


def test_frozen_clock_is_what_services_see():
    from core import clock

    moment = datetime(2026, 5, 9, 1, 0, tzinfo=UTC)
    with clock.frozen(moment):
        assert clock.now() == moment
        assert clock.local(clock.now()).hour == 9
    assert clock.now() != moment


def _backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(engine, pid: int) -> None:
    """Kill a backend from another connection, as a server restart or a dropped link
    would, and wait until it is gone."""
    # Autocommit: inside one transaction PostgreSQL answers pg_stat_activity from the
    # snapshot of its first read, so a backend still exiting then never left it.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        deadline = time.monotonic() + 60  # a busy machine is slow, not stuck
        while time.monotonic() < deadline:
            alive = connection.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            ).scalar_one()
            if not alive:
                return
            time.sleep(0.01)
    raise AssertionError(f"backend {pid} is still there")


def test_a_pooled_connection_that_died_while_idle_is_replaced_before_use(pg_engine):
    url = pg_engine.url.render_as_string(hide_password=False)
    engine = make_engine(url, ping_after_idle_s=0.0)  # every reuse counts as idle
    try:
        first = _backend_pid(engine)
        _terminate(pg_engine, first)
        # The pooled connection is dead: the checkout's ping finds out and the pool
        # connects afresh, so the use case never sees it.
        assert _read_generation_count(UnitOfWork(engine)) >= 0
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()


def test_a_connection_used_moments_ago_is_not_pinged_and_a_dead_one_is_replaced_after(pg_engine):
    url = pg_engine.url.render_as_string(hide_password=False)
    engine = make_engine(url, ping_after_idle_s=3600.0)  # never idle long enough
    try:
        first = _backend_pid(engine)
        _terminate(pg_engine, first)
        # No ping for a connection used moments ago: the use that meets the dead one
        # fails (as a connection dying in use would), and the pool is renewed.
        with pytest.raises(DBAPIError) as failed:
            _read_generation_count(UnitOfWork(engine))
        assert failed.value.connection_invalidated
        assert _read_generation_count(UnitOfWork(engine)) >= 0
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()


@read_only
def _read_generation_count(uow: UnitOfWork) -> int:
    return uow.session.execute(text("SELECT count(*) FROM reference_generation")).scalar_one()
