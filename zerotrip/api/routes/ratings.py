"""Rating routes: the applicant rates a step; staff answer dissatisfied ratings (整改, 回访)."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from zerotrip.api.bodies import parse_body, parse_query, path_int, reply
from zerotrip.api.keys import CALENDAR, CLOCK, DB, SETTINGS
from zerotrip.api.principal import authorize_case, require_role, resolve_principal
from zerotrip.api.routing import RouteTable
from zerotrip.cases.store import get_case
from zerotrip.db import retry_on_conflict
from zerotrip.ratings.models import RatedStep, RatingLevel
from zerotrip.ratings.service import (
    RectificationPolicy,
    list_rectifications,
    rate,
    rateable_steps,
    rating_view,
    ratings_of_case,
    reassign,
    record_call,
    record_reply,
)

routes = RouteTable("ratings")

RATING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "case_id", "step", "level", "score"],
    "properties": {
        "id": {"type": "integer"},
        "case_id": {"type": "integer"},
        "step": {"type": "string", "enum": [s.value for s in RatedStep]},
        "level": {"type": "string", "enum": [v.value for v in RatingLevel]},
        "score": {"type": "integer"},
        "comment": {"type": "string"},
        "rectification": {"type": "object"},
    },
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RatingBody(_Body):
    step: RatedStep = RatedStep.delivery
    level: RatingLevel
    comment: str = Field(default="", max_length=2000)


class ReplyBody(_Body):
    text: str = Field(min_length=1, max_length=4000)


class CallBody(_Body):
    outcome: Literal["reached", "unreachable"]
    note: str = Field(default="", max_length=4000)


class OwnerBody(_Body):
    owner_id: int = Field(ge=1)


class RectificationQuery(_Body):
    state: Literal["open", "done", "all"] = "open"
    mine: bool = False
    limit: int = Field(default=100, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)


@routes.get(
    "/api/cases/{case_id}/ratings",
    summary="The case's ratings and the steps that can be rated now",
    audience="case",
    response={
        "type": "object",
        "required": ["items", "rateable"],
        "properties": {
            "items": {"type": "array", "items": RATING_SCHEMA},
            "rateable": {"type": "array", "items": {"type": "string"}},
        },
    },
    errors=(401, 404, 410, 422),
)
async def list_case_ratings(request: web.Request) -> web.Response:
    case_id = path_int(request, "case_id")
    principal = await resolve_principal(request)
    authorize_case(principal, case_id)
    today = request.app[CLOCK].today()
    async with request.app[DB].session() as session:
        await get_case(session, case_id)
        items = await ratings_of_case(session, case_id)
        steps = await rateable_steps(session, case_id)
    applicant = principal.kind == "applicant"
    return reply(
        {
            "items": [rating_view(r, today, for_applicant=applicant) for r in items],
            "rateable": steps if applicant else [],
        }
    )


@routes.post(
    "/api/cases/{case_id}/ratings",
    summary="Rate a step of the case (好差评); a dissatisfied rating opens a rectification",
    audience="applicant",
    body=RatingBody,
    response=RATING_SCHEMA,
    status=201,
    errors=(400, 401, 403, 404, 409, 410, 413, 422),
)
async def submit_rating(request: web.Request) -> web.Response:
    app = request.app
    case_id = path_int(request, "case_id")
    principal = await resolve_principal(request)
    authorize_case(principal, case_id)
    body = await parse_body(request, RatingBody, app[SETTINGS].max_json_bytes)
    clock = app[CLOCK]
    policy = RectificationPolicy(
        app[SETTINGS].rating_rectification_working_days, app[CALENDAR], clock.zone
    )

    async def attempt() -> dict[str, Any]:
        async with app[DB].transaction() as session:
            rating = await rate(
                session,
                case_id,
                body.step,
                body.level,
                body.comment,
                actor=principal.actor,
                link_id=principal.link_id,
                now=clock.now(),
                today=clock.today(),
                policy=policy,
            )
            return rating_view(rating, clock.today(), for_applicant=True)

    return reply(await retry_on_conflict(attempt), status=201)


@routes.get(
    "/api/rectifications",
    summary="Rectifications of dissatisfied ratings, overdue first",
    audience="staff",
    query=RectificationQuery,
    response={
        "type": "object",
        "required": ["total", "items"],
        "properties": {"total": {"type": "integer"}, "items": {"type": "array"}},
    },
    errors=(401, 403, 422),
)
async def list_open_rectifications(request: web.Request) -> web.Response:
    q = parse_query(request, RectificationQuery)
    principal = await resolve_principal(request)
    today = request.app[CLOCK].today()
    async with request.app[DB].session() as session:
        total, items = await list_rectifications(
            session,
            today=today,
            state=None if q.state == "all" else q.state,
            owner_id=principal.user.id if q.mine and principal.user else None,
            limit=q.limit,
            offset=q.offset,
        )
    return reply({"total": total, "items": [rating_view(r, today) for r in items]})


async def _staff_change(request: web.Request, change: Any) -> web.Response:
    app = request.app
    rating_id = path_int(request, "rating_id")
    principal = await resolve_principal(request)
    clock = app[CLOCK]

    async def attempt() -> dict[str, Any]:
        async with app[DB].transaction() as session:
            rating = await change(session, rating_id, principal, clock.now())
            return rating_view(rating, clock.today())

    return reply(await retry_on_conflict(attempt))


@routes.post(
    "/api/ratings/{rating_id}/reply",
    summary="Record the office's reply to a dissatisfied rating",
    audience="staff",
    body=ReplyBody,
    response=RATING_SCHEMA,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def reply_to_rating(request: web.Request) -> web.Response:
    body = await parse_body(request, ReplyBody, request.app[SETTINGS].max_json_bytes)
    return await _staff_change(
        request,
        lambda s, rid, p, now: record_reply(s, rid, body.text, user=p.user, actor=p.actor, now=now),
    )


@routes.post(
    "/api/ratings/{rating_id}/call",
    summary="Record the follow-up call (回访) about a dissatisfied rating",
    audience="staff",
    body=CallBody,
    response=RATING_SCHEMA,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def record_follow_up_call(request: web.Request) -> web.Response:
    body = await parse_body(request, CallBody, request.app[SETTINGS].max_json_bytes)
    return await _staff_change(
        request,
        lambda s, rid, p, now: record_call(
            s, rid, body.outcome, body.note, user=p.user, actor=p.actor, now=now
        ),
    )


@routes.put(
    "/api/ratings/{rating_id}/owner",
    summary="Hand a rectification to another staff member",
    audience="staff",
    roles=("clerk", "admin"),
    body=OwnerBody,
    response=RATING_SCHEMA,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def reassign_rectification(request: web.Request) -> web.Response:
    principal = await resolve_principal(request)
    require_role(principal, "clerk", "admin")
    body = await parse_body(request, OwnerBody, request.app[SETTINGS].max_json_bytes)
    return await _staff_change(
        request, lambda s, rid, p, now: reassign(s, rid, body.owner_id, actor=p.actor)
    )
