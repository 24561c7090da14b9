"""Opening, closing and listing staff tasks: inside the caller's transaction (``session``), or
in their own (``db``)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts.models import StaffUser
from zerotrip.admin.departments import hidden_matters
from zerotrip.cases.models import Case
from zerotrip.db import Database, session_now
from zerotrip.problems import Conflict, NotFound
from zerotrip.worklist.models import StaffTask, TaskState


async def open_task(
    session: AsyncSession,
    *,
    kind: str,
    title: str,
    detail: str = "",
    case_id: int | None = None,
    owner_id: int | None = None,
    due_at: datetime | None = None,
) -> StaffTask:
    task = StaffTask(
        case_id=case_id,
        kind=kind[:64],
        title=title[:200],
        detail=detail,
        owner_id=owner_id,
        due_at=due_at,
        state=TaskState.open,
        created_at=session_now(session),
    )
    session.add(task)
    await session.flush()
    return task


async def close_task(
    session: AsyncSession, task_id: int, *, resolution: str = "", now: datetime | None = None
) -> StaffTask:
    """Close an open task; closing it twice is a conflict, not a silent no-op."""
    task = (
        await session.exec(select(StaffTask).where(StaffTask.id == task_id).with_for_update())
    ).first()
    if task is None:
        raise NotFound(f"No task {task_id}.", zh=f"没有编号为 {task_id} 的待办任务。")
    if task.state != TaskState.open:
        raise Conflict(
            f"Task {task_id} is already {task.state}.", zh=f"待办任务 {task_id} 已处理。"
        )
    task.state = TaskState.done
    task.closed_at = now or session_now(session)
    task.resolution = resolution[:2000]
    session.add(task)
    return task


async def list_tasks(
    session: AsyncSession,
    *,
    state: str | None = TaskState.open,
    case_id: int | None = None,
    kind: str | None = None,
    limit: int = 200,
    hidden_matters: frozenset[str] = frozenset(),
) -> list[StaffTask]:
    """``hidden_matters``: tasks on cases of these matters are left out (another department's);
    tasks on no case stay visible to everyone."""
    stmt = select(StaffTask)
    if hidden_matters:
        others = select(Case.id).where(col(Case.matter_code).in_(sorted(hidden_matters)))
        stmt = stmt.where(
            sa.or_(col(StaffTask.case_id).is_(None), col(StaffTask.case_id).not_in(others))
        )
    if state:
        stmt = stmt.where(StaffTask.state == state)
    if case_id is not None:
        stmt = stmt.where(StaffTask.case_id == case_id)
    if kind:
        stmt = stmt.where(StaffTask.kind == kind)
    stmt = stmt.order_by(col(StaffTask.created_at).desc(), col(StaffTask.id).desc()).limit(limit)
    return list((await session.exec(stmt)).all())


async def find_tasks(
    db: Database,
    *,
    state: str | None,
    case_id: int | None,
    kind: str | None,
    limit: int,
    viewer: StaffUser | None = None,
) -> list[StaffTask]:
    """``viewer``: the staff member asking, whose departments scope the list."""
    async with db.session() as session:
        hidden = await hidden_matters(session, viewer) if viewer else frozenset()
        return await list_tasks(
            session, state=state, case_id=case_id, kind=kind, limit=limit, hidden_matters=hidden
        )


async def resolve_task(db: Database, task_id: int, *, resolution: str, now: datetime) -> StaffTask:
    """Close one task in its own transaction (retried on a write conflict)."""

    async def work(session: AsyncSession) -> StaffTask:
        return await close_task(session, task_id, resolution=resolution, now=now)

    return await db.run_in_transaction(work)
