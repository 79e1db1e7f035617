"""sessions: browser sessions kept on the server (web_session), so that signing out,
deactivation and a password change end them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 10:00:00

Sessions signed in before this revision lived only in signed cookies; they carry
no server-side token, so they end with this upgrade and their users sign in again.

Also widens ``transfer.status`` to 20 characters: 0006 allowed the status
``partially_received`` (18) in a column of 10, which PostgreSQL refuses (SQLite
does not check lengths), so a partial receipt failed there.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _status_length(old: int, new: int) -> None:
    """``transfer.status`` from VARCHAR(old) to VARCHAR(new).

    PostgreSQL alters the column. SQLite cannot, and rebuilding ``transfer`` (batch
    mode: copy, drop, rename) fails its foreign-key check as soon as transfer lines
    exist, because ``foreign_keys`` cannot be switched off inside the migration's
    transaction. SQLite stores the declared length as text and never checks it, so
    the declaration is rewritten in place: SQLite's documented procedure for schema
    changes that leave the stored rows as they are (writable_schema, then a new
    schema_version so every connection reads the schema again).
    """
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.alter_column(
            "transfer", "status", existing_type=sa.String(length=old), type_=sa.String(length=new)
        )
        return
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'transfer'",
        (f"status VARCHAR({old}) NOT NULL", f"status VARCHAR({new}) NOT NULL"),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "end_reason IS NULL OR end_reason IN "
            "('logout', 'deactivated', 'password', 'ended_elsewhere')",
            name=op.f("ck_web_session_end_reason_known"),
        ),
        sa.CheckConstraint(
            "(ended_at IS NULL) = (end_reason IS NULL)",
            name=op.f("ck_web_session_ended_with_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_web_session_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_session_token_hash")),
    )
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_session_user_id"), ["user_id"], unique=False)
    _status_length(10, 20)


def downgrade() -> None:
    _status_length(20, 10)
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_session_user_id"))
    op.drop_table("web_session")
