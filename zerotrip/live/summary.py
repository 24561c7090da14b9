"""What a session came to, shown on both pages once it ends: how long it ran, what was taken for
each checkpoint (stills, full-resolution photos, the verdict so far), the recording, and the
challenge codes with their results.

Read from the database only, so any process answers it; ``finalizing`` says the room is still
closing (its last recording segment may not be counted yet) and the pages ask again."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import select

from zerotrip.cases.models import Checkpoint
from zerotrip.db import Database
from zerotrip.live import booking
from zerotrip.live.models import FINISHED, LiveChallenge
from zerotrip.media.models import Evidence


class CheckpointTally(BaseModel):
    """One checkpoint's ticks: a still taken, a photo received, a verdict given."""

    checkpoint_id: int
    title_zh: str
    title_en: str
    stills: int
    photos: int
    verdict: str | None


class ChallengeOutcome(BaseModel):
    code: str
    result: str | None  # shown | not_shown | None (never answered)


class SessionSummary(BaseModel):
    session_id: int
    case_id: int
    state: str
    ended: bool
    finalizing: bool
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str
    duration_s: float | None
    recording_segments: int
    recording_s: float
    checkpoints: list[CheckpointTally]
    challenges: list[ChallengeOutcome]


async def session_summary(db: Database, live_id: int, staff: bool) -> SessionSummary:
    """The summary of one session; restricted (identity) checkpoints only for staff."""
    async with db.session() as session:
        live = await booking.load(session, live_id)
        checkpoints = list(
            (
                await session.exec(
                    select(Checkpoint)
                    .where(Checkpoint.case_id == live.case_id)
                    .order_by(Checkpoint.position, Checkpoint.id)
                )
            ).all()
        )
        taken = (
            await session.exec(
                select(Evidence.checkpoint_id, Evidence.source).where(
                    Evidence.live_session_id == live_id, Evidence.checkpoint_id.is_not(None)
                )
            )
        ).all()
        challenges = (
            await session.exec(
                select(LiveChallenge)
                .where(LiveChallenge.session_id == live_id)
                .order_by(LiveChallenge.id)
            )
        ).all()
    tallies = [
        CheckpointTally(
            checkpoint_id=cp.id or 0,
            title_zh=cp.title_zh,
            title_en=cp.title_en,
            stills=sum(1 for c, s in taken if c == cp.id and s == "live_still"),
            photos=sum(1 for c, s in taken if c == cp.id and s == "live_photo"),
            verdict=cp.verdict,
        )
        for cp in checkpoints
        if staff or not cp.restricted
    ]
    duration = None
    if live.started_at is not None and live.ended_at is not None:
        duration = max(0.0, (live.ended_at - live.started_at).total_seconds())
    ended = live.state in FINISHED
    return SessionSummary(
        session_id=live_id,
        case_id=live.case_id,
        state=live.state,
        ended=ended,
        finalizing=ended and live.owner_process is not None,
        started_at=live.started_at,
        ended_at=live.ended_at,
        end_reason=live.end_reason,
        duration_s=duration,
        recording_segments=live.recording_segments,
        recording_s=live.recording_ms / 1000,
        checkpoints=tallies,
        challenges=[ChallengeOutcome(code=c.code, result=c.result) for c in challenges],
    )
