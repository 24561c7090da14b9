"""cases: premises datum, delivery address; outstanding (容缺) materials handed in

Revision ID: 0013
Revises: 0016
Create Date: 2026-11-30 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Text = sqlmodel.sql.sqltypes.AutoString
When = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("premises_datum", Text(length=8), nullable=False, server_default="wgs84")
        )
        batch_op.add_column(sa.Column("premises_input", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("delivery_address", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("delivery_confirmed_at", When(), nullable=True))
    op.create_table(
        "material_hand_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("material_code", Text(length=64), nullable=False),
        sa.Column("method", Text(length=8), nullable=False),
        sa.Column("state", Text(length=12), nullable=False),
        sa.Column("sha256", Text(length=64), nullable=True),
        sa.Column("media_type", Text(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("filename", Text(length=200), nullable=False),
        sa.Column("submitted_at", When(), nullable=False),
        sa.Column("decided_at", When(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("reason", Text(length=1000), nullable=False),
        sa.Column("reminded_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["decided_by"], ["staff_users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_material_hand_ins_case", "material_hand_ins", ["case_id", "material_code"])


def downgrade() -> None:
    op.drop_index("ix_material_hand_ins_case", table_name="material_hand_ins")
    op.drop_table("material_hand_ins")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        for name in (
            "delivery_confirmed_at",
            "delivery_address",
            "premises_input",
            "premises_datum",
        ):
            batch_op.drop_column(name)
