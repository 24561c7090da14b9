"""Staff sign-in under throttling: per account and per client address, audited lockouts.

Each attempt is counted *before* the password is checked (so a burst of concurrent guesses
cannot slip past the limit) and taken back when the password was right. The counting, the
password check and the new session are three short steps, each with its own transaction: the
argon2 check holds no database lock.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts import events, throttle
from zerotrip.accounts.models import StaffUser
from zerotrip.accounts.service import IssuedToken, authenticate_password, issue_staff_token
from zerotrip.accounts.throttle import Limits
from zerotrip.db import Database
from zerotrip.problems import Unauthenticated


def account_subject(username: str) -> str:
    return username.strip().lower()[:64]


async def sign_in(
    db: Database,
    limits: Limits,
    username: str,
    password: str,
    *,
    client: str,
    now: datetime,
    session_hours: int,
) -> tuple[StaffUser, IssuedToken]:
    """A new browser session for the right password; 401 for a wrong one; 429 while locked."""
    account = account_subject(username)

    async def count_attempt(session: AsyncSession) -> tuple[int, str]:
        """The longest wait the attempt meets (0: go ahead) and the limit that imposes it."""
        longest = (0, "")
        for limit, subject in ((limits.login_ip, client), (limits.login_account, account)):
            hit = await throttle.hit(session, limit, subject, now)
            if hit.lockout is not None:
                events.record_lockout(session, hit.lockout, client, now)
            longest = max(longest, (hit.wait_s, limit.scope))
        return longest

    wait, scope = await db.run_in_transaction(count_attempt)
    if wait:
        raise throttle.refusal(scope, wait)
    async with db.session() as session:
        try:
            user = await authenticate_password(session, username, password)
        except Unauthenticated:
            raise Unauthenticated("Wrong username or password.", zh="用户名或密码错误。") from None

    async def open_session(session: AsyncSession) -> IssuedToken:
        await throttle.forget(session, limits.login_account, account)
        await throttle.undo(session, limits.login_ip, client)
        return await issue_staff_token(session, user, "session", hours=session_hours)

    return user, await db.run_in_transaction(open_session)
