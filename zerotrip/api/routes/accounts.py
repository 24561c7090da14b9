"""Staff sign-in, sessions, API tokens and account administration."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from zerotrip.accounts import signin, staff
from zerotrip.accounts.models import Role, StaffToken
from zerotrip.accounts.schemas import (
    IssuedApiToken,
    SignedIn,
    TokenList,
    TokenView,
    UserList,
    UserView,
)
from zerotrip.api.bodies import path_int
from zerotrip.api.keys import CLOCK, CREDENTIALS, DB, SETTINGS
from zerotrip.api.principal import SESSION_COOKIE, Principal
from zerotrip.api.routing import ACKNOWLEDGED, Acknowledged, RouteTable, respond
from zerotrip.api.throttling import THROTTLE

routes = RouteTable("accounts")


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


def _user_id(principal: Principal) -> int:
    assert principal.user is not None and principal.user.id is not None
    return principal.user.id


@routes.post(
    "/api/session",
    summary="Staff sign-in: sets the session cookie and returns the CSRF token",
    audience="public",
    body=LoginBody,
    response=SignedIn,
    errors=(400, 401, 413, 422, 429),
)
async def log_in(request: web.Request, *, body: LoginBody) -> web.Response:
    app = request.app
    settings = app[SETTINGS]
    user, issued = await signin.sign_in(
        app[DB],
        app[THROTTLE].limits,
        body.username,
        body.password,
        client=app[THROTTLE].client_address(request),
        now=app[CLOCK].now(),
        session_hours=settings.session_hours,
    )
    resp = respond(
        SignedIn(user=UserView.model_validate(user), csrf_token=issued.record.csrf_token)
    )
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
    response=Acknowledged,
    errors=(401, 403),
)
async def log_out(request: web.Request, *, principal: Principal) -> web.Response:
    if principal.token is not None:
        assert principal.token.id is not None
        await staff.sign_out(request.app[DB], principal.token.id)
        request.app[CREDENTIALS].clear()
    resp = respond(ACKNOWLEDGED)
    resp.del_cookie(SESSION_COOKIE, path="/")
    return resp


@routes.get(
    "/api/me",
    summary="Who the caller is",
    audience="staff",
    response=SignedIn,
    errors=(401, 403),
)
async def who_am_i(request: web.Request, *, principal: Principal) -> SignedIn:
    assert principal.user is not None and principal.token is not None
    return SignedIn(
        user=UserView.model_validate(principal.user), csrf_token=principal.token.csrf_token
    )


@routes.post(
    "/api/me/password",
    summary="Change one's own password; ends every other session and token of the account",
    audience="staff",
    body=PasswordBody,
    response=Acknowledged,
    errors=(400, 401, 403, 413, 422),
)
async def set_password(
    request: web.Request, *, principal: Principal, body: PasswordBody
) -> Acknowledged:
    await staff.set_own_password(
        request.app[DB],
        _user_id(principal),
        body.current_password,
        body.new_password,
        keep_token_id=principal.token.id if principal.token else None,
        client=request.app[THROTTLE].client_address(request),
    )
    request.app[CREDENTIALS].clear()  # cached principals hold the user and tokens as they were
    return ACKNOWLEDGED


@routes.get(
    "/api/users",
    summary="Staff accounts",
    audience="admin",
    response=UserList,
    errors=(401, 403),
)
async def list_users(request: web.Request) -> UserList:
    users = await staff.staff_accounts(request.app[DB])
    return UserList(items=[UserView.model_validate(u) for u in users])


@routes.post(
    "/api/users",
    summary="Create a staff account",
    audience="admin",
    body=NewUserBody,
    response=UserView,
    status=201,
    errors=(400, 401, 403, 409, 413, 422),
)
async def add_user(request: web.Request, *, body: NewUserBody) -> UserView:
    user = await staff.add_staff(
        request.app[DB], body.username, body.display_name, body.role.value, body.password
    )
    return UserView.model_validate(user)


@routes.post(
    "/api/tokens",
    summary="Create an API bearer token for oneself (it expires after Settings.api_token_hours "
    "unless hours says otherwise)",
    audience="staff",
    body=NewTokenBody,
    response=IssuedApiToken,
    status=201,
    errors=(400, 401, 403, 413, 422),
)
async def add_token(
    request: web.Request, *, principal: Principal, body: NewTokenBody
) -> IssuedApiToken:
    settings = request.app[SETTINGS]
    issued = await staff.api_token(
        request.app[DB],
        _user_id(principal),
        label=body.label,
        hours=body.hours,
        default_hours=settings.api_token_hours,
        max_hours=settings.api_token_max_hours,
    )
    assert issued.record.id is not None
    return IssuedApiToken(
        id=issued.record.id, token=issued.token, expires_at=issued.record.expires_at
    )


def _token_view(record: StaffToken, principal: Principal) -> TokenView:
    view = TokenView.model_validate(record)
    view.current = principal.token is not None and record.id == principal.token.id
    return view


@routes.get(
    "/api/tokens",
    summary="One's own sessions and API tokens that still work (never the secrets)",
    audience="staff",
    response=TokenList,
    errors=(401, 403),
)
async def list_tokens(request: web.Request, *, principal: Principal) -> TokenList:
    records = await staff.own_tokens(request.app[DB], _user_id(principal), request.app[CLOCK].now())
    return TokenList(items=[_token_view(r, principal) for r in records])


@routes.delete(
    "/api/tokens/{token_id}",
    summary="Revoke one of one's own sessions or API tokens (anyone else's is a 404)",
    audience="staff",
    response=TokenView,
    errors=(401, 403, 404),
)
async def revoke_token(request: web.Request, *, principal: Principal) -> TokenView:
    record = await staff.revoke_own(
        request.app[DB],
        _user_id(principal),
        path_int(request, "token_id"),
        client=request.app[THROTTLE].client_address(request),
    )
    request.app[CREDENTIALS].clear()
    return _token_view(record, principal)
