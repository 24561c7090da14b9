"""Opening, closing and listing staff tasks, always inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.kit.clock import utcnow
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
        created_at=utcnow(),
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
        raise NotFound(f"No task {task_id}.")
    if task.state != TaskState.open:
        raise Conflict(f"Task {task_id} is already {task.state}.")
    task.state = TaskState.done
    task.closed_at = now or utcnow()
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
) -> list[StaffTask]:
    stmt = select(StaffTask)
    if state:
        stmt = stmt.where(StaffTask.state == state)
    if case_id is not None:
        stmt = stmt.where(StaffTask.case_id == case_id)
    if kind:
        stmt = stmt.where(StaffTask.kind == kind)
    stmt = stmt.order_by(col(StaffTask.created_at).desc(), col(StaffTask.id).desc()).limit(limit)
    return list((await session.exec(stmt)).all())


def task_view(task: StaffTask) -> dict[str, object]:
    return {
        "id": task.id,
        "case_id": task.case_id,
        "kind": task.kind,
        "title": task.title,
        "detail": task.detail,
        "owner_id": task.owner_id,
        "due_at": task.due_at,
        "state": task.state,
        "created_at": task.created_at,
        "closed_at": task.closed_at,
        "resolution": task.resolution,
    }
