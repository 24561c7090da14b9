"""Live inspection routes: booking and session state over REST, one WebSocket per participant
for signalling, prompts and control, the stills of a session, and the two live pages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from aiohttp import WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field

from zerotrip.accounts.service import (
    APPLICANT_PREFIX,
    resolve_applicant_token,
    resolve_staff_token,
)
from zerotrip.api.bodies import path_int, reply
from zerotrip.api.keys import CLOCK, DB, ROOMS, SERVICES, SETTINGS, STORAGE
from zerotrip.api.pages import STATIC_DIR
from zerotrip.api.principal import (
    SESSION_COOKIE,
    Principal,
    authorize_case,
    require_role,
    resolve_principal,
)
from zerotrip.api.routing import RouteTable
from zerotrip.live import booking, signalling
from zerotrip.live.peers import ice_servers
from zerotrip.live.room import Participant
from zerotrip.live.rooms import Rooms
from zerotrip.media.models import Evidence
from zerotrip.problems import Forbidden, InvalidInput, NotFound, Problem, Unauthenticated

log = logging.getLogger("zerotrip.live")
routes = RouteTable("live")
AUTH_TIMEOUT_S = 10
SHUTDOWN = "server shutting down"
JOIN_ROLES = ("inspector", "admin")
BOOK_ROLES = ("clerk", "inspector", "admin")

SESSION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "case_id", "state", "slot_start", "slot_end"],
    "properties": {
        "id": {"type": "integer"},
        "case_id": {"type": "integer"},
        "state": {"type": "string"},
        "slot_start": {"type": "string"},
        "slot_end": {"type": "string"},
        "connected": {"type": "array", "items": {"type": "string"}},
    },
}


class BookBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slot_start: datetime
    slot_end: datetime
    note: str = Field(default="", max_length=500)


class ConnectivityQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bytes: int = Field(default=0, ge=0, le=1_000_000)


def _session_view(request: web.Request, live: Any) -> dict[str, Any]:
    room = request.app[ROOMS].rooms.get(live.id)
    view = booking.view(live)
    view["connected"] = sorted(room.participants) if room else []
    view["ice_servers"] = ice_servers(request.app[SETTINGS])
    return view


@routes.post(
    "/api/cases/{case_id}/live-sessions",
    summary="Book a live video inspection in a time slot",
    audience="staff",
    roles=BOOK_ROLES,
    body=BookBody,
    response=SESSION_SCHEMA,
    status=201,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def book_session(
    request: web.Request, *, principal: Principal, body: BookBody
) -> web.Response:
    case_id = path_int(request, "case_id")
    if body.slot_start.tzinfo is None or body.slot_end.tzinfo is None:
        raise InvalidInput("Give the slot times with a time zone offset.")
    assert principal.user is not None
    clock = request.app[CLOCK]
    live = await booking.book(
        request.app[DB], case_id, principal.actor, principal.user.id,
        body.slot_start, body.slot_end, body.note, clock.now(), request.app[SERVICES].reactions,
    )  # fmt: skip
    return reply(_session_view(request, live), status=201)


@routes.get(
    "/api/cases/{case_id}/live-sessions",
    summary="The live sessions booked for a case",
    audience="case",
    response={"type": "array", "items": SESSION_SCHEMA},
    errors=(401, 404, 410, 422),
)
async def list_sessions(request: web.Request) -> web.Response:
    case_id = path_int(request, "case_id")
    authorize_case(await resolve_principal(request), case_id)
    async with request.app[DB].session() as session:
        sessions = await booking.of_case(session, case_id)
    return reply([_session_view(request, live) for live in sessions])


async def _authorized_session(request: web.Request) -> Any:
    live_id = path_int(request, "session_id")
    principal = await resolve_principal(request)
    async with request.app[DB].session() as session:
        live = await booking.load(session, live_id)
    _authorize(principal, live)
    return live


def _authorize(principal: Principal, live: Any) -> None:
    """Staff, or the link of the session's own case; another case's session looks absent."""
    try:
        authorize_case(principal, live.case_id)
    except NotFound:
        raise NotFound(f"No live session {live.id}.") from None


@routes.get(
    "/api/live/sessions/{session_id}",
    summary="A live session's state, who is connected and the ICE servers to use",
    audience="case",
    response=SESSION_SCHEMA,
    errors=(401, 404, 410, 422),
)
async def get_session(request: web.Request) -> web.Response:
    return reply(_session_view(request, await _authorized_session(request)))


@routes.post(
    "/api/live/sessions/{session_id}/cancel",
    summary="Cancel a booked session, or end a running one",
    audience="staff",
    response=SESSION_SCHEMA,
    errors=(401, 403, 404, 422),
)
async def cancel_session(request: web.Request) -> web.Response:
    principal = await resolve_principal(request)
    require_role(principal, *BOOK_ROLES)
    live = await _authorized_session(request)
    room = request.app[ROOMS].rooms.get(live.id)
    if room is not None:
        await room.end("cancelled by the office", principal.actor)
    else:
        await booking.end(
            request.app[DB], live.id, principal.actor, "cancelled by the office",
            request.app[CLOCK].now(), request.app[SERVICES].reactions,
        )  # fmt: skip
    async with request.app[DB].session() as session:
        live = await booking.load(session, live.id)
    return reply(_session_view(request, live))


@routes.get(
    "/api/live/sessions/{session_id}/stills/{evidence_id}",
    summary="A still captured in the session (JPEG)",
    audience="case",
    response={"type": "string", "format": "binary"},
    response_content_type="image/jpeg",
    errors=(401, 404, 410, 422),
)
async def get_still(request: web.Request) -> web.StreamResponse:
    live = await _authorized_session(request)
    evidence_id = path_int(request, "evidence_id")
    async with request.app[DB].session() as session:
        evidence = await session.get(Evidence, evidence_id)
    principal = await resolve_principal(request)
    if (
        evidence is None
        or evidence.live_session_id != live.id
        or evidence.kind != "still"
        or (evidence.restricted and not principal.is_staff)
    ):
        raise NotFound(f"No still {evidence_id} in this session.")
    data = await request.app[STORAGE].read_bytes(evidence.blob_key)
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


async def _first_message_principal(request: web.Request, ws: web.WebSocketResponse) -> Principal:
    """Browsers cannot set headers on a WebSocket: the credential comes as the first message,
    ``{"type": "auth", "token": "..."}``, so it never appears in a URL or an access log."""
    try:
        msg = await ws.receive(timeout=AUTH_TIMEOUT_S)
    except TimeoutError:
        raise Unauthenticated("Send {'type': 'auth', 'token': ...} first.") from None
    if msg.type != WSMsgType.TEXT:
        raise Unauthenticated("Send {'type': 'auth', 'token': ...} first.")
    try:
        data = json.loads(msg.data)
    except json.JSONDecodeError:
        data = None
    token = data.get("token") if isinstance(data, dict) and data.get("type") == "auth" else None
    if not isinstance(token, str) or not token or len(token) > 200:
        raise Unauthenticated("Send {'type': 'auth', 'token': ...} first.")
    now = request.app[CLOCK].now()
    async with request.app[DB].session() as session:
        if token.startswith(APPLICANT_PREFIX):
            link = await resolve_applicant_token(session, token, now)
            return Principal("applicant", "applicant", case_id=link.case_id, link_id=link.id)
        found = await resolve_staff_token(session, token, now)
    if found is None:
        raise Unauthenticated("The token is not valid.")
    return Principal("staff", found[0].role, found[0], found[1])


def _check_origin(request: web.Request) -> None:
    """A cookie rides along on any site's WebSocket: only our own pages may use it."""
    if SESSION_COOKIE not in request.cookies or "Authorization" in request.headers:
        return
    origin = request.headers.get("Origin")
    if origin is not None and origin.split("://", 1)[-1] != request.host:
        raise Forbidden("This page may not open a live session.")


@routes.get(
    "/api/live/sessions/{session_id}/ws",
    summary=(
        "WebSocket for one participant: signalling, prompts and control. The first message "
        "carries the credential (browsers cannot set headers on a WebSocket)"
    ),
    audience="public",
    response={"description": "Switching Protocols to a WebSocket"},
    status=101,
    errors=(400, 401, 403, 404, 409, 410, 422),
)
async def session_socket(request: web.Request) -> web.StreamResponse:
    """``GET /api/live/sessions/{session_id}/ws``: the participant's signalling channel."""
    settings = request.app[SETTINGS]
    live_id = path_int(request, "session_id")
    _check_origin(request)
    principal = await resolve_principal(request)
    ws = web.WebSocketResponse(heartbeat=15, max_msg_size=settings.live_max_sdp_bytes * 4)
    await ws.prepare(request)
    participant: Participant | None = None
    room = None
    try:
        if principal.kind == "anonymous":
            principal = await _first_message_principal(request, ws)
        role = signalling.APPLICANT if principal.kind == "applicant" else signalling.INSPECTOR
        if role == signalling.INSPECTOR:
            require_role(principal, *JOIN_ROLES)
        async with request.app[DB].session() as session:
            live = await booking.load(session, live_id)
        _authorize(principal, live)
        booking.ensure_joinable(
            live,
            request.app[CLOCK].now(),
            timedelta(minutes=settings.live_join_early_minutes),
        )
        room = await request.app[ROOMS].open(live_id)

        async def send(payload: dict[str, Any]) -> None:
            if not ws.closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_str(_dumps(payload))

        participant = Participant(
            role, principal.actor, principal.user.id if principal.user else None, send, ws.close
        )
        view = await room.admit(participant)
        await send(
            {"type": "welcome", "role": role, "session": view,
             "ice_servers": ice_servers(settings),
             "peer_present": room.other(role) is not None}
        )  # fmt: skip
    except Problem as problem:
        # (a refused participant was never admitted: nothing of the session is touched)
        await ws.send_str(_dumps(_error(problem)))
        await ws.close(code=4000 + problem.status, message=problem.title.encode()[:120])
        return ws
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                if msg.type == WSMsgType.BINARY:
                    await send(_error(InvalidInput("Messages are JSON text.")))
                continue
            reply_to = None
            try:
                message = signalling.parse(role, msg.data, settings.live_max_sdp_bytes * 4)
                reply_to = message.id
                answer = await room.handle(participant, message)
                if answer is not None:
                    await send(answer)
            except Problem as problem:
                await send(_error(problem, reply_to or signalling.message_id(msg.data)))
            except Exception:  # one failed message must not end the participant's session
                incident = secrets.token_hex(6)
                log.exception("live %s: message failed (incident %s)", live_id, incident)
                failed = {"type": "error", "status": 500, "title": "Internal error",
                          "detail": f"Something went wrong (incident {incident}).",
                          "reply_to": reply_to}  # fmt: skip
                await send(failed)
            if participant.gone:
                break
    finally:
        await asyncio.shield(room.depart(participant, "disconnected"))
        await ws.close()
    return ws


async def _rooms_ctx(app: web.Application) -> AsyncIterator[None]:
    s = app[SERVICES]
    app[ROOMS] = Rooms(s.settings, s.db, s.storage, s.clock, s.analysis, s.reactions)
    recovery = asyncio.create_task(app[ROOMS].recover_orphans())
    yield
    with contextlib.suppress(Exception):
        await recovery  # a recovery under way finishes its hand-over first
    await app[ROOMS].close_all(SHUTDOWN)  # (already done on_shutdown unless that failed)


async def _on_shutdown(app: web.Application) -> None:
    """Before aiohttp drops open sockets: tell participants, finalize every recording."""
    if ROOMS in app:
        await app[ROOMS].close_all(SHUTDOWN)


def _page(name: str) -> Any:
    path = STATIC_DIR / name

    async def handler(request: web.Request) -> web.FileResponse:
        return web.FileResponse(path, headers={"Content-Type": "text/html; charset=utf-8"})

    return handler


def setup(app: web.Application) -> None:
    """Register what the RouteTable does not describe: the socket, the pages, the rooms."""
    app.router.add_get(r"/a/{token}/live/{session_id:\d+}", _page("live-applicant.html"))
    app.router.add_get(r"/staff/live/{session_id:\d+}", _page("live-console.html"))
    app.cleanup_ctx.append(_rooms_ctx)
    app.on_shutdown.append(_on_shutdown)
