"""Working through a rectification: the office's reply, the follow-up call (回访), handing it to
someone else, and the list staff work from (overdue first, scoped to their departments).

A dissatisfied rating opens the rectification (:mod:`zerotrip.ratings.service`); it is done
once the office has replied and made the follow-up call, and its staff task closes with it.
Every step writes an audit event in the same transaction, under the case lock.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts.models import StaffUser
from zerotrip.admin.departments import hidden_matters
from zerotrip.cases.audit import append_event
from zerotrip.cases.models import Case
from zerotrip.cases.store import lock_case
from zerotrip.db import Database
from zerotrip.kit.actor import Actor
from zerotrip.problems import Conflict, InvalidInput, NotFound
from zerotrip.ratings.models import Rating
from zerotrip.worklist.models import StaffTask
from zerotrip.worklist.service import close_task


async def _open_rectification(session: AsyncSession, rating_id: int) -> Rating:
    rating = await session.get(Rating, rating_id)
    if rating is None or rating.rectification_state is None:
        raise NotFound(
            f"No rectification for rating {rating_id}.", zh=f"评价 {rating_id} 没有整改记录。"
        )
    if rating.rectification_state == "done":
        raise Conflict("This rectification is already done.", zh="该整改已完成。")
    return rating


async def _finish_if_complete(session: AsyncSession, rating: Rating, now: datetime) -> None:
    """Done once answered and followed up; the staff task closes with it."""
    if rating.replied_at is not None and rating.called_at is not None:
        rating.rectification_state = "done"
        rating.done_at = now
        if rating.task_id is not None:
            await close_task(
                session,
                rating.task_id,
                resolution=f"{rating.call_outcome}: {rating.reply}",
                now=now,
            )


async def _rectification_step(
    session: AsyncSession,
    rating_id: int,
    kind: str,
    change: Callable[[Rating], dict[str, Any]],
    *,
    actor: Actor,
    now: datetime,
) -> Rating:
    """Apply one recorded step of a rectification under the case lock, with its audit event."""
    rating = await _open_rectification(session, rating_id)
    case = await lock_case(session, rating.case_id)
    payload = change(rating)
    await _finish_if_complete(session, rating, now)
    session.add(rating)
    append_event(
        session,
        case,
        actor,
        kind,
        {"rating": rating.id, **payload, "state": rating.rectification_state},
    )
    return rating


async def record_reply(
    session: AsyncSession,
    rating_id: int,
    text: str,
    *,
    user: StaffUser,
    actor: Actor,
    now: datetime,
) -> Rating:
    """The office's written answer to the complaint (shown to the applicant)."""

    def change(rating: Rating) -> dict[str, Any]:
        rating.reply, rating.replied_at, rating.replied_by = text, now, user.id
        return {"reply": text}

    return await _rectification_step(
        session, rating_id, "rating.replied", change, actor=actor, now=now
    )


async def record_call(
    session: AsyncSession,
    rating_id: int,
    outcome: str,
    note: str,
    *,
    user: StaffUser,
    actor: Actor,
    now: datetime,
) -> Rating:
    """The follow-up call (回访) to the applicant, reached or not."""
    if outcome not in {"reached", "unreachable"}:
        raise InvalidInput(
            "outcome must be 'reached' or 'unreachable'.",
            zh="回访结果须为 'reached'（已联系上）或 'unreachable'（联系不上）。",
        )

    def change(rating: Rating) -> dict[str, Any]:
        rating.call_outcome, rating.call_note = outcome, note
        rating.called_at, rating.called_by = now, user.id
        return {"outcome": outcome, "note": note}

    return await _rectification_step(
        session, rating_id, "rating.follow_up_call", change, actor=actor, now=now
    )


async def reassign(session: AsyncSession, rating_id: int, owner_id: int, *, actor: Actor) -> Rating:
    rating = await _open_rectification(session, rating_id)
    owner = await session.get(StaffUser, owner_id)
    if owner is None or not owner.active:
        raise InvalidInput(
            f"No active staff member {owner_id}.", zh=f"没有编号为 {owner_id} 的在岗工作人员。"
        )
    case = await lock_case(session, rating.case_id)
    rating.owner_id = owner_id
    session.add(rating)
    if rating.task_id is not None:
        task = await session.get(StaffTask, rating.task_id)
        if task is not None:
            task.owner_id = owner_id
            session.add(task)
    append_event(
        session, case, actor, "rating.reassigned", {"rating": rating.id, "owner": owner_id}
    )
    return rating


async def list_rectifications(
    session: AsyncSession,
    *,
    today: date,
    state: str | None = "open",
    owner_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
    hidden_matters: frozenset[str] = frozenset(),
) -> tuple[int, list[Rating]]:
    """Rectifications, overdue ones first, then by due date; none on cases of
    ``hidden_matters`` (another department's)."""
    conds: list[Any] = [col(Rating.rectification_state).is_not(None)]
    if hidden_matters:
        others = select(Case.id).where(col(Case.matter_code).in_(sorted(hidden_matters)))
        conds.append(col(Rating.case_id).not_in(others))
    if state:
        conds.append(Rating.rectification_state == state)
    if owner_id is not None:
        conds.append(Rating.owner_id == owner_id)
    overdue_first = sa.case(
        (sa.and_(Rating.rectification_state == "open", col(Rating.due_date) < today), 0), else_=1
    )
    stmt = (
        select(Rating)
        .where(*conds)
        .order_by(overdue_first, col(Rating.due_date), col(Rating.id))
        .limit(limit)
        .offset(offset)
    )
    items = list((await session.exec(stmt)).all())
    total = (await session.exec(select(sa.func.count()).select_from(Rating).where(*conds))).one()
    return int(total), items


def is_overdue(rating: Rating, today: date) -> bool:
    return (
        rating.rectification_state == "open"
        and rating.due_date is not None
        and rating.due_date < today
    )


async def find_rectifications(
    db: Database,
    *,
    today: date,
    state: str | None,
    owner_id: int | None,
    limit: int,
    offset: int,
    viewer: StaffUser | None = None,
) -> tuple[int, list[Rating]]:
    """``viewer``: the staff member asking, whose departments scope the list."""
    async with db.session() as session:
        hidden = await hidden_matters(session, viewer) if viewer else frozenset()
        return await list_rectifications(
            session, today=today, state=state, owner_id=owner_id, limit=limit, offset=offset,
            hidden_matters=hidden,
        )  # fmt: skip


async def call_back_details(db: Database, ratings: list[Rating]) -> dict[int, dict[str, str]]:
    """Per rating id: the case reference, the applicant's name and phone, and the owner's name,
    in two queries for the whole page."""
    case_ids = sorted({r.case_id for r in ratings})
    owner_ids = sorted({r.owner_id for r in ratings if r.owner_id is not None})
    async with db.session() as session:
        cases = {
            c.id: c
            for c in (await session.exec(select(Case).where(col(Case.id).in_(case_ids)))).all()
        }
        owners = {
            u.id: u.display_name
            for u in (
                await session.exec(select(StaffUser).where(col(StaffUser.id).in_(owner_ids)))
            ).all()
        }
    return {
        r.id or 0: {
            "case_reference": cases[r.case_id].reference,
            "applicant_name": cases[r.case_id].applicant_name,
            "applicant_phone": cases[r.case_id].applicant_phone,
            "owner_name": owners.get(r.owner_id or 0, ""),
        }
        for r in ratings
        if r.case_id in cases
    }


RatingChange = Callable[[AsyncSession, int], Awaitable[Rating]]


async def change_rectification(db: Database, rating_id: int, change: RatingChange) -> Rating:
    """Run one staff step on a rectification (``record_reply``, ``record_call``, ``reassign``
    with their arguments bound) in its own transaction."""

    async def work(session: AsyncSession) -> Rating:
        return await change(session, rating_id)

    return await db.run_in_transaction(work)


async def reply_to_rating(
    db: Database, rating_id: int, text: str, *, user: StaffUser, actor: Actor, now: datetime
) -> Rating:
    change = functools.partial(record_reply, text=text, user=user, actor=actor, now=now)
    return await change_rectification(db, rating_id, change)


async def note_follow_up_call(
    db: Database,
    rating_id: int,
    outcome: str,
    note: str,
    *,
    user: StaffUser,
    actor: Actor,
    now: datetime,
) -> Rating:
    change = functools.partial(
        record_call, outcome=outcome, note=note, user=user, actor=actor, now=now
    )
    return await change_rectification(db, rating_id, change)


async def hand_over(db: Database, rating_id: int, owner_id: int, *, actor: Actor) -> Rating:
    change = functools.partial(reassign, owner_id=owner_id, actor=actor)
    return await change_rectification(db, rating_id, change)
