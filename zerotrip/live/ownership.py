"""Which process runs each live session's room.

A live process registers itself (id, advertised address) and beats a heartbeat; the first
process that opens a session's room claims it in one conditional UPDATE, so two processes
racing for a session cannot both win. A claim held by a process whose heartbeat expired (it
died) may be taken over. Every route of a session answers only on its owner; the others
refuse with retry advice (the reverse proxy routes by a hash of the session id, so that is
rare)."""

from __future__ import annotations

import math
import os
import re
import secrets
import socket
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from zerotrip.db import Database
from zerotrip.kit.clock import Clock
from zerotrip.live.models import FINISHED, LiveProcess, LiveSession
from zerotrip.problems import Misdirected

_sessions, _processes = LiveSession.__table__, LiveProcess.__table__  # type: ignore[attr-defined]
# The process owning a session's room, when it is another one and alive.
ELSEWHERE = (
    sa.select(_sessions.c.owner_process, _sessions.c.state, _processes.c.address)
    .join_from(_sessions, _processes, _processes.c.id == _sessions.c.owner_process)
    .where(
        _sessions.c.id == sa.bindparam("live_id"),
        _sessions.c.owner_process != sa.bindparam("process_id"),
        _processes.c.heartbeat_at >= sa.bindparam("cutoff", type_=_processes.c.heartbeat_at.type),
    )
)


def new_process_id() -> str:
    """Unique per running service (two apps in one OS process get two), and a folder name."""
    host = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())[:48] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(4)}"


class Ownership:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        process_id: str,
        address: str,
        heartbeat: timedelta,
        expiry: timedelta,
    ) -> None:
        self.db = db
        self.clock = clock
        self.process_id = process_id
        self.address = address
        self.heartbeat = heartbeat
        self.expiry = expiry

    @property
    def retry_after(self) -> int:
        """Seconds a refused client waits: enough for a heartbeat to land."""
        return max(1, math.ceil(self.heartbeat.total_seconds()))

    def _cutoff(self) -> datetime:
        return self.clock.now() - self.expiry

    def _alive_others(self) -> sa.Select[tuple[str]]:
        return sa.select(LiveProcess.id).where(
            LiveProcess.heartbeat_at >= self._cutoff(), LiveProcess.id != self.process_id
        )

    async def register(self) -> None:
        now = self.clock.now()
        async with self.db.transaction() as session:
            session.add(
                LiveProcess(
                    id=self.process_id, address=self.address, started_at=now, heartbeat_at=now
                )
            )

    async def beat(self) -> None:
        """Refresh the heartbeat (re-registering if a long stall let it be swept)."""
        async with self.db.transaction() as session:
            result = await session.execute(
                sa.update(LiveProcess)
                .where(LiveProcess.id == self.process_id)
                .values(heartbeat_at=self.clock.now())
            )
        if not result.rowcount:
            await self.register()

    async def retire(self) -> None:
        """A clean stop: give up every claim, then the registration."""
        async with self.db.transaction() as session:
            await session.execute(
                sa.update(LiveSession)
                .where(LiveSession.owner_process == self.process_id)
                .values(owner_process=None)
            )
            await session.execute(sa.delete(LiveProcess).where(LiveProcess.id == self.process_id))

    async def alive(self) -> set[str]:
        """Ids of the processes whose heartbeat is recent (this one included)."""
        async with self.db.session() as session:
            rows = await session.execute(
                sa.select(LiveProcess.id).where(LiveProcess.heartbeat_at >= self._cutoff())
            )
        return {row[0] for row in rows} | {self.process_id}

    async def forget_dead(self, process_id: str) -> None:
        """Drop a dead process's registration once its folder has been taken over."""
        async with self.db.transaction() as session:
            await session.execute(
                sa.delete(LiveProcess).where(
                    LiveProcess.id == process_id, LiveProcess.heartbeat_at < self._cutoff()
                )
            )

    async def claim(self, live_id: int) -> None:
        """Become the session's owner, unless a live process already is (then refuse)."""
        for _ in range(2):  # the owner may die between the UPDATE and the look at who it is
            if await self._try_claim(live_id):
                return
            await self.ensure_here(live_id)
        raise Misdirected(
            f"Live session {live_id} is being opened on another server; retry.",
            zh=f"视频踏勘 {live_id} 正在另一台服务器上打开，请重试。",
            retry_after=self.retry_after,
        )

    async def _try_claim(self, live_id: int) -> bool:
        async with self.db.transaction() as session:
            result = await session.execute(
                sa.update(LiveSession)
                .where(
                    LiveSession.id == live_id,
                    sa.or_(
                        LiveSession.owner_process.is_(None),
                        LiveSession.owner_process.not_in(self._alive_others()),
                    ),
                )
                .values(owner_process=self.process_id)
            )
        return bool(result.rowcount)

    async def release(self, live_id: int) -> None:
        async with self.db.transaction() as session:
            await session.execute(
                sa.update(LiveSession)
                .where(LiveSession.id == live_id, LiveSession.owner_process == self.process_id)
                .values(owner_process=None)
            )

    def elsewhere(self, live_id: int) -> tuple[sa.Select[Any], dict[str, Any]]:
        """The statement (and its values) finding another live process that owns the session,
        for :meth:`refuse_elsewhere`; read alone or together with a view's own statements."""
        params = {"live_id": live_id, "process_id": self.process_id, "cutoff": self._cutoff()}
        return ELSEWHERE, params

    def refuse_elsewhere(self, live_id: int, rows: list[Any]) -> None:
        """421 (retry) when :meth:`elsewhere` found another process running the room."""
        if rows and rows[0].state not in FINISHED:
            raise Misdirected(
                f"Live session {live_id} is running on another server; retry.",
                zh=f"视频踏勘 {live_id} 正在另一台服务器上进行，请重试。",
                retry_after=self.retry_after,
            )

    async def ensure_here(self, live_id: int) -> None:
        """Refuse (421, retry) when another live process owns the session's running room."""
        (rows,) = await self.db.reads.fetch(self.elsewhere(live_id))
        self.refuse_elsewhere(live_id, rows)

    async def owners_of(self, live_ids: list[int]) -> dict[int, tuple[str | None, str]]:
        """Owner and state of each of these sessions, as the database has them now."""
        if not live_ids:
            return {}
        async with self.db.session() as session:
            rows = await session.execute(
                sa.select(LiveSession.id, LiveSession.owner_process, LiveSession.state).where(
                    LiveSession.id.in_(live_ids)
                )
            )
        return {row.id: (row.owner_process, row.state) for row in rows}
