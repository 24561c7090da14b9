"""office setup: departments and memberships, office profile, calendar days, matter versions

Revision ID: 0014
Revises: 0012
Create Date: 2026-11-30 15:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Text = sqlmodel.sql.sqltypes.AutoString
When = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", Text(length=32), nullable=False),
        sa.Column("name_zh", Text(length=200), nullable=False),
        sa.Column("name_en", Text(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", When(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "staff_departments",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"]),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.PrimaryKeyConstraint("user_id", "department_id"),
    )
    op.create_index(
        op.f("ix_staff_departments_department_id"), "staff_departments", ["department_id"]
    )
    op.create_table(
        "matter_settings",
        sa.Column("matter_code", Text(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", When(), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.PrimaryKeyConstraint("matter_code"),
    )
    op.create_index(op.f("ix_matter_settings_department_id"), "matter_settings", ["department_id"])
    op.create_table(
        "matter_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("matter_code", Text(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("time_limit_working_days", sa.Integer(), nullable=False),
        sa.Column("materials", sa.JSON(), nullable=False),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("note", Text(length=500), nullable=False),
        sa.Column("created_at", When(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["staff_users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("matter_code", "version"),
    )
    op.create_table(
        "office_profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", Text(length=200), nullable=False),
        sa.Column("street", Text(length=200), nullable=False),
        sa.Column("city", Text(length=100), nullable=False),
        sa.Column("state", Text(length=100), nullable=False),
        sa.Column("zip", Text(length=10), nullable=False),
        sa.Column("country", Text(length=2), nullable=False),
        sa.Column("phone", Text(length=40), nullable=False),
        sa.Column("updated_at", When(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["updated_by"], ["staff_users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", Text(length=16), nullable=False),
        sa.Column("name", Text(length=100), nullable=False),
        sa.Column("source", Text(length=32), nullable=False),
        sa.Column("updated_at", When(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "admin_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", When(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", Text(length=200), nullable=False),
        sa.Column("kind", Text(length=64), nullable=False),
        sa.Column("subject", Text(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_admin_events_at"), "admin_events", ["at"])
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("matter_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("time_limit_working_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("time_limit_working_days")
        batch_op.drop_column("matter_version")
    op.drop_index(op.f("ix_admin_events_at"), table_name="admin_events")
    op.drop_table("admin_events")
    op.drop_table("calendar_days")
    op.drop_table("office_profile")
    op.drop_table("matter_versions")
    op.drop_index(op.f("ix_matter_settings_department_id"), table_name="matter_settings")
    op.drop_table("matter_settings")
    op.drop_index(op.f("ix_staff_departments_department_id"), table_name="staff_departments")
    op.drop_table("staff_departments")
    op.drop_table("departments")
