"""Tables of live inspection: booked sessions and the processes that own their rooms,
presence fixes and challenge codes."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class LiveState(enum.StrEnum):
    scheduled = "scheduled"  # booked, nobody connected yet
    waiting = "waiting"  # one side is connected, waiting for the other
    live = "live"  # applicant and inspector both connected
    interrupted = "interrupted"  # a side dropped; it may rejoin until ``rejoin_until``
    ended = "ended"
    cancelled = "cancelled"


FINISHED = frozenset({LiveState.ended, LiveState.cancelled})


class LiveSession(SQLModel, table=True):
    __tablename__ = "live_sessions"
    __table_args__ = (sa.Index("ix_live_sessions_slot", "slot_start"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    state: str = Field(max_length=16, default=LiveState.scheduled)
    slot_start: datetime
    slot_end: datetime
    note: str = Field(default="", max_length=500)
    booked_by: int | None = Field(default=None, foreign_key="staff_users.id")
    booked_at: datetime
    started_at: datetime | None = None  # first moment both sides were connected
    ended_at: datetime | None = None
    rejoin_until: datetime | None = None
    end_reason: str = Field(default="", max_length=64)
    recording_segments: int = 0
    recording_ms: int = 0
    stills: int = 0
    owner_process: str | None = Field(default=None, max_length=96, index=True)  # LiveProcess.id


class LiveProcess(SQLModel, table=True):
    """A process that runs live rooms, alive while its heartbeat is recent. Its id names its
    working folder (``<data dir>/live/<id>/``), so no other process takes its recordings."""

    __tablename__ = "live_processes"

    id: str = Field(primary_key=True, max_length=96)
    address: str = Field(default="", max_length=255)
    started_at: datetime
    heartbeat_at: datetime


class LiveFix(SQLModel, table=True):
    """A geolocation fix sent by the applicant's page during a session."""

    __tablename__ = "live_fixes"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="live_sessions.id", index=True)
    at: datetime
    lat: float
    lon: float
    accuracy_m: float
    distance_m: float | None = None  # to the case's premises, when it has coordinates


class LiveChallenge(SQLModel, table=True):
    """A one-time code the applicant must show to the camera, written on paper."""

    __tablename__ = "live_challenges"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="live_sessions.id", index=True)
    code: str = Field(max_length=16)
    issued_at: datetime
    issued_by: int | None = Field(default=None, foreign_key="staff_users.id")
    answered_at: datetime | None = None
    result: str | None = Field(default=None, max_length=16)  # shown | not_shown
    video_offset_ms: int | None = None
