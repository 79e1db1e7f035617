"""rebalance plan inputs mark: a cheap signal that a proposed plan's inputs have not
changed, so its page need not read every balance to tell it is not stale

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 10:30:00

Plans made before this revision have no mark (NULL): their staleness is told by the
exact check of their ``basis``, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("rebalance_plan", sa.Column("inputs_mark", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # In place (both ways), not in batch mode: on SQLite a batch copies the table and
    # drops the old one, which the moves refer to (refused once plans have moves).
    # SQLite drops a column in place since 3.35.
    op.drop_column("rebalance_plan", "inputs_mark")
