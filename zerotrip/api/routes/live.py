"""Live inspection routes: booking and session state over REST, one WebSocket per participant
for signalling, prompts and control, the stills of a session, and the two live pages. Each
handler parses and authorizes by its declaration and calls the live service."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field

from zerotrip.api.bodies import path_int, reply
from zerotrip.api.case_scope import refuse_other_departments
from zerotrip.api.keys import LIVE, SERVICES, SETTINGS, STORAGE
from zerotrip.api.pages import STATIC_DIR
from zerotrip.api.principal import (
    SESSION_COOKIE,
    Principal,
    principal_for_token,
    require_role,
    resolve_principal,
)
from zerotrip.api.routing import RouteTable
from zerotrip.live import signalling
from zerotrip.live.invitations import GUEST_KEY_PREFIX
from zerotrip.live.participant import Participant
from zerotrip.live.playback import RecordingView
from zerotrip.live.room import Room
from zerotrip.live.schemas import BookRequest, SessionView, Viewer
from zerotrip.live.summary import SessionSummary
from zerotrip.problems import Forbidden, InvalidInput, Problem, Unauthenticated

log = logging.getLogger("zerotrip.live")
routes = RouteTable("live")
AUTH_TIMEOUT_S = 10
SHUTDOWN = "server shutting down"
JOIN_ROLES = ("inspector", "admin")
BOOK_ROLES = ("clerk", "inspector", "admin")


class RecordingFileQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    download: bool = False


class ConnectivityQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bytes: int = Field(default=0, ge=0, le=1_000_000)


def _viewer(principal: Principal) -> Viewer:
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
        path_int(request, "case_id"), _viewer(principal)
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
    return await request.app[LIVE].session(path_int(request, "session_id"), _viewer(principal))


@routes.get(
    "/api/live/sessions/{session_id}/summary",
    summary="What a session came to: duration, stills and photos per checkpoint, recording, codes",
    audience="case",
    response=SessionSummary,
    errors=(401, 404, 410, 422),
)
async def get_summary(request: web.Request, *, principal: Principal) -> SessionSummary:
    return await request.app[LIVE].summary(path_int(request, "session_id"), _viewer(principal))


@routes.get(
    "/api/live/sessions/{session_id}/recording",
    summary="The session's recording: its segments on one timeline and its chapter marks",
    audience="staff",
    response=RecordingView,
    errors=(401, 403, 404, 422),
)
async def get_recording(request: web.Request, *, principal: Principal) -> RecordingView:
    return await request.app[LIVE].recording(path_int(request, "session_id"), _viewer(principal))


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
        path_int(request, "session_id"), path_int(request, "evidence_id"), _viewer(principal)
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
        path_int(request, "session_id"), principal.actor, _viewer(principal)
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
        path_int(request, "session_id"), path_int(request, "evidence_id"), _viewer(principal)
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


# --- the WebSocket ---------------------------------------------------------------------------


def _dumps(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, default=_iso)


def _iso(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _error(problem: Problem, reply_to: str | None = None) -> dict[str, Any]:
    body = {"type": "error", **problem.as_dict()}
    body["problem"] = body.pop("type").rsplit("/", 1)[-1]
    body["type"] = "error"
    if reply_to is not None:
        body["reply_to"] = reply_to
    return body


async def _first_message_token(ws: web.WebSocketResponse) -> str:
    """Browsers cannot set headers on a WebSocket: the credential comes as the first message,
    ``{"type": "auth", "token": "..."}``, so it never appears in a URL or an access log."""
    try:
        msg = await ws.receive(timeout=AUTH_TIMEOUT_S)
    except TimeoutError:
        raise Unauthenticated(
            "Send {'type': 'auth', 'token': ...} first.",
            zh="请先发送身份验证消息 {'type': 'auth', 'token': ...}。",
        ) from None
    if msg.type != WSMsgType.TEXT:
        raise Unauthenticated(
            "Send {'type': 'auth', 'token': ...} first.",
            zh="请先发送身份验证消息 {'type': 'auth', 'token': ...}。",
        )
    try:
        data = json.loads(msg.data)
    except json.JSONDecodeError:
        data = None
    token = data.get("token") if isinstance(data, dict) and data.get("type") == "auth" else None
    if not isinstance(token, str) or not token or len(token) > 200:
        raise Unauthenticated(
            "Send {'type': 'auth', 'token': ...} first.",
            zh="请先发送身份验证消息 {'type': 'auth', 'token': ...}。",
        )
    return token


def _check_origin(request: web.Request) -> None:
    """A cookie rides along on any site's WebSocket: only our own pages may use it."""
    if SESSION_COOKIE not in request.cookies or "Authorization" in request.headers:
        return
    origin = request.headers.get("Origin")
    if origin is not None and origin.split("://", 1)[-1] != request.host:
        raise Forbidden("This page may not open a live session.", zh="此页面不能打开视频踏勘。")


def _socket_sender(ws: web.WebSocketResponse) -> Any:
    async def send(payload: dict[str, Any]) -> None:
        if not ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(_dumps(payload))

    return send


async def _join(
    request: web.Request, ws: web.WebSocketResponse, live_id: int, principal: Principal
) -> tuple[Room, Participant]:
    """Authenticate (by the first message if no header or cookie did), admit, welcome. Staff
    asking for ``?seat=guest`` join as the second party (a supervisor, an expert colleague);
    an invited expert's first message carries the guest key its browser was given."""
    live = request.app[LIVE]
    send = _socket_sender(ws)
    if principal.kind == "anonymous":
        token = await _first_message_token(ws)
        if token.startswith(GUEST_KEY_PREFIX):
            guest = live.guests.participant(live_id, token, send, ws.close)
            return await _welcome(send, guest, *await live.join_guest(live_id, guest))
        principal = await principal_for_token(request, token)
    role = signalling.APPLICANT if principal.kind == "applicant" else signalling.INSPECTOR
    if role == signalling.INSPECTOR:
        require_role(principal, *JOIN_ROLES)
        if request.query.get("seat") == "guest":
            role = signalling.GUEST
    if principal.user is not None:  # the socket's route is public: scope here, as the guard would
        await refuse_other_departments(request, principal.user)
    participant = Participant(
        role, principal.actor, principal.user.id if principal.user else None, send, ws.close,
        name=principal.user.display_name if principal.user else "",
    )  # fmt: skip
    return await _welcome(
        send, participant, *await live.join(live_id, _viewer(principal), participant)
    )


async def _welcome(
    send: Any, participant: Participant, room: Room, view: SessionView
) -> tuple[Room, Participant]:
    role = participant.role
    session = view.model_dump(mode="json", exclude_unset=True)
    await send(
        {"type": "welcome", "role": role, "session": session,
         "ice_servers": session["ice_servers"], "peer_present": room.other(role) is not None,
         "name": participant.name, "present": room.party.present()}
    )  # fmt: skip
    return room, participant


async def _converse(
    request: web.Request, ws: web.WebSocketResponse, room: Room, participant: Participant
) -> None:
    """Each text message to the room; a bad one gets an error reply, never ends the session."""
    limit = request.app[SETTINGS].live_max_sdp_bytes * 4
    async for msg in ws:
        if msg.type != WSMsgType.TEXT:
            if msg.type == WSMsgType.BINARY:
                await participant.send(
                    _error(InvalidInput("Messages are JSON text.", zh="消息须为 JSON 文本。"))
                )
            continue
        reply_to = None
        try:
            message = signalling.parse(participant.role, msg.data, limit)
            reply_to = message.id
            answer = await room.handle(participant, message)
            if answer is not None:
                await participant.send(answer)
        except Problem as problem:
            await participant.send(_error(problem, reply_to or signalling.message_id(msg.data)))
        except Exception:  # one failed message must not end the participant's session
            incident = secrets.token_hex(6)
            log.exception("live %s: message failed (incident %s)", room.live_id, incident)
            failed = {"type": "error", "status": 500, "title": "Internal error",
                      "detail": f"Something went wrong (incident {incident}).",
                      "reply_to": reply_to}  # fmt: skip
            await participant.send(failed)
        if participant.gone:
            break


@routes.get(
    "/api/live/sessions/{session_id}/ws",
    summary=(
        "WebSocket for one participant: signalling, prompts and control. The first message "
        "carries the credential (browsers cannot set headers on a WebSocket)"
    ),
    audience="public",
    response={"description": "Switching Protocols to a WebSocket"},
    status=101,
    errors=(400, 401, 403, 404, 409, 410, 421, 422, 429),
)
async def session_socket(request: web.Request) -> web.StreamResponse:
    """``GET /api/live/sessions/{session_id}/ws``: the participant's signalling channel."""
    live_id = path_int(request, "session_id")
    _check_origin(request)
    principal = await resolve_principal(request)
    ws = web.WebSocketResponse(
        heartbeat=15, max_msg_size=request.app[SETTINGS].live_max_sdp_bytes * 4
    )
    await ws.prepare(request)
    try:
        room, participant = await _join(request, ws, live_id, principal)
    except Problem as problem:
        # (a refused participant was never admitted: nothing of the session is touched)
        await ws.send_str(_dumps(_error(problem)))
        await ws.close(code=4000 + problem.status, message=problem.title.encode()[:120])
        return ws
    try:
        await _converse(request, ws, room, participant)
    finally:
        await asyncio.shield(room.depart(participant, "disconnected"))
        await ws.close()
    return ws


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
