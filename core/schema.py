"""Schema migrations (Alembic), run from code so `spares db upgrade` needs no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent

# Importing a models module registers its tables on the shared metadata; a new
# models module must be listed here for migrations (and their check) to see it.
MODEL_MODULES = (
    "core.auth",
    "core.sessions",
    "depots.models",
    "core.idempotency",
    "inventory.models",
    "rma.models",
    "search.models",
    "core.audit.models",
    "core.generations",
)


def load_models() -> None:
    """Import every models module, so ``SQLModel.metadata`` holds all tables."""
    import importlib

    for module in MODEL_MODULES:
        importlib.import_module(module)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest)."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
