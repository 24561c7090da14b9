"""The matters catalogue as the office runs it: which department owns each shipped matter,
whether it is offered, and local versions of its time limit, materials and checklist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts.models import StaffUser
from zerotrip.admin import events
from zerotrip.admin.models import Department, MatterSetting, MatterVersion
from zerotrip.cases.catalogue import Catalogue, ChecklistItem, MaterialItem, Matter
from zerotrip.cases.versions import apply_version, version_row
from zerotrip.db import Database
from zerotrip.problems import InvalidInput, NotFound


@dataclass(frozen=True)
class OfficeMatter:
    matter: Matter  # as new applications get it
    department_id: int | None
    enabled: bool
    version: int
    versions: int  # how many local versions exist


def _shipped(catalogue: Catalogue, code: str) -> Matter:
    matter = catalogue.get(code)
    if matter is None:
        raise NotFound(f"No matter {code!r}.", zh=f"没有事项 {code}。")
    return matter


async def _office_matter(session: AsyncSession, matter: Matter) -> OfficeMatter:
    setting = await session.get(MatterSetting, matter.code)
    count_stmt = select(func.count()).where(MatterVersion.matter_code == matter.code)
    count = int((await session.exec(count_stmt)).one())
    if setting is None:
        return OfficeMatter(matter, None, True, 0, count)
    row = await version_row(session, matter.code, setting.version)
    current = apply_version(matter, row) if row else matter
    return OfficeMatter(current, setting.department_id, setting.enabled, setting.version, count)


async def office_matters(db: Database, catalogue: Catalogue) -> list[OfficeMatter]:
    async with db.session() as session:
        return [await _office_matter(session, m) for m in catalogue.matters]


async def offered_matters(
    db: Database, catalogue: Catalogue, *, withdrawn: bool = False
) -> list[OfficeMatter]:
    """The matters new applications can be made for, each as its current version (with
    ``withdrawn``: the disabled ones too, for naming running cases)."""
    return [m for m in await office_matters(db, catalogue) if m.enabled or withdrawn]


async def offered_matter(db: Database, catalogue: Catalogue, code: str) -> Matter:
    """One matter as a new application gets it; a withdrawn one is not there."""
    matter = _shipped(catalogue, code)
    async with db.session() as session:
        found = await _office_matter(session, matter)
    if not found.enabled:
        raise NotFound(f"No matter {code!r}.", zh=f"没有事项 {code}。")
    return found.matter


async def _setting(session: AsyncSession, code: str, now: datetime) -> MatterSetting:
    setting = await session.get(MatterSetting, code)
    return setting or MatterSetting(matter_code=code, updated_at=now)


async def configure(
    db: Database,
    catalogue: Catalogue,
    code: str,
    changes: dict[str, object],
    by: StaffUser,
    now: datetime,
) -> OfficeMatter:
    """Set the owning department (``department_id``; None: no department) and ``enabled``."""
    matter = _shipped(catalogue, code)

    async def work(session: AsyncSession) -> OfficeMatter:
        dept = changes.get("department_id")
        if dept is not None and await session.get(Department, dept) is None:
            raise InvalidInput(
                f"department_id: no department {dept}.", zh=f"没有编号为 {dept} 的部门。"
            )
        setting = await _setting(session, code, now)
        for key, value in changes.items():
            setattr(setting, key, value)
        setting.updated_at = now
        session.add(setting)
        await session.flush()
        events.record(session, by, "matter.configured", now, code, **changes)
        return await _office_matter(session, matter)

    return await db.run_in_transaction(work)


async def new_version(
    db: Database,
    catalogue: Catalogue,
    code: str,
    *,
    time_limit_working_days: int,
    materials: list[MaterialItem],
    checklist: list[ChecklistItem],
    note: str,
    by: StaffUser,
    now: datetime,
) -> OfficeMatter:
    """Save an edited matter as its next version; new applications start with it, running
    cases keep theirs."""
    matter = _shipped(catalogue, code)
    for name, items in (("materials", materials), ("checklist", checklist)):
        codes = [i.code for i in items]
        if len(codes) != len(set(codes)):
            raise InvalidInput(f"{name}: codes must be unique.", zh="同一事项内的编码不能重复。")

    async def work(session: AsyncSession) -> OfficeMatter:
        last_stmt = select(func.max(MatterVersion.version)).where(MatterVersion.matter_code == code)
        number = int((await session.exec(last_stmt)).one() or 0) + 1
        session.add(
            MatterVersion(
                matter_code=code,
                version=number,
                time_limit_working_days=time_limit_working_days,
                materials=[m.model_dump() for m in materials],
                checklist=[c.model_dump() for c in checklist],
                note=note,
                created_at=now,
                created_by=by.id,
            )
        )
        setting = await _setting(session, code, now)
        was = setting.version
        setting.version, setting.updated_at = number, now
        session.add(setting)
        await session.flush()
        events.record(
            session,
            by,
            "matter.versioned",
            now,
            code,
            version=number,
            was=was,
            time_limit_working_days=time_limit_working_days,
            note=note,
        )
        return await _office_matter(session, matter)

    return await db.run_in_transaction(work)


async def versions_of(db: Database, code: str) -> list[MatterVersion]:
    async with db.session() as session:
        stmt = (
            select(MatterVersion)
            .where(MatterVersion.matter_code == code)
            .order_by(col(MatterVersion.version).desc())
        )
        return list((await session.exec(stmt)).all())
