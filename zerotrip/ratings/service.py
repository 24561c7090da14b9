"""Rating a step of a case, and the rectification a dissatisfied rating opens.

A rating is accepted only from the case's own applicant, once per step, and only after the step
has happened (its lifecycle event is in the case's audit chain). A dissatisfied rating opens a
rectification owned by the staff member who took the rated step (or the first administrator),
due a configured number of working days later; working through it is
:mod:`zerotrip.ratings.rectifications`. Every change writes an audit event in the same
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts.models import Role, StaffUser
from zerotrip.cases.audit import append_event
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.cases.models import AuditEvent
from zerotrip.cases.store import get_case, lock_case
from zerotrip.db import Database
from zerotrip.kit.actor import Actor
from zerotrip.problems import Conflict
from zerotrip.ratings.models import (
    DISSATISFIED,
    LEVEL_SCORE,
    STEP_EVENT,
    STEP_NAMES_ZH,
    RatedStep,
    Rating,
    RatingLevel,
)
from zerotrip.worklist.service import open_task

RECTIFICATION_TASK = "rating.rectification"


@dataclass(frozen=True)
class RectificationPolicy:
    working_days: int
    calendar: WorkingCalendar
    zone: ZoneInfo

    def end_of(self, day: date) -> datetime:
        """The last moment of ``day`` in the office's time zone: when the task falls due."""
        return datetime.combine(day + timedelta(days=1), time(0), self.zone).astimezone(UTC)


async def _step_event(session: AsyncSession, case_id: int, step: RatedStep) -> AuditEvent | None:
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.case_id == case_id, AuditEvent.kind == STEP_EVENT[step])
        .order_by(col(AuditEvent.seq).desc())
        .limit(1)
    )
    return (await session.exec(stmt)).first()


async def _default_owner(session: AsyncSession, step_event: AuditEvent) -> int | None:
    """Whoever took the rated step answers for it; failing that, the first administrator."""
    if step_event.actor_kind == "staff" and step_event.actor_id.isdigit():
        user = await session.get(StaffUser, int(step_event.actor_id))
        if user is not None and user.active:
            return user.id
    stmt = (
        select(StaffUser.id)
        .where(StaffUser.role == Role.admin, col(StaffUser.active).is_(True))
        .order_by(col(StaffUser.id))
        .limit(1)
    )
    return (await session.exec(stmt)).first()


async def rate(
    session: AsyncSession,
    case_id: int,
    step: RatedStep,
    level: RatingLevel,
    comment: str,
    *,
    actor: Actor,
    link_id: int | None,
    now: datetime,
    today: date,
    policy: RectificationPolicy,
) -> Rating:
    case = await lock_case(session, case_id)
    event = await _step_event(session, case_id, step)
    if event is None:
        raise Conflict(
            f"The {step.value} step has not happened yet, so it cannot be rated.",
            zh=f"“{STEP_NAMES_ZH[step]}”环节尚未进行，还不能评价。",
            step=step.value,
        )
    existing = await session.exec(
        select(Rating.id).where(Rating.case_id == case_id, Rating.step == step)
    )
    if existing.first() is not None:
        raise Conflict(
            f"The {step.value} step has already been rated.",
            zh=f"“{STEP_NAMES_ZH[step]}”环节已经评价过。",
            step=step.value,
        )
    rating = Rating(
        case_id=case_id,
        matter_code=case.matter_code,
        step=step,
        level=level,
        score=LEVEL_SCORE[level],
        comment=comment,
        created_at=now,
        link_id=link_id,
    )
    payload: dict[str, Any] = {"step": step.value, "level": level.value, "comment": comment}
    if level in DISSATISFIED:
        rating.rectification_state = "open"
        rating.owner_id = await _default_owner(session, event)
        rating.due_date = policy.calendar.add_working_days(today, policy.working_days)
        task = await open_task(
            session,
            kind=RECTIFICATION_TASK,
            title=f"整改 Rectify: {case.reference} rated {step.value} {level.value}",
            detail=comment,
            case_id=case_id,
            owner_id=rating.owner_id,
            due_at=policy.end_of(rating.due_date),
        )
        rating.task_id = task.id
        payload["rectification"] = {
            "owner": rating.owner_id,
            "due_date": rating.due_date,
            "task": task.id,
        }
    session.add(rating)
    await session.flush()
    payload["rating"] = rating.id
    append_event(session, case, actor, "rating.submitted", payload)
    return rating


async def ratings_of_case(session: AsyncSession, case_id: int) -> list[Rating]:
    rows = await session.exec(
        select(Rating).where(Rating.case_id == case_id).order_by(col(Rating.id))
    )
    return list(rows.all())


async def rateable_steps(session: AsyncSession, case_id: int) -> list[str]:
    """Steps that have happened on the case and are not rated yet."""
    kinds = {v: k for k, v in STEP_EVENT.items()}
    happened = await session.exec(
        select(AuditEvent.kind)
        .where(AuditEvent.case_id == case_id, col(AuditEvent.kind).in_(list(kinds)))
        .distinct()
    )
    rated = set((await session.exec(select(Rating.step).where(Rating.case_id == case_id))).all())
    done = {kinds[k] for k in happened.all()}
    return [s.value for s in RatedStep if s in done and s.value not in rated]


# --- each call its own transaction --------------------------------------------------------------


async def case_ratings(db: Database, case_id: int) -> tuple[list[Rating], list[str]]:
    """The case's ratings and the steps its applicant can rate now."""
    async with db.session() as session:
        await get_case(session, case_id)
        return await ratings_of_case(session, case_id), await rateable_steps(session, case_id)


async def rate_step(
    db: Database,
    case_id: int,
    step: RatedStep,
    level: RatingLevel,
    comment: str,
    *,
    actor: Actor,
    link_id: int | None,
    now: datetime,
    today: date,
    policy: RectificationPolicy,
) -> Rating:
    async def work(session: AsyncSession) -> Rating:
        return await rate(
            session, case_id, step, level, comment,
            actor=actor, link_id=link_id, now=now, today=today, policy=policy,
        )  # fmt: skip

    return await db.run_in_transaction(work)
