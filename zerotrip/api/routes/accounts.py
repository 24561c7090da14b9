"""Staff sign-in, sessions, API tokens and account administration."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import select

from zerotrip.accounts.models import Role, StaffToken, StaffUser
from zerotrip.accounts.service import (
    change_password,
    create_staff,
    issue_staff_token,
    revoke_own_token,
    revoke_staff_token,
    tokens_of,
)
from zerotrip.accounts.signin import sign_in
from zerotrip.api.bodies import parse_body, path_int, reply
from zerotrip.api.keys import CLOCK, CREDENTIALS, DB, SETTINGS
from zerotrip.api.principal import SESSION_COOKIE, resolve_principal
from zerotrip.api.routing import RouteTable
from zerotrip.api.throttling import THROTTLE
from zerotrip.problems import InvalidInput, Unauthenticated

routes = RouteTable("accounts")

USER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "username", "role"],
    "properties": {
        "id": {"type": "integer"},
        "username": {"type": "string"},
        "display_name": {"type": "string"},
        "role": {"type": "string", "enum": [r.value for r in Role]},
        "must_change_password": {"type": "boolean"},
    },
}


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class PasswordBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)  # the policy names what is wrong


class NewUserBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: str = Field(min_length=2, max_length=64, pattern=r"^[a-zA-Z0-9._-]+$")
    display_name: str = Field(min_length=1, max_length=200)
    role: Role
    password: str = Field(min_length=1, max_length=200)  # the policy names what is wrong


class NewTokenBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=200)
    hours: int | None = Field(default=None, ge=1, le=24 * 366)


def user_view(user: StaffUser) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "must_change_password": user.must_change_password,
    }


@routes.post(
    "/api/session",
    summary="Staff sign-in: sets the session cookie and returns the CSRF token",
    audience="public",
    body=LoginBody,
    response={
        "type": "object",
        "required": ["user", "csrf_token"],
        "properties": {"user": USER_SCHEMA, "csrf_token": {"type": "string"}},
    },
    errors=(400, 401, 413, 422, 429),
)
async def log_in(request: web.Request) -> web.Response:
    app = request.app
    settings = app[SETTINGS]
    body = await parse_body(request, LoginBody, settings.max_json_bytes)
    signed_in = await sign_in(
        app[DB],
        app[THROTTLE].limits,
        body.username,
        body.password,
        client=app[THROTTLE].client_address(request),
        now=app[CLOCK].now(),
        session_hours=settings.session_hours,
    )
    user, issued = signed_in.user, signed_in.session
    resp = reply({"user": user_view(user), "csrf_token": issued.record.csrf_token})
    resp.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="Strict",
        secure=settings.cookie_secure,
        path="/",
    )
    return resp


@routes.delete(
    "/api/session",
    summary="Sign out: ends the current session, or revokes the bearer token used",
    audience="staff",
    response={"type": "object"},
    errors=(401, 403),
)
async def log_out(request: web.Request) -> web.Response:
    principal = await resolve_principal(request)
    if principal.token is not None and principal.token.id is not None:
        async with request.app[DB].transaction() as session:
            await revoke_staff_token(session, principal.token.id)
        request.app[CREDENTIALS].clear()
    resp = reply({"ok": True})
    resp.del_cookie(SESSION_COOKIE, path="/")
    return resp


@routes.get(
    "/api/me",
    summary="Who the caller is",
    audience="staff",
    response={
        "type": "object",
        "properties": {"user": USER_SCHEMA, "csrf_token": {"type": "string"}},
    },
    errors=(401, 403),
)
async def who_am_i(request: web.Request) -> web.Response:
    principal = await resolve_principal(request)
    assert principal.user is not None and principal.token is not None
    return reply({"user": user_view(principal.user), "csrf_token": principal.token.csrf_token})


@routes.post(
    "/api/me/password",
    summary="Change one's own password; ends every other session and token of the account",
    audience="staff",
    body=PasswordBody,
    response={"type": "object"},
    errors=(400, 401, 403, 413, 422),
)
async def set_password(request: web.Request) -> web.Response:
    principal = await resolve_principal(request)
    body = await parse_body(request, PasswordBody, request.app[SETTINGS].max_json_bytes)
    async with request.app[DB].transaction() as session:
        user = await session.get(StaffUser, principal.user.id if principal.user else 0)
        if user is None:
            raise Unauthenticated("Log in again.")
        await change_password(
            session,
            user,
            body.current_password,
            body.new_password,
            keep_token_id=principal.token.id if principal.token else None,
            client=request.app[THROTTLE].client_address(request),
        )
    request.app[CREDENTIALS].clear()  # cached principals hold the user and tokens as they were
    return reply({"ok": True})


@routes.get(
    "/api/users",
    summary="Staff accounts",
    audience="admin",
    response={"type": "object", "properties": {"items": {"type": "array", "items": USER_SCHEMA}}},
    errors=(401, 403),
)
async def list_users(request: web.Request) -> web.Response:
    async with request.app[DB].session() as session:
        users = (await session.exec(select(StaffUser).order_by(StaffUser.id))).all()
    return reply({"items": [user_view(u) for u in users]})


@routes.post(
    "/api/users",
    summary="Create a staff account",
    audience="admin",
    body=NewUserBody,
    response=USER_SCHEMA,
    status=201,
    errors=(400, 401, 403, 409, 413, 422),
)
async def add_user(request: web.Request) -> web.Response:
    body = await parse_body(request, NewUserBody, request.app[SETTINGS].max_json_bytes)
    async with request.app[DB].transaction() as session:
        user = await create_staff(
            session, body.username, body.display_name, body.role.value, body.password
        )
    return reply(user_view(user), status=201)


@routes.post(
    "/api/tokens",
    summary="Create an API bearer token for oneself (expires after Settings.api_token_hours "
    "unless hours says otherwise)",
    audience="staff",
    body=NewTokenBody,
    response={
        "type": "object",
        "required": ["token"],
        "properties": {"token": {"type": "string"}, "id": {"type": "integer"}},
    },
    status=201,
    errors=(400, 401, 403, 413, 422),
)
async def add_token(request: web.Request) -> web.Response:
    principal = await resolve_principal(request)
    settings = request.app[SETTINGS]
    body = await parse_body(request, NewTokenBody, settings.max_json_bytes)
    hours = body.hours or settings.api_token_hours
    if hours > settings.api_token_max_hours:
        raise InvalidInput(
            f"hours: a token may live at most {settings.api_token_max_hours} hours.",
            zh=f"令牌有效期最长 {settings.api_token_max_hours} 小时。",
        )
    async with request.app[DB].transaction() as session:
        user = await session.get(StaffUser, principal.user.id if principal.user else 0)
        assert user is not None
        issued = await issue_staff_token(session, user, "api", hours=hours, label=body.label)
    return reply(
        {"id": issued.record.id, "token": issued.token, "expires_at": issued.record.expires_at},
        status=201,
    )


TOKEN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "kind", "current"],
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string", "enum": ["session", "api"]},
        "label": {"type": "string"},
        "created_at": {"type": "string"},
        "expires_at": {"type": ["string", "null"]},
        "current": {"type": "boolean"},
    },
}


def token_view(record: StaffToken, current_id: int | None) -> dict[str, Any]:
    return {
        "id": record.id,
        "kind": record.kind,
        "label": record.label,
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "current": record.id == current_id,
    }


@routes.get(
    "/api/tokens",
    summary="One's own sessions and API tokens that still work (never the secrets)",
    audience="staff",
    response={"type": "object", "properties": {"items": {"type": "array", "items": TOKEN_SCHEMA}}},
    errors=(401, 403),
)
async def list_tokens(request: web.Request) -> web.Response:
    principal = await resolve_principal(request)
    assert principal.user is not None and principal.user.id is not None
    current = principal.token.id if principal.token else None
    async with request.app[DB].session() as session:
        records = await tokens_of(session, principal.user.id, request.app[CLOCK].now())
    return reply({"items": [token_view(r, current) for r in records]})


@routes.delete(
    "/api/tokens/{token_id}",
    summary="Revoke one of one's own sessions or API tokens",
    audience="staff",
    response=TOKEN_SCHEMA,
    errors=(401, 403, 404),
)
async def revoke_token(request: web.Request) -> web.Response:
    principal = await resolve_principal(request)
    token_id = path_int(request, "token_id")
    assert principal.user is not None and principal.user.id is not None
    async with request.app[DB].transaction() as session:
        record = await revoke_own_token(
            session,
            principal.user.id,
            token_id,
            client=request.app[THROTTLE].client_address(request),
        )
    request.app[CREDENTIALS].clear()
    return reply(token_view(record, principal.token.id if principal.token else None))
