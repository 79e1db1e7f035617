"""seams between workflows: plan basis, original promise, at-risk reason, extra units'
decisions, units sent back

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_LOCATIONS = "location IN ('depot', 'in_transit', 'customer', 'repair', 'scrapped', 'missing')"
NEW_LOCATIONS = (
    "location IN ('depot', 'in_transit', 'customer', 'repair', 'scrapped', 'missing', "
    "'sent_back')"
)


def upgrade() -> None:
    with op.batch_alter_table("rebalance_plan", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("basis", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    with op.batch_alter_table("rma", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("original_promised_delivery", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "at_risk_reason",
                sqlmodel.sql.sqltypes.AutoString(length=200),
                nullable=False,
                server_default="",
            )
        )
    op.execute(
        "UPDATE rma SET original_promised_delivery = promised_delivery "
        "WHERE promised_delivery IS NOT NULL"
    )
    with op.batch_alter_table("rma", schema=None) as batch_op:
        batch_op.alter_column("at_risk_reason", server_default=None)
    with op.batch_alter_table("transfer_discrepancy", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("resolution", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )
        batch_op.add_column(
            sa.Column("resolved_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_transfer_discrepancy_resolution_known"),
            "resolution IS NULL OR resolution IN ('accepted', 'sent_back')",
        )
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_unit_location_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_unit_location_known"), NEW_LOCATIONS)


def downgrade() -> None:
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_unit_location_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_unit_location_known"), OLD_LOCATIONS)
    with op.batch_alter_table("transfer_discrepancy", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_transfer_discrepancy_resolution_known"), type_="check")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("resolved_by")
        batch_op.drop_column("resolution")
    with op.batch_alter_table("rma", schema=None) as batch_op:
        batch_op.drop_column("at_risk_reason")
        batch_op.drop_column("original_promised_delivery")
    with op.batch_alter_table("rebalance_plan", schema=None) as batch_op:
        batch_op.drop_column("basis")
