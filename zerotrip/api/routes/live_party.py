"""The second party of a live session: the inspector invites an outside expert by a one-time
link, lists and revokes invitations; the expert's browser redeems the link for its guest key.
Each handler parses, authorizes by its declaration and calls the live service's guest desk."""

from __future__ import annotations

from aiohttp import web

from zerotrip.api.bodies import path_int, reply
from zerotrip.api.keys import LIVE
from zerotrip.api.principal import Principal
from zerotrip.api.routing import RouteTable
from zerotrip.live.invitations import GuestPass, InvitationRequest, InvitationView, RedeemRequest
from zerotrip.live.schemas import Viewer

routes = RouteTable("live")
INVITE_ROLES = ("inspector", "admin")


@routes.post(
    "/api/live/sessions/{session_id}/invitations",
    summary="Invite an outside expert: a one-time link to this session (shown once)",
    audience="staff",
    roles=INVITE_ROLES,
    body=InvitationRequest,
    response=InvitationView,
    status=201,
    errors=(400, 401, 403, 404, 410, 421, 422),
)
async def create_invitation(
    request: web.Request, *, principal: Principal, body: InvitationRequest
) -> InvitationView:
    live_id = path_int(request, "session_id")
    live = request.app[LIVE]
    await live.session(live_id, Viewer(staff=True))  # exists, and this process owns it
    return await live.guests.invite(live_id, principal.actor, body)


@routes.get(
    "/api/live/sessions/{session_id}/invitations",
    summary="The session's invitations and their state (open, used, revoked, expired)",
    audience="staff",
    roles=INVITE_ROLES,
    response={"type": "array", "items": {"$ref": "#/components/schemas/InvitationView"}},
    errors=(401, 403, 404, 421, 422),
)
async def list_invitations(request: web.Request, *, principal: Principal) -> web.Response:
    live_id = path_int(request, "session_id")
    live = request.app[LIVE]
    await live.session(live_id, Viewer(staff=True))
    views = live.guests.list(live_id)
    return reply([view.model_dump(mode="json") for view in views])


@routes.post(
    "/api/live/sessions/{session_id}/invitations/{invitation_id}/revoke",
    summary="Revoke an invitation; a guest who came by it leaves the session at once",
    audience="staff",
    roles=INVITE_ROLES,
    response=InvitationView,
    errors=(401, 403, 404, 410, 421, 422),
)
async def revoke_invitation(request: web.Request, *, principal: Principal) -> InvitationView:
    live_id = path_int(request, "session_id")
    live = request.app[LIVE]
    await live.session(live_id, Viewer(staff=True))
    return await live.guests.revoke(
        live_id,
        path_int(request, "invitation_id"),
        principal.actor,
        lambda invitation_id: live.let_go_of_guest(live_id, invitation_id),
    )


@routes.post(
    "/api/live/sessions/{session_id}/invitations/redeem",
    summary="An invited expert's browser trades the link's token for its guest key (once)",
    audience="public",
    body=RedeemRequest,
    response=GuestPass,
    errors=(400, 404, 410, 421, 422),
)
async def redeem_invitation(request: web.Request, *, body: RedeemRequest) -> GuestPass:
    live_id = path_int(request, "session_id")
    live = request.app[LIVE]
    await live.ownership.ensure_here(live_id)
    return await live.guests.redeem(live_id, body.token)
