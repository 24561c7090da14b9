"""The migration runner on a shared database: machines that start together migrate one at a
time (PostgreSQL advisory lock), and the later ones find nothing left to do."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from tests.harness.databases import PG_ADMIN_URL
from zerotrip.config import Settings
from zerotrip.db import Database, schema_is_current


async def _admin(sql: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(sql))
    await engine.dispose()


@pytest.fixture
def empty_postgresql(request: pytest.FixtureRequest):
    if request.config.getoption("--db") != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    name = f"zt_migrate_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_concurrent_migrations_run_one_after_another(empty_postgresql: str) -> None:
    """Four ``zerotrip migrate`` processes started together, as four machines would."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "ZEROTRIP_DATABASE_URL": empty_postgresql,
        "ZEROTRIP_SECRET_KEY": "k",
    }
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "zerotrip", "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [run.communicate(timeout=180)[0] for run in runs]
    assert [run.returncode for run in runs] == [0] * 4, outputs
    # Exactly one of them did the work; the others found the schema at its head.
    assert sum("Running upgrade" in out for out in outputs) == 1, outputs

    settings = Settings(database_url=empty_postgresql, secret_key="k").resolved()

    async def check() -> tuple[bool, int]:
        db = Database(settings)
        try:
            async with db.engine.connect() as conn:
                rows = (await conn.execute(sa.text("SELECT count(*) FROM alembic_version"))).one()
            return await schema_is_current(db), rows[0]
        finally:
            await db.dispose()

    assert asyncio.run(check()) == (True, 1)
