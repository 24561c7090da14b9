"""dashboard month rollup: per month, matter, withdrawn and handling days, the sums of the
facts rows, filled from the existing facts rows

Revision ID: 0020
Revises: 0021
Create Date: 2026-11-30 19:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Text = sqlmodel.sql.sqltypes.AutoString

SUMS = (
    "cases",
    "no_visit",
    "within_limit",
    "limit_days",
    "photo",
    "live",
    "live_sessions",
    "live_centiminutes",
    "courier_orders",
    "deliveries",
    "delivery_millidays",
)


def upgrade() -> None:
    op.create_table(
        "dashboard_month_rollup",
        sa.Column("month", Text(length=7), nullable=False),
        sa.Column("matter_code", Text(length=64), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("handling_days", sa.Integer(), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in SUMS),
        sa.PrimaryKeyConstraint("month", "matter_code", "withdrawn", "handling_days"),
    )
    # Backfill: the same GROUP BY the application runs for ``zerotrip dashboard rebuild``
    # (zerotrip.dashboard.rollup), written out here so the migration does not move with the code.
    op.execute(
        """
        INSERT INTO dashboard_month_rollup (month, matter_code, withdrawn, handling_days,
            cases, no_visit, within_limit, limit_days, photo, live, live_sessions,
            live_centiminutes, courier_orders, deliveries, delivery_millidays)
        SELECT closed_month, matter_code,
            CASE WHEN outcome = 'withdrawn' THEN true ELSE false END,
            COALESCE(handling_days, -1),
            count(*),
            COALESCE(sum(CASE WHEN visit = false THEN 1 ELSE 0 END), 0),
            COALESCE(sum(CASE WHEN handling_days IS NOT NULL AND within_limit = true
                THEN 1 ELSE 0 END), 0),
            COALESCE(sum(CASE WHEN handling_days IS NOT NULL THEN limit_days ELSE 0 END), 0),
            COALESCE(sum(CASE WHEN inspection_mode = 'photo' THEN 1 ELSE 0 END), 0),
            COALESCE(sum(CASE WHEN inspection_mode = 'live' THEN 1 ELSE 0 END), 0),
            COALESCE(sum(live_sessions), 0),
            COALESCE(sum(CAST(round(live_minutes * 100) AS BIGINT)), 0),
            COALESCE(sum(courier_orders), 0),
            count(delivery_days),
            COALESCE(sum(CAST(round(delivery_days * 1000) AS BIGINT)), 0)
        FROM case_metrics
        GROUP BY closed_month, matter_code,
            CASE WHEN outcome = 'withdrawn' THEN true ELSE false END,
            COALESCE(handling_days, -1)
        """
    )


def downgrade() -> None:
    op.drop_table("dashboard_month_rollup")
