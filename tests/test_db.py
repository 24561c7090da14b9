"""``Database.run_in_transaction``: a write conflict runs the work again from the start in a
fresh transaction (nothing of the failed attempt stays), any other error is raised at once,
and a conflict that never clears is raised after the last try with nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts.models import StaffUser
from zerotrip.cases.models import AuditEvent
from zerotrip.kit.clock import utcnow
from zerotrip.problems import NotFound


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
