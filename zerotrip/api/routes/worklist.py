"""Staff tasks: the list of open work (dead-lettered orders, follow-ups) and closing an item."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from zerotrip.api.bodies import parse_body, parse_query, path_int, reply
from zerotrip.api.keys import CLOCK, DB, SETTINGS
from zerotrip.api.routing import RouteTable
from zerotrip.db import retry_on_conflict
from zerotrip.worklist.service import close_task, list_tasks, task_view

routes = RouteTable("tasks")

TASK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "kind", "title", "state", "created_at"],
    "properties": {
        "id": {"type": "integer"},
        "case_id": {"type": ["integer", "null"]},
        "kind": {"type": "string"},
        "title": {"type": "string"},
        "detail": {"type": "string"},
        "owner_id": {"type": ["integer", "null"]},
        "due_at": {"type": ["string", "null"]},
        "state": {"type": "string", "enum": ["open", "done"]},
        "created_at": {"type": "string"},
        "closed_at": {"type": ["string", "null"]},
        "resolution": {"type": "string"},
    },
}


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
    response={
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": TASK_SCHEMA}},
    },
    errors=(401, 403, 422),
)
async def read_tasks(request: web.Request) -> web.Response:
    q = parse_query(request, TaskQuery)
    async with request.app[DB].session() as session:
        tasks = await list_tasks(
            session,
            state=None if q.state == "all" else q.state,
            case_id=q.case_id,
            kind=q.kind,
            limit=q.limit,
        )
    return reply({"items": [task_view(t) for t in tasks]})


@routes.post(
    "/api/tasks/{task_id}/close",
    summary="Close a task with a resolution",
    audience="staff",
    body=CloseBody,
    response=TASK_SCHEMA,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def close_one_task(request: web.Request) -> web.Response:
    task_id = path_int(request, "task_id")
    body = await parse_body(request, CloseBody, request.app[SETTINGS].max_json_bytes)

    async def attempt() -> dict[str, Any]:
        async with request.app[DB].transaction() as session:
            task = await close_task(
                session, task_id, resolution=body.resolution, now=request.app[CLOCK].now()
            )
            return task_view(task)

    return reply(await retry_on_conflict(attempt))
