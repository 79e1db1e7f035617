"""The `spares` command: users, demo data, migrations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect

from core import auth, schema
from core.db import UnitOfWork

SPARES = str(Path(sys.executable).parent / "spares")


def test_create_user_reads_the_password_from_stdin(app, engine):
    result = app.test_cli_runner().invoke(
        args=["create-user", "zhao", "--role", "depot_staff", "--depot", "WH", "--password-stdin"],
        input="a-long-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "created zhao (depot_staff at WH)" in result.output
    assert auth.authenticate(UnitOfWork(engine), "zhao", "a-long-password").depot_code == "WH"


def test_create_user_with_a_short_password_exits_2_with_one_line(app, engine):
    result = app.test_cli_runner().invoke(
        args=["create-user", "zhao", "--role", "planner", "--password-stdin"], input="short\n"
    )
    assert result.exit_code == 2
    assert result.output.strip() == "error: password must be at least 10 characters"
    assert auth.list_users(UnitOfWork(engine)) == []


def test_create_user_twice_exits_4(app):
    runner = app.test_cli_runner()
    args = ["create-user", "zhao", "--role", "planner", "--password-stdin"]
    assert runner.invoke(args=args, input="a-long-password\n").exit_code == 0
    again = runner.invoke(args=args, input="a-long-password\n")
    assert again.exit_code == 4
    assert "already exists" in again.output


def test_demo_loads_once_and_refuses_a_second_time(app, engine):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    usernames = {actor.username for actor in auth.list_users(UnitOfWork(engine))}
    expected = {"admin", "planner", "engineer", "supervisor"} | {
        f"staff-{code}" for code in ("bj", "sh", "gz", "cd", "wh", "xa", "sy", "jn")
    }
    assert expected <= usernames
    assert auth.authenticate(UnitOfWork(engine), "staff-xa", "spares-demo").depot_code == "XA"
    from sqlalchemy import text

    from inventory.service.ledger import check_books

    assert check_books(UnitOfWork(engine)) == []
    with engine.connect() as connection:
        states = set(connection.execute(text("SELECT DISTINCT status FROM rma")).scalars())
        cities_without_site = connection.execute(
            text("SELECT count(*) FROM city WHERE id NOT IN (SELECT city_id FROM site)")
        ).scalar()
        parts = connection.execute(text("SELECT count(*) FROM part")).scalar()
    assert states >= {
        "requested",
        "approved",
        "allocated",
        "shipped",
        "delivered",
        "defective_received",
        "received",
        "in_repair",
        "repaired",
        "returned",
        "back",
        "closed",
        "cancelled",
    }
    assert cities_without_site == 0
    assert 280 <= parts <= 340
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 4
    assert runner.invoke(args=["demo", "--if-empty"]).exit_code == 0


def test_migrations_go_down_to_nothing_and_up_again(any_engine):
    schema.downgrade(any_engine, "base")
    assert set(inspect(any_engine).get_table_names()) <= {"alembic_version"}
    schema.upgrade(any_engine)
    assert {"app_user", "depot", "lane", "calendar"} <= set(inspect(any_engine).get_table_names())


def test_db_upgrade_and_demo_work_on_an_empty_database_named_by_database_url(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
        "SPARES_INSTANCE": str(tmp_path),
    }
    for args in (["db", "upgrade"], ["demo"], ["users"]):
        done = subprocess.run([SPARES, *args], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    assert "staff-jn" in done.stdout
