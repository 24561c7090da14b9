"""Staff account services for the console: signing in and out, passwords, tokens and accounts,
each call one transaction (retried from the start on a write conflict)."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts.models import StaffUser
from zerotrip.accounts.service import (
    IssuedToken,
    authenticate_password,
    change_password,
    create_staff,
    issue_staff_token,
    revoke_staff_token,
)
from zerotrip.db import Database
from zerotrip.problems import Unauthenticated


async def sign_in(
    db: Database, username: str, password: str, *, hours: int
) -> tuple[StaffUser, IssuedToken]:
    async def work(session: AsyncSession) -> tuple[StaffUser, IssuedToken]:
        user = await authenticate_password(session, username, password)
        return user, await issue_staff_token(session, user, "session", hours=hours)

    return await db.run_in_transaction(work)


async def sign_out(db: Database, token_id: int) -> None:
    async def work(session: AsyncSession) -> None:
        await revoke_staff_token(session, token_id)

    await db.run_in_transaction(work)


async def set_own_password(db: Database, user_id: int, current: str, new: str) -> None:
    async def work(session: AsyncSession) -> None:
        user = await session.get(StaffUser, user_id)
        if user is None:
            raise Unauthenticated("Log in again.")
        await change_password(session, user, current, new)

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


async def api_token(db: Database, user_id: int, *, label: str, hours: int | None) -> IssuedToken:
    async def work(session: AsyncSession) -> IssuedToken:
        user = await session.get(StaffUser, user_id)
        if user is None:
            raise Unauthenticated("Log in again.")
        return await issue_staff_token(session, user, "api", hours=hours, label=label)

    return await db.run_in_transaction(work)
