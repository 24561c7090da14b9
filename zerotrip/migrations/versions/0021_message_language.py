"""message language: the applicant's language on the case, and each message's language with
its text in every language (staff read it in theirs; the applicant gets it in their own)

Revision ID: 0021
Revises: 0013
Create Date: 2026-11-30 18:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Text = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", Text(length=8), nullable=False, server_default="zh")
        )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", Text(length=8), nullable=False, server_default="zh")
        )
        batch_op.add_column(sa.Column("texts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("texts")
        batch_op.drop_column("language")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("language")
