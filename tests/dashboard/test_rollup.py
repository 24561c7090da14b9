"""The month rollup against the GROUP BY over the facts rows it sums, after random seeded
histories of closes, re-closes (a reopened case closed again with other facts), withdrawals and
reopenings (facts removed), and the period figures read through it against the facts alone."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic import command

from tests.dashboard.fixture import build
from tests.factories import make_staff
from zerotrip.cases.models import Case
from zerotrip.dashboard import departments, rollup
from zerotrip.dashboard.facts import remove_facts, store_facts
from zerotrip.dashboard.models import CaseMetrics
from zerotrip.dashboard.queries import Period, _facts_groups, _facts_totals, accumulate
from zerotrip.dashboard.rollup import MonthRollup
from zerotrip.db import Database, alembic_config, migrate

ZONE = ZoneInfo("Asia/Shanghai")
MATTERS = ("food-business", "swimming-venue", "pharmacy")
NAMES = ["month", "matter_code", "withdrawn", "handling_days", *rollup.SUM_COLUMNS]


def _facts(rng: random.Random, case_id: int, withdrawn: bool) -> CaseMetrics:
    # Around month ends, so the office-local month differs from the UTC one.
    closed = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
        days=rng.randrange(0, 120), hours=rng.choice([0, 3, 15, 17, 23])
    )
    decided = (not withdrawn and rng.random() < 0.8) or (withdrawn and rng.random() < 0.2)
    days = rng.randrange(0, 25) if decided else None
    limit = rng.choice([10, 20, 30])
    mode = rng.choice(["live", "photo", "none"])
    return CaseMetrics(
        case_id=case_id,
        matter_code=rng.choice(MATTERS),
        outcome="withdrawn" if withdrawn else rng.choice(["approved", "rejected", "returned"]),
        submitted_at=closed - timedelta(days=30),
        closed_at=closed,
        closed_month=f"{closed.astimezone(ZONE):%Y-%m}",
        limit_days=limit,
        handling_days=days,
        within_limit=None if days is None else days <= limit,
        visit=rng.random() < 0.3,
        inspection_mode=mode,
        live_sessions=rng.randrange(1, 3) if mode == "live" else 0,
        live_minutes=round(rng.uniform(0, 60), 2) if mode == "live" else 0.0,
        courier_orders=rng.randrange(0, 3),
        delivery_days=round(rng.uniform(0, 5), 3) if rng.random() < 0.6 else None,
    )


async def _cases(db: Database, n: int) -> list[int]:
    when = datetime(2025, 12, 1, tzinfo=UTC)
    async with db.transaction() as session:
        cases = [
            Case(
                reference=f"ZT-ROLLUP-{i}",
                matter_code=MATTERS[i % 3],
                applicant_name=f"申请人{i}",
                premises_address="文三路 90 号",
                submitted_at=when,
                updated_at=when,
            )
            for i in range(n)
        ]
        session.add_all(cases)
        await session.flush()
        return [c.id for c in cases if c.id is not None]


async def _rows(db: Database) -> tuple[set[tuple], set[tuple]]:
    """(rollup rows, rows the GROUP BY over the facts gives), as comparable tuples."""
    async with db.session() as session:
        stored = await session.execute(sa.select(*(MonthRollup.__table__.c[c] for c in NAMES)))
        grouped = await session.execute(rollup._grouped_select())
        norm = lambda r: (r[0], r[1], bool(r[2]), *(int(v) for v in r[3:]))  # noqa: E731
        return {norm(r) for r in stored.all()}, {norm(r) for r in grouped.all()}


async def _history(db: Database, rng: random.Random, ids: list[int], steps: int) -> None:
    finished: set[int] = set()
    for _ in range(steps):
        case_id = rng.choice(ids)
        action = rng.random()
        async with db.transaction() as session:
            if case_id in finished and action < 0.3:  # reopened: no longer finished
                await remove_facts(session, case_id)
                finished.discard(case_id)
            else:  # closed, closed again after a reopening, or withdrawn
                await store_facts(session, _facts(rng, case_id, withdrawn=action > 0.8))
                finished.add(case_id)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_rollup_equals_group_by_after_random_histories(db, seed):
    rng = random.Random(seed)
    ids = await _cases(db, 25)
    for _ in range(3):
        await _history(db, rng, ids, 60)
        stored, grouped = await _rows(db)
        assert stored == grouped
    assert stored  # the history left finished cases behind

    # Periods of whole months, clipped edges and both, for every kind of matter scope.
    periods = [
        (date(2026, 1, 1), date(2026, 4, 30)),
        (date(2026, 1, 17), date(2026, 3, 9)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 2, 3), date(2026, 4, 30)),
        (date(2026, 3, 31), date(2026, 5, 1)),
    ]
    scopes = [None, "pharmacy", frozenset({"food-business"})]
    async with db.session() as session:
        facts = list((await session.exec(sa.select(CaseMetrics))).scalars().all())
        for start, end in periods:
            period = Period(start, end, ZONE)
            for scope in scopes:
                via_rollup = await _facts_totals(session, period, scope)
                facts_only = (
                    await session.execute(_facts_groups(scope, [(period.since, period.until)]))
                ).all()
                assert via_rollup == accumulate(list(facts_only)), (start, end, scope)
            assert await departments._closed(session, period) == _by_matter(facts, period)


def _by_matter(facts: list[CaseMetrics], period: Period) -> dict[str, tuple[int, ...]]:
    """The department comparison's per-matter sums, brute force over the facts rows."""
    out: dict[str, list[int]] = {}
    for f in facts:
        closed = f.closed_at if f.closed_at.tzinfo else f.closed_at.replace(tzinfo=UTC)
        if f.outcome == "withdrawn" or not period.since <= closed < period.until:
            continue
        acc = out.setdefault(f.matter_code, [0, 0, 0, 0])
        acc[0] += 1
        if f.handling_days is not None:
            acc[1] += 1
            acc[2] += int(f.within_limit is True)
            acc[3] += f.handling_days
    return {code: tuple(v) for code, v in out.items()}


async def test_rebuild_restores_a_damaged_rollup(db):
    rng = random.Random(7)
    ids = await _cases(db, 10)
    await _history(db, rng, ids, 40)
    async with db.transaction() as session:
        await session.execute(sa.delete(MonthRollup).where(MonthRollup.matter_code == MATTERS[0]))
        await session.execute(sa.update(MonthRollup).values(cases=MonthRollup.cases + 5))
    stored, grouped = await _rows(db)
    assert stored != grouped
    async with db.transaction() as session:
        await rollup.rebuild(session)
    stored, grouped = await _rows(db)
    assert stored == grouped


async def test_dashboard_answers_the_same_without_the_rollup_rows(client, db):
    """The fixture's figures read through the rollup equal those read from the facts alone
    (the rollup emptied and the period cut a day short of whole months at both ends is the
    facts path; whole months are the rollup path)."""
    await build(db)
    admin = await make_staff(db, "admin")
    url = "/api/dashboard?from=2026-03-01&to=2026-04-30"
    through_rollup = await (await client.get(url, headers=admin.headers)).json()
    async with db.session() as session:
        stored = (await session.execute(sa.select(sa.func.count()).select_from(MonthRollup))).one()
    assert stored[0] > 0
    async with db.transaction() as session:
        await session.execute(sa.delete(MonthRollup))
    emptied = await (await client.get(url, headers=admin.headers)).json()
    assert emptied["closed"] == 0  # the whole months really come from the rollup
    async with db.transaction() as session:
        await rollup.rebuild(session)
    assert await (await client.get(url, headers=admin.headers)).json() == through_rollup


async def test_migration_backfills_the_rollup_from_existing_facts(db, settings):
    """Facts rows written before migration 0020 are summed into the rollup it creates."""
    rng = random.Random(11)
    ids = await _cases(db, 20)
    await _history(db, rng, ids, 50)
    async with db.session() as session:
        facts = [m.model_dump() for m in (await session.exec(sa.select(CaseMetrics))).scalars()]
    await db.engine.dispose()
    await asyncio.to_thread(command.downgrade, alembic_config(settings), "0021")
    async with db.transaction() as session:  # the facts rows as a release before 0020 left them
        await session.execute(sa.delete(CaseMetrics))
        await session.execute(sa.insert(CaseMetrics), facts)
    await db.engine.dispose()
    await asyncio.to_thread(migrate, settings)
    stored, grouped = await _rows(db)
    assert stored == grouped and len(stored) > 5
