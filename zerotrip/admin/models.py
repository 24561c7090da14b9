"""Tables an administrator edits from the pages; settings and the shipped catalogue stay the
defaults for whatever these leave unsaid."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class Department(SQLModel, table=True):
    """A unit of the service centre (市场监管, 卫健 …): it owns matters; staff belong to it."""

    __tablename__ = "departments"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name_zh: str = Field(max_length=200)
    name_en: str = Field(default="", max_length=200)
    active: bool = True
    created_at: datetime


class StaffDepartment(SQLModel, table=True):
    __tablename__ = "staff_departments"

    user_id: int = Field(foreign_key="staff_users.id", primary_key=True)
    department_id: int = Field(foreign_key="departments.id", primary_key=True, index=True)


class MatterSetting(SQLModel, table=True):
    """The office's choices about one shipped matter: its department, whether it is offered, and
    which local version (0: the shipped one) new applications start with."""

    __tablename__ = "matter_settings"

    matter_code: str = Field(primary_key=True, max_length=64)
    department_id: int | None = Field(default=None, foreign_key="departments.id", index=True)
    enabled: bool = True
    version: int = 0
    updated_at: datetime


class MatterVersion(SQLModel, table=True):
    """A local edit of a matter's time limit, materials and checklist. Versions are never
    changed: a case keeps the one it started with (its materials and checkpoints are copied)."""

    __tablename__ = "matter_versions"
    __table_args__ = (sa.UniqueConstraint("matter_code", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    matter_code: str = Field(max_length=64)
    version: int
    time_limit_working_days: int
    materials: list[dict[str, object]] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    checklist: list[dict[str, object]] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    note: str = Field(default="", max_length=500)
    created_at: datetime
    created_by: int | None = Field(default=None, foreign_key="staff_users.id")


class OfficeProfile(SQLModel, table=True):
    """The office as couriers and documents name it (one row, id 1)."""

    __tablename__ = "office_profile"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    street: str = Field(max_length=200)
    city: str = Field(max_length=100)
    state: str = Field(max_length=100)
    zip: str = Field(max_length=10)
    country: str = Field(max_length=2)
    phone: str = Field(max_length=40)
    updated_at: datetime
    updated_by: int | None = Field(default=None, foreign_key="staff_users.id")


class CalendarDay(SQLModel, table=True):
    """A day that is not what its weekday says: a public holiday, or a make-up working day."""

    __tablename__ = "calendar_days"

    day: date = Field(primary_key=True)
    kind: str = Field(max_length=16)  # holiday | workday
    name: str = Field(default="", max_length=100)
    source: str = Field(default="manual", max_length=32)  # manual | chinesecalendar
    updated_at: datetime


class AdminEvent(SQLModel, table=True):
    """Append-only record of what administrators changed (accounts, profile, calendar, …)."""

    __tablename__ = "admin_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    user_id: int | None = Field(default=None, foreign_key="staff_users.id")
    actor_label: str = Field(default="", max_length=200)
    kind: str = Field(max_length=64)
    subject: str = Field(default="", max_length=200)
    detail: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False))
