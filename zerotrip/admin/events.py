"""The administration trail: every change made from the administration pages, who made it and
when, append-only in ``admin_events`` (these changes belong to no case's hash chain)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts.models import StaffUser
from zerotrip.admin.models import AdminEvent


def record(
    session: AsyncSession,
    by: StaffUser,
    kind: str,
    at: datetime,
    subject: str = "",
    /,
    **detail: Any,
) -> None:
    session.add(
        AdminEvent(
            at=at,
            user_id=by.id,
            actor_label=by.display_name,
            kind=kind,
            subject=subject[:200],
            detail=json.dumps(detail, sort_keys=True, ensure_ascii=False, default=str),
        )
    )


async def recent(session: AsyncSession, limit: int = 200) -> list[AdminEvent]:
    stmt = select(AdminEvent).order_by(col(AdminEvent.id).desc()).limit(limit)
    return list((await session.exec(stmt)).all())
