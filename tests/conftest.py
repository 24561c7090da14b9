"""Test harness: a real database (SQLite file or a throwaway PostgreSQL database), a real
aiohttp server on loopback, and real staff accounts.

``pytest --db=postgresql`` runs the same suite against PostgreSQL at 127.0.0.1:5432; each run
creates its own database there and drops it afterwards, so parallel runs never collide.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import zerotrip.models  # noqa: F401
from zerotrip.api.app import create_app
from zerotrip.clock import Clock
from zerotrip.config import Settings
from zerotrip.db import Database, migrate

PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", default="sqlite", choices=["sqlite", "postgresql"])


def pytest_report_header(config: pytest.Config) -> str:
    return f"zerotrip database: {config.getoption('--db')}"


async def _pg_admin(sql: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(sql))
    await engine.dispose()


@pytest.fixture(scope="session")
def database_template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database for the session: a SQLite file to copy, or a PostgreSQL database."""
    kind = request.config.getoption("--db")
    if kind == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        url = f"sqlite+aiosqlite:///{path}"
        migrate(Settings(database_url=url, secret_key="t", data_dir=path.parent).resolved())
        yield url
        return
    name = f"zt_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    try:
        migrate(Settings(database_url=url, secret_key="t").resolved())
        yield url
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate_pg(url: str) -> None:
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture
async def settings(database_template: str, tmp_path: Path) -> Settings:
    """Settings for one test: its own empty database and media folder."""
    if database_template.startswith("sqlite"):
        src = Path(database_template.split("///", 1)[1])
        dst = tmp_path / "zerotrip.db"
        shutil.copyfile(src, dst)
        url = f"sqlite+aiosqlite:///{dst}"
    else:
        await _truncate_pg(database_template)
        url = database_template
    return Settings(
        data_dir=tmp_path,
        database_url=url,
        secret_key="test-secret-key",
        public_url="http://127.0.0.1:0",
    ).resolved()


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
