"""Rating routes: the applicant rates a step; staff answer dissatisfied ratings (整改, 回访)."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from zerotrip.api.bodies import path_int
from zerotrip.api.keys import CALENDAR, CLOCK, DB, SETTINGS
from zerotrip.api.principal import Principal
from zerotrip.api.routing import RouteTable
from zerotrip.ratings import rectifications, service
from zerotrip.ratings.models import RatedStep, Rating, RatingLevel
from zerotrip.ratings.schemas import CallBack, CaseRatings, RatingView, RectificationPage

routes = RouteTable("ratings")


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
    response=CaseRatings,
    errors=(401, 404, 410, 422),
)
async def list_case_ratings(request: web.Request, *, principal: Principal) -> CaseRatings:
    items, steps = await service.case_ratings(request.app[DB], path_int(request, "case_id"))
    today = request.app[CLOCK].today()
    applicant = principal.kind == "applicant"
    return CaseRatings(
        items=[RatingView.of(r, today, for_applicant=applicant) for r in items],
        rateable=[RatedStep(s) for s in steps] if applicant else [],
    )


@routes.post(
    "/api/cases/{case_id}/ratings",
    summary="Rate a step of the case (好差评); a dissatisfied rating opens a rectification",
    audience="applicant",
    body=RatingBody,
    response=RatingView,
    status=201,
    errors=(400, 401, 403, 404, 409, 410, 413, 422),
)
async def submit_rating(
    request: web.Request, *, principal: Principal, body: RatingBody
) -> RatingView:
    app = request.app
    clock = app[CLOCK]
    policy = service.RectificationPolicy(
        app[SETTINGS].rating_rectification_working_days, app[CALENDAR], clock.zone
    )
    rating = await service.rate_step(
        app[DB],
        path_int(request, "case_id"),
        body.step,
        body.level,
        body.comment,
        actor=principal.actor,
        link_id=principal.link_id,
        now=clock.now(),
        today=clock.today(),
        policy=policy,
    )
    return RatingView.of(rating, clock.today(), for_applicant=True)


@routes.get(
    "/api/rectifications",
    summary="Rectifications of dissatisfied ratings, overdue first",
    audience="staff",
    query=RectificationQuery,
    response=RectificationPage,
    errors=(401, 403, 422),
)
async def list_open_rectifications(
    request: web.Request, *, principal: Principal, query: RectificationQuery
) -> RectificationPage:
    today = request.app[CLOCK].today()
    total, items = await rectifications.find_rectifications(
        request.app[DB],
        today=today,
        state=None if query.state == "all" else query.state,
        owner_id=principal.user.id if query.mine and principal.user else None,
        limit=query.limit,
        offset=query.offset,
        viewer=principal.user,
    )
    details = await rectifications.call_back_details(request.app[DB], items)
    views = [RatingView.of(r, today) for r in items]
    for view in views:
        if view.id in details:
            view.call_back = CallBack(**details[view.id])
    return RectificationPage(total=total, items=views)


def _staff_view(request: web.Request, rating: Rating) -> RatingView:
    return RatingView.of(rating, request.app[CLOCK].today())


@routes.post(
    "/api/ratings/{rating_id}/reply",
    summary="Record the office's reply to a dissatisfied rating",
    audience="staff",
    body=ReplyBody,
    response=RatingView,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def reply_to_rating(
    request: web.Request, *, principal: Principal, body: ReplyBody
) -> RatingView:
    assert principal.user is not None
    rating = await rectifications.reply_to_rating(
        request.app[DB],
        path_int(request, "rating_id"),
        body.text,
        user=principal.user,
        actor=principal.actor,
        now=request.app[CLOCK].now(),
    )
    return _staff_view(request, rating)


@routes.post(
    "/api/ratings/{rating_id}/call",
    summary="Record the follow-up call (回访) about a dissatisfied rating",
    audience="staff",
    body=CallBody,
    response=RatingView,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def record_follow_up_call(
    request: web.Request, *, principal: Principal, body: CallBody
) -> RatingView:
    assert principal.user is not None
    rating = await rectifications.note_follow_up_call(
        request.app[DB],
        path_int(request, "rating_id"),
        body.outcome,
        body.note,
        user=principal.user,
        actor=principal.actor,
        now=request.app[CLOCK].now(),
    )
    return _staff_view(request, rating)


@routes.put(
    "/api/ratings/{rating_id}/owner",
    summary="Hand a rectification to another staff member",
    audience="staff",
    roles=("clerk", "admin"),
    body=OwnerBody,
    response=RatingView,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def reassign_rectification(
    request: web.Request, *, principal: Principal, body: OwnerBody
) -> RatingView:
    rating = await rectifications.hand_over(
        request.app[DB], path_int(request, "rating_id"), body.owner_id, actor=principal.actor
    )
    return _staff_view(request, rating)
