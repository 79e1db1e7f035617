"""daily work: user language, bins, partially received transfers, decisions on
shortfalls, acknowledgement notes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 02:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_TRANSFER = "status IN ('draft', 'shipped', 'received', 'cancelled')"
NEW_TRANSFER = "status IN ('draft', 'shipped', 'partially_received', 'received', 'cancelled')"
OLD_RESOLUTION = "resolution IS NULL OR resolution IN ('accepted', 'sent_back')"
NEW_RESOLUTION = (
    "resolution IS NULL OR resolution IN ('accepted', 'sent_back', 'arrived', 'written_off')"
)


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("bin", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True)
        )
    op.create_table(
        "stock_bin",
        sa.Column("depot_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("part_number", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("bin", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["depot_code"], ["depot.code"], name=op.f("fk_stock_bin_depot_code_depot")
        ),
        sa.ForeignKeyConstraint(
            ["part_number"], ["part.part_number"], name=op.f("fk_stock_bin_part_number_part")
        ),
        sa.PrimaryKeyConstraint("depot_code", "part_number", name=op.f("pk_stock_bin")),
    )
    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_transfer_status_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_transfer_status_known"), NEW_TRANSFER)
    with op.batch_alter_table("transfer_discrepancy", schema=None) as batch_op:
        batch_op.alter_column(
            "resolution",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=10),
            type_=sqlmodel.sql.sqltypes.AutoString(length=12),
            existing_nullable=True,
        )
        batch_op.add_column(
            sa.Column(
                "resolution_note",
                sqlmodel.sql.sqltypes.AutoString(length=300),
                nullable=False,
                server_default="",
            )
        )
        batch_op.drop_constraint(op.f("ck_transfer_discrepancy_resolution_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_transfer_discrepancy_resolution_known"), NEW_RESOLUTION
        )
    with op.batch_alter_table("transfer_discrepancy", schema=None) as batch_op:
        batch_op.alter_column("resolution_note", server_default=None)
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "acknowledge_note",
                sqlmodel.sql.sqltypes.AutoString(length=500),
                nullable=False,
                server_default="",
            )
        )
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.alter_column("acknowledge_note", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_column("acknowledge_note")
    with op.batch_alter_table("transfer_discrepancy", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_transfer_discrepancy_resolution_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_transfer_discrepancy_resolution_known"), OLD_RESOLUTION
        )
        batch_op.drop_column("resolution_note")
        batch_op.alter_column(
            "resolution",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=12),
            type_=sqlmodel.sql.sqltypes.AutoString(length=10),
            existing_nullable=True,
        )
    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_transfer_status_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_transfer_status_known"), OLD_TRANSFER)
    op.drop_table("stock_bin")
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_column("bin")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("language")
