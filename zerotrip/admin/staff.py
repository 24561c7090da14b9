"""Staff accounts as an administrator manages them: create, change role and departments,
disable, and reset a password (a one-time password the person must change at next sign-in).

Disabling an account or resetting its password ends every session and token it holds. The
office can never lock itself out: the last active administrator cannot be disabled or demoted.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts.models import Role, StaffToken, StaffUser
from zerotrip.accounts.passwords import hash_password
from zerotrip.accounts.service import create_staff
from zerotrip.admin import events
from zerotrip.admin.departments import memberships, set_membership
from zerotrip.db import Database
from zerotrip.problems import Conflict, NotFound


@dataclass(frozen=True)
class Account:
    user: StaffUser
    departments: list[int]


async def accounts(db: Database) -> list[Account]:
    async with db.session() as session:
        users = (await session.exec(select(StaffUser).order_by(col(StaffUser.id)))).all()
        members = await memberships(session)
        return [Account(u, sorted(members.get(u.id or 0, []))) for u in users]


async def _account(session: AsyncSession, user: StaffUser) -> Account:
    assert user.id is not None
    return Account(user, sorted((await memberships(session)).get(user.id, [])))


async def _user(session: AsyncSession, user_id: int) -> StaffUser:
    user = await session.get(StaffUser, user_id)
    if user is None:
        raise NotFound(f"No staff account {user_id}.", zh=f"没有编号为 {user_id} 的工作人员账号。")
    return user


async def _revoke_all(session: AsyncSession, user_id: int, now: datetime) -> int:
    stmt = (
        update(StaffToken)
        .where(col(StaffToken.user_id) == user_id, col(StaffToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    return int((await session.exec(stmt)).rowcount or 0)  # type: ignore[call-overload]


async def _keep_an_admin(session: AsyncSession, user: StaffUser) -> None:
    stmt = select(func.count()).where(
        StaffUser.role == Role.admin, col(StaffUser.active).is_(True), StaffUser.id != user.id
    )
    if user.role == Role.admin and int((await session.exec(stmt)).one()) == 0:
        raise Conflict(
            "This is the last active administrator; make another one first.",
            zh="这是最后一个有效的管理员账号，请先设置另一名管理员。",
        )


async def add_account(
    db: Database,
    username: str,
    display_name: str,
    role: str,
    password: str,
    departments: list[int],
    by: StaffUser,
    now: datetime,
) -> Account:
    """The password the administrator typed is a first password: it must be changed at the
    first sign-in, so only its owner ever knows the password they work with."""

    async def work(session: AsyncSession) -> Account:
        user = await create_staff(
            session, username, display_name, role, password, must_change_password=True
        )
        await set_membership(session, user, departments, by, now)
        events.record(session, by, "staff.created", now, username, role=role)
        return await _account(session, user)

    return await db.run_in_transaction(work)


async def change_account(
    db: Database, user_id: int, changes: dict[str, object], by: StaffUser, now: datetime
) -> Account:
    """``changes``: any of display_name, role, active, departments."""

    async def work(session: AsyncSession) -> Account:
        user = await _user(session, user_id)
        demoted = "role" in changes and changes["role"] != user.role
        if demoted or changes.get("active") is False:
            await _keep_an_admin(session, user)
        if "departments" in changes:
            await set_membership(session, user, list(changes.pop("departments")), by, now)  # type: ignore[call-overload]
        was = {k: getattr(user, k) for k in changes}
        for key, value in changes.items():
            setattr(user, key, value)
        session.add(user)
        revoked = 0
        if changes.get("active") is False or demoted:
            revoked = await _revoke_all(session, user_id, now)
        if changes:
            events.record(
                session,
                by,
                "staff.changed",
                now,
                user.username,
                was=was,
                now=changes,
                revoked=revoked,
            )
        return await _account(session, user)

    return await db.run_in_transaction(work)


async def reset_password(
    db: Database, user_id: int, by: StaffUser, now: datetime
) -> tuple[Account, str]:
    """A new one-time password (shown once to the administrator, never stored in clear), to be
    changed at the next sign-in; every session and token of the account ends."""
    password = secrets.token_urlsafe(12)
    digest = await hash_password(password)

    async def work(session: AsyncSession) -> Account:
        user = await _user(session, user_id)
        user.password_hash, user.must_change_password = digest, True
        session.add(user)
        revoked = await _revoke_all(session, user_id, now)
        events.record(session, by, "staff.password_reset", now, user.username, revoked=revoked)
        return await _account(session, user)

    return await db.run_in_transaction(work), password
