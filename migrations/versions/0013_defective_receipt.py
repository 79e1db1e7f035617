"""defective receipt: the finding on receipt of a defective unit and how it left
defective stock, for the repair yield and the no-fault-found rate

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 07:20:00

One row per defective unit received from a customer into a depot's defective stock:
the finding recorded on receipt (fault confirmed, no fault found, or not given) and,
once it leaves defective stock, the outcome (repaired, no fault found, scrapped).
Units received before this revision have no row; the yield counts only what it saw.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "defective_receipt",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("depot_code", sa.String(length=4), nullable=False),
        sa.Column("part_number", sa.String(length=40), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=True),
        sa.Column("reference", sa.String(length=60), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finding", sa.String(length=16), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "finding IS NULL OR finding IN ('fault_confirmed', 'no_fault_found')",
            name=op.f("ck_defective_receipt_finding_known"),
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('repaired', 'no_fault_found', 'scrapped')",
            name=op.f("ck_defective_receipt_outcome_known"),
        ),
        sa.CheckConstraint(
            "(outcome IS NULL) = (outcome_at IS NULL)",
            name=op.f("ck_defective_receipt_outcome_dated"),
        ),
        sa.ForeignKeyConstraint(
            ["depot_code"], ["depot.code"], name=op.f("fk_defective_receipt_depot_code_depot")
        ),
        sa.ForeignKeyConstraint(
            ["part_number"],
            ["part.part_number"],
            name=op.f("fk_defective_receipt_part_number_part"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_defective_receipt")),
    )
    with op.batch_alter_table("defective_receipt", schema=None) as batch_op:
        batch_op.create_index(
            "ix_defective_receipt_open", ["depot_code", "part_number", "outcome"], unique=False
        )
        batch_op.create_index("ix_defective_receipt_received", ["received_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_defective_receipt_reference"), ["reference"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_defective_receipt_serial"), ["serial"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("defective_receipt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_defective_receipt_serial"))
        batch_op.drop_index(batch_op.f("ix_defective_receipt_reference"))
        batch_op.drop_index("ix_defective_receipt_received")
        batch_op.drop_index("ix_defective_receipt_open")
    op.drop_table("defective_receipt")
