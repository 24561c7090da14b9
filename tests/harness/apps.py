"""The one way tests build the application: :func:`build_app` is the only call of the
composition root in ``tests/``, so when the way an app is assembled changes, this is the one
place to follow it.

Two ways to serve it, both on a real socket on 127.0.0.1:

- :class:`AppFactory` (fixtures ``apps`` and ``client``): an aiohttp ``TestClient`` on the test's
  own event loop, for async tests. ``apps.client(outbox_worker=False)`` serves an app whose
  settings differ from the test's; every app of one test shares its database and media folder.
- :class:`LiveServer` (fixtures ``live_app`` and ``live_server``): the app in a background
  thread with its own loop, for sync clients that block (schemathesis, ``requests``).
  :meth:`LiveServer.run` runs a coroutine on the server's loop, which is how such a test sets
  records up (``live_app.run(make_staff(live_app.db, "clerk"))``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import threading
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.harness.databases import UNSERVED_URL, fresh_settings
from zerotrip.api.app import create_app
from zerotrip.api.keys import DB
from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.kit.clock import Clock

T = TypeVar("T")


def build_app(settings: Settings, clock: Clock) -> web.Application:
    """The whole application for ``settings``, on the test's clock."""
    return create_app(settings, clock=clock)


class AppFactory:
    """Builds and serves apps that share one test's settings, database and clock."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock

    def settings_with(self, base: Settings | None = None, **overrides: Any) -> Settings:
        """``base`` (the test's settings unless given) with ``overrides`` replaced."""
        return dataclasses.replace(base or self.settings, **overrides)

    def build(self, base: Settings | None = None, **overrides: Any) -> web.Application:
        """An app (not yet started) on :meth:`settings_with` ``(base, **overrides)``."""
        return build_app(self.settings_with(base, **overrides), self.clock)

    @contextlib.asynccontextmanager
    async def client(
        self, base: Settings | None = None, **overrides: Any
    ) -> AsyncIterator[TestClient]:
        """The app served on loopback, started before and cleaned up after the block.

        Unless the test chose a ``public_url``, the app's is the address it is served on, so
        the links it writes (applicant links, verification URLs) open in a browser.
        """
        settings = self.settings_with(base, **overrides)
        port = 0
        if settings.public_url == UNSERVED_URL:
            port = free_port()
            settings = dataclasses.replace(settings, public_url=f"http://127.0.0.1:{port}")
        app = build_app(settings, self.clock)
        async with TestClient(TestServer(app, host="127.0.0.1", port=port or None)) as client:
            yield client


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def base_url(client: TestClient) -> str:
    """``http://127.0.0.1:<port>`` of a served test client, for browsers and links."""
    return str(client.make_url("")).rstrip("/")


class LiveServer:
    """The app on an ephemeral loopback port, served by a thread with its own event loop."""

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
        self.app = build_app(self.settings, self.clock)
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
