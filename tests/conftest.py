"""Test harness: a real database (SQLite file or a throwaway PostgreSQL database), a real
aiohttp server on loopback, and real staff accounts.

``pytest --db=postgresql`` runs the same suite against PostgreSQL at 127.0.0.1:5432; each run
creates its own database there and drops it afterwards, so parallel runs never collide.

Fixtures: ``settings``, ``db`` and ``clock`` for one test; ``apps`` builds and serves the app
on them (``async with apps.client(outbox_worker=False) as client``) and ``client`` is the app on
the test's own settings; ``live_app`` and ``live_server`` serve it from a background thread for
sync clients (:mod:`tests.harness.apps`); ``browser`` (headless Chromium, async Playwright;
``@pytest.mark.cameras(3)`` for more fake cameras) and ``shots`` (screenshots) for page tests
(:mod:`tests.harness.browsers`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser

from tests.harness.apps import AppFactory, LiveServer
from tests.harness.browsers import Screenshots, launch_chromium
from tests.harness.databases import fresh_settings, migrated_template
from tests.seaweedfs import s3_server, storage_kind  # noqa: F401  (shared fixtures)
from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.kit.clock import Clock


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", default="sqlite", choices=["sqlite", "postgresql"])
    parser.addoption(
        "--screenshots",
        default=None,
        help="folder for the page tests' screenshots (default: var/screenshots)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "cameras(n): the browser fixture's fake media device has n cameras"
    )


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
async def db(settings: Settings, clock: Clock) -> AsyncIterator[Database]:
    database = Database(settings, clock)
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock("Asia/Shanghai")


@pytest.fixture
def apps(settings: Settings, clock: Clock) -> AppFactory:
    """Builds and serves apps on this test's database, media folder and clock."""
    return AppFactory(settings, clock)


@pytest.fixture
async def client(apps: AppFactory) -> AsyncIterator[TestClient]:
    """The app on the test's own settings, served on loopback."""
    async with apps.client() as test_client:
        yield test_client


@pytest.fixture
def live_app(database_template: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A fresh database and the whole app listening on loopback: ``.url``, ``.db``, ``.run()``."""
    server = LiveServer(database_template, tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def browser(request: pytest.FixtureRequest) -> AsyncIterator[Browser]:
    """Headless Chromium for one test (each page helper opens its own context)."""
    marker = request.node.get_closest_marker("cameras")
    async with launch_chromium(cameras=marker.args[0] if marker else 1) as chromium:
        yield chromium


@pytest.fixture
def shots(pytestconfig: pytest.Config) -> Screenshots:
    """``await shots(page, "dashboard")`` writes ``dashboard.png`` for a person to look at."""
    folder = pytestconfig.getoption("--screenshots")
    return Screenshots(Path(folder) if folder else pytestconfig.rootpath / "var" / "screenshots")


@pytest.fixture
def live_server(live_app: LiveServer) -> str:
    """The base URL of :func:`live_app` (``http://127.0.0.1:<port>``)."""
    return live_app.url
