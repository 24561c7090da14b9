"""Departments of the service centre, who belongs to them, and what each member may see.

Scoping rule: an administrator sees everything; so does a member of no department (an office
that is not divided yet works as before). A member of departments sees the cases of their
departments' matters and of matters no department owns, never another department's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts.models import Role, StaffUser
from zerotrip.admin import events
from zerotrip.admin.models import Department, MatterSetting, StaffDepartment
from zerotrip.cases.models import Case
from zerotrip.db import Database
from zerotrip.problems import Conflict, InvalidInput, NotFound


async def all_departments(session: AsyncSession) -> list[Department]:
    return list((await session.exec(select(Department).order_by(col(Department.code)))).all())


async def memberships(session: AsyncSession) -> dict[int, list[int]]:
    """user id -> department ids."""
    found: dict[int, list[int]] = {}
    for row in (await session.exec(select(StaffDepartment))).all():
        found.setdefault(row.user_id, []).append(row.department_id)
    return found


async def departments_of(session: AsyncSession, user_id: int) -> list[int]:
    stmt = select(StaffDepartment.department_id).where(StaffDepartment.user_id == user_id)
    return list((await session.exec(stmt)).all())


async def hidden_matters(session: AsyncSession, user: StaffUser) -> frozenset[str]:
    """Matter codes whose cases ``user`` does not see (empty: everything is visible)."""
    if user.role == Role.admin or user.id is None:
        return frozenset()
    mine = set(await departments_of(session, user.id))
    if not mine:
        return frozenset()
    stmt = select(MatterSetting.matter_code, MatterSetting.department_id).where(
        col(MatterSetting.department_id).is_not(None)
    )
    return frozenset(code for code, dept in (await session.exec(stmt)).all() if dept not in mine)


def hidden_case_statement(case_id: Any) -> sa.Select[Any]:
    """The rows saying the case ``case_id`` (an SQL expression: a bound id, or a subquery
    finding the case of another record) belongs to a department the staff member bound as
    ``user_id`` is not in; none: it is visible (or there is no such case). One statement, as
    it runs before every staff read of a case: the case's matter is owned by a department,
    the member belongs to some department, and not to that one. Administrators are not asked."""
    staff = StaffDepartment.__table__.c  # type: ignore[attr-defined]
    owners, cases = MatterSetting.__table__, Case.__table__  # type: ignore[attr-defined]
    settings = owners.c
    mine = sa.select(staff.department_id).where(
        staff.user_id == sa.bindparam("user_id", type_=sa.Integer)
    )
    return (
        sa.select(settings.department_id)
        .select_from(owners.join(cases, cases.c.matter_code == settings.matter_code))
        .where(
            cases.c.id == case_id,
            settings.department_id.is_not(None),
            settings.department_id.not_in(mine),
            sa.exists(mine),
        )
        .limit(1)
    )


async def hidden_matters_for(db: Database, user: StaffUser) -> frozenset[str]:
    async with db.session() as session:
        return await hidden_matters(session, user)


async def add_department(
    db: Database, code: str, name_zh: str, name_en: str, by: StaffUser, now: datetime
) -> Department:
    async def work(session: AsyncSession) -> Department:
        taken = (await session.exec(select(Department).where(Department.code == code))).first()
        if taken is not None:
            raise Conflict(
                f"The department code {code!r} is taken.", zh=f"部门代码 {code} 已被使用。"
            )
        dept = Department(code=code, name_zh=name_zh, name_en=name_en, created_at=now)
        session.add(dept)
        await session.flush()
        events.record(session, by, "department.added", now, code, name_zh=name_zh)
        return dept

    return await db.run_in_transaction(work)


async def change_department(
    db: Database, dept_id: int, changes: dict[str, object], by: StaffUser, now: datetime
) -> Department:
    async def work(session: AsyncSession) -> Department:
        dept = await session.get(Department, dept_id)
        if dept is None:
            raise NotFound(f"No department {dept_id}.", zh=f"没有编号为 {dept_id} 的部门。")
        for key, value in changes.items():
            setattr(dept, key, value)
        session.add(dept)
        events.record(session, by, "department.changed", now, dept.code, **changes)
        return dept

    return await db.run_in_transaction(work)


async def set_membership(
    session: AsyncSession, user: StaffUser, dept_ids: list[int], by: StaffUser, now: datetime
) -> None:
    """Replace ``user``'s departments (in the caller's transaction)."""
    assert user.id is not None
    known = {d.id for d in await all_departments(session)}
    unknown = sorted(set(dept_ids) - known)
    if unknown:
        raise InvalidInput(
            f"departments: no department {unknown[0]}.",
            zh=f"没有编号为 {unknown[0]} 的部门。",
            errors=[{"field": "departments", "message": "unknown department"}],
        )
    before = sorted(await departments_of(session, user.id))
    if before == sorted(set(dept_ids)):
        return
    await session.exec(delete(StaffDepartment).where(col(StaffDepartment.user_id) == user.id))
    for dept_id in sorted(set(dept_ids)):
        session.add(StaffDepartment(user_id=user.id, department_id=dept_id))
    events.record(
        session, by, "staff.departments_set", now, user.username, was=before, now=sorted(dept_ids)
    )
