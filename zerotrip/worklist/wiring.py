"""How the worklist wires itself into a service: a staff task for every dead-lettered message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.outbox.models import OutboxMessage
from zerotrip.worklist.service import open_task

if TYPE_CHECKING:
    from zerotrip.services import Services


async def open_dead_letter_task(session: AsyncSession, msg: OutboxMessage, error: str) -> None:
    """Nothing the outbox gives up on goes unseen: a person gets a task, in the same
    transaction as the dead letter."""
    await open_task(
        session,
        kind="outbox.dead",
        title=f"Undelivered {msg.topic} #{msg.id}",
        detail=f"Gave up on outbox message {msg.id} ({msg.dedupe_key}): {error}",
        case_id=msg.case_id,
    )


def setup(services: Services) -> None:
    services.outbox.on_dead_letter(open_dead_letter_task)
