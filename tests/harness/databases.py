"""Throwaway databases for tests: a migrated SQLite file copied per test, or one PostgreSQL
database per run (at 127.0.0.1:5432, trust auth) truncated per test."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import zerotrip.models  # noqa: F401  (every table, for TRUNCATE)
from zerotrip.config import Settings
from zerotrip.db import migrate

PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
# The public URL of an app not yet served: the server that serves it puts its own address here.
UNSERVED_URL = "http://127.0.0.1:0"


async def _pg_admin(sql: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(sql))
    await engine.dispose()


@contextmanager
def migrated_template(kind: str, folder: Path) -> Iterator[str]:
    """A migrated database for a whole run: a SQLite file to copy, or a PostgreSQL database."""
    if kind == "sqlite":
        path = folder / "template.db"
        url = f"sqlite+aiosqlite:///{path}"
        migrate(Settings(database_url=url, secret_key="t", data_dir=folder).resolved())
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


async def truncate_postgresql(url: str) -> None:
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        # A connection an earlier test left open (a stopped loop, a killed task) may still hold
        # a lock on these tables: end it, so every test starts on an empty database.
        await conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        await conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


async def fresh_settings(
    database_template: str, tmp_path: Path, public_url: str = UNSERVED_URL
) -> Settings:
    """Settings for one test: its own empty database and media folder."""
    if database_template.startswith("sqlite"):
        src = Path(database_template.split("///", 1)[1])
        dst = tmp_path / "zerotrip.db"
        shutil.copyfile(src, dst)
        url = f"sqlite+aiosqlite:///{dst}"
    else:
        await truncate_postgresql(database_template)
        url = database_template
    return Settings(
        data_dir=tmp_path,
        database_url=url,
        secret_key="test-secret-key",
        public_url=public_url,
    ).resolved()
