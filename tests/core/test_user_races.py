"""Two administrators removing each other at the same moment must not leave the
system without one: the use cases lock the acting user, the target and every
active administrator in one sorted statement (``core.users``)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from core import users
from core.auth import Actor
from core.db import UnitOfWork
from core.errors import DomainError, Forbidden
from tests.conftest import assert_books_balance
from tests.pg_locks import WAIT_FOR_LOCK_S, wait_until_someone_waits_for_a_lock


def _active_admins(engine) -> list[str]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                text("SELECT username FROM app_user WHERE role = 'admin' AND active ORDER BY 1")
            ).scalars()
        )


def test_two_administrators_deactivating_each_other_leave_one(pg_engine, make_user_on, request):
    first: Actor = make_user_on(pg_engine, "admin", "admin-one")
    second: Actor = make_user_on(pg_engine, "admin", "admin-two")
    outcome: dict[str, object] = {}

    def second_removes_first() -> None:
        try:
            outcome["revoked"] = users.deactivate(UnitOfWork(pg_engine), second, first.username)
        except DomainError as error:
            outcome["error"] = error

    unit = UnitOfWork(pg_engine)
    with unit.transaction():
        users.deactivate(unit, first, second.username)
        racer = threading.Thread(target=second_removes_first)
        racer.start()
        # The second request must queue behind the first one's locks, not read
        # the first one's administrators as they were before it commits.
        wait_until_someone_waits_for_a_lock(pg_engine, "the second administrator's request")
    racer.join(timeout=WAIT_FOR_LOCK_S)
    assert not racer.is_alive()

    assert isinstance(outcome.get("error"), Forbidden)
    assert _active_admins(pg_engine) == ["admin-one"]
    assert_books_balance(request, pg_engine)


@pytest.fixture
def make_user_on():
    from core import auth
    from tests.conftest import TEST_PASSWORD

    def factory(engine, role: str, username: str) -> Actor:
        return auth.create_user(
            UnitOfWork(engine), username, TEST_PASSWORD, role, full_name=username
        )

    return factory
