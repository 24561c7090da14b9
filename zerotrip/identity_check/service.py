"""Identity access services: each call one transaction, retried from the start on a conflict."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts.models import StaffUser
from zerotrip.db import Database
from zerotrip.identity_check.access import Viewer, grant, grants, has_access, revoke
from zerotrip.identity_check.models import IdentityAccess


async def may_see(db: Database, viewer: Viewer, roles: tuple[str, ...]) -> bool:
    """Whether the viewer may see identity evidence at all (not audited: used for listings)."""
    async with db.session() as session:
        return await has_access(session, viewer, roles)


async def personal_grants(db: Database) -> list[tuple[IdentityAccess, StaffUser]]:
    async with db.session() as session:
        return await grants(session)


async def grant_access(
    db: Database, user_id: int, *, granted_by: int | None, now: datetime
) -> IdentityAccess:
    async def work(session: AsyncSession) -> IdentityAccess:
        return await grant(session, user_id, granted_by=granted_by, now=now)

    return await db.run_in_transaction(work)


async def revoke_access(db: Database, user_id: int) -> None:
    async def work(session: AsyncSession) -> None:
        await revoke(session, user_id)

    await db.run_in_transaction(work)
