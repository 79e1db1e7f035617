"""Alembic environment: the models' metadata, SQLite batch mode, named constraints."""

from __future__ import annotations

import importlib

from alembic import context
from sqlmodel import SQLModel

from core.db import UTCDateTime, make_engine

# Importing a models module registers its tables on the shared metadata.
FOUNDATION_MODELS = ("core.auth", "depots.models")
ALL_MODELS = (*FOUNDATION_MODELS, "core.idempotency", "inventory.models", "rma.models")

config = context.config
# `-x scope=foundation` (tools/regen-foundation-migration.sh) compares against the
# foundation tables only, so later migrations keep their own tables.
scope = context.get_x_argument(as_dictionary=True).get("scope")
for module in FOUNDATION_MODELS if scope == "foundation" else ALL_MODELS:
    importlib.import_module(module)
target_metadata = SQLModel.metadata


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Write project column types as plain SQLAlchemy ones, so migrations never import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine(
        config.get_main_option("sqlalchemy.url") or ""
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
