"""Who is calling: anonymous, a staff member (session cookie or bearer token) or an applicant
(capability link token), and the checks every handler uses to authorise against a case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from zerotrip.accounts.models import ROLE_NAMES_ZH, StaffToken, StaffUser
from zerotrip.accounts.service import (
    APPLICANT_PREFIX,
    STAFF_PREFIX,
    csrf_matches,
    resolve_applicant_token,
    resolve_staff_token,
    token_digest,
)
from zerotrip.api.keys import CLOCK, CREDENTIALS, DB
from zerotrip.api.throttling import THROTTLE, count_attempt, refuse_if_locked
from zerotrip.kit.actor import Actor
from zerotrip.problems import Forbidden, NotFound, PasswordChangeRequired, Unauthenticated

SESSION_COOKIE = "zt_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    kind: str  # anonymous | staff | applicant
    role: str = ""  # clerk | inspector | admin | applicant
    user: StaffUser | None = None
    token: StaffToken | None = None
    case_id: int | None = None  # applicants: the one case their link opens
    link_id: int | None = None
    # A cookie session that sent a change without its CSRF token: anonymous on public routes
    # (so logging in again or applying still works), refused everywhere else.
    csrf_missing: bool = False

    @property
    def actor(self) -> Actor:
        if self.user is not None:
            return Actor("staff", str(self.user.id), f"{self.user.display_name} ({self.role})")
        if self.kind == "applicant":
            return Actor("applicant", f"link:{self.link_id}", "applicant")
        return Actor("anonymous")

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    @property
    def staff_user(self) -> StaffUser:
        """The signed-in staff member, on routes whose declaration admits staff only."""
        assert self.user is not None
        return self.user


ANONYMOUS = Principal("anonymous")
PRINCIPAL = web.RequestKey("principal", Principal)


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def _credential(request: web.Request, token: str, now: datetime) -> Principal | None:
    """The principal a token stands for, from the cache or the database.

    An unknown staff token gives ``None``; an applicant token that is unknown, expired or
    revoked raises 401 or 410.
    """
    cache = request.app[CREDENTIALS]
    digest = token_digest(token)
    principal: Principal | None = cache.get(digest, now)
    if principal is not None:
        return principal
    async with request.app[DB].session() as session:
        if token.startswith(APPLICANT_PREFIX):
            link = await resolve_applicant_token(session, token, now)
            principal = Principal("applicant", "applicant", case_id=link.case_id, link_id=link.id)
            expires_at = link.expires_at
        else:
            found = await resolve_staff_token(session, token, now)
            if found is None:
                return None
            principal = Principal("staff", found[0].role, found[0], found[1])
            expires_at = found[1].expires_at
    cache.put(digest, principal, expires_at)
    return principal


async def principal_for_token(request: web.Request, token: str) -> Principal:
    """The principal of a token that came outside the ``Authorization`` header (a WebSocket's
    first message), counted against guessing exactly like a bearer token."""
    return await _guarded_credential(request, token, request.app[CLOCK].now())


async def _guarded_credential(request: web.Request, token: str, now: datetime) -> Principal:
    """A bearer token's principal, with guessing throttled per client address.

    A client locked out for wrong tokens gets a 429 before any lookup; every unknown token
    (staff or applicant link) counts, and the one over the limit is itself a 429. An expired
    or revoked link (410) is not a guess and does not count.
    """
    cache = request.app[CREDENTIALS]
    digest = token_digest(token)
    found = cache.get(digest, now)
    if found is not None:
        return found  # type: ignore[no-any-return]
    client = request.app[THROTTLE].client_address(request)
    return await cache.shared(
        f"bearer:{client}:{digest}", lambda: _look_up_bearer(request, token, now, client)
    )


async def _look_up_bearer(
    request: web.Request, token: str, now: datetime, client: str
) -> Principal:
    db, limit = request.app[DB], request.app[THROTTLE].limits.token_ip
    await refuse_if_locked(db, limit, client, now)
    try:
        found = await _credential(request, token, now)
    except Unauthenticated:
        found = None
    if found is None:
        await count_attempt(db, limit, client, now)
        raise Unauthenticated("The bearer token or link is not valid.", zh="令牌或链接无效。")
    return found


async def resolve_principal(request: web.Request) -> Principal:
    """Resolve once per request; a presented but invalid credential is a 401, not anonymity."""
    cached = request.get(PRINCIPAL)
    if cached is not None:
        return cached
    now = request.app[CLOCK].now()
    principal = ANONYMOUS
    bearer = _bearer(request)
    if bearer is not None:
        principal = await _guarded_credential(request, bearer, now)
    elif (cookie := request.cookies.get(SESSION_COOKIE)) and cookie.startswith(STAFF_PREFIX):
        found = await _credential(request, cookie, now)
        if found is not None and found.token is not None and found.token.kind == "session":
            if request.method not in SAFE_METHODS and not csrf_matches(
                found.token, request.headers.get(CSRF_HEADER)
            ):
                principal = Principal("anonymous", csrf_missing=True)
            else:
                principal = found
    request[PRINCIPAL] = principal
    return principal


# What an account whose password must change may still do (method, route template).
WHILE_PASSWORD_MUST_CHANGE = frozenset(
    {("POST", "/api/me/password"), ("DELETE", "/api/session"), ("GET", "/api/me")}
)


async def require(request: web.Request, audience: str) -> Principal:
    """Enforce a route's declared audience (see :class:`zerotrip.api.routing.Operation`)."""
    principal = await resolve_principal(request)
    if audience in ("public", "signed"):
        return principal
    _refuse_missing_csrf(principal)
    _refuse_until_password_changed(principal, request)
    if principal.kind == "anonymous":
        raise Unauthenticated(
            "Log in, or open the link the office sent you.",
            zh="请登录，或打开办理窗口发给您的链接。",
        )
    if audience == "staff" and not principal.is_staff:
        raise Forbidden("Only office staff can do this.", zh="只有工作人员可以进行此操作。")
    if audience == "admin" and principal.role != "admin":
        raise Forbidden("Only an administrator can do this.", zh="只有管理员可以进行此操作。")
    if audience == "applicant" and principal.kind != "applicant":
        raise Forbidden(
            "Only the applicant's link can do this.", zh="只有申请人的专属链接可以进行此操作。"
        )
    return principal


def _refuse_until_password_changed(principal: Principal, request: web.Request) -> None:
    """A one-time password (the first administrator's, a reset) opens nothing but its change."""
    if principal.user is None or not principal.user.must_change_password:
        return
    route = request.match_info.route.resource
    template = route.canonical if route is not None else request.path
    if (request.method, template) not in WHILE_PASSWORD_MUST_CHANGE:
        raise PasswordChangeRequired(
            "Change your one-time password first (POST /api/me/password).",
            zh="请先修改一次性密码。",
        )


def _refuse_missing_csrf(principal: Principal) -> None:
    if principal.csrf_missing:
        raise Forbidden(
            f"Missing or wrong {CSRF_HEADER} header for a cookie session.",
            zh=f"使用登录会话时须携带正确的 {CSRF_HEADER} 请求头。",
        )


def authorize_case(principal: Principal, case_id: int) -> None:
    """Staff may see every case; an applicant only their own, and another case looks absent."""
    _refuse_missing_csrf(principal)
    if principal.is_staff:
        return
    if principal.kind == "applicant" and principal.case_id == case_id:
        return
    if principal.kind == "applicant":
        raise NotFound(f"No case {case_id}.", zh=f"没有编号为 {case_id} 的办件。")
    raise Unauthenticated(
        "Log in, or open the link the office sent you.", zh="请登录，或打开办理窗口发给您的链接。"
    )


def require_role(principal: Principal, *roles: str) -> None:
    if principal.role not in roles:
        raise Forbidden(
            f"This needs one of the roles: {', '.join(roles)}.",
            zh=f"此操作需要以下角色之一：{'、'.join(ROLE_NAMES_ZH.get(r, r) for r in roles)}。",
        )
