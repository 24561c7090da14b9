"""live owners: the process that runs each live session's room, and the live processes

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_processes",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=96), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("live_sessions") as batch:
        batch.add_column(
            sa.Column("owner_process", sqlmodel.sql.sqltypes.AutoString(length=96), nullable=True)
        )
        batch.create_index("ix_live_sessions_owner_process", ["owner_process"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("live_sessions") as batch:
        batch.drop_index("ix_live_sessions_owner_process")
        batch.drop_column("owner_process")
    op.drop_table("live_processes")
