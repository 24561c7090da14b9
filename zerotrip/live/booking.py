"""Booking and the life of a live session in the database: every change locks the case and
appends its audit event in the same transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.models import Case, CaseState, state_name
from zerotrip.cases.store import lock_case
from zerotrip.db import Database, retry_on_conflict, session_now
from zerotrip.kit.actor import Actor
from zerotrip.kit.reactions import Reactions
from zerotrip.live.events import InspectionBooked, InspectionEnded
from zerotrip.live.models import (
    FINISHED,
    LiveChallenge,
    LiveFix,
    LiveSession,
    LiveState,
)
from zerotrip.problems import Gone, IllegalTransition, InvalidInput, NotFound

BOOKABLE = frozenset({CaseState.accepted, CaseState.inspecting, CaseState.rectifying})
MAX_SLOT = timedelta(hours=4)


def view(live: LiveSession) -> dict[str, Any]:
    return {
        "id": live.id,
        "case_id": live.case_id,
        "state": live.state,
        "slot_start": live.slot_start,
        "slot_end": live.slot_end,
        "note": live.note,
        "booked_at": live.booked_at,
        "started_at": live.started_at,
        "ended_at": live.ended_at,
        "rejoin_until": live.rejoin_until,
        "end_reason": live.end_reason,
        "recording_segments": live.recording_segments,
        "recording_ms": live.recording_ms,
        "stills": live.stills,
    }


async def book(
    db: Database,
    case_id: int,
    actor: Actor,
    staff_id: int | None,
    slot_start: datetime,
    slot_end: datetime,
    note: str,
    now: datetime,
    reactions: Reactions,
) -> LiveSession:
    """Book a slot; :class:`InspectionBooked` is emitted in the same transaction (the
    applicant is told, and reminded before the slot)."""
    if slot_end <= slot_start or slot_end - slot_start > MAX_SLOT:
        raise InvalidInput(
            "The slot must end after it starts and last at most 4 hours.",
            zh="视频踏勘的结束时间须晚于开始时间，且时长不超过 4 小时。",
        )
    if slot_end <= now:
        raise InvalidInput("The slot is already over.", zh="所选时段已经过去。")

    async def attempt() -> LiveSession:
        async with db.transaction() as session:
            case = await lock_case(session, case_id)
            if case.state not in BOOKABLE:
                raise IllegalTransition(
                    f"A live inspection cannot be booked while the case is {case.state}.",
                    zh=f"办件当前为“{state_name(case.state)}”，不能预约视频踏勘。",
                )
            live = LiveSession(
                case_id=case_id,
                slot_start=slot_start,
                slot_end=slot_end,
                note=note,
                booked_by=staff_id,
                booked_at=now,
            )
            session.add(live)
            await session.flush()
            append_event(
                session,
                case,
                actor,
                "live.booked",
                {"session": live.id, "slot_start": slot_start, "slot_end": slot_end},
            )
            await reactions.emit(InspectionBooked(session, case, live, now))
            return live

    return await retry_on_conflict(attempt)


async def load(session: AsyncSession, live_id: int, case_id: int | None = None) -> LiveSession:
    live = await session.get(LiveSession, live_id)
    if live is None or (case_id is not None and live.case_id != case_id):
        raise NotFound(f"No live session {live_id}.", zh=f"没有编号为 {live_id} 的视频踏勘。")
    return live


async def of_case(session: AsyncSession, case_id: int) -> list[LiveSession]:
    rows = await session.exec(
        select(LiveSession).where(LiveSession.case_id == case_id).order_by(LiveSession.slot_start)
    )
    return list(rows.all())


async def change(
    db: Database,
    live_id: int,
    actor: Actor,
    kind: str,
    mutate: Callable[[AsyncSession, Case, LiveSession], Any],
) -> tuple[LiveSession, Any]:
    """Run ``mutate`` on the session under the case lock; it returns the audit payload."""

    async def attempt() -> tuple[LiveSession, Any]:
        async with db.transaction() as session:
            live = await load(session, live_id)
            case = await lock_case(session, live.case_id)
            await session.refresh(live)
            payload = await mutate(session, case, live)
            if payload is not None:
                session.add(live)
                append_event(session, case, actor, kind, {"session": live_id, **payload})
            return live, payload

    return await retry_on_conflict(attempt)


def _finished(live: LiveSession) -> Gone:
    """Joining or acting on a session that has ended or was cancelled."""
    over = "取消" if live.state == LiveState.cancelled else "结束"
    return Gone(f"Live session {live.id} has {live.state}.", zh=f"视频踏勘 {live.id} 已{over}。")


def ensure_joinable(live: LiveSession, now: datetime, early: timedelta) -> None:
    if live.state in FINISHED:
        raise _finished(live)
    if now < live.slot_start - early:
        raise IllegalTransition(
            "The live session has not opened yet.",
            zh="视频踏勘尚未开始，请稍后再进入。",
            opens_at=(live.slot_start - early).isoformat(),
        )


async def joined(db: Database, live_id: int, actor: Actor, role: str, both: bool, now: datetime):
    async def mutate(session: AsyncSession, case: Case, live: LiveSession) -> dict[str, Any]:
        if live.state in FINISHED:
            raise _finished(live)
        live.state = LiveState.live if both else LiveState.waiting
        live.rejoin_until = None
        if both and live.started_at is None:
            live.started_at = now
        return {"role": role, "state": live.state}

    return (await change(db, live_id, actor, "live.joined", mutate))[0]


async def left(
    db: Database,
    live_id: int,
    actor: Actor,
    role: str,
    reason: str,
    other_present: bool,
    rejoin_until: datetime,
) -> LiveSession:
    async def mutate(session: AsyncSession, case: Case, live: LiveSession) -> dict[str, Any]:
        if live.state in FINISHED:
            return {"role": role, "reason": reason, "state": live.state}
        if live.state == LiveState.live or live.started_at is not None:
            live.state = LiveState.interrupted
            live.rejoin_until = rejoin_until
        elif not other_present:
            live.state = LiveState.scheduled
        return {"role": role, "reason": reason, "state": live.state}

    return (await change(db, live_id, actor, "live.left", mutate))[0]


async def end(
    db: Database,
    live_id: int,
    actor: Actor,
    reason: str,
    now: datetime,
    reactions: Reactions,
) -> LiveSession:
    """End (or, before anyone joined, cancel) a session; :class:`InspectionEnded` is emitted in
    the same transaction (the applicant's reminder is withdrawn)."""

    async def mutate(session: AsyncSession, case: Case, live: LiveSession) -> dict[str, Any] | None:
        if live.state in FINISHED:
            return None
        live.state = LiveState.ended if live.started_at else LiveState.cancelled
        live.ended_at = now
        live.end_reason = reason
        live.rejoin_until = None
        await reactions.emit(InspectionEnded(session, live))
        return {"reason": reason, "state": live.state}

    return (await change(db, live_id, actor, "live.ended", mutate))[0]


async def record_fix(
    db: Database, live_id: int, lat: float, lon: float, accuracy: float, distance: float | None
) -> None:
    async with db.transaction() as session:
        session.add(
            LiveFix(
                session_id=live_id,
                at=session_now(session),
                lat=lat,
                lon=lon,
                accuracy_m=accuracy,
                distance_m=distance,
            )
        )


async def issue_challenge(
    db: Database, live_id: int, actor: Actor, staff_id: int | None, code: str, offset: int | None
) -> LiveChallenge:
    async def mutate(session: AsyncSession, case: Case, live: LiveSession) -> dict[str, Any]:
        challenge = LiveChallenge(
            session_id=live_id,
            code=code,
            issued_at=session_now(session),
            issued_by=staff_id,
            video_offset_ms=offset,
        )
        session.add(challenge)
        await session.flush()
        mutate.challenge = challenge  # type: ignore[attr-defined]
        return {"challenge": challenge.id, "code": code, "video_offset_ms": offset}

    await change(db, live_id, actor, "live.challenge_issued", mutate)
    return mutate.challenge  # type: ignore[attr-defined]


async def answer_challenge(
    db: Database, live_id: int, actor: Actor, challenge_id: int, shown: bool, offset: int | None
) -> LiveChallenge:
    async def mutate(session: AsyncSession, case: Case, live: LiveSession) -> dict[str, Any]:
        challenge = await session.get(LiveChallenge, challenge_id)
        if challenge is None or challenge.session_id != live_id:
            raise NotFound(
                f"No challenge {challenge_id} in this session.",
                zh=f"本次视频踏勘中没有编号为 {challenge_id} 的现场核验口令。",
            )
        if challenge.answered_at is not None:
            raise IllegalTransition(
                "That challenge has already been answered.", zh="该现场核验口令已经回应过。"
            )
        challenge.answered_at = session_now(session)
        challenge.result = "shown" if shown else "not_shown"
        session.add(challenge)
        mutate.challenge = challenge  # type: ignore[attr-defined]
        return {
            "challenge": challenge_id,
            "code": challenge.code,
            "result": challenge.result,
            "video_offset_ms": offset,
        }

    await change(db, live_id, actor, "live.challenge_answered", mutate)
    return mutate.challenge  # type: ignore[attr-defined]


async def counted(
    db: Database,
    live_id: int,
    actor: Actor,
    kind: str,
    payload: dict[str, Any],
    *,
    stills: int = 0,
    segments: int = 0,
    recording_ms: int = 0,
) -> None:
    """Audit a still or a finalized recording segment and keep the session's counters."""

    async def mutate(session: AsyncSession, case: Case, live: LiveSession) -> dict[str, Any]:
        live.stills += stills
        live.recording_segments += segments
        live.recording_ms += recording_ms
        return payload

    await change(db, live_id, actor, kind, mutate)


async def audited(
    db: Database, live_id: int, actor: Actor, kind: str, payload: dict[str, Any]
) -> None:
    """An event of a running session on the case's audit trail (consent, a pointer)."""

    async def mutate(session: AsyncSession, case: Case, live: LiveSession) -> dict[str, Any]:
        if live.state in FINISHED:
            raise _finished(live)
        return payload

    await change(db, live_id, actor, kind, mutate)
