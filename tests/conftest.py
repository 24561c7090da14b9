"""Test harness: a real database (SQLite file or a throwaway PostgreSQL database), a real
aiohttp server on loopback, and real staff accounts.

``pytest --db=postgresql`` runs the same suite against PostgreSQL at 127.0.0.1:5432; each run
creates its own database there and drops it afterwards, so parallel runs never collide.

Fixtures: ``settings``, ``db``, ``clock`` and ``client`` (an aiohttp TestClient on a real
server) for async tests; ``live_server`` (base URL) and ``live_app`` (the app in a background
thread) for sync tests, browsers and fuzzers (:mod:`tests.live`); ``browser``, headless Chromium
through Playwright (:mod:`tests.browser`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.app_server import live_app, live_server  # noqa: F401  (shared fixtures)
from tests.browser import browser  # noqa: F401  (shared fixture)
from tests.databases import fresh_settings, migrated_template
from tests.seaweedfs import s3_server, storage_kind  # noqa: F401  (shared fixtures)
from zerotrip.api.app import create_app
from zerotrip.clock import Clock
from zerotrip.config import Settings
from zerotrip.db import Database


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", default="sqlite", choices=["sqlite", "postgresql"])


def pytest_report_header(config: pytest.Config) -> str:
    return f"zerotrip database: {config.getoption('--db')}"


@pytest.fixture(scope="session")
def database_template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with migrated_template(request.config.getoption("--db"), tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture
async def settings(database_template: str, tmp_path: Path) -> Settings:
    return await fresh_settings(database_template, tmp_path)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings)
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock("Asia/Shanghai")


@pytest.fixture
async def client(settings: Settings, clock: Clock) -> AsyncIterator[TestClient]:
    app = create_app(settings, clock=clock)
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client
