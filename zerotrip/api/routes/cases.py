"""Case routes: applying, listing, reading, stepping through the lifecycle, the audit trail
and applicant links."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zerotrip.accounts.models import ApplicantLink
from zerotrip.accounts.service import issue_applicant_link, links_of, revoke_applicant_link
from zerotrip.api.bodies import parse_body, parse_query, path_int, reply, validation_problem
from zerotrip.api.keys import CALENDAR, CATALOGUE, CLOCK, CREDENTIALS, DB, SETTINGS
from zerotrip.api.principal import authorize_case, resolve_principal
from zerotrip.api.routes.case_views import (
    CASE_DETAIL_SCHEMA,
    CASE_SUMMARY_SCHEMA,
    case_detail,
    case_summary,
    event_view,
    link_view,
)
from zerotrip.api.routing import RouteTable
from zerotrip.api.throttling import limit_applications
from zerotrip.cases.audit import Actor, append_event, case_events, verify_case
from zerotrip.cases.lifecycle import ACTIONS, parse_params, perform
from zerotrip.cases.models import CaseMaterial, CaseState
from zerotrip.cases.store import (
    Application,
    CaseFilter,
    case_with_materials,
    checkpoints_of,
    create_case,
    get_case,
    list_cases,
    lock_case,
    materials_of,
)
from zerotrip.db import retry_on_conflict
from zerotrip.problems import InvalidInput

routes = RouteTable("cases")

CREATED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["case", "applicant_link"],
    "properties": {
        "case": CASE_DETAIL_SCHEMA,
        "applicant_link": {"type": "string"},
        "applicant_token": {"type": "string"},
    },
}
LINK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "expires_at"],
    "properties": {"id": {"type": "integer"}, "expires_at": {"type": "string"}},
}


class CaseListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: CaseState | None = None
    matter: str | None = Field(default=None, max_length=64)
    due: Literal["overdue", "soon"] | None = None
    q: str | None = Field(default=None, max_length=100)
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=10_000_000)


class ActionBody(BaseModel):
    """Parameters of the action; each action documents its own in ``x-action-params``."""

    model_config = ConfigDict(extra="allow")


class LinkBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: int | None = Field(default=None, ge=1, le=365)
    revoke_others: bool = False


async def _created(request: web.Request, application: Application, staff: Any) -> web.Response:
    app = request.app
    settings = app[SETTINGS]
    principal = await resolve_principal(request)
    actor = principal.actor if staff else Actor("applicant", "", application.applicant_name)

    async def attempt() -> tuple[dict[str, Any], str]:
        async with app[DB].transaction() as session:
            case = await create_case(
                session,
                app[CATALOGUE],
                application,
                actor,
                submitted_by=staff.id if staff else None,
            )
            issued = await issue_applicant_link(
                session,
                case.id,
                days=settings.applicant_link_days,
                created_by=staff.id if staff else None,
            )
            append_event(session, case, actor, "link.issued", {"link": issued.link.id})
            view = await _detail(request, session, case, principal.role or "applicant")
            return view, issued.token

    view, token = await retry_on_conflict(attempt)
    return reply(
        {
            "case": view,
            "applicant_link": f"{settings.public_url}/a/{token}",
            "applicant_token": token,
        },
        status=201,
    )


async def _detail(
    request: web.Request,
    session: Any,
    case: Any,
    role: str,
    materials: list[CaseMaterial] | None = None,
) -> dict[str, Any]:
    app = request.app
    return case_detail(
        case,
        materials if materials is not None else await materials_of(session, case.id),
        await checkpoints_of(session, case.id),
        role=role,
        catalogue=app[CATALOGUE],
        today=app[CLOCK].today(),
        calendar=app[CALENDAR],
        soon=app[SETTINGS].due_soon_working_days,
    )


@routes.post(
    "/api/applications",
    summary="Apply: create a case as the applicant and receive its link",
    audience="public",
    body=Application,
    response=CREATED_SCHEMA,
    status=201,
    errors=(400, 413, 422, 429),
)
async def submit_application(request: web.Request) -> web.Response:
    body = await parse_body(request, Application, request.app[SETTINGS].max_json_bytes)
    await limit_applications(request)
    return await _created(request, body, staff=None)


@routes.post(
    "/api/cases",
    summary="Create a case on the applicant's behalf (帮代办)",
    audience="staff",
    body=Application,
    response=CREATED_SCHEMA,
    status=201,
    errors=(400, 401, 403, 413, 422),
)
async def create_case_for_applicant(request: web.Request) -> web.Response:
    principal = await resolve_principal(request)
    body = await parse_body(request, Application, request.app[SETTINGS].max_json_bytes)
    return await _created(request, body, staff=principal.user)


@routes.get(
    "/api/cases",
    summary="List cases (filter by state, matter, deadline, text)",
    audience="staff",
    query=CaseListQuery,
    response={
        "type": "object",
        "required": ["total", "items"],
        "properties": {
            "total": {"type": "integer"},
            "items": {"type": "array", "items": CASE_SUMMARY_SCHEMA},
        },
    },
    errors=(401, 403, 422),
)
async def list_case_page(request: web.Request) -> web.Response:
    app = request.app
    q = parse_query(request, CaseListQuery)
    flt = CaseFilter(
        state=q.state.value if q.state else None,
        matter_code=q.matter,
        due=q.due,
        query=q.q,
        limit=q.limit,
        offset=q.offset,
    )
    today, calendar, soon = app[CLOCK].today(), app[CALENDAR], app[SETTINGS].due_soon_working_days
    async with app[DB].session() as session:
        total, rows = await list_cases(session, flt, today=today, calendar=calendar, soon_days=soon)
    return reply({"total": total, "items": [case_summary(r, today, calendar, soon) for r in rows]})


@routes.get(
    "/api/cases/{case_id}",
    summary="One case: state, deadline, materials, checkpoints and the steps open to the caller",
    audience="case",
    response=CASE_DETAIL_SCHEMA,
    errors=(401, 404, 410, 422),
)
async def read_case(request: web.Request) -> web.Response:
    case_id = path_int(request, "case_id")
    principal = await resolve_principal(request)
    authorize_case(principal, case_id)
    async with request.app[DB].session() as session:
        case, materials = await case_with_materials(session, case_id)
        return reply(await _detail(request, session, case, principal.role, materials))


@routes.post(
    "/api/cases/{case_id}/actions/{action}",
    summary="Take one step of the case's lifecycle",
    audience="case",
    body=ActionBody,
    response=CASE_DETAIL_SCHEMA,
    errors=(400, 401, 403, 404, 409, 410, 413, 422),
    path_schemas={"action": {"type": "string", "enum": sorted(ACTIONS)}},
)
async def take_action(request: web.Request) -> web.Response:
    app = request.app
    case_id = path_int(request, "case_id")
    action = request.match_info["action"]
    principal = await resolve_principal(request)
    authorize_case(principal, case_id)
    if action not in ACTIONS:
        raise InvalidInput(f"Unknown action {action!r}.", known=sorted(ACTIONS))
    raw = await parse_body(request, ActionBody, app[SETTINGS].max_json_bytes)
    try:
        params = parse_params(action, raw.model_dump())
    except ValidationError as exc:
        raise validation_problem(exc) from None

    async def attempt() -> dict[str, Any]:
        async with app[DB].transaction() as session:
            case = await perform(
                session,
                case_id,
                action,
                params,
                actor=principal.actor,
                role=principal.role,
                catalogue=app[CATALOGUE],
                calendar=app[CALENDAR],
                today=app[CLOCK].today(),
            )
            return await _detail(request, session, case, principal.role)

    return reply(await retry_on_conflict(attempt))


@routes.get(
    "/api/cases/{case_id}/audit",
    summary="The case's audit trail, oldest first, with the chain's verification",
    audience="staff",
    response={
        "type": "object",
        "required": ["events", "verification"],
        "properties": {
            "events": {"type": "array", "items": {"type": "object"}},
            "verification": {"type": "object"},
        },
    },
    errors=(401, 403, 404, 422),
)
async def read_audit(request: web.Request) -> web.Response:
    case_id = path_int(request, "case_id")
    async with request.app[DB].session() as session:
        await get_case(session, case_id)
        events = await case_events(session, case_id)
        report = await verify_case(session, case_id)
    return reply(
        {
            "events": [event_view(e) for e in events],
            "verification": {
                "ok": report.ok,
                "events": report.events,
                "head": report.head,
                "first_bad_seq": report.first_bad_seq,
                "reason": report.reason,
            },
        }
    )


@routes.get(
    "/api/cases/{case_id}/links",
    summary="The applicant links issued for a case",
    audience="staff",
    response={"type": "object", "properties": {"items": {"type": "array"}}},
    errors=(401, 403, 404, 422),
)
async def list_links(request: web.Request) -> web.Response:
    case_id = path_int(request, "case_id")
    async with request.app[DB].session() as session:
        await get_case(session, case_id)
        return reply({"items": [link_view(x) for x in await links_of(session, case_id)]})


@routes.post(
    "/api/cases/{case_id}/links",
    summary="Issue a new applicant link (optionally revoking the others)",
    audience="staff",
    body=LinkBody,
    response=CREATED_SCHEMA,
    status=201,
    errors=(400, 401, 403, 404, 413, 422),
)
async def issue_link(request: web.Request) -> web.Response:
    app = request.app
    settings = app[SETTINGS]
    case_id = path_int(request, "case_id")
    principal = await resolve_principal(request)
    body = await parse_body(request, LinkBody, settings.max_json_bytes)

    async def attempt() -> tuple[dict[str, Any], str]:
        async with app[DB].transaction() as session:
            case = await lock_case(session, case_id)
            revoked = []
            if body.revoke_others:
                for link in await links_of(session, case_id):
                    if link.revoked_at is None:
                        await revoke_applicant_link(session, case_id, link.id)
                        revoked.append(link.id)
            issued = await issue_applicant_link(
                session,
                case_id,
                days=body.days or settings.applicant_link_days,
                created_by=principal.user.id if principal.user else None,
            )
            append_event(
                session,
                case,
                principal.actor,
                "link.issued",
                {"link": issued.link.id, "revoked": revoked},
            )
            return await _detail(request, session, case, principal.role), issued.token

    view, token = await retry_on_conflict(attempt)
    if body.revoke_others:
        app[CREDENTIALS].clear()
    return reply(
        {
            "case": view,
            "applicant_link": f"{settings.public_url}/a/{token}",
            "applicant_token": token,
        },
        status=201,
    )


@routes.delete(
    "/api/cases/{case_id}/links/{link_id}",
    summary="Revoke an applicant link",
    audience="staff",
    response=LINK_SCHEMA,
    errors=(401, 403, 404, 422),
)
async def revoke_link(request: web.Request) -> web.Response:
    app = request.app
    case_id = path_int(request, "case_id")
    link_id = path_int(request, "link_id")
    principal = await resolve_principal(request)

    async def attempt() -> dict[str, Any]:
        async with app[DB].transaction() as session:
            case = await lock_case(session, case_id)
            link = await revoke_applicant_link(session, case_id, link_id)
            append_event(session, case, principal.actor, "link.revoked", {"link": link_id})
            return link_view(link)

    view = await retry_on_conflict(attempt)
    app[CREDENTIALS].clear()
    return reply(view)


@routes.get(
    "/api/link",
    summary="What the applicant's link opens: its case and when it expires",
    audience="applicant",
    response={
        "type": "object",
        "required": ["case_id"],
        "properties": {"case_id": {"type": "integer"}, "expires_at": {"type": "string"}},
    },
    errors=(401, 403, 410),
)
async def read_link(request: web.Request) -> web.Response:
    principal = await resolve_principal(request)
    async with request.app[DB].session() as session:
        link = await session.get(ApplicantLink, principal.link_id)
    assert link is not None
    return reply({"case_id": link.case_id, "expires_at": link.expires_at})
