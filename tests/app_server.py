"""The app served for real on 127.0.0.1 (an ephemeral port) from a background thread.

Sync tests (browsers, schemathesis, anything that blocks) talk to it over HTTP like any client;
:meth:`LiveServer.run` runs a coroutine on the server's own event loop, which is how a test sets
up records directly (``live_server.run(make_staff(live_server.db, "clerk"))``).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web

from tests.databases import fresh_settings
from zerotrip.api.app import create_app
from zerotrip.api.keys import DB
from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.kit.clock import Clock

T = TypeVar("T")


class LiveServer:
    def __init__(self, database_template: str, data_dir: Path) -> None:
        self.clock = Clock("Asia/Shanghai")
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.settings: Settings = self.run(fresh_settings(database_template, data_dir, self.url))
        self.app = create_app(self.settings, clock=self.clock)
        self._runner = web.AppRunner(self.app, access_log=None)
        self.run(self._start())

    async def _start(self) -> None:
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()

    @property
    def db(self) -> Database:
        return self.app[DB]

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        """Run ``coro`` on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self) -> None:
        try:
            self.run(self._runner.cleanup())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
            self._sock.close()


@pytest.fixture
def live_app(database_template: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A fresh database and the whole app listening on loopback: ``.url``, ``.db``, ``.run()``."""
    server = LiveServer(database_template, tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def live_server(live_app: LiveServer) -> str:
    """The base URL of :func:`live_app` (``http://127.0.0.1:<port>``)."""
    return live_app.url
