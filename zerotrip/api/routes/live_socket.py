"""The participant's WebSocket of a live session: signalling, prompts and control.

The credential comes as the first message when no header or cookie carried one; each later
message goes to the room, and a bad one gets an error reply in the language of the socket's
upgrade request (a page names its language in the socket's URL, as it cannot set headers).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from typing import Any

from aiohttp import WSMsgType, web

from zerotrip.api.bodies import path_int
from zerotrip.api.case_scope import refuse_other_departments
from zerotrip.api.keys import LIVE, SETTINGS
from zerotrip.api.language import socket_language
from zerotrip.api.principal import (
    SESSION_COOKIE,
    Principal,
    principal_for_token,
    require_role,
    resolve_principal,
)
from zerotrip.api.routes.live import viewer_of
from zerotrip.api.routing import RouteTable
from zerotrip.live import signalling
from zerotrip.live.invitations import GUEST_KEY_PREFIX
from zerotrip.live.participant import Participant
from zerotrip.live.room import Room
from zerotrip.live.schemas import SessionView
from zerotrip.problems import Forbidden, InvalidInput, Problem, Unauthenticated

log = logging.getLogger("zerotrip.live")
routes = RouteTable("live")
AUTH_TIMEOUT_S = 10
JOIN_ROLES = ("inspector", "admin")


def _dumps(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, default=_iso)


def _iso(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _error(problem: Problem, language: str, reply_to: str | None = None) -> dict[str, Any]:
    """A problem as a socket message, in the language of the socket's upgrade request."""
    body = {"type": "error", **problem.as_dict(language=language)}
    body["problem"] = body.pop("type").rsplit("/", 1)[-1]
    body["type"] = "error"
    if reply_to is not None:
        body["reply_to"] = reply_to
    return body


def _auth_first() -> Unauthenticated:
    return Unauthenticated(
        "Send {'type': 'auth', 'token': ...} first.",
        zh="请先发送身份验证消息 {'type': 'auth', 'token': ...}。",
    )


async def _first_message_token(ws: web.WebSocketResponse) -> str:
    """Browsers cannot set headers on a WebSocket: the credential comes as the first message,
    ``{"type": "auth", "token": "..."}``, so it never appears in a URL or an access log."""
    try:
        msg = await ws.receive(timeout=AUTH_TIMEOUT_S)
    except TimeoutError:
        raise _auth_first() from None
    if msg.type != WSMsgType.TEXT:
        raise _auth_first()
    try:
        data = json.loads(msg.data)
    except json.JSONDecodeError:
        data = None
    token = data.get("token") if isinstance(data, dict) and data.get("type") == "auth" else None
    if not isinstance(token, str) or not token or len(token) > 200:
        raise _auth_first()
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
        send, participant, *await live.join(live_id, viewer_of(principal), participant)
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


def _internal_error(incident: str, language: str, reply_to: str | None) -> dict[str, Any]:
    """What a participant reads when a message failed on our side: the incident to quote, in
    the words the HTTP API uses for its own 500."""
    if language == "zh":
        title = "系统内部错误"
        detail = f"系统出了问题，请重试；如仍不行，请告知工作人员编号 {incident}。"
    else:
        title, detail = "Internal error", f"Something went wrong (incident {incident})."
    return {"type": "error", "status": 500, "title": title, "detail": detail,
            "incident": incident, "reply_to": reply_to}  # fmt: skip


async def _converse(
    request: web.Request,
    ws: web.WebSocketResponse,
    room: Room,
    participant: Participant,
    language: str,
) -> None:
    """Each text message to the room; a bad one gets an error reply, never ends the session."""
    limit = request.app[SETTINGS].live_max_sdp_bytes * 4
    async for msg in ws:
        if msg.type != WSMsgType.TEXT:
            if msg.type == WSMsgType.BINARY:
                binary = InvalidInput("Messages are JSON text.", zh="消息须为 JSON 文本。")
                await participant.send(_error(binary, language))
            continue
        reply_to = None
        try:
            message = signalling.parse(participant.role, msg.data, limit)
            reply_to = message.id
            answer = await room.handle(participant, message)
            if answer is not None:
                await participant.send(answer)
        except Problem as problem:
            reply_to = reply_to or signalling.message_id(msg.data)
            await participant.send(_error(problem, language, reply_to))
        except Exception:  # one failed message must not end the participant's session
            incident = secrets.token_hex(6)
            log.exception("live %s: message failed (incident %s)", room.live_id, incident)
            await participant.send(_internal_error(incident, language, reply_to))
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
    language = socket_language(request)
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
        await ws.send_str(_dumps(_error(problem, language)))
        # The close reason stays the English title: it must fit 123 bytes of UTF-8 and pages do
        # not show it; the error message just sent carries the reader's language.
        await ws.close(code=4000 + problem.status, message=problem.title.encode()[:120])
        return ws
    try:
        await _converse(request, ws, room, participant, language)
    finally:
        await asyncio.shield(room.depart(participant, "disconnected"))
        await ws.close()
    return ws
