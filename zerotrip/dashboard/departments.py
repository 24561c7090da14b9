"""The dashboard's comparison of departments: for one period, each department's received and
closed cases, how many were decided within the statutory limit and the average handling time.

A department's figures are those of the matters it owns (``matter_settings``); matters no
department owns form one more row. Received counts applications submitted in the period; the
other figures count cases closed in it, like the rest of the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.admin.models import Department, MatterSetting
from zerotrip.cases.models import Case
from zerotrip.dashboard.models import CaseMetrics as M
from zerotrip.dashboard.queries import Period, split_months
from zerotrip.dashboard.rollup import UNDECIDED, MonthRollup
from zerotrip.db import Database


@dataclass
class DepartmentFigures:
    department: Department | None  # None: matters no department owns
    received: int = 0
    closed: int = 0
    decided: int = 0
    within_limit: int = 0
    handling_days: int = 0
    matters: list[str] = field(default_factory=list)

    @property
    def within_share(self) -> float | None:
        return round(self.within_limit / self.decided, 4) if self.decided else None

    @property
    def average_days(self) -> float | None:
        return round(self.handling_days / self.decided, 1) if self.decided else None


async def _received(session: AsyncSession, period: Period) -> dict[str, int]:
    sub = col(Case.submitted_at)
    stmt = (
        sa.select(Case.matter_code, sa.func.count())
        .where(sub >= period.since, sub < period.until)
        .group_by(Case.matter_code)
    )
    return {code: int(n) for code, n in (await session.execute(stmt)).all()}


async def _closed(session: AsyncSession, period: Period) -> dict[str, tuple[int, ...]]:
    """Per matter: closed, decided, decided within the limit, handling days summed. The
    period's whole months come from the month rollup, its clipped edges from the facts rows."""
    whole, partial = split_months(period)
    out: dict[str, list[int]] = {}
    rows: list[Any] = []
    if whole:
        r = MonthRollup.__table__  # type: ignore[attr-defined]
        decided = r.c.handling_days != UNDECIDED
        stmt = (
            sa.select(
                r.c.matter_code,
                sa.func.sum(r.c.cases),
                sa.func.sum(sa.case((decided, r.c.cases), else_=0)),
                sa.func.sum(r.c.within_limit),
                sa.func.sum(sa.case((decided, r.c.handling_days * r.c.cases), else_=0)),
            )
            .where(r.c.month.in_(whole), r.c.withdrawn.is_(False))
            .group_by(r.c.matter_code)
        )
        rows += (await session.execute(stmt)).all()
    if partial:
        decided = col(M.handling_days).is_not(None)
        closed = col(M.closed_at)
        stmt = (
            sa.select(
                M.matter_code,
                sa.func.count(),
                sa.func.count(M.handling_days),
                sa.func.sum(sa.case((sa.and_(decided, col(M.within_limit).is_(True)), 1), else_=0)),
                sa.func.coalesce(sa.func.sum(M.handling_days), 0),
            )
            .where(
                sa.or_(*(sa.and_(closed >= lo, closed < hi) for lo, hi in partial)),
                M.outcome != "withdrawn",
            )
            .group_by(M.matter_code)
        )
        rows += (await session.execute(stmt)).all()
    for code, *rest in rows:
        acc = out.setdefault(code, [0, 0, 0, 0])
        for i, v in enumerate(rest):
            acc[i] += int(v or 0)
    return {code: tuple(v) for code, v in out.items()}


async def compare_departments(db: Database, period: Period) -> list[DepartmentFigures]:
    async with db.session() as session:
        depts = list((await session.exec(select(Department).order_by(col(Department.code)))).all())
        settings = (await session.exec(select(MatterSetting))).all()
        owner = {s.matter_code: s.department_id for s in settings}
        received, closed = await _received(session, period), await _closed(session, period)
    rows: dict[int | None, DepartmentFigures] = {d.id: DepartmentFigures(d) for d in depts}
    rows[None] = DepartmentFigures(None)
    for code in sorted(set(received) | set(closed) | set(owner)):
        row = rows.get(owner.get(code)) or rows[None]
        row.matters.append(code)
        row.received += received.get(code, 0)
        n_closed, n_decided, n_within, days = closed.get(code, (0, 0, 0, 0))
        row.closed += n_closed
        row.decided += n_decided
        row.within_limit += n_within
        row.handling_days += days
    unowned = rows.pop(None)
    out = list(rows.values())
    if unowned.received or unowned.closed:
        out.append(unowned)
    return out


def as_dict(row: DepartmentFigures) -> dict[str, Any]:
    d = row.department
    return {
        "department_id": d.id if d else None,
        "code": d.code if d else None,
        "name_zh": d.name_zh if d else "未分配部门",
        "name_en": (d.name_en or d.code) if d else "No department",
        "received": row.received,
        "closed": row.closed,
        "decided": row.decided,
        "within_limit": row.within_limit,
        "within_share": row.within_share,
        "average_days": row.average_days,
    }
