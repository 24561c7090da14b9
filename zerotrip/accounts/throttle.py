"""Throttling by counting in the database, so every process of a cluster sees the same counts.

A :class:`Limit` allows ``max_count`` events (failed sign-ins, wrong tokens, new applications)
per subject within a window; the event that reaches it starts a lockout, and each lockout in a
row lasts twice the one before, up to a cap (a *soft* lockout: it always ends by itself, so an
attacker can slow an account down but never shut it out for good). Callers count an attempt with
:func:`hit` before doing the work, in their own transaction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts.models import ThrottleCounter
from zerotrip.config import Settings
from zerotrip.problems import RateLimited

LOGIN_ACCOUNT = "login_account"
LOGIN_IP = "login_ip"
TOKEN_IP = "token_ip"
APPLY_IP = "apply_ip"


@dataclass(frozen=True)
class Limit:
    scope: str
    max_count: int
    window: timedelta
    lockout_base: timedelta
    lockout_cap: timedelta

    def lockout_length(self, lockouts_before: int) -> timedelta:
        seconds = self.lockout_base.total_seconds() * 2 ** min(lockouts_before, 30)
        return timedelta(seconds=min(seconds, self.lockout_cap.total_seconds()))


@dataclass(frozen=True)
class Limits:
    """The limits the service enforces, as configured."""

    login_account: Limit
    login_ip: Limit
    token_ip: Limit
    apply_ip: Limit

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        base = timedelta(seconds=settings.lockout_base_s)
        cap = timedelta(seconds=settings.lockout_cap_s)

        def limit(scope: str, count: int, window_s: float) -> Limit:
            return Limit(scope, count, timedelta(seconds=window_s), base, cap)

        return cls(
            login_account=limit(
                LOGIN_ACCOUNT, settings.login_failures_per_account, settings.login_window_s
            ),
            login_ip=limit(LOGIN_IP, settings.login_failures_per_ip, settings.login_window_s),
            token_ip=limit(TOKEN_IP, settings.token_failures_per_ip, settings.token_window_s),
            apply_ip=limit(APPLY_IP, settings.applications_per_ip, settings.applications_window_s),
        )


@dataclass(frozen=True)
class Lockout:
    """A lockout that an event just started (to be audited by the caller)."""

    scope: str
    subject: str
    until: datetime
    seconds: int
    in_a_row: int


@dataclass(frozen=True)
class Hit:
    """What counting one attempt decided: go ahead (``wait_s == 0``) or wait that long."""

    wait_s: int = 0
    lockout: Lockout | None = None  # set when this very attempt started a lockout


async def _counter(session: AsyncSession, scope: str, subject: str) -> ThrottleCounter | None:
    """The counter row, locked for the rest of the transaction (PostgreSQL; SQLite serialises
    writers anyway), so concurrent attempts from several processes count one after another."""
    stmt = (
        select(ThrottleCounter)
        .where(ThrottleCounter.scope == scope, ThrottleCounter.subject == subject)
        .with_for_update()
    )
    return (await session.exec(stmt)).first()


def seconds_left(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


async def locked_for(session: AsyncSession, limit: Limit, subject: str, now: datetime) -> int:
    """Seconds until ``subject`` may try again under ``limit``; 0 when it may now."""
    stmt = select(ThrottleCounter.locked_until).where(
        ThrottleCounter.scope == limit.scope, ThrottleCounter.subject == subject
    )
    until = (await session.exec(stmt)).first()
    return seconds_left(until, now) if until is not None and until > now else 0


async def hit(session: AsyncSession, limit: Limit, subject: str, now: datetime) -> Hit:
    """Count one attempt, unless ``subject`` is locked out.

    The attempt after ``max_count`` within the window is refused and starts a lockout; counting
    before the work is done (not after it failed) keeps concurrent attempts within the limit.
    """
    row = await _counter(session, limit.scope, subject)
    if row is None:
        row = ThrottleCounter(scope=limit.scope, subject=subject, window_started_at=now)
    elif row.locked_until is not None and row.locked_until > now:
        return Hit(seconds_left(row.locked_until, now))
    if row.locked_until is not None and now >= row.locked_until + limit.lockout_cap:
        row.lockouts = 0  # quiet for a while since the last lockout: start over
    if now - row.window_started_at >= limit.window:
        row.count, row.window_started_at = 0, now
    row.count += 1
    result = Hit()
    if row.count > limit.max_count:
        row.locked_until = now + limit.lockout_length(row.lockouts)
        row.lockouts += 1
        row.count, row.window_started_at = 0, now
        wait = seconds_left(row.locked_until, now)
        lockout = Lockout(limit.scope, subject, row.locked_until, wait, row.lockouts)
        result = Hit(wait, lockout)
    session.add(row)
    await session.flush()
    return result


async def undo(session: AsyncSession, limit: Limit, subject: str) -> None:
    """Take back one counted attempt that turned out well (a correct password)."""
    row = await _counter(session, limit.scope, subject)
    if row is not None and row.count > 0:
        row.count -= 1
        session.add(row)


async def forget(session: AsyncSession, limit: Limit, subject: str) -> None:
    """Drop ``subject``'s count and lockout history (a successful sign-in to the account)."""
    row = await _counter(session, limit.scope, subject)
    if row is not None:
        await session.delete(row)


async def prune(session: AsyncSession, limits: Limits, now: datetime) -> int:
    """Delete the counters that no longer change any decision, so the table holds only recent
    subjects (a scan of many addresses would otherwise grow it for good).

    A row is dead once its window has passed (the next attempt starts a new count) and its last
    lockout ended more than the cap ago (the next lockout starts over): :func:`hit` would treat
    it exactly as a missing row. Returns how many rows went.
    """
    removed = 0
    for limit in (limits.login_account, limits.login_ip, limits.token_ip, limits.apply_ip):
        quiet_since = now - limit.lockout_cap
        stmt = delete(ThrottleCounter).where(
            col(ThrottleCounter.scope) == limit.scope,
            col(ThrottleCounter.window_started_at) <= now - limit.window,
            (col(ThrottleCounter.locked_until).is_(None))
            | (col(ThrottleCounter.locked_until) <= quiet_since),
        )
        result = await session.exec(stmt)  # type: ignore[call-overload]
        removed += result.rowcount or 0
    return removed


_REFUSALS = {
    LOGIN_ACCOUNT: ("Too many failed sign-ins to this account.", "该账号登录失败次数过多。"),
    LOGIN_IP: ("Too many failed sign-ins from your address.", "您所在网络地址登录失败次数过多。"),
    TOKEN_IP: (
        "Too many invalid links or tokens from your address.",
        "您所在网络地址使用的无效链接或令牌过多。",
    ),
    APPLY_IP: ("Too many applications from your address.", "您所在网络地址提交的申请过多。"),
}


def refusal(scope: str, wait_s: int) -> RateLimited:
    """The 429 for a locked-out subject, saying when to come back, in English and Chinese."""
    english, chinese = _REFUSALS[scope]
    minutes = math.ceil(wait_s / 60)
    en_wait = f"{wait_s} seconds" if wait_s < 60 else f"{minutes} minute{'s' * (minutes > 1)}"
    zh_wait = f"{wait_s} 秒" if wait_s < 60 else f"{minutes} 分钟"
    return RateLimited(
        f"{english} Try again in {en_wait}.",
        zh=f"{chinese}请在 {zh_wait}后重试。",
        retry_after_s=wait_s,
        limit=scope,
    )
