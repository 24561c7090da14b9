"""Identity check (远程核) access: the guard other routes call before serving restricted
evidence, and the administrator's personal grants."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from zerotrip.api.bodies import path_int, reply
from zerotrip.api.keys import CLOCK, DB, SETTINGS
from zerotrip.api.principal import Principal, resolve_principal
from zerotrip.api.routing import RouteTable
from zerotrip.db import retry_on_conflict
from zerotrip.identity_check.access import Viewer, grant, grants, guard, has_access, revoke
from zerotrip.media.models import Evidence

routes = RouteTable("identity")

GRANT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["user_id"],
    "properties": {
        "user_id": {"type": "integer"},
        "username": {"type": "string"},
        "granted_at": {"type": "string"},
    },
}


def viewer_of(principal: Principal) -> Viewer:
    return Viewer(
        principal.actor,
        principal.is_staff,
        principal.role,
        principal.user.id if principal.user else None,
    )


async def may_see_identity(request: web.Request) -> bool:
    """Whether the caller may see restricted (identity) evidence at all (no audit: listings)."""
    principal = await resolve_principal(request)
    async with request.app[DB].session() as session:
        return await has_access(session, viewer_of(principal), request.app[SETTINGS].identity_roles)


async def guard_evidence(request: web.Request, evidence: Evidence, view: str) -> None:
    """Before serving restricted evidence: allow (audited) or refuse (audited, 403/404)."""
    if not evidence.restricted:
        return
    principal = await resolve_principal(request)
    await guard(
        request.app[DB],
        viewer_of(principal),
        case_id=evidence.case_id,
        evidence_id=evidence.id,
        view=view,
        roles=request.app[SETTINGS].identity_roles,
    )


@routes.get(
    "/api/identity/access",
    summary="Staff with a personal grant to see identity evidence (roles aside)",
    audience="admin",
    response={
        "type": "object",
        "required": ["roles", "items"],
        "properties": {
            "roles": {"type": "array"},
            "items": {"type": "array", "items": GRANT_SCHEMA},
        },
    },
    errors=(401, 403),
)
async def list_identity_grants(request: web.Request) -> web.Response:
    async with request.app[DB].session() as session:
        rows = await grants(session)
    return reply(
        {
            "roles": list(request.app[SETTINGS].identity_roles),
            "items": [
                {"user_id": g.user_id, "username": u.username, "granted_at": g.granted_at}
                for g, u in rows
            ],
        }
    )


@routes.put(
    "/api/identity/access/{user_id}",
    summary="Give one staff member access to identity evidence",
    audience="admin",
    response=GRANT_SCHEMA,
    errors=(401, 403, 422),
)
async def grant_identity_access(request: web.Request) -> web.Response:
    user_id = path_int(request, "user_id")
    principal = await resolve_principal(request)
    now = request.app[CLOCK].now()

    async def attempt() -> dict[str, Any]:
        async with request.app[DB].transaction() as session:
            row = await grant(
                session, user_id, granted_by=principal.user.id if principal.user else None, now=now
            )
            return {"user_id": row.user_id, "granted_at": row.granted_at}

    return reply(await retry_on_conflict(attempt))


@routes.delete(
    "/api/identity/access/{user_id}",
    summary="Withdraw a staff member's personal access to identity evidence",
    audience="admin",
    response=GRANT_SCHEMA,
    errors=(401, 403, 404, 422),
)
async def revoke_identity_access(request: web.Request) -> web.Response:
    user_id = path_int(request, "user_id")

    async def attempt() -> dict[str, Any]:
        async with request.app[DB].transaction() as session:
            await revoke(session, user_id)
            return {"user_id": user_id}

    return reply(await retry_on_conflict(attempt))
