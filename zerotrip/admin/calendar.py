"""The office's working calendar: public holidays and make-up working days (调休), kept in the
database and editable from the administration page, pre-filled from the ``chinesecalendar``
package (the State Council's yearly notice, maintained upstream).

``Settings.holidays`` / ``extra_workdays`` stay the defaults: a day the office saved overrides
them, a day it did not save keeps what the settings say. Every process holds one
:class:`~zerotrip.cases.deadlines.WorkingCalendar`; it is loaded when the service starts, after
each change made in that process, and every minute (changes made in another process).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts.models import StaffUser
from zerotrip.admin import events
from zerotrip.admin.models import CalendarDay
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.problems import InvalidInput

KINDS = ("holiday", "workday")
SOURCE = "chinesecalendar"
# The package names holidays in English; the office reads them in Chinese.
HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def effective_days(
    settings: Settings, saved: list[CalendarDay]
) -> tuple[frozenset[date], frozenset[date]]:
    """Holidays and make-up working days: the settings' defaults, overridden day by day."""
    holidays = {date.fromisoformat(d) for d in settings.holidays}
    workdays = {date.fromisoformat(d) for d in settings.extra_workdays}
    for row in saved:
        holidays.discard(row.day)
        workdays.discard(row.day)
        (holidays if row.kind == "holiday" else workdays).add(row.day)
    return frozenset(holidays), frozenset(workdays)


async def saved_days(session: AsyncSession, year: int | None = None) -> list[CalendarDay]:
    stmt = select(CalendarDay).order_by(col(CalendarDay.day))
    if year is not None:
        stmt = stmt.where(
            col(CalendarDay.day) >= date(year, 1, 1), col(CalendarDay.day) <= date(year, 12, 31)
        )
    return list((await session.exec(stmt)).all())


async def refresh(db: Database, settings: Settings, calendar: WorkingCalendar) -> None:
    async with db.session() as session:
        calendar.replace_days(*effective_days(settings, await saved_days(session)))


def published_days(year: int) -> list[tuple[date, str, str]]:
    """(day, kind, Chinese name) of every weekday holiday and weekend working day the State
    Council published for ``year``; refused for years the package has no notice for yet."""
    import chinese_calendar

    day = date(year, 1, 1)
    found: list[tuple[date, str, str]] = []
    try:
        while day.year == year:
            weekend = day.weekday() >= 5
            if weekend and chinese_calendar.is_workday(day):
                found.append((day, "workday", _name(day) + "调休上班"))
            elif not weekend and chinese_calendar.is_holiday(day):
                found.append((day, "holiday", _name(day)))
            day += timedelta(days=1)
    except NotImplementedError as exc:
        raise InvalidInput(
            f"year: no published holiday notice for {year} yet; enter the days by hand.",
            zh=f"{year} 年的放假安排尚未收录，请手工录入。",
        ) from exc
    return found


def _name(day: date) -> str:
    import chinese_calendar

    _, name = chinese_calendar.get_holiday_detail(day)
    return HOLIDAY_NAMES_ZH.get(str(name), str(name or ""))


async def prefill(db: Database, year: int, by: StaffUser, now: datetime) -> int:
    """Add the published days of ``year``; days the office already saved are left as they are.
    Returns how many days were added."""
    published = published_days(year)

    async def work(session: AsyncSession) -> int:
        have = {row.day for row in await saved_days(session, year)}
        added = 0
        for day, kind, name in published:
            if day not in have:
                session.add(
                    CalendarDay(day=day, kind=kind, name=name, source=SOURCE, updated_at=now)
                )
                added += 1
        events.record(session, by, "calendar.prefilled", now, str(year), added=added)
        return added

    return await db.run_in_transaction(work)


async def set_day(
    db: Database, day: date, kind: str, name: str, by: StaffUser, now: datetime
) -> CalendarDay:
    if kind not in KINDS:
        raise InvalidInput("kind: holiday or workday.", zh="类型须为节假日或调休上班日。")

    async def work(session: AsyncSession) -> CalendarDay:
        row = await session.get(CalendarDay, day)
        before = (row.kind, row.name) if row else None
        row = row or CalendarDay(day=day, kind=kind, updated_at=now)
        row.kind, row.name, row.source, row.updated_at = kind, name, "manual", now
        session.add(row)
        events.record(
            session, by, "calendar.day_set", now, day.isoformat(), kind=kind, name=name, was=before
        )
        return row

    return await db.run_in_transaction(work)


async def clear_day(db: Database, day: date, by: StaffUser, now: datetime) -> None:
    """Forget a saved day: it is again what its weekday (and the settings) say."""

    async def work(session: AsyncSession) -> None:
        row = await session.get(CalendarDay, day)
        if row is not None:
            events.record(
                session, by, "calendar.day_cleared", now, day.isoformat(), was=[row.kind, row.name]
            )
            await session.delete(row)

    await db.run_in_transaction(work)
