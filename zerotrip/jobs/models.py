"""The job table: CPU-heavy work (report signing, bundle export) the web role hands to workers.

A job is claimed with a lease like an outbox message, but unlike the outbox it is asked for by a
person who waits for it: it carries its progress (percent and a short note the page shows), and
its result or its error (a problem document) stays on the row for the page to read.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class JobState(enum.StrEnum):
    queued = "queued"  # waiting for a worker (or again, after a failed attempt)
    running = "running"  # a worker holds its lease
    done = "done"
    failed = "failed"  # given up: ``error`` says why


FINISHED = frozenset({JobState.done, JobState.failed})


class Job(SQLModel, table=True):
    __tablename__ = "jobs"
    __table_args__ = (
        sa.Index("ix_jobs_due", "state", "not_before"),
        sa.Index("ix_jobs_lease", "state", "lease_expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64)
    payload: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    requested_by: int | None = Field(default=None, foreign_key="staff_users.id")
    state: str = Field(default=JobState.queued, max_length=16)
    progress: int = 0  # percent
    note: str = Field(default="", max_length=200)  # what the worker is doing now (a step code)
    attempts: int = 0
    not_before: datetime
    lease_owner: str | None = Field(default=None, max_length=96)
    lease_expires_at: datetime | None = None
    result: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    error: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
