"""Staff tasks: the list of open work (dead-lettered orders, follow-ups) and closing an item."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from zerotrip.api.bodies import path_int
from zerotrip.api.keys import CLOCK, DB
from zerotrip.api.principal import Principal
from zerotrip.api.routing import RouteTable
from zerotrip.worklist.schemas import TaskList, TaskView
from zerotrip.worklist.service import find_tasks, resolve_task

routes = RouteTable("tasks")


class TaskQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["open", "done", "all"] = "open"
    case_id: int | None = Field(default=None, ge=1)
    kind: str | None = Field(default=None, max_length=64)
    limit: int = Field(default=200, ge=1, le=1000)


class CloseBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    resolution: str = Field(default="", max_length=2000)


@routes.get(
    "/api/tasks",
    summary="Staff tasks (open by default), newest first",
    audience="staff",
    query=TaskQuery,
    response=TaskList,
    errors=(401, 403, 422),
)
async def read_tasks(request: web.Request, *, principal: Principal, query: TaskQuery) -> TaskList:
    tasks = await find_tasks(
        request.app[DB],
        viewer=principal.user,
        state=None if query.state == "all" else query.state,
        case_id=query.case_id,
        kind=query.kind,
        limit=query.limit,
    )
    return TaskList(items=[TaskView.model_validate(t) for t in tasks])


@routes.post(
    "/api/tasks/{task_id}/close",
    summary="Close a task with a resolution",
    audience="staff",
    body=CloseBody,
    response=TaskView,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def close_one_task(request: web.Request, *, body: CloseBody) -> TaskView:
    task = await resolve_task(
        request.app[DB],
        path_int(request, "task_id"),
        resolution=body.resolution,
        now=request.app[CLOCK].now(),
    )
    return TaskView.model_validate(task)
