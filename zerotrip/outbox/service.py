"""Putting work into the outbox (inside the caller's transaction) and managing it by hand."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.db import session_now
from zerotrip.kit.canonical import canonical_json
from zerotrip.outbox.models import OutboxMessage, OutboxState
from zerotrip.outbox.wakeups import notify
from zerotrip.problems import Conflict, NotFound


async def enqueue(
    session: AsyncSession,
    topic: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str,
    case_id: int | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage:
    """Add a message to the caller's transaction; the same ``dedupe_key`` twice is one message.

    ``INSERT ... ON CONFLICT DO NOTHING`` rather than check-then-insert, so two concurrent
    transactions enqueueing the same key cannot both succeed or fail with a 500. On
    PostgreSQL the commit also wakes idle workers in every process (``NOTIFY``).
    """
    if len(dedupe_key) > 200 or not dedupe_key:
        raise ValueError("dedupe_key must be 1..200 characters")
    now = session_now(session)
    values = {
        "topic": topic,
        "payload": _plain(payload),
        "dedupe_key": dedupe_key,
        "case_id": case_id,
        "state": OutboxState.pending.value,
        "attempts": 0,
        "next_attempt_at": not_before or now,
        "last_error": "",
        "created_at": now,
        "updated_at": now,
    }
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(OutboxMessage.__table__).values(**values)  # type: ignore[attr-defined]
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["dedupe_key"]))
    await notify(session)
    found = (
        await session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
    ).one()
    return found


def _plain(payload: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe copy (datetimes as ISO text) so what a handler reads is what was stored."""
    return json.loads(canonical_json(payload))


async def requeue(
    session: AsyncSession, message_id: int, *, now: datetime | None = None
) -> OutboxMessage:
    """Give a dead (or stuck pending) message a fresh set of attempts, due now."""
    msg = (
        await session.exec(
            select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update()
        )
    ).first()
    if msg is None:
        raise NotFound(
            f"No outbox message {message_id}.", zh=f"没有编号为 {message_id} 的待发消息。"
        )
    if msg.state in (OutboxState.done, OutboxState.leased):
        doing = "已完成" if msg.state == OutboxState.done else "正在发送"
        raise Conflict(
            f"Outbox message {message_id} is {msg.state}; it cannot be retried now.",
            zh=f"待发消息 {message_id} {doing}，现在不能重试。",
        )
    msg.state = OutboxState.pending
    msg.attempts = 0
    msg.next_attempt_at = now or session_now(session)
    msg.finished_at = None
    msg.updated_at = now or session_now(session)
    session.add(msg)
    return msg


async def messages_for(
    session: AsyncSession, *, case_id: int | None = None, topic: str | None = None
) -> list[OutboxMessage]:
    stmt = select(OutboxMessage)
    if case_id is not None:
        stmt = stmt.where(OutboxMessage.case_id == case_id)
    if topic is not None:
        stmt = stmt.where(OutboxMessage.topic == topic)
    return list((await session.exec(stmt.order_by(col(OutboxMessage.id)))).all())


async def count_by_state(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        sa.select(OutboxMessage.state, sa.func.count()).group_by(OutboxMessage.state)  # type: ignore[arg-type]
    )
    return {state: n for state, n in rows.all()}
