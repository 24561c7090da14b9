"""The access audit trail: lockouts, password changes and revoked credentials.

These events belong to no case, so they are kept apart from the per-case hash chain, append-only
in ``security_events``, and mirrored as a warning line on the ``zerotrip.security`` logger for
whoever watches the logs.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts.models import SecurityEvent
from zerotrip.accounts.throttle import Lockout

log = logging.getLogger("zerotrip.security")

LOCKOUT = "access.lockout"
PASSWORD_CHANGED = "access.password_changed"
TOKENS_REVOKED = "access.tokens_revoked"
TOKEN_REVOKED = "access.token_revoked"


def record_event(
    session: AsyncSession,
    kind: str,
    at: datetime,
    *,
    user_id: int | None = None,
    subject: str = "",
    client: str = "",
    **detail: Any,
) -> SecurityEvent:
    event = SecurityEvent(
        at=at,
        kind=kind,
        user_id=user_id,
        subject=subject[:128],
        client=client[:64],
        detail=json.dumps(detail, sort_keys=True, ensure_ascii=False, default=str),
    )
    session.add(event)
    log.warning("%s subject=%r client=%s %s", kind, subject, client, event.detail)
    return event


async def events_of_kind(session: AsyncSession, kind: str) -> list[SecurityEvent]:
    rows = await session.exec(
        select(SecurityEvent).where(SecurityEvent.kind == kind).order_by(SecurityEvent.id)
    )
    return list(rows.all())


def record_lockout(session: AsyncSession, lockout: Lockout, client: str, at: datetime) -> None:
    record_event(
        session,
        LOCKOUT,
        at,
        subject=lockout.subject,
        client=client,
        scope=lockout.scope,
        seconds=lockout.seconds,
        until=lockout.until,
        in_a_row=lockout.in_a_row,
    )
