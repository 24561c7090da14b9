"""Live inspection routes: booking and session state over REST, the stills and recording of a
session, and the live pages (the participant's WebSocket is in :mod:`live_socket`). Each
handler parses and authorizes by its declaration and calls the live service."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from zerotrip.api.bodies import path_int, reply
from zerotrip.api.keys import LIVE, SERVICES, STORAGE
from zerotrip.api.pages import STATIC_DIR
from zerotrip.api.principal import Principal
from zerotrip.api.routing import RouteTable
from zerotrip.live.playback import RecordingView
from zerotrip.live.schemas import BookRequest, SessionView, Viewer
from zerotrip.live.summary import SessionSummary

routes = RouteTable("live")
SHUTDOWN = "server shutting down"
BOOK_ROLES = ("clerk", "inspector", "admin")


class RecordingFileQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    download: bool = False


class ConnectivityQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bytes: int = Field(default=0, ge=0, le=1_000_000)


def viewer_of(principal: Principal) -> Viewer:
    """What a caller may see of a session: staff see all, an applicant their own case's."""
    return Viewer(staff=principal.is_staff, case_id=principal.case_id)


@routes.post(
    "/api/cases/{case_id}/live-sessions",
    summary="Book a live video inspection in a time slot",
    audience="staff",
    roles=BOOK_ROLES,
    body=BookRequest,
    response=SessionView,
    status=201,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def book_session(
    request: web.Request, *, principal: Principal, body: BookRequest
) -> SessionView:
    staff_id = principal.user.id if principal.user else None
    return await request.app[LIVE].book(
        path_int(request, "case_id"), principal.actor, staff_id, body
    )


@routes.get(
    "/api/cases/{case_id}/live-sessions",
    summary="The live sessions booked for a case",
    audience="case",
    response={"type": "array", "items": {"$ref": "#/components/schemas/SessionView"}},
    errors=(401, 404, 410, 422),
)
async def list_sessions(request: web.Request, *, principal: Principal) -> web.Response:
    views = await request.app[LIVE].sessions_of_case(
        path_int(request, "case_id"), viewer_of(principal)
    )
    return reply([view.model_dump(mode="json", exclude_unset=True) for view in views])


@routes.get(
    "/api/live/sessions/{session_id}",
    summary="A live session's state, who is connected and the ICE servers to use",
    audience="case",
    response=SessionView,
    errors=(401, 404, 410, 421, 422),
)
async def get_session(request: web.Request, *, principal: Principal) -> SessionView:
    return await request.app[LIVE].session(path_int(request, "session_id"), viewer_of(principal))


@routes.get(
    "/api/live/sessions/{session_id}/summary",
    summary="What a session came to: duration, stills and photos per checkpoint, recording, codes",
    audience="case",
    response=SessionSummary,
    errors=(401, 404, 410, 422),
)
async def get_summary(request: web.Request, *, principal: Principal) -> SessionSummary:
    return await request.app[LIVE].summary(path_int(request, "session_id"), viewer_of(principal))


@routes.get(
    "/api/live/sessions/{session_id}/recording",
    summary="The session's recording: its segments on one timeline and its chapter marks",
    audience="staff",
    response=RecordingView,
    errors=(401, 403, 404, 422),
)
async def get_recording(request: web.Request, *, principal: Principal) -> RecordingView:
    return await request.app[LIVE].recording(path_int(request, "session_id"), viewer_of(principal))


# Matroska with these codecs is what WebM is; browsers play it only when it is called WebM.
PLAYABLE_AS_WEBM = ("video/x-matroska", "video/webm")


@routes.get(
    "/api/live/sessions/{session_id}/recording/{evidence_id}",
    summary="One segment of the recording, to play (seekable) or, with download=1, to save "
    "under its file name",
    audience="staff",
    query=RecordingFileQuery,
    response={"type": "string", "format": "binary"},
    response_content_type="video/x-matroska",
    errors=(401, 403, 404, 422),
)
async def get_recording_file(
    request: web.Request, *, principal: Principal, query: RecordingFileQuery
) -> web.StreamResponse:
    key, media_type, name = await request.app[LIVE].recording_file(
        path_int(request, "session_id"), path_int(request, "evidence_id"), viewer_of(principal)
    )
    storage = request.app[STORAGE]
    if query.download:
        disposition = f'attachment; filename="{name}"'
    else:
        disposition = f'inline; filename="{name}"'
        media_type = "video/webm" if media_type in PLAYABLE_AS_WEBM else media_type
    headers = {"Content-Type": media_type, "Content-Disposition": disposition,
               "Cache-Control": "private, max-age=3600"}  # fmt: skip
    local = storage.local_path(key)
    if local is not None:
        return web.FileResponse(local, headers=headers)  # ranges: the player can seek
    response = web.StreamResponse(headers=headers)
    response.content_length = await storage.size(key)
    await response.prepare(request)
    async for chunk in storage.read(key):
        await response.write(chunk)
    await response.write_eof()
    return response


@routes.post(
    "/api/live/sessions/{session_id}/cancel",
    summary="Cancel a booked session, or end a running one (wherever its room runs)",
    audience="staff",
    roles=BOOK_ROLES,
    response=SessionView,
    errors=(401, 403, 404, 422),
)
async def cancel_session(request: web.Request, *, principal: Principal) -> SessionView:
    return await request.app[LIVE].cancel(
        path_int(request, "session_id"), principal.actor, viewer_of(principal)
    )


@routes.get(
    "/api/live/sessions/{session_id}/stills/{evidence_id}",
    summary="A still captured in the session (JPEG)",
    audience="case",
    response={"type": "string", "format": "binary"},
    response_content_type="image/jpeg",
    errors=(401, 404, 410, 421, 422),
)
async def get_still(request: web.Request, *, principal: Principal) -> web.StreamResponse:
    data = await request.app[LIVE].still(
        path_int(request, "session_id"), path_int(request, "evidence_id"), viewer_of(principal)
    )
    return web.Response(body=data, content_type="image/jpeg")


@routes.get(
    "/api/live/connectivity",
    summary="Readiness check: a round trip, optionally carrying some bytes to time a download",
    audience="signed_in",
    query=ConnectivityQuery,
    response={"type": "string", "format": "binary"},
    response_content_type="application/octet-stream",
    errors=(401, 422),
)
async def connectivity(request: web.Request, *, query: ConnectivityQuery) -> web.Response:
    return web.Response(body=os.urandom(query.bytes), content_type="application/octet-stream")


def _page(name: str) -> Any:
    path = STATIC_DIR / name

    async def handler(request: web.Request) -> web.FileResponse:
        return web.FileResponse(path, headers={"Content-Type": "text/html; charset=utf-8"})

    return handler


async def _live_ctx(app: web.Application) -> AsyncIterator[None]:
    live = app[SERVICES].live
    assert live is not None, "the web role's services hold the live service"
    app[LIVE] = live
    await live.start()
    yield
    await app[LIVE].stop(SHUTDOWN)  # (already done on_shutdown unless that failed)


async def _on_shutdown(app: web.Application) -> None:
    """Before aiohttp drops open sockets: tell participants, finalize every recording."""
    if LIVE in app:
        await app[LIVE].stop(SHUTDOWN)


def setup(app: web.Application) -> None:
    """Register what the RouteTable does not describe: the socket, the pages, the service."""
    app.router.add_get(r"/a/{token}/live/{session_id:\d+}", _page("live-applicant.html"))
    app.router.add_get(r"/staff/live/{session_id:\d+}", _page("live-console.html"))
    app.router.add_get(r"/staff/live/{session_id:\d+}/recording", _page("live-recording.html"))
    app.router.add_get(r"/live/{session_id:\d+}/guest", _page("live-guest.html"))  # invited
    app.router.add_get(r"/staff/live/{session_id:\d+}/guest", _page("live-guest.html"))
    app.cleanup_ctx.append(_live_ctx)
    app.on_shutdown.append(_on_shutdown)
