"""`spares user ...`: the terminal's user management (the operator acts as the
system actor), one line and an exit code on a refusal, English whatever the locale."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from core import auth
from core.db import UnitOfWork
from core.errors import Unauthorized
from tests.conftest import TEST_PASSWORD, bearer


def _state(engine, username: str) -> tuple[str, str | None, bool]:
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT role, depot_code, active FROM app_user WHERE username = :name"),
            {"name": username},
        ).one()
    return row.role, row.depot_code, bool(row.active)


def test_deactivate_revokes_tokens_and_reactivate_lets_the_user_back(
    app, client, engine, make_user
):
    person = make_user("engineer")
    token = client.post(
        "/api/v1/auth/token", json={"username": person.username, "password": TEST_PASSWORD}
    ).get_json()["token"]
    runner = app.test_cli_runner()

    result = runner.invoke(args=["user", "deactivate", person.username])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{person.username} deactivated; 1 live API token(s) revoked"
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    with pytest.raises(Unauthorized):
        auth.authenticate(UnitOfWork(engine), person.username, TEST_PASSWORD)
    listing = runner.invoke(args=["users"]).output
    assert any(
        line.startswith(person.username) and line.endswith("inactive")
        for line in listing.splitlines()
    )

    result = runner.invoke(args=["user", "reactivate", person.username])
    assert result.exit_code == 0 and "can sign in again" in result.output
    assert auth.authenticate(UnitOfWork(engine), person.username, TEST_PASSWORD)


def test_set_role_moves_a_user_and_refuses_a_depot_for_other_roles(app, engine, make_user):
    person = make_user("engineer")
    runner = app.test_cli_runner()
    moved = runner.invoke(
        args=["user", "set-role", person.username, "--role", "depot_staff", "--depot", "jn"]
    )
    assert moved.exit_code == 0, moved.output
    assert moved.output.strip() == f"{person.username} is now depot_staff at JN"
    assert _state(engine, person.username) == ("depot_staff", "JN", True)

    refused = runner.invoke(
        args=["user", "set-role", person.username, "--role", "planner", "--depot", "BJ"]
    )
    assert refused.exit_code == 2
    assert refused.output.strip() == "error: only depot staff are bound to a depot"
    assert _state(engine, person.username) == ("depot_staff", "JN", True)


def test_reset_password_reads_stdin(app, engine, make_user):
    person = make_user("supervisor")
    runner = app.test_cli_runner()
    short = runner.invoke(
        args=["user", "reset-password", person.username, "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 2
    assert short.output.strip() == "error: password must be at least 10 characters"
    done = runner.invoke(
        args=["user", "reset-password", person.username, "--password-stdin"],
        input="fresh-password-1\n",
    )
    assert done.exit_code == 0, done.output
    assert auth.authenticate(UnitOfWork(engine), person.username, "fresh-password-1")


def test_an_unknown_user_exits_3_with_one_line(app):
    result = app.test_cli_runner().invoke(args=["user", "deactivate", "nobody"])
    assert result.exit_code == 3
    assert result.output.strip() == "error: no user 'nobody'"


def test_the_last_active_administrator_stays(app, engine, make_user):
    admin = make_user("admin")
    runner = app.test_cli_runner()
    for args in (
        ["user", "deactivate", admin.username],
        ["user", "set-role", admin.username, "--role", "planner"],
    ):
        result = runner.invoke(args=args)
        assert result.exit_code == 4, result.output
        assert result.output.strip() == (
            f"error: {admin.username} is the last active administrator and must stay one."
        )
    assert _state(engine, admin.username) == ("admin", None, True)
    # With a second administrator, the first may go.
    make_user("admin")
    assert runner.invoke(args=["user", "deactivate", admin.username]).exit_code == 0
