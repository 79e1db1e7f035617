"""ship by: the last collection that still makes a promised pick-up

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 06:00:00

A case allocated at 13:02 was quoted to leave at 13:02; it was judged late at 13:03
and promised again every minute until it shipped. ``rma.ship_by`` holds the instant
the lapse rule judges: the cut-off of the pick-up window the departure falls in.
Open cases allocated before this revision keep their departure as their ship-by.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rma", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ship_by", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE rma SET ship_by = ships_at WHERE ships_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("rma", schema=None) as batch_op:
        batch_op.drop_column("ship_by")
