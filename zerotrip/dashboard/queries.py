"""The dashboard's figures for a period and matter: a handful of aggregates over index ranges.

Every query filters on ``(matter_code, time)`` or ``time`` alone, which the indexes of
:mod:`zerotrip.dashboard.models` and :mod:`zerotrip.ratings.models` cover; none reads events.
Handling days are small integers, so the 90th percentile comes from a histogram instead of
sorting the period's rows. A period's whole months are read from the month rollup; only the
clipped months at its edges group facts rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.models import Case
from zerotrip.dashboard.models import CaseMetrics
from zerotrip.dashboard.rollup import SUM_COLUMNS, UNDECIDED, MonthRollup
from zerotrip.problems import InvalidInput
from zerotrip.ratings.models import Rating, RatingLevel

M = CaseMetrics


@dataclass(frozen=True)
class Period:
    """Whole local days ``start`` .. ``end`` (inclusive) in the office's time zone."""

    start: date
    end: date
    zone: ZoneInfo

    @classmethod
    def checked(cls, start: date, end: date, zone: ZoneInfo, max_days: int) -> Period:
        if end < start:
            raise InvalidInput(
                f"The period ends ({end}) before it starts ({start}).",
                zh=f"统计期间的结束日期（{end}）早于开始日期（{start}）。",
            )
        if (end - start).days + 1 > max_days:
            raise InvalidInput(
                f"The period may cover at most {max_days} days.", zh=f"统计期间最长 {max_days} 天。"
            )
        return cls(start, end, zone)

    def bound(self, day: date) -> datetime:
        return datetime.combine(day, time(0), self.zone).astimezone(UTC)

    @property
    def since(self) -> datetime:
        return self.bound(self.start)

    @property
    def until(self) -> datetime:
        return self.bound(self.end + timedelta(days=1))

    def months(self) -> list[tuple[str, datetime, datetime]]:
        """(label, from, to) per calendar month touching the period, clipped to it."""
        out = []
        first = self.start.replace(day=1)
        while first <= self.end:
            nxt = (first + timedelta(days=32)).replace(day=1)
            lo, hi = max(first, self.start), min(nxt - timedelta(days=1), self.end)
            out.append((f"{first:%Y-%m}", self.bound(lo), self.bound(hi + timedelta(days=1))))
            first = nxt
        return out


def _in_period(column: Any, period: Period) -> Any:
    return sa.and_(column >= period.since, column < period.until)


# A matter code, None for every matter, or the matters left out (a department member's view:
# the matters of departments they are not in, see zerotrip.admin.departments).
MatterScope = str | frozenset[str] | None


def _matter(column: Any, matter: MatterScope) -> Any:
    if not matter:
        return sa.true()
    if isinstance(matter, str):
        return column == matter
    return column.not_in(sorted(matter))


def cohort_filter(period: Period, matter: MatterScope) -> Any:
    """Cases finished in the period (withdrawn ones are counted, but not as handled)."""
    return sa.and_(_matter(col(M.matter_code), matter), _in_period(col(M.closed_at), period))


def percentile(histogram: list[tuple[int, int]], share: float) -> int | None:
    """Nearest-rank percentile of a value -> count histogram."""
    total = sum(n for _, n in histogram)
    if total == 0:
        return None
    rank = max(1, -(-int(share * 100) * total // 100))  # ceil(share * total) without float error
    seen = 0
    for value, n in sorted(histogram):
        seen += n
        if seen >= rank:
            return value
    return sorted(histogram)[-1][0]


def _ratio(part: float | None, whole: float | None) -> float | None:
    return round(part / whole, 4) if part is not None and whole else None


async def received_by_month(
    session: AsyncSession, period: Period, matter: MatterScope
) -> list[tuple[str, int]]:
    """A count per month in one statement: one scalar subquery per month, each a range of the
    covering index (no table reads, one round trip)."""
    sub = col(Case.submitted_at)
    months = period.months()
    counts = [
        sa.select(sa.func.count())
        .where(_matter(col(Case.matter_code), matter), sub >= lo, sub < hi)
        .scalar_subquery()
        for _, lo, hi in months
    ]
    row = (await session.exec(sa.select(*counts))).one()
    return [(label, int(n or 0)) for (label, _, _), n in zip(months, row, strict=True)]


@dataclass
class _Totals:
    """Partial aggregates of the facts rows, summed over the groups of one query. Minutes and
    days are kept in the integer units the facts are rounded to, so sums are exact."""

    closed: int = 0
    withdrawn: int = 0
    no_visit: int = 0
    decided: int = 0
    days: int = 0
    within: int = 0
    limits: int = 0
    photo: int = 0
    live: int = 0
    live_sessions: int = 0
    live_centiminutes: int = 0
    courier: int = 0
    delivered: int = 0
    delivery_millidays: int = 0

    @property
    def live_minutes(self) -> float:
        return self.live_centiminutes / 100

    @property
    def delivery_days(self) -> float:
        return self.delivery_millidays / 1000


def split_months(period: Period) -> tuple[list[str], list[tuple[datetime, datetime]]]:
    """The period's whole months (read from the rollup) and its clipped edge ranges (read from
    the facts rows)."""
    whole, partial = [], []
    for label, lo, hi in period.months():
        first = date.fromisoformat(f"{label}-01")
        nxt = (first + timedelta(days=32)).replace(day=1)
        if lo == period.bound(first) and hi == period.bound(nxt):
            whole.append(label)
        else:
            partial.append((lo, hi))
    return whole, partial


def _int_sum(expr: Any) -> Any:
    return sa.func.sum(sa.cast(sa.func.round(expr), sa.BigInteger))


def _facts_groups(matter: MatterScope, ranges: list[tuple[datetime, datetime]]) -> Any:
    """The facts rows closed in ``ranges``, grouped like the rollup."""
    is_withdrawn = sa.case((M.outcome == "withdrawn", 1), else_=0)
    one = sa.literal(1)
    closed = col(M.closed_at)
    return (
        sa.select(
            M.closed_month,
            is_withdrawn,
            M.handling_days,
            sa.func.count(),
            sa.func.sum(sa.case((col(M.visit).is_(False), one), else_=0)),
            sa.func.sum(sa.case((col(M.within_limit).is_(True), one), else_=0)),
            sa.func.sum(M.limit_days),
            sa.func.sum(sa.case((M.inspection_mode == "photo", one), else_=0)),
            sa.func.sum(sa.case((M.inspection_mode == "live", one), else_=0)),
            sa.func.sum(M.live_sessions),
            _int_sum(col(M.live_minutes) * 100),
            sa.func.sum(M.courier_orders),
            sa.func.count(M.delivery_days),
            _int_sum(col(M.delivery_days) * 1000),
        )
        .where(
            _matter(col(M.matter_code), matter),
            sa.or_(*(sa.and_(closed >= lo, closed < hi) for lo, hi in ranges)),
        )
        .group_by(M.closed_month, is_withdrawn, M.handling_days)
    )


def _rollup_groups(matter: MatterScope, months: list[str]) -> Any:
    """The rollup rows of whole ``months``, summed over matters."""
    r = MonthRollup.__table__  # type: ignore[attr-defined]
    days = sa.case((r.c.handling_days == UNDECIDED, sa.null()), else_=r.c.handling_days)
    return (
        sa.select(
            r.c.month,
            r.c.withdrawn,
            days,
            *(sa.func.sum(r.c[c]) for c in SUM_COLUMNS),
        )
        .where(_matter(r.c.matter_code, matter), r.c.month.in_(months))
        .group_by(r.c.month, r.c.withdrawn, r.c.handling_days)
    )


def accumulate(rows: list[Any]) -> tuple[_Totals, dict[str, int], dict[int, int]]:
    """Sum grouped rows (month, withdrawn, handling days, count, sums...) into the figures."""
    t = _Totals()
    months: dict[str, int] = {}
    histogram: dict[int, int] = {}
    for row in rows:
        month, withdrawn, days, n = row[0], row[1], row[2], int(row[3])
        if withdrawn:
            t.withdrawn += n
            continue
        t.closed += n
        months[month] = months.get(month, 0) + n
        t.no_visit += int(row[4] or 0)
        if days is not None:
            histogram[int(days)] = histogram.get(int(days), 0) + n
            t.decided += n
            t.days += int(days) * n
            t.within += int(row[5] or 0)
            t.limits += int(row[6] or 0)
        t.photo += int(row[7] or 0)
        t.live += int(row[8] or 0)
        t.live_sessions += int(row[9] or 0)
        t.live_centiminutes += int(row[10] or 0)
        t.courier += int(row[11] or 0)
        t.delivered += int(row[12] or 0)
        t.delivery_millidays += int(row[13] or 0)
    return t, months, histogram


async def _facts_totals(
    session: AsyncSession, period: Period, matter: MatterScope
) -> tuple[_Totals, dict[str, int], dict[int, int]]:
    """Totals, closed per month and the handling-days histogram: whole months from the month
    rollup (:mod:`zerotrip.dashboard.rollup`), the clipped months at the period's edges from
    the facts rows' covering index."""
    whole, partial = split_months(period)
    rows: list[Any] = []
    if whole:
        rows += (await session.exec(_rollup_groups(matter, whole))).all()
    if partial:
        rows += (await session.exec(_facts_groups(matter, partial))).all()
    return accumulate(rows)


def _mean(total: float, count: int) -> float | None:
    return round(total / count, 2) if count else None


async def figures(session: AsyncSession, period: Period, matter: MatterScope) -> dict[str, Any]:
    """Every figure of the dashboard, as plain JSON-ready values."""
    received_months = await received_by_month(session, period, matter)
    t, closed_months, histogram = await _facts_totals(session, period, matter)
    ratings = await rating_figures(session, period, matter)
    return {
        "period": {"from": period.start, "to": period.end},
        "matter": matter if isinstance(matter, str) else None,
        "received": sum(n for _, n in received_months),
        "closed": t.closed,
        "withdrawn": t.withdrawn,
        "without_visit": {"count": t.no_visit, "share": _ratio(t.no_visit, t.closed)},
        "handling_days": {
            "decided": t.decided,
            "average": _mean(t.days, t.decided),
            "p90": percentile(list(histogram.items()), 0.9),
            "statutory_limit": _mean(t.limits, t.decided),
            "within_limit": t.within,
            "within_limit_share": _ratio(t.within, t.decided),
            "histogram": sorted([d, n] for d, n in histogram.items()),
        },
        "inspections": {
            "photo": t.photo,
            "live": t.live,
            "live_sessions": t.live_sessions,
            "average_live_minutes": _mean(t.live_minutes, t.live_sessions),
        },
        "courier": {
            "orders": t.courier,
            "deliveries": t.delivered,
            "average_delivery_days": _mean(t.delivery_days, t.delivered),
        },
        "ratings": ratings,
        "months": [
            {"month": label, "received": r, "closed": closed_months.get(label, 0)}
            for label, r in received_months
        ],
    }


async def rating_figures(
    session: AsyncSession, period: Period, matter: MatterScope
) -> dict[str, Any]:
    """Counts by level and rectification state, from one covering-index range."""
    created = col(Rating.created_at)
    where = sa.and_(_matter(col(Rating.matter_code), matter), _in_period(created, period))
    stmt = (
        sa.select(Rating.level, Rating.rectification_state, sa.func.count())
        .where(where)
        .group_by(Rating.level, Rating.rectification_state)
    )
    by_level: dict[str, int] = {}
    opened = done = 0
    for level, state, n in (await session.exec(stmt)).all():
        by_level[level] = by_level.get(level, 0) + int(n)
        if state is not None:
            opened += int(n)
            done += int(n) if state == "done" else 0
    total = sum(by_level.values())
    satisfied = ("very_satisfied", "satisfied", "basically_satisfied")
    return {
        "total": total,
        "distribution": {lv.value: by_level.get(lv.value, 0) for lv in RatingLevel},
        "satisfied_share": _ratio(sum(by_level.get(v, 0) for v in satisfied), total),
        "rectifications": opened,
        "rectified": done,
        "rectification_rate": _ratio(done, opened),
    }


ROW_COLUMNS = (
    "case_id",
    "reference",
    "matter_code",
    "outcome",
    "submitted_at",
    "closed_at",
    "accepted_on",
    "decided_on",
    "limit_days",
    "handling_days",
    "within_limit",
    "visit",
    "inspection_mode",
    "live_sessions",
    "live_minutes",
    "courier_orders",
    "delivery_days",
)


def rows_query(period: Period, matter: MatterScope) -> Any:
    """The facts rows behind the figures, for CSV export (streamed in id order)."""
    cols = [getattr(M, c) if c != "reference" else Case.reference for c in ROW_COLUMNS]
    return (
        sa.select(*cols)
        .join(Case, Case.id == M.case_id)
        .where(cohort_filter(period, matter))
        .order_by(col(M.closed_at), col(M.case_id))
    )
