"""Waiting, in a test, until a PostgreSQL session queues behind a row lock.

Race tests hold a transaction open in one thread and start the competing use case
in another; they go on only once PostgreSQL reports that the competitor waits,
so the race is played in the intended order without sleeping a guessed time.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

WAIT_FOR_LOCK_S = 20.0


def wait_until_someone_waits_for_a_lock(engine: Engine, who: str) -> None:
    """Poll PostgreSQL until a session of this database waits on a lock; fail the test
    (naming ``who`` was expected to wait) after ``WAIT_FOR_LOCK_S``."""
    deadline = time.monotonic() + WAIT_FOR_LOCK_S
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            if waiting:
                return
            connection.rollback()
            time.sleep(0.02)
    pytest.fail(f"{who} never waited for the other transaction's locks")
