"""Per-month sums of the facts rows, kept in step with them in the same transaction.

One row per (office-local month of closing, matter, withdrawn or not, handling days): the
dashboard's period figures add up the rows of the period's whole months instead of grouping
every facts row. Keyed by matter, not department: a matter's department is a setting that can
change, so department figures add up their matters' rows at read time.

Every column is a count or an integer sum, so rows merge by addition and a replaced or removed
facts row is taken back out exactly (floats are kept as integers in the unit the facts are
rounded to: live minutes in 1/100 minute, delivery days in 1/1000 day). The handling-days
histogram is part of the key at a resolution of one working day (exact), so the 90th percentile
and the histogram the dashboard shows are read from the rollup without approximation; an
undecided case has ``handling_days = -1``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.dashboard.models import CaseMetrics

UNDECIDED = -1

SUM_COLUMNS = (
    "cases",
    "no_visit",
    "within_limit",
    "limit_days",
    "photo",
    "live",
    "live_sessions",
    "live_centiminutes",
    "courier_orders",
    "deliveries",
    "delivery_millidays",
)


class MonthRollup(SQLModel, table=True):
    __tablename__ = "dashboard_month_rollup"

    month: str = Field(max_length=7, primary_key=True)  # "YYYY-MM", office time zone
    matter_code: str = Field(max_length=64, primary_key=True)
    withdrawn: bool = Field(primary_key=True)
    handling_days: int = Field(primary_key=True)  # -1: not decided
    cases: int = 0
    no_visit: int = 0
    within_limit: int = 0
    limit_days: int = 0
    photo: int = 0
    live: int = 0
    live_sessions: int = 0
    live_centiminutes: int = 0
    courier_orders: int = 0
    deliveries: int = 0
    delivery_millidays: int = 0


T = MonthRollup.__table__  # type: ignore[attr-defined]


def contribution(m: CaseMetrics) -> tuple[dict[str, Any], dict[str, int]]:
    """The key and the sums one facts row adds to its rollup row."""
    key = {
        "month": m.closed_month,
        "matter_code": m.matter_code,
        "withdrawn": m.outcome == "withdrawn",
        "handling_days": UNDECIDED if m.handling_days is None else int(m.handling_days),
    }
    decided = m.handling_days is not None
    sums = {
        "cases": 1,
        "no_visit": int(not m.visit),
        "within_limit": int(decided and m.within_limit is True),
        "limit_days": int(m.limit_days) if decided else 0,
        "photo": int(m.inspection_mode == "photo"),
        "live": int(m.inspection_mode == "live"),
        "live_sessions": int(m.live_sessions),
        "live_centiminutes": round(float(m.live_minutes) * 100),
        "courier_orders": int(m.courier_orders),
        "deliveries": int(m.delivery_days is not None),
        "delivery_millidays": 0 if m.delivery_days is None else round(m.delivery_days * 1000),
    }
    return key, sums


async def _add(session: AsyncSession, m: CaseMetrics, sign: int) -> None:
    key, sums = contribution(m)
    if sign > 0:
        dialect = session.bind.dialect.name if session.bind else "sqlite"
        ins = (postgresql if dialect == "postgresql" else sqlite).insert(T)
        stmt = ins.values(**key, **sums).on_conflict_do_update(
            index_elements=list(key),
            set_={c: T.c[c] + ins.excluded[c] for c in SUM_COLUMNS},
        )
        await session.execute(stmt)
        return
    where = sa.and_(*(T.c[k] == v for k, v in key.items()))
    await session.execute(
        sa.update(T).where(where).values({c: T.c[c] - v for c, v in sums.items()})
    )
    await session.execute(sa.delete(T).where(where, T.c.cases == 0))


async def replace(session: AsyncSession, old: CaseMetrics | None, new: CaseMetrics | None) -> None:
    """Take ``old``'s contribution out and put ``new``'s in (either may be None), in the
    caller's transaction. Additions are one upsert, so concurrent closes of the same month
    and matter add up (row lock on PostgreSQL, the single writer on SQLite)."""
    if old is not None:
        await _add(session, old, -1)
    if new is not None:
        await _add(session, new, +1)


def _grouped_select() -> Any:
    """The rollup computed from the facts rows by ``GROUP BY`` (backfill, rebuild, checks)."""
    m = CaseMetrics.__table__  # type: ignore[attr-defined]
    one, zero = sa.literal(1), sa.literal(0)
    decided = m.c.handling_days.is_not(None)

    def count_if(cond: Any) -> Any:
        return sa.func.coalesce(sa.func.sum(sa.case((cond, one), else_=zero)), 0)

    def int_sum(expr: Any) -> Any:
        return sa.func.coalesce(sa.func.sum(expr), 0)

    withdrawn = m.c.outcome == "withdrawn"
    days = sa.func.coalesce(m.c.handling_days, UNDECIDED)
    cols = [
        m.c.closed_month.label("month"),
        m.c.matter_code,
        sa.case((withdrawn, sa.true()), else_=sa.false()).label("withdrawn"),
        days.label("handling_days"),
        sa.func.count().label("cases"),
        count_if(m.c.visit.is_(False)),
        count_if(sa.and_(decided, m.c.within_limit.is_(True))),
        int_sum(sa.case((decided, m.c.limit_days), else_=zero)),
        count_if(m.c.inspection_mode == "photo"),
        count_if(m.c.inspection_mode == "live"),
        int_sum(m.c.live_sessions),
        int_sum(sa.cast(sa.func.round(m.c.live_minutes * 100), sa.BigInteger)),
        int_sum(m.c.courier_orders),
        sa.func.count(m.c.delivery_days),
        int_sum(sa.cast(sa.func.round(m.c.delivery_days * 1000), sa.BigInteger)),
    ]
    return sa.select(*cols).group_by(m.c.closed_month, m.c.matter_code, withdrawn, days)


def rebuild_statements() -> list[Any]:
    """Empty the rollup and fill it again from the facts rows (run in one transaction)."""
    names = ["month", "matter_code", "withdrawn", "handling_days", *SUM_COLUMNS]
    return [sa.delete(T), sa.insert(T).from_select(names, _grouped_select())]


async def rebuild(session: AsyncSession) -> None:
    for stmt in rebuild_statements():
        await session.execute(stmt)
