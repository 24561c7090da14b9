"""evidence binding: live-session nonces, nonce claims, verdict overrides

Revision ID: 0009
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("capture_nonces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("live_session_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("claimed_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("claimed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("verdict_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("overrides", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("verdict_records", schema=None) as batch_op:
        batch_op.drop_column("overrides")
    with op.batch_alter_table("capture_nonces", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claimed_sha256")
        batch_op.drop_column("live_session_id")
