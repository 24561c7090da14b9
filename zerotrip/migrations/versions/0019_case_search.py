"""cases: the case list's search index (gram table and normalised text), filled for old cases

Revision ID: 0019
Revises: 0013
Create Date: 2026-11-30 18:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from zerotrip.cases.search import SEARCHED, write_index

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Text = sqlmodel.sql.sqltypes.AutoString
BATCH = 1000


def upgrade() -> None:
    op.create_table(
        "case_search",
        sa.Column("case_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_table(
        "case_search_grams",
        sa.Column("gram", Text(length=2), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("gram", "case_id"),
    )
    op.create_index("ix_case_search_grams_case", "case_search_grams", ["case_id"], unique=False)
    # Existing cases, in batches of ids.
    conn = op.get_bind()
    cases = sa.table("cases", sa.column("id"), *(sa.column(k) for k in SEARCHED))
    after = 0
    while True:
        rows = (
            conn.execute(
                sa.select(cases).where(cases.c.id > after).order_by(cases.c.id).limit(BATCH)
            )
            .mappings()
            .all()
        )
        if not rows:
            break
        write_index(conn, rows)
        after = rows[-1]["id"]


def downgrade() -> None:
    op.drop_index("ix_case_search_grams_case", table_name="case_search_grams")
    op.drop_table("case_search_grams")
    op.drop_table("case_search")
