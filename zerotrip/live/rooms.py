"""The registry of the rooms running in this process, by session id: opening one on first
join (at most one per session, within the process's capacity), forgetting it when it closes,
and closing them all when the process stops. It builds nothing itself: the live service hands
it the function that builds a room."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator

from zerotrip.live.room import Room
from zerotrip.problems import RateLimited

log = logging.getLogger("zerotrip.live")


class Rooms:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._running: dict[int, Room] = {}
        self._lock = asyncio.Lock()

    def __contains__(self, live_id: object) -> bool:
        return live_id in self._running

    def __getitem__(self, live_id: int) -> Room:
        return self._running[live_id]

    def __len__(self) -> int:
        return len(self._running)

    def __iter__(self) -> Iterator[int]:
        return iter(list(self._running))

    def get(self, live_id: int) -> Room | None:
        return self._running.get(live_id)

    def values(self) -> list[Room]:
        return list(self._running.values())

    async def open(self, live_id: int, build: Callable[[], Awaitable[Room]]) -> Room:
        """The running room of a session, or a new one from ``build``."""
        async with self._lock:
            room = self._running.get(live_id)
            if room is not None and not room.closed:
                return room
            if len(self._running) >= self.capacity:
                raise RateLimited(
                    "This server is running as many live sessions as it can.",
                    zh="本服务器同时进行的视频踏勘已满，请稍后再试。",
                )
            room = await build()
            self._running[live_id] = room
            return room

    def forget(self, room: Room) -> None:
        if self._running.get(room.live_id) is room:
            del self._running[room.live_id]

    async def close_all(self, reason: str) -> None:
        """Shutdown: mark sessions interrupted (they can be rejoined after a restart) and
        finalize every recording."""
        for room in self.values():
            try:
                await room.interrupt(reason)
            except Exception:
                log.exception("live %s: shutting down", room.live_id)
                await room.close(reason)
