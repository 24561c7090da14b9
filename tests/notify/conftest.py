"""An app whose outbox worker the test drives by hand, with the notifier the test chooses."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from zerotrip.api.app import create_app
from zerotrip.api.keys import OUTBOX


@pytest.fixture
def office_client(settings, clock) -> Callable[..., Any]:
    """``async with office_client(notifier="email", ...) as client`` (worker not running)."""
    import contextlib

    @contextlib.asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[TestClient]:
        configured = dataclasses.replace(settings, outbox_worker=False, **overrides)
        app = create_app(configured, clock=clock)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            yield client

    return make


async def drain(client: TestClient) -> int:
    """Run the outbox worker until nothing is due; return how many messages it handled."""
    worker = client.app[OUTBOX]
    total = 0
    while handled := await worker.run_once():
        total += handled
    return total
