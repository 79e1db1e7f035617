"""reference generation: per-process caches of reference data, right across processes

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 05:35:00

Each row counts the committed changes of one kind of reference data (``network``:
depots, cities, lanes, calendars), bumped in the same transaction as the change
(``core.generations``). App servers keep those data in memory and read only this
small table per transaction to know whether what they keep is still current.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reference_generation",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_reference_generation")),
    )


def downgrade() -> None:
    op.drop_table("reference_generation")
