"""The outbox table: work that must happen after a transaction commits, exactly once in effect.

A row is written in the same transaction as the change that needs it (so both happen or
neither), then a worker claims it with a lease, runs the topic's handler, and marks it done.
``dedupe_key`` is unique: enqueueing the same work twice yields one row.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class OutboxState(enum.StrEnum):
    pending = "pending"
    leased = "leased"
    done = "done"
    dead = "dead"


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.Index("ix_outbox_due", "state", "next_attempt_at"),
        sa.Index("ix_outbox_lease", "state", "lease_expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=64)
    payload: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    dedupe_key: str = Field(max_length=200, unique=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    state: str = Field(default=OutboxState.pending, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = None
    last_error: str = Field(default="", max_length=2000)
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
