"""The Shippo stand-in in a process of its own, as the real Shippo is a server of its own.

For benches: the stand-in's CPU (its HTTP server, its JSON) is then not counted as the
dispatcher's, and the two run on different cores. Time is shared through a
``multiprocessing.Value`` holding the clock's offset in seconds, so a bench that moves its
:class:`SharedClock` on moves the stand-in's "later" (late commits) with it. Two control
endpoints outside Shippo's API serve the bench: ``POST /_standin/land`` lands every commit still
pending, ``GET /_standin/report`` returns the labels made per reference and the calls per
operation.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from typing import Any

import aiohttp
from aiohttp import web

from zerotrip.kit.clock import Clock, utcnow


class SharedClock(Clock):
    """A clock whose offset a stand-in process reads too."""

    def __init__(self, timezone: str, shared: Synchronized[float]) -> None:  # type: ignore[type-var]
        super().__init__(timezone)
        self.shared = shared

    def advance(self, delta: timedelta) -> None:
        super().advance(delta)
        self.shared.value = self.offset.total_seconds()


@dataclass
class StandInConfig:
    faults: float = 0.0
    kinds: list[str] = field(default_factory=list)
    seed: int = 0
    hang_s: float = 0.4
    max_commit_s: float = 0.0


@dataclass
class Report:
    labels: Counter[str]
    calls: Counter[str]


def _child(conn: Connection, offset: Synchronized[float], config: StandInConfig) -> None:  # type: ignore[type-var]
    asyncio.run(_serve(conn, offset, config))


async def _serve(conn: Connection, offset: Synchronized[float], config: StandInConfig) -> None:  # type: ignore[type-var]
    from tests.standins.serving import serve
    from tests.standins.shippo import ShippoStandIn

    def now() -> datetime:
        return utcnow() + timedelta(seconds=offset.value)

    standin = ShippoStandIn(
        check=False,
        hang_s=config.hang_s,
        now=now,
        max_commit_s=config.max_commit_s,
        rng=random.Random(config.seed + 1),
    )
    standin.random_faults(config.faults, random.Random(config.seed), config.kinds)

    def report() -> dict[str, Any]:
        return {"labels": dict(standin.labels), "calls": dict(standin.calls)}

    async def land(_: web.Request) -> web.Response:
        standin.land_due(everything=True)
        return web.json_response(report())

    async def read(_: web.Request) -> web.Response:
        return web.json_response(report())

    app = web.Application()
    app.router.add_post("/_standin/land", land)
    app.router.add_get("/_standin/report", read)
    app.router.add_route("*", "/{path:.*}", standin.handle)
    runner, url = await serve(app)
    conn.send(url)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_reader(conn.fileno(), stop.set)  # the parent hung up
    await stop.wait()
    await runner.cleanup()


class ShippoProcess:
    """Start with :meth:`start` (returns the URL), stop with :meth:`stop`."""

    def __init__(self, config: StandInConfig) -> None:
        self.config = config
        self.ctx = multiprocessing.get_context("spawn")
        self.offset: Synchronized[float] = self.ctx.Value("d", 0.0, lock=False)  # type: ignore[assignment,type-var]
        self.url = ""
        self._conn: Connection | None = None
        self._proc: Any = None

    def clock(self, timezone: str) -> SharedClock:
        return SharedClock(timezone, self.offset)

    def start(self) -> str:
        parent, child = self.ctx.Pipe()
        self._proc = self.ctx.Process(
            target=_child, args=(child, self.offset, self.config), daemon=True
        )
        self._proc.start()
        child.close()
        if not parent.poll(60):
            raise RuntimeError("the Shippo stand-in process did not start")
        self.url = parent.recv()
        self._conn = parent
        return self.url

    async def _call(self, method: str, path: str) -> Report:
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, self.url + path) as resp,
        ):
            data = await resp.json()
        return Report(Counter(data["labels"]), Counter(data["calls"]))

    async def land_all(self) -> Report:
        return await self._call("POST", "/_standin/land")

    async def report(self) -> Report:
        return await self._call("GET", "/_standin/report")

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._proc is not None:
            self._proc.join(10)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(5)
