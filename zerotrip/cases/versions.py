"""Which version of a matter a new case starts with: the office's latest local edit (time limit,
materials, checklist) or the shipped one, and whether the matter is offered at all.

A case copies its materials and checkpoints and keeps its version number and time limit, so
editing a matter changes only the cases that start afterwards.
"""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.admin.models import MatterSetting, MatterVersion
from zerotrip.cases.catalogue import ChecklistItem, MaterialItem, Matter
from zerotrip.problems import InvalidInput


def apply_version(matter: Matter, row: MatterVersion) -> Matter:
    return matter.model_copy(
        update={
            "time_limit_working_days": row.time_limit_working_days,
            "materials": tuple(MaterialItem.model_validate(m) for m in row.materials),
            "checklist": tuple(ChecklistItem.model_validate(c) for c in row.checklist),
        }
    )


async def version_row(session: AsyncSession, code: str, version: int) -> MatterVersion | None:
    if version == 0:
        return None
    stmt = select(MatterVersion).where(
        MatterVersion.matter_code == code, MatterVersion.version == version
    )
    return (await session.exec(stmt)).first()


async def current_matter(session: AsyncSession, matter: Matter) -> tuple[Matter, int]:
    """The matter as new applications get it, and its version; refused when it is withdrawn."""
    setting = await session.get(MatterSetting, matter.code)
    if setting is None:
        return matter, 0
    if not setting.enabled:
        raise InvalidInput(
            f"The matter {matter.name_en} is not offered at present.",
            zh=f"“{matter.name_zh}”暂停受理。",
            errors=[{"field": "matter_code", "message": "not offered"}],
        )
    row = await version_row(session, matter.code, setting.version)
    return (apply_version(matter, row), setting.version) if row else (matter, 0)
