"""The `spares` command: the Flask CLI plus the project's own commands.

Domain packages add their commands in ``create_app``; every command turns a
domain error into one readable line on stderr and a distinct exit code.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext
from sqlalchemy.exc import OperationalError, ProgrammingError

from core import auth, backup, schema
from core import users as user_admin
from core.errors import DomainError, cli_line
from core.web import ENGINE_KEY, SETTINGS_KEY, uow

SEEDERS_KEY = "spares.seeders"
DEMO_KEY = "spares.demo"
# The application factory, registered by the composition root (``app.py``): the
# server builds one app per worker with it, and core never imports the root.
FACTORY_KEY = "spares.factory"


class SparesGroup(FlaskGroup):
    """Flask's CLI group, plus one readable line when the database is unusable, and
    a development server (`run`) that logs like `spares serve`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from core.observability import logged_run_command

        self.add_command(logged_run_command())

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (OperationalError, ProgrammingError) as error:
            text = str(error.orig)
            if "no such table" in text or "does not exist" in text:
                message = "the database has no schema yet; run `spares db upgrade`"
                click.echo(f"error: {message}", err=True)
            else:
                click.echo(f"error: database unavailable: {text.splitlines()[0]}", err=True)
            sys.exit(1)


def domain_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Answer a domain error with one line and its exit code, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DomainError as error:
            click.echo(cli_line(error), err=True)
            sys.exit(error.exit_code)

    return wrapper


def register_core_commands(app: Any) -> None:
    app.extensions.setdefault(SEEDERS_KEY, [])
    app.extensions.setdefault(DEMO_KEY, [])
    for command in (db, create_user, users, user, demo, serve, backup_command, restore_command):
        app.cli.add_command(command)


@click.group(cls=AppGroup)
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the schema to the newest revision and add missing reference data."""
    engine = current_app.extensions[ENGINE_KEY]
    schema.upgrade(engine, revision)
    if revision == "head":
        for seed in current_app.extensions[SEEDERS_KEY]:
            seed(uow())
    click.echo(f"database at {schema.current_revision(engine)} ({engine.url.get_backend_name()})")


@db.command("current")
def db_current() -> None:
    """Print the schema revision the database is at."""
    click.echo(schema.current_revision(current_app.extensions[ENGINE_KEY]) or "empty")


@click.command("backup")
@with_appcontext
@click.argument("file", type=click.Path(path_type=Path))
@domain_errors
def backup_command(file: Path) -> None:
    """Back up every table to FILE from one consistent snapshot, while the app runs
    (a portable file: it restores into SQLite or PostgreSQL)."""
    click.echo(backup.backup(current_app.extensions[ENGINE_KEY], file).summary())


@click.command("restore")
@with_appcontext
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace everything in a database that is not empty.")
@domain_errors
def restore_command(file: Path, force: bool) -> None:
    """Restore the backup FILE into the empty database of DATABASE_URL, all or nothing."""
    report = backup.restore(current_app.extensions[ENGINE_KEY], file, force=force)
    click.echo(report.summary())


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(auth.ROLE_NAMES))
@click.option("--depot", "depot_code", help="Depot code, for depot staff only.")
@click.option("--full-name", default="")
@click.option("--email", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@domain_errors
def create_user(
    username: str,
    role: str,
    depot_code: str | None,
    full_name: str,
    email: str | None,
    password_stdin: bool,
) -> None:
    """Create a user; the password is prompted for (or read from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = current_app.extensions[SETTINGS_KEY]
    actor = auth.create_user(
        uow(),
        username,
        password,
        role,
        depot_code=depot_code,
        full_name=full_name,
        email=email,
        min_password_length=settings.min_password_length,
    )
    where = f" at {actor.depot_code}" if actor.depot_code else ""
    click.echo(f"created {actor.username} ({actor.role}{where})")


@click.command("users")
@with_appcontext
def users() -> None:
    """List users (deactivated ones are marked)."""
    for row in user_admin.all_users(uow()):
        state = "" if row.active else "inactive"
        click.echo(f"{row.username:20} {row.role:12} {row.depot_code or '':5} {state}".rstrip())


@click.group("user", cls=AppGroup)
def user() -> None:
    """Manage one user: role, deactivate, reactivate, reset the password."""


@user.command("set-role")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(auth.ROLE_NAMES))
@click.option("--depot", "depot_code", help="Depot code, for depot staff only.")
@domain_errors
def user_set_role(username: str, role: str, depot_code: str | None) -> None:
    """Give USERNAME another role (and depot, for depot staff)."""
    changed = user_admin.set_role(uow(), auth.system_actor(), username, role, depot_code)
    where = f" at {changed.depot_code}" if changed.depot_code else ""
    click.echo(f"{changed.username} is now {changed.role}{where}")


@user.command("deactivate")
@click.argument("username")
@domain_errors
def user_deactivate(username: str) -> None:
    """Deactivate USERNAME: signed out everywhere, API tokens revoked, no sign-in."""
    revoked = user_admin.deactivate(uow(), auth.system_actor(), username)
    click.echo(f"{username} deactivated; {revoked} live API token(s) revoked")


@user.command("reactivate")
@click.argument("username")
@domain_errors
def user_reactivate(username: str) -> None:
    """Let USERNAME sign in again."""
    user_admin.reactivate(uow(), auth.system_actor(), username)
    click.echo(f"{username} can sign in again")


@user.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@domain_errors
def user_reset_password(username: str, password_stdin: bool) -> None:
    """Set a new password for USERNAME (prompted for, or read from stdin) and revoke
    their API tokens."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    settings = current_app.extensions[SETTINGS_KEY]
    revoked = user_admin.reset_password(
        uow(),
        auth.system_actor(),
        username,
        password,
        min_password_length=settings.min_password_length,
    )
    click.echo(f"new password set for {username}; {revoked} live API token(s) revoked")


@click.command("demo")
@with_appcontext
@click.option("--seed", default=20261126, show_default=True, help="Random seed.")
@click.option("--if-empty", is_flag=True, help="Do nothing when users already exist.")
@domain_errors
def demo(seed: int, if_empty: bool) -> None:
    """Load the deterministic demo data set into an empty, migrated database."""
    from core.demo import load_demo

    report = load_demo(uow(), current_app.extensions[DEMO_KEY], seed=seed, if_empty=if_empty)
    click.echo(report)


@click.command("serve")
@click.option(
    "--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="127.0.0.1"
)
@click.option(
    "--port",
    default=lambda: int(os.environ.get("PORT", "5000")),
    type=int,
    show_default="$PORT or 5000",
)
@click.option("--workers", default=1, type=click.IntRange(1, 64), show_default=True)
@click.option("--timeout", default=60, type=int, show_default=True)
@with_appcontext
def serve(host: str, port: int, workers: int, timeout: int) -> None:
    """Serve the app with gunicorn (several workers share limits through Redis)."""
    from core.server import run_gunicorn

    factory = current_app.extensions[FACTORY_KEY]
    run_gunicorn(factory, host=host, port=port, workers=workers, timeout=timeout)
