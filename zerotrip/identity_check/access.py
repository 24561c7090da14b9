"""Who may see identity evidence (远程核 stills of a face and an ID document), and the trace of
every look.

A staff member may see it when their role is one of ``identity_roles`` (by default the
inspectors who run the check, and administrators) or when an administrator granted them access
personally (:class:`IdentityAccess`). Applicants never see it; shared reports and bundles leave
it out. Every attempt on a restricted item by staff, allowed or refused, is appended to the
case's audit chain, so "who looked at this ID card" has an answer that cannot be edited away.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts.models import StaffUser
from zerotrip.cases.audit import append_event
from zerotrip.cases.store import lock_case
from zerotrip.db import Database, retry_on_conflict
from zerotrip.identity_check.models import IdentityAccess
from zerotrip.kit.actor import Actor
from zerotrip.problems import Forbidden, InvalidInput, NotFound


@dataclass(frozen=True)
class Viewer:
    """The caller, as the identity rules need it (kept free of the API's principal type)."""

    actor: Actor
    is_staff: bool
    role: str
    user_id: int | None


async def has_access(session: AsyncSession, viewer: Viewer, roles: tuple[str, ...]) -> bool:
    if not viewer.is_staff or viewer.user_id is None:
        return False
    if viewer.role in roles:
        return True
    return await session.get(IdentityAccess, viewer.user_id) is not None


async def guard(
    db: Database,
    viewer: Viewer,
    *,
    case_id: int,
    evidence_id: int | None,
    view: str,
    roles: tuple[str, ...],
) -> None:
    """Allow or refuse one look at restricted evidence, recording it either way.

    Applicants get a 404 (the item does not exist for them); staff without access a 403.
    """
    if not viewer.is_staff:
        raise NotFound(
            f"No evidence {evidence_id}." if evidence_id else "Not found.",
            zh=f"没有编号为 {evidence_id} 的证据。" if evidence_id else "找不到该内容。",
        )

    async def attempt() -> bool:
        async with db.transaction() as session:
            allowed = await has_access(session, viewer, roles)
            case = await lock_case(session, case_id)
            append_event(
                session,
                case,
                viewer.actor,
                "identity.accessed" if allowed else "identity.refused",
                {"evidence": evidence_id, "view": view, "role": viewer.role},
            )
            return allowed

    if not await retry_on_conflict(attempt):
        raise Forbidden(
            "Identity evidence is restricted to staff with identity access "
            "(ask an administrator for it).",
            zh="身份核验资料仅限有身份核验权限的工作人员查看（请向管理员申请）。",
        )


async def grant(
    session: AsyncSession, user_id: int, *, granted_by: int | None, now: datetime
) -> IdentityAccess:
    user = await session.get(StaffUser, user_id)
    if user is None or not user.active:
        raise InvalidInput(
            f"No active staff member {user_id}.", zh=f"没有编号为 {user_id} 的在岗工作人员。"
        )
    existing = await session.get(IdentityAccess, user_id)
    if existing is not None:
        return existing
    row = IdentityAccess(user_id=user_id, granted_by=granted_by, granted_at=now)
    session.add(row)
    await session.flush()
    return row


async def revoke(session: AsyncSession, user_id: int) -> None:
    row = await session.get(IdentityAccess, user_id)
    if row is None:
        raise NotFound(
            f"Staff member {user_id} has no personal identity access.",
            zh=f"工作人员 {user_id} 没有单独授予的身份核验权限。",
        )
    await session.delete(row)


async def grants(session: AsyncSession) -> list[tuple[IdentityAccess, StaffUser]]:
    rows = await session.exec(
        select(IdentityAccess, StaffUser)
        .join(StaffUser, col(StaffUser.id) == IdentityAccess.user_id)
        .order_by(col(IdentityAccess.user_id))
    )
    return list(rows.all())
