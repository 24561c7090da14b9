"""Staff accounts, their sessions and API tokens, and applicants' capability links.

Secrets handed out (session cookies, API tokens, applicant links) are random 256-bit values with
a readable prefix (``zts_`` staff, ``zta_`` applicant); only their SHA-256 is stored, so a copy of
the database gives nobody a working credential. Passwords use argon2id.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts import events
from zerotrip.accounts.models import ApplicantLink, Role, StaffToken, StaffUser
from zerotrip.accounts.passwords import (
    DUMMY_HASH,
    check_password_policy,
    hash_password,
    verify_password,
)
from zerotrip.db import session_now
from zerotrip.problems import Conflict, Gone, InvalidInput, NotFound, Unauthenticated

STAFF_PREFIX = "zts_"
APPLICANT_PREFIX = "zta_"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


async def create_staff(
    session: AsyncSession,
    username: str,
    display_name: str,
    role: str,
    password: str,
    *,
    must_change_password: bool = False,
) -> StaffUser:
    if role not in Role.__members__:
        raise InvalidInput(f"Unknown role {role!r}.", zh=f"没有“{role}”这个角色。")
    check_password_policy(password)
    existing = await session.exec(select(StaffUser).where(StaffUser.username == username))
    if existing.first() is not None:
        raise Conflict(f"The username {username!r} is taken.", zh=f"用户名 {username} 已被使用。")
    user = StaffUser(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=await hash_password(password),
        must_change_password=must_change_password,
        created_at=session_now(session),
    )
    session.add(user)
    await session.flush()
    return user


async def staff_count(session: AsyncSession) -> int:
    return int((await session.exec(select(func.count()).select_from(StaffUser))).one())


async def authenticate_password(session: AsyncSession, username: str, password: str) -> StaffUser:
    user = (await session.exec(select(StaffUser).where(StaffUser.username == username))).first()
    ok = await verify_password(user.password_hash if user else DUMMY_HASH, password)
    if user is None or not ok or not user.active:
        raise Unauthenticated("Wrong username or password.", zh="用户名或密码错误。")
    return user


async def change_password(
    session: AsyncSession,
    user: StaffUser,
    current: str,
    new: str,
    *,
    keep_token_id: int | None = None,
    client: str = "",
) -> int:
    """Set a new password and end every other session and API token of the account.

    Whoever knew the old password (or held a token minted with it) is out; only the session
    making the change (``keep_token_id``) stays. Returns how many credentials were revoked.
    """
    if not await verify_password(user.password_hash, current):
        raise Unauthenticated("The current password is wrong.", zh="当前密码不正确。")
    check_password_policy(new, "new_password")
    if hmac.compare_digest(new.encode(), current.encode()):
        raise InvalidInput(
            "new_password: the new password must differ from the current one.",
            zh="新密码不能与当前密码相同。",
            rule="password_reused",
        )
    assert user.id is not None
    now = session_now(session)
    user.password_hash = await hash_password(new)
    user.must_change_password = False
    session.add(user)
    stmt = (
        update(StaffToken)
        .where(
            col(StaffToken.user_id) == user.id,
            col(StaffToken.revoked_at).is_(None),
            col(StaffToken.id) != (keep_token_id or 0),
        )
        .values(revoked_at=now)
    )
    revoked = (await session.exec(stmt)).rowcount  # type: ignore[call-overload]
    events.record_event(
        session,
        events.PASSWORD_CHANGED,
        now,
        user_id=user.id,
        subject=user.username,
        client=client,
        revoked_credentials=revoked,
    )
    return int(revoked or 0)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    record: StaffToken


async def issue_staff_token(
    session: AsyncSession, user: StaffUser, kind: str, *, hours: int | None, label: str = ""
) -> IssuedToken:
    assert user.id is not None
    token = new_token(STAFF_PREFIX)
    now = session_now(session)
    record = StaffToken(
        user_id=user.id,
        kind=kind,
        token_hash=token_digest(token),
        csrf_token=secrets.token_urlsafe(24) if kind == "session" else "",
        label=label,
        created_at=now,
        expires_at=now + timedelta(hours=hours) if hours else None,
    )
    session.add(record)
    await session.flush()
    return IssuedToken(token, record)


async def resolve_staff_token(
    session: AsyncSession, token: str, now: datetime
) -> tuple[StaffUser, StaffToken] | None:
    if not token.startswith(STAFF_PREFIX):
        return None
    stmt = (
        select(StaffToken, StaffUser)
        .join(StaffUser, StaffUser.id == StaffToken.user_id)
        .where(StaffToken.token_hash == token_digest(token))
    )
    row = (await session.exec(stmt)).first()
    if row is None:
        return None
    record, user = row
    if record.revoked_at or (record.expires_at and record.expires_at <= now) or not user.active:
        return None
    return user, record


async def revoke_staff_token(session: AsyncSession, record_id: int) -> None:
    record = await session.get(StaffToken, record_id)
    if record is not None and record.revoked_at is None:
        record.revoked_at = session_now(session)
        session.add(record)


async def tokens_of(session: AsyncSession, user_id: int, now: datetime) -> list[StaffToken]:
    """The account's sessions and API tokens that still work, newest first."""
    stmt = (
        select(StaffToken)
        .where(StaffToken.user_id == user_id, col(StaffToken.revoked_at).is_(None))
        .order_by(col(StaffToken.id).desc())
    )
    return [t for t in (await session.exec(stmt)).all() if not t.expires_at or t.expires_at > now]


async def revoke_own_token(
    session: AsyncSession, user_id: int, token_id: int, *, client: str = ""
) -> StaffToken:
    """Revoke one of the caller's own credentials; anyone else's looks absent (404)."""
    record = await session.get(StaffToken, token_id)
    if record is None or record.user_id != user_id:
        raise NotFound(f"No token {token_id}.", zh=f"没有编号为 {token_id} 的令牌。")
    if record.revoked_at is None:
        record.revoked_at = session_now(session)
        session.add(record)
        events.record_event(
            session,
            events.TOKEN_REVOKED,
            record.revoked_at,
            user_id=user_id,
            client=client,
            token=token_id,
            token_kind=record.kind,
        )
    return record


def csrf_matches(record: StaffToken, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(record.csrf_token, presented or "")


@dataclass(frozen=True)
class IssuedLink:
    token: str
    link: ApplicantLink


async def issue_applicant_link(
    session: AsyncSession, case_id: int, *, days: int, created_by: int | None = None
) -> IssuedLink:
    token = new_token(APPLICANT_PREFIX)
    now = session_now(session)
    link = ApplicantLink(
        case_id=case_id,
        token_hash=token_digest(token),
        created_at=now,
        expires_at=now + timedelta(days=days),
        created_by=created_by,
    )
    session.add(link)
    await session.flush()
    return IssuedLink(token, link)


async def resolve_applicant_token(
    session: AsyncSession, token: str, now: datetime
) -> ApplicantLink:
    """The live link for ``token``; 401 when unknown, 410 when expired or revoked."""
    if not token.startswith(APPLICANT_PREFIX):
        raise Unauthenticated("This link is not valid.", zh="链接无效。")
    stmt = select(ApplicantLink).where(ApplicantLink.token_hash == token_digest(token))
    link = (await session.exec(stmt)).first()
    if link is None:
        raise Unauthenticated("This link is not valid.", zh="链接无效。")
    if link.revoked_at is not None:
        raise Gone(
            "This link was withdrawn by the office. Ask them for a new one.",
            zh="此链接已被办理窗口作废，请联系窗口重新获取。",
        )
    if link.expires_at <= now:
        raise Gone(
            "This link has expired. Ask the office for a new one.",
            zh="此链接已过期，请联系办理窗口重新获取。",
        )
    return link


async def revoke_applicant_link(session: AsyncSession, case_id: int, link_id: int) -> ApplicantLink:
    link = await session.get(ApplicantLink, link_id)
    if link is None or link.case_id != case_id:
        raise NotFound(
            f"No link {link_id} on case {case_id}.",
            zh=f"办件 {case_id} 没有编号为 {link_id} 的链接。",
        )
    if link.revoked_at is None:
        link.revoked_at = session_now(session)
        session.add(link)
    return link


async def links_of(session: AsyncSession, case_id: int) -> list[ApplicantLink]:
    rows = await session.exec(
        select(ApplicantLink).where(ApplicantLink.case_id == case_id).order_by(ApplicantLink.id)
    )
    return list(rows.all())


async def bootstrap_admin(session: AsyncSession) -> str | None:
    """On an empty staff table, create ``admin`` with a one-time password and return it."""
    if await staff_count(session) > 0:
        return None
    password = secrets.token_urlsafe(12)
    await create_staff(
        session, "admin", "Administrator", Role.admin, password, must_change_password=True
    )
    return password
