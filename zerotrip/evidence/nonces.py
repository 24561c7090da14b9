"""Issuing capture nonces, with the audit event that says who opened which camera.

The applicant's capture screen asks for one per photo; a live room issues one with the
inspector's request for a full-resolution photo, bound to that session (see
:func:`zerotrip.media.nonce.check_binding`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.store import lock_case
from zerotrip.db import Database
from zerotrip.kit.actor import Actor
from zerotrip.media.nonce import IssuedNonce, issue_nonce


async def issue_capture_nonce(
    db: Database,
    *,
    case_id: int,
    checkpoint_id: int,
    actor: Actor,
    now: datetime,
    minutes: int,
    live_session_id: int | None = None,
) -> IssuedNonce:
    """A new nonce for one photo of ``checkpoint_id`` (the token is shown once, never kept)."""

    async def work(session: AsyncSession) -> IssuedNonce:
        case = await lock_case(session, case_id)
        issued = issue_nonce(session, case_id, checkpoint_id, now, minutes, live_session_id)
        await session.flush()
        payload: dict[str, Any] = {"checkpoint": checkpoint_id, "nonce": issued.record.id}
        if live_session_id is not None:
            payload["live_session"] = live_session_id
        append_event(session, case, actor, "evidence.nonce_issued", payload)
        return issued

    return await db.run_in_transaction(work)
