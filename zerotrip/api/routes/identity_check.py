"""Identity check (远程核) access: the guard other routes call before serving restricted
evidence, and the administrator's personal grants."""

from __future__ import annotations

from aiohttp import web

from zerotrip.api.bodies import path_int
from zerotrip.api.keys import CLOCK, DB, SETTINGS
from zerotrip.api.principal import Principal
from zerotrip.api.routing import RouteTable
from zerotrip.identity_check import service
from zerotrip.identity_check.access import Viewer, guard
from zerotrip.identity_check.schemas import GrantList, GrantView
from zerotrip.media.models import Evidence

routes = RouteTable("identity")


def viewer_of(principal: Principal) -> Viewer:
    return Viewer(
        principal.actor,
        principal.is_staff,
        principal.role,
        principal.user.id if principal.user else None,
    )


async def may_see_identity(request: web.Request, principal: Principal) -> bool:
    """Whether the caller may see restricted (identity) evidence at all (no audit: listings)."""
    roles = request.app[SETTINGS].identity_roles
    return await service.may_see(request.app[DB], viewer_of(principal), roles)


async def guard_evidence(
    request: web.Request, principal: Principal, evidence: Evidence, view: str
) -> None:
    """Before serving restricted evidence: allow (audited) or refuse (audited, 403/404)."""
    if not evidence.restricted:
        return
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
    response=GrantList,
    errors=(401, 403),
)
async def list_identity_grants(request: web.Request) -> GrantList:
    rows = await service.personal_grants(request.app[DB])
    return GrantList(
        roles=list(request.app[SETTINGS].identity_roles),
        items=[
            GrantView(user_id=g.user_id, username=u.username, granted_at=g.granted_at)
            for g, u in rows
        ],
    )


@routes.put(
    "/api/identity/access/{user_id}",
    summary="Give one staff member access to identity evidence",
    audience="admin",
    response=GrantView,
    errors=(401, 403, 422),
)
async def grant_identity_access(request: web.Request, *, principal: Principal) -> GrantView:
    row = await service.grant_access(
        request.app[DB],
        path_int(request, "user_id"),
        granted_by=principal.user.id if principal.user else None,
        now=request.app[CLOCK].now(),
    )
    return GrantView(user_id=row.user_id, granted_at=row.granted_at)


@routes.delete(
    "/api/identity/access/{user_id}",
    summary="Withdraw a staff member's personal access to identity evidence",
    audience="admin",
    response=GrantView,
    errors=(401, 403, 404, 422),
)
async def revoke_identity_access(request: web.Request) -> GrantView:
    user_id = path_int(request, "user_id")
    await service.revoke_access(request.app[DB], user_id)
    return GrantView(user_id=user_id)
