"""Case routes: applying, listing, reading, stepping through the lifecycle, the audit trail
and applicant links."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zerotrip.admin.departments import hidden_matters_for
from zerotrip.api.bodies import path_int, validation_problem
from zerotrip.api.encoding import RenderedRows, json_bytes_response
from zerotrip.api.keys import (
    CALENDAR,
    CATALOGUE,
    CLOCK,
    CREDENTIALS,
    DB,
    ROWS,
    SERVICES,
    SETTINGS,
)
from zerotrip.api.language import preferred_language
from zerotrip.api.principal import Principal
from zerotrip.api.routing import RouteTable
from zerotrip.api.throttling import limit_applications
from zerotrip.cases import reads, service
from zerotrip.cases.lifecycle import ACTIONS, parse_params
from zerotrip.cases.models import CaseState
from zerotrip.cases.schemas import (
    AuditEventView,
    AuditTrail,
    CaseCreated,
    CaseDetail,
    CaseFile,
    CasePage,
    CaseSummary,
    CaseViewing,
    ChainVerification,
    LinkList,
    LinkTarget,
    LinkView,
)
from zerotrip.cases.store import Application, CaseFilter
from zerotrip.kit.actor import Actor
from zerotrip.notify.journey_reads import applicant_view
from zerotrip.problems import InvalidInput

routes = RouteTable("cases")


class CaseListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: CaseState | None = None
    matter: str | None = Field(default=None, max_length=64)
    due: Literal["overdue", "soon"] | None = None
    q: str | None = Field(default=None, max_length=100)
    limit: int = Field(default=50, ge=1, le=200)
    # where the previous page stopped (its ``next``); absent: the first page
    cursor: str | None = Field(default=None, max_length=200)


class ActionBody(BaseModel):
    """Parameters of the action; each action documents its own in ``x-action-params``."""

    model_config = ConfigDict(extra="allow")


class LinkBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: int | None = Field(default=None, ge=1, le=365)
    revoke_others: bool = False


def _viewing(request: web.Request) -> CaseViewing:
    app = request.app
    return CaseViewing(
        app[CATALOGUE], app[CLOCK].today(), app[CALENDAR], app[SETTINGS].due_soon_working_days
    )


def _created(request: web.Request, found: CaseFile, token: str, role: str) -> CaseCreated:
    return CaseCreated(
        case=CaseDetail.of(found, _viewing(request), role=role),
        applicant_link=f"{request.app[SETTINGS].public_url}/a/{token}",
        applicant_token=token,
    )


@routes.post(
    "/api/applications",
    summary="Apply: create a case as the applicant and receive its link",
    audience="public",
    body=Application,
    response=CaseCreated,
    status=201,
    errors=(400, 413, 422, 429),
)
async def submit_application(request: web.Request, *, body: Application) -> CaseCreated:
    await limit_applications(request)
    if body.language is None:  # the applicant's messages in the language they applied in
        body = body.model_copy(update={"language": preferred_language(request)})
    found, token = await service.open_case(
        request.app[DB],
        request.app[CATALOGUE],
        body,
        actor=Actor("applicant", "", body.applicant_name),
        staff_id=None,
        link_days=request.app[SETTINGS].applicant_link_days,
    )
    return _created(request, found, token, "applicant")


@routes.post(
    "/api/cases",
    summary="Create a case on the applicant's behalf (帮代办)",
    audience="staff",
    body=Application,
    response=CaseCreated,
    status=201,
    errors=(400, 401, 403, 413, 422),
)
async def create_case_for_applicant(
    request: web.Request, *, principal: Principal, body: Application
) -> CaseCreated:
    found, token = await service.open_case(
        request.app[DB],
        request.app[CATALOGUE],
        body,
        actor=principal.actor,
        staff_id=principal.user.id if principal.user else None,
        link_days=request.app[SETTINGS].applicant_link_days,
    )
    return _created(request, found, token, principal.role)


@routes.get(
    "/api/cases",
    summary="List cases a page at a time (filter by state, matter, deadline, text)",
    audience="staff",
    query=CaseListQuery,
    response=CasePage,
    errors=(401, 403, 422),
)
async def list_case_page(
    request: web.Request, *, principal: Principal, query: CaseListQuery
) -> CasePage:
    """Staff in departments see their departments' cases; administrators see all."""
    viewing = _viewing(request)
    assert principal.user is not None
    hidden = await hidden_matters_for(request.app[DB], principal.user)
    flt = CaseFilter(
        hidden_matters=hidden,
        state=query.state.value if query.state else None,
        matter_code=query.matter,
        due=query.due,
        query=query.q,
        limit=query.limit,
    )
    rows, following = await reads.case_page(
        request.app[DB],
        flt,
        today=viewing.today,
        calendar=viewing.calendar,
        soon_days=viewing.soon_days,
        after=query.cursor,
    )
    return case_page_response(request.app[ROWS], rows, following, viewing)


def case_page_response(
    cache: RenderedRows, rows: Sequence[Any], following: str | None, viewing: CaseViewing
) -> web.Response:
    """The JSON of ``CasePage(items=[CaseSummary.of(row) …], next)``, each item rendered once
    per distinct row and date (:class:`RenderedRows`): the same bytes, without the models."""
    context = (viewing.today, viewing.soon_days)

    def render(row: Any) -> bytes:
        return cache.render(
            (tuple(row), context),
            lambda: CaseSummary.of(
                row, viewing, materials_overdue=bool(row.materials_overdue)
            ).model_dump(mode="python", exclude_unset=True, by_alias=True),
        )

    items = b",".join(render(r) for r in rows)
    tail = orjson.dumps(following)
    return json_bytes_response(b'{"items":[%s],"next":%s}' % (items, tail))


@routes.get(
    "/api/cases/{case_id}",
    summary="One case: state, deadline, materials, checkpoints and the steps open to the caller",
    audience="case",
    response=CaseDetail,
    errors=(401, 404, 410, 422),
)
async def read_case(request: web.Request, *, principal: Principal) -> CaseDetail:
    case_id = path_int(request, "case_id")
    if principal.role == "applicant":  # the applicant's view leads with their next steps
        found, steps = await applicant_view(request.app[DB], case_id)
        return CaseDetail.of(found, _viewing(request), role="applicant", next_steps=steps)
    found = await reads.case_file(request.app[DB], case_id)
    return CaseDetail.of(found, _viewing(request), role=principal.role)


@routes.post(
    "/api/cases/{case_id}/actions/{action}",
    summary="Take one step of the case's lifecycle",
    audience="case",
    body=ActionBody,
    response=CaseDetail,
    errors=(400, 401, 403, 404, 409, 410, 413, 422),
    path_schemas={"action": {"type": "string", "enum": sorted(ACTIONS)}},
)
async def take_action(
    request: web.Request, *, principal: Principal, body: ActionBody
) -> CaseDetail:
    action = request.match_info["action"]
    if action not in ACTIONS:
        raise InvalidInput(
            f"Unknown action {action!r}.", zh=f"没有“{action}”这项操作。", known=sorted(ACTIONS)
        )
    try:
        params = parse_params(action, body.model_dump())
    except ValidationError as exc:
        raise validation_problem(exc) from None
    viewing = _viewing(request)
    found = await service.take_step(
        request.app[DB],
        path_int(request, "case_id"),
        action,
        params,
        actor=principal.actor,
        role=principal.role,
        lifecycle=request.app[SERVICES].lifecycle,
    )
    return CaseDetail.of(found, viewing, role=principal.role)


@routes.get(
    "/api/cases/{case_id}/audit",
    summary="The case's audit trail, oldest first, with the chain's verification",
    audience="staff",
    response=AuditTrail,
    errors=(401, 403, 404, 422),
)
async def read_audit(request: web.Request) -> AuditTrail:
    events, report = await service.audit_trail(request.app[DB], path_int(request, "case_id"))
    return AuditTrail(
        events=[AuditEventView.of(e) for e in events],
        verification=ChainVerification.of(report),
    )


@routes.get(
    "/api/cases/{case_id}/links",
    summary="The applicant links issued for a case",
    audience="staff",
    response=LinkList,
    errors=(401, 403, 404, 422),
)
async def list_links(request: web.Request) -> LinkList:
    links = await service.applicant_links(request.app[DB], path_int(request, "case_id"))
    return LinkList(items=[LinkView.of(x) for x in links])


@routes.post(
    "/api/cases/{case_id}/links",
    summary="Issue a new applicant link (optionally revoking the others)",
    audience="staff",
    body=LinkBody,
    response=CaseCreated,
    status=201,
    errors=(400, 401, 403, 404, 413, 422),
)
async def issue_link(request: web.Request, *, principal: Principal, body: LinkBody) -> CaseCreated:
    found, token = await service.issue_link(
        request.app[DB],
        path_int(request, "case_id"),
        actor=principal.actor,
        staff_id=principal.user.id if principal.user else None,
        days=body.days or request.app[SETTINGS].applicant_link_days,
        revoke_others=body.revoke_others,
    )
    if body.revoke_others:
        request.app[CREDENTIALS].clear()
    return _created(request, found, token, principal.role)


@routes.delete(
    "/api/cases/{case_id}/links/{link_id}",
    summary="Revoke an applicant link",
    audience="staff",
    response=LinkView,
    errors=(401, 403, 404, 422),
)
async def revoke_link(request: web.Request, *, principal: Principal) -> LinkView:
    case_id, link_id = path_int(request, "case_id"), path_int(request, "link_id")
    link = await service.revoke_link(request.app[DB], case_id, link_id, actor=principal.actor)
    request.app[CREDENTIALS].clear()
    return LinkView.of(link)


@routes.get(
    "/api/link",
    summary="What the applicant's link opens: its case and when it expires",
    audience="applicant",
    response=LinkTarget,
    errors=(401, 403, 410),
)
async def read_link(request: web.Request, *, principal: Principal) -> LinkTarget:
    assert principal.link_id is not None
    link = await service.link_by_id(request.app[DB], principal.link_id)
    return LinkTarget(case_id=link.case_id, expires_at=link.expires_at)
