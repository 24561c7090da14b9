"""mailing: our intent and each call's outcome, kept apart from the courier's reports

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Text = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("courier_orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("intent", Text(length=8), nullable=False, server_default="book")
        )
        batch_op.add_column(
            sa.Column("intent_by", Text(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("booking", Text(length=12), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("booking_sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("unknown_since", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("absent_checks", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("steps", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("cancelling", Text(length=12), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("courier_status", Text(length=24), nullable=False, server_default="")
        )
    # Orders booked before this revision: the courier's answer was recorded.
    op.execute("UPDATE courier_orders SET booking = 'confirmed' WHERE remote_id IS NOT NULL")
    op.execute("UPDATE courier_orders SET intent = 'cancel' WHERE status = 'cancelled'")


def downgrade() -> None:
    with op.batch_alter_table("courier_orders", schema=None) as batch_op:
        for name in (
            "courier_status",
            "cancelling",
            "steps",
            "absent_checks",
            "unknown_since",
            "booking_sent_at",
            "booking",
            "intent_by",
            "intent",
        ):
            batch_op.drop_column(name)
