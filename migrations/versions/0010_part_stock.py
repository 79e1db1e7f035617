"""part stock: every bucket of a (depot, part) side by side, for lists that scale;
ledger indexes for a depot's or a part's entries newest first

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 05:00:00

``part_stock`` is the balance rows pivoted, one row per (depot, part). The ledger's
posting keeps it from now on; this revision fills it from the balances as they
are. ``ix_ledger_entry_part`` (part number) gives way to (part number, id), which
answers the same lookups and also the newest entries of a part without a sort.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUCKETS = ("good", "defective", "in_repair", "quarantine", "in_transit")


def upgrade() -> None:
    op.create_table(
        "part_stock",
        sa.Column("depot_code", sa.String(length=4), nullable=False),
        sa.Column("part_number", sa.String(length=40), nullable=False),
        sa.Column("good", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("defective", sa.Integer(), nullable=False),
        sa.Column("in_repair", sa.Integer(), nullable=False),
        sa.Column("quarantine", sa.Integer(), nullable=False),
        sa.Column("in_transit", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["depot_code"], ["depot.code"], name=op.f("fk_part_stock_depot_code_depot")
        ),
        sa.ForeignKeyConstraint(
            ["part_number"], ["part.part_number"], name=op.f("fk_part_stock_part_number_part")
        ),
        sa.PrimaryKeyConstraint("depot_code", "part_number", name=op.f("pk_part_stock")),
    )
    with op.batch_alter_table("part_stock", schema=None) as batch_op:
        batch_op.create_index(
            "ix_part_stock_part_depot", ["part_number", "depot_code"], unique=False
        )
    pivot = ", ".join(
        f"COALESCE(SUM(CASE WHEN bucket = '{bucket}' THEN on_hand ELSE 0 END), 0)"
        for bucket in BUCKETS
    )
    op.execute(
        "INSERT INTO part_stock (depot_code, part_number, good, defective, in_repair, "
        "quarantine, in_transit, reserved, units) "
        f"SELECT depot_code, part_number, {pivot}, "
        "COALESCE(SUM(CASE WHEN bucket = 'good' THEN reserved ELSE 0 END), 0), "
        "COALESCE(SUM(on_hand), 0) "
        "FROM stock_balance GROUP BY depot_code, part_number"
    )
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entry_part")
        batch_op.create_index("ix_ledger_entry_part_id", ["part_number", "id"], unique=False)
        batch_op.create_index("ix_ledger_entry_depot_id", ["depot_code", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entry_depot_id")
        batch_op.drop_index("ix_ledger_entry_part_id")
        batch_op.create_index("ix_ledger_entry_part", ["part_number"], unique=False)
    with op.batch_alter_table("part_stock", schema=None) as batch_op:
        batch_op.drop_index("ix_part_stock_part_depot")
    op.drop_table("part_stock")
