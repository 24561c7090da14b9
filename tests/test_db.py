"""The database layer: the migration runner on a shared database (machines that start together
migrate one at a time under a PostgreSQL advisory lock, and the later ones find nothing left to
do), and ``Database.run_in_transaction`` (a write conflict runs the work again from the start in
a fresh transaction, any other error is raised at once, and a conflict that never clears is
raised after the last try with nothing written)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.harness.databases import PG_ADMIN_URL
from zerotrip.accounts.models import StaffUser
from zerotrip.cases.models import AuditEvent
from zerotrip.config import Settings
from zerotrip.db import Database, schema_is_current
from zerotrip.kit.clock import utcnow
from zerotrip.problems import NotFound


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


# --- run_in_transaction ---------------------------------------------------------------------------
def _user(username: str) -> StaffUser:
    return StaffUser(
        username=username,
        display_name=username,
        role="clerk",
        password_hash="x",
        created_at=utcnow(),
    )


async def _count(db, model, *where) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(model).where(*where))).one()


async def test_a_conflict_runs_the_work_again_from_the_start(db):
    """The first attempt writes a row, then loses a unique-key race to a row another writer
    committed; the second attempt sees that row and keeps it. Exactly one row remains, and the
    first attempt's other write is gone with its transaction."""
    async with db.transaction() as session:
        session.add(_user("taken"))
    attempts = []

    async def work(session: AsyncSession) -> str:
        attempts.append(len(attempts) + 1)
        found = (await session.exec(select(StaffUser).where(StaffUser.username == "taken"))).first()
        if len(attempts) == 1:  # as if the other writer committed just after this read
            session.add(_user("side-effect"))
            session.add(_user("taken"))
            await session.flush()
        assert found is not None
        return found.username

    assert await db.run_in_transaction(work) == "taken"
    assert attempts == [1, 2]
    assert await _count(db, StaffUser, col(StaffUser.username) == "taken") == 1
    assert await _count(db, StaffUser, col(StaffUser.username) == "side-effect") == 0


async def test_other_errors_are_not_retried(db):
    attempts = []

    async def work(session: AsyncSession) -> None:
        attempts.append(1)
        session.add(_user("written-then-refused"))
        await session.flush()
        raise NotFound("No such thing.")

    with pytest.raises(NotFound):
        await db.run_in_transaction(work)
    assert len(attempts) == 1
    assert await _count(db, StaffUser, col(StaffUser.username) == "written-then-refused") == 0


async def test_a_conflict_that_never_clears_is_raised_after_the_last_try(db):
    async with db.transaction() as session:
        session.add(_user("always-taken"))
    attempts = []

    async def work(session: AsyncSession) -> None:
        attempts.append(1)
        session.add(_user("always-taken"))
        await session.flush()

    with pytest.raises(IntegrityError):
        await db.run_in_transaction(work, tries=3)
    assert len(attempts) == 3
    assert await _count(db, StaffUser, col(StaffUser.username) == "always-taken") == 1
    assert await _count(db, AuditEvent) == 0
