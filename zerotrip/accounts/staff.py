"""Staff account services for the console: signing in and out, passwords, tokens and accounts,
each call one transaction (retried from the start on a write conflict)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts.models import StaffToken, StaffUser
from zerotrip.accounts.service import (
    IssuedToken,
    change_password,
    create_staff,
    issue_staff_token,
    revoke_own_token,
    revoke_staff_token,
    tokens_of,
)
from zerotrip.db import Database
from zerotrip.problems import InvalidInput, Unauthenticated


async def sign_out(db: Database, token_id: int) -> None:
    """End the credential the caller signed out with: its cookie session or its bearer token."""

    async def work(session: AsyncSession) -> None:
        await revoke_staff_token(session, token_id)

    await db.run_in_transaction(work)


async def set_own_password(
    db: Database,
    user_id: int,
    current: str,
    new: str,
    *,
    keep_token_id: int | None = None,
    client: str = "",
) -> None:
    """Change the password; every other session and token of the account ends with it."""

    async def work(session: AsyncSession) -> None:
        user = await session.get(StaffUser, user_id)
        if user is None:
            raise Unauthenticated("Log in again.", zh="请重新登录。")
        await change_password(
            session, user, current, new, keep_token_id=keep_token_id, client=client
        )

    await db.run_in_transaction(work)


async def staff_accounts(db: Database) -> list[StaffUser]:
    async with db.session() as session:
        return list((await session.exec(select(StaffUser).order_by(col(StaffUser.id)))).all())


async def add_staff(
    db: Database, username: str, display_name: str, role: str, password: str
) -> StaffUser:
    async def work(session: AsyncSession) -> StaffUser:
        return await create_staff(session, username, display_name, role, password)

    return await db.run_in_transaction(work)


async def api_token(
    db: Database,
    user_id: int,
    *,
    label: str,
    hours: int | None,
    default_hours: int,
    max_hours: int,
) -> IssuedToken:
    """A new bearer token; it lives ``default_hours`` unless asked otherwise, never past
    ``max_hours`` (a token that never expires is a credential nobody remembers to revoke)."""
    hours = hours or default_hours
    if hours > max_hours:
        raise InvalidInput(
            f"hours: a token may live at most {max_hours} hours.",
            zh=f"令牌有效期最长 {max_hours} 小时。",
        )

    async def work(session: AsyncSession) -> IssuedToken:
        user = await session.get(StaffUser, user_id)
        if user is None:
            raise Unauthenticated("Log in again.", zh="请重新登录。")
        return await issue_staff_token(session, user, "api", hours=hours, label=label)

    return await db.run_in_transaction(work)


async def own_tokens(db: Database, user_id: int, now: datetime) -> list[StaffToken]:
    async with db.session() as session:
        return await tokens_of(session, user_id, now)


async def revoke_own(db: Database, user_id: int, token_id: int, *, client: str) -> StaffToken:
    async def work(session: AsyncSession) -> StaffToken:
        return await revoke_own_token(session, user_id, token_id, client=client)

    return await db.run_in_transaction(work)
