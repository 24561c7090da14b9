"""Control of a session from any process (cancel, end, booking changes) reaching the process
that owns its room.

On PostgreSQL the message is a ``NOTIFY`` sent in the transaction that changed the session, so
it is delivered exactly when the change commits, to every process listening; the owner acts on
it. On SQLite there is one process: the service ends its own room directly and nothing needs
to travel."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import asyncpg
import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.kit.actor import SYSTEM_LIVE, Actor
from zerotrip.live.events import InspectionEnded

log = logging.getLogger("zerotrip.live")
CHANNEL = "zerotrip_live_control"


@dataclass(frozen=True)
class ControlMessage:
    live_id: int
    action: str  # "end": the session ended or was cancelled; its room must close
    reason: str
    actor_kind: str
    actor_id: str
    actor_label: str

    @property
    def actor(self) -> Actor:
        return Actor(self.actor_kind, self.actor_id, self.actor_label)

    @classmethod
    def end(cls, live_id: int, reason: str, actor: Actor) -> ControlMessage:
        return cls(live_id, "end", reason, actor.kind, str(actor.id), actor.label)


OnControl = Callable[[ControlMessage], Awaitable[None]]


class ControlChannel(Protocol):
    async def start(self, on_control: OnControl) -> None: ...

    async def publish(self, session: AsyncSession, message: ControlMessage) -> None:
        """Send within ``session``'s transaction: delivered only if it commits."""

    async def check(self) -> None:
        """Called on each heartbeat: reconnect a lost listener."""

    async def stop(self) -> None: ...


class SingleProcessControl:
    """SQLite: the only process already acted on its own room."""

    async def start(self, on_control: OnControl) -> None:
        return None

    async def publish(self, session: AsyncSession, message: ControlMessage) -> None:
        return None

    async def check(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class PostgresControl:
    """``LISTEN`` on a connection of its own (a pooled connection may not keep a listener)."""

    def __init__(self, database_url: str) -> None:
        self.dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        self._conn: asyncpg.Connection | None = None
        self._on_control: OnControl | None = None
        self._handling: set[asyncio.Task[None]] = set()

    async def start(self, on_control: OnControl) -> None:
        self._on_control = on_control
        await self._listen()

    async def _listen(self) -> None:
        self._conn = await asyncpg.connect(self.dsn)
        await self._conn.add_listener(CHANNEL, self._received)

    def _received(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        try:
            message = ControlMessage(**json.loads(payload))
        except (TypeError, ValueError):
            log.warning("live control: unreadable message %r", payload[:200])
            return
        if self._on_control is not None:
            task = asyncio.ensure_future(self._on_control(message))
            self._handling.add(task)
            task.add_done_callback(self._handled)

    def _handled(self, task: asyncio.Task[None]) -> None:
        self._handling.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("live control failed", exc_info=task.exception())

    async def publish(self, session: AsyncSession, message: ControlMessage) -> None:
        await session.execute(
            sa.text("SELECT pg_notify(:channel, :payload)"),
            {"channel": CHANNEL, "payload": json.dumps(asdict(message))},
        )

    async def check(self) -> None:
        if self._conn is None or self._conn.is_closed():
            log.warning("live control: listener connection lost, reconnecting")
            await self._listen()

    async def stop(self) -> None:
        if self._handling:
            await asyncio.gather(*self._handling, return_exceptions=True)
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()
        self._conn = None


async def announce_end(control: ControlChannel, event: InspectionEnded) -> None:
    """Whoever ends a session, in whichever process, tells its room's owner, in the same
    transaction (a notification is delivered only if the end commits)."""
    live = event.live
    await control.publish(
        event.session, ControlMessage.end(live.id or 0, live.end_reason, SYSTEM_LIVE)
    )
