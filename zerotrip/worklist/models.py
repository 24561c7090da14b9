"""Staff tasks: work a person has to pick up (a dead-lettered courier order, a complaint to
follow up). General on purpose: ``kind`` says what it is about, ``detail`` says why."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class TaskState(enum.StrEnum):
    open = "open"
    done = "done"


class StaffTask(SQLModel, table=True):
    __tablename__ = "staff_tasks"
    __table_args__ = (sa.Index("ix_staff_tasks_state_due", "state", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    kind: str = Field(max_length=64)
    title: str = Field(max_length=200)
    detail: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    owner_id: int | None = Field(default=None, foreign_key="staff_users.id")
    due_at: datetime | None = None
    state: str = Field(default=TaskState.open, max_length=16)
    created_at: datetime
    closed_at: datetime | None = None
    resolution: str = Field(default="", max_length=2000)
