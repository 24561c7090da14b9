"""The office profile: its name, address and phone as couriers and documents use them.

Saved from the administration page; until it is, ``Settings.office_*`` are the profile. Read
from the database where it is used (inside the caller's transaction), so every process sees a
change at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts.models import StaffUser
from zerotrip.admin import events
from zerotrip.admin.models import OfficeProfile
from zerotrip.config import Settings
from zerotrip.db import Database

PROFILE_ID = 1
FIELDS = ("name", "street", "city", "state", "zip", "country", "phone")


def default_profile(settings: Settings) -> dict[str, str]:
    return {f: str(getattr(settings, f"office_{f}")) for f in FIELDS}


async def office_profile(session: AsyncSession, settings: Settings) -> dict[str, str]:
    row = await session.get(OfficeProfile, PROFILE_ID)
    if row is None:
        return default_profile(settings)
    return {f: getattr(row, f) for f in FIELDS}


async def office_address(session: AsyncSession, settings: Settings) -> dict[str, str]:
    """The office as a courier address (sender of deliveries, recipient of pickups)."""
    profile = await office_profile(session, settings)
    return {
        "name": profile["name"],
        "street1": profile["street"],
        "city": profile["city"],
        "state": profile["state"],
        "zip": profile["zip"],
        "country": profile["country"],
        "phone": profile["phone"],
        "email": "",
        "street2": "",
    }


async def read_profile(db: Database, settings: Settings) -> dict[str, str]:
    async with db.session() as session:
        return await office_profile(session, settings)


async def save_profile(
    db: Database, values: dict[str, str], by: StaffUser, now: datetime
) -> dict[str, str]:
    async def work(session: AsyncSession) -> dict[str, str]:
        row = await session.get(OfficeProfile, PROFILE_ID)
        before = {f: getattr(row, f) for f in FIELDS} if row else {}
        row = row or OfficeProfile(id=PROFILE_ID, updated_at=now, **values)
        for f in FIELDS:
            setattr(row, f, values[f])
        row.updated_at, row.updated_by = now, by.id
        session.add(row)
        changed = {f: [before.get(f), values[f]] for f in FIELDS if before.get(f) != values[f]}
        events.record(session, by, "office.profile_saved", now, values["name"], changed=changed)
        return {f: values[f] for f in FIELDS}

    return await db.run_in_transaction(work)
