"""Dashboard reads: the figures of a period, and the per-case rows behind them streamed in
chunks so an export of a year never sits in memory at once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from zerotrip.dashboard.queries import MatterScope, Period, figures, rows_query
from zerotrip.db import Database


async def period_figures(db: Database, period: Period, matter: MatterScope) -> dict[str, Any]:
    async with db.session() as session:
        return await figures(session, period, matter)


async def case_rows(
    db: Database, period: Period, matter: MatterScope, *, chunk: int = 1000
) -> AsyncIterator[Sequence[Any]]:
    async with db.session() as session:
        result = await session.stream(rows_query(period, matter))
        async for rows in result.partitions(chunk):
            yield rows
