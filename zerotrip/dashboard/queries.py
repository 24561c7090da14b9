"""The dashboard's figures for a period and matter: a handful of aggregates over index ranges.

Every query filters on ``(matter_code, time)`` or ``time`` alone, which the indexes of
:mod:`zerotrip.dashboard.models` and :mod:`zerotrip.ratings.models` cover; none reads events.
Handling days are small integers, so the 90th percentile comes from a ``GROUP BY`` histogram
instead of sorting the period's rows.
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
            raise InvalidInput(f"The period ends ({end}) before it starts ({start}).")
        if (end - start).days + 1 > max_days:
            raise InvalidInput(f"The period may cover at most {max_days} days.")
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


def _matter(column: Any, matter: str | None) -> Any:
    return sa.true() if matter is None else column == matter


def cohort_filter(period: Period, matter: str | None) -> Any:
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


def _round(value: Any, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


async def received_by_month(
    session: AsyncSession, period: Period, matter: str | None
) -> tuple[int, list[tuple[str, int]]]:
    months = period.months()
    sub = col(Case.submitted_at)
    cols = [sa.func.count()] + [
        sa.func.sum(sa.case((sa.and_(sub >= lo, sub < hi), 1), else_=0)) for _, lo, hi in months
    ]
    row = (
        await session.exec(
            sa.select(*cols).where(_matter(col(Case.matter_code), matter), _in_period(sub, period))
        )
    ).one()
    return int(row[0]), [
        (label, int(n or 0)) for (label, _, _), n in zip(months, row[1:], strict=True)
    ]


async def figures(session: AsyncSession, period: Period, matter: str | None) -> dict[str, Any]:
    """Every figure of the dashboard, as plain JSON-ready values."""
    received, received_months = await received_by_month(session, period, matter)
    handled = sa.and_(cohort_filter(period, matter), M.outcome != "withdrawn")
    closed_at = col(M.closed_at)
    months = period.months()
    agg = (
        await session.exec(
            sa.select(
                sa.func.count(),
                sa.func.sum(sa.case((col(M.visit).is_(False), 1), else_=0)),
                sa.func.count(M.handling_days),
                sa.func.avg(M.handling_days),
                sa.func.sum(sa.case((col(M.within_limit).is_(True), 1), else_=0)),
                sa.func.avg(sa.case((col(M.handling_days).is_not(None), M.limit_days))),
                sa.func.sum(sa.case((M.inspection_mode == "photo", 1), else_=0)),
                sa.func.sum(sa.case((M.inspection_mode == "live", 1), else_=0)),
                sa.func.sum(M.live_sessions),
                sa.func.sum(M.live_minutes),
                sa.func.sum(M.courier_orders),
                sa.func.count(M.delivery_days),
                sa.func.avg(M.delivery_days),
                *[
                    sa.func.sum(sa.case((sa.and_(closed_at >= lo, closed_at < hi), 1), else_=0))
                    for _, lo, hi in months
                ],
            ).where(handled)
        )
    ).one()
    (closed, no_visit, decided, avg_days, within, avg_limit, photo, live) = agg[:8]
    (live_sessions, live_minutes, courier, delivered, avg_delivery) = agg[8:13]
    closed_months = [int(n or 0) for n in agg[13:]]
    withdrawn = (
        await session.exec(
            sa.select(sa.func.count()).where(
                cohort_filter(period, matter), M.outcome == "withdrawn"
            )
        )
    ).scalar_one()
    histogram = [
        (int(days), int(n))
        for days, n in (
            await session.exec(
                sa.select(M.handling_days, sa.func.count())
                .where(handled, col(M.handling_days).is_not(None))
                .group_by(M.handling_days)
            )
        ).all()
    ]
    ratings = await rating_figures(session, period, matter)
    closed = int(closed or 0)
    return {
        "period": {"from": period.start, "to": period.end},
        "matter": matter,
        "received": received,
        "closed": closed,
        "withdrawn": int(withdrawn or 0),
        "without_visit": {"count": int(no_visit or 0), "share": _ratio(no_visit, closed)},
        "handling_days": {
            "decided": int(decided or 0),
            "average": _round(avg_days),
            "p90": percentile(histogram, 0.9),
            "statutory_limit": _round(avg_limit),
            "within_limit": int(within or 0),
            "within_limit_share": _ratio(within, decided),
            "histogram": sorted(histogram),
        },
        "inspections": {
            "photo": int(photo or 0),
            "live": int(live or 0),
            "live_sessions": int(live_sessions or 0),
            "average_live_minutes": _round(
                float(live_minutes) / int(live_sessions) if live_sessions else None
            ),
        },
        "courier": {
            "orders": int(courier or 0),
            "deliveries": int(delivered or 0),
            "average_delivery_days": _round(avg_delivery),
        },
        "ratings": ratings,
        "months": [
            {"month": label, "received": r, "closed": c}
            for (label, r), c in zip(received_months, closed_months, strict=True)
        ],
    }


async def rating_figures(
    session: AsyncSession, period: Period, matter: str | None
) -> dict[str, Any]:
    created = col(Rating.created_at)
    where = sa.and_(_matter(col(Rating.matter_code), matter), _in_period(created, period))
    by_level = dict(
        (
            await session.exec(
                sa.select(Rating.level, sa.func.count()).where(where).group_by(Rating.level)
            )
        ).all()
    )
    rect = (
        await session.exec(
            sa.select(
                sa.func.count(Rating.rectification_state),
                sa.func.sum(sa.case((Rating.rectification_state == "done", 1), else_=0)),
            ).where(where)
        )
    ).one()
    total = sum(by_level.values())
    opened, done = int(rect[0] or 0), int(rect[1] or 0)
    return {
        "total": total,
        "distribution": {lv.value: int(by_level.get(lv.value, 0)) for lv in RatingLevel},
        "satisfied_share": _ratio(
            sum(
                int(by_level.get(v, 0))
                for v in ("very_satisfied", "satisfied", "basically_satisfied")
            ),
            total,
        ),
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


def rows_query(period: Period, matter: str | None) -> Any:
    """The facts rows behind the figures, for CSV export (streamed in id order)."""
    cols = [getattr(M, c) if c != "reference" else Case.reference for c in ROW_COLUMNS]
    return (
        sa.select(*cols)
        .join(Case, Case.id == M.case_id)
        .where(cohort_filter(period, matter))
        .order_by(col(M.closed_at), col(M.case_id))
    )
