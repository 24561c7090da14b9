"""Dashboard speed on 100,000 cases with their audit events (SQLite, the embedded default).

Seeds a year and a half of cases over four matters, each with the audit chain a finished case
has (submission, pre-review, courier order, photo or live inspection, decision, certificate,
courier scans, delivery, close), its facts row derived by the real code, and ratings. Then times
the dashboard's figures for a year of one matter and for all matters, and the naive way (read and
parse every event of the period's cases, as the dashboard would without its facts rows), and
prints the query plans of the dashboard's queries.

    .venv/bin/python bench/dashboard.py [--cases 100000]

The last line is ``dashboard: <T> ms for a year of one matter, <U> ms for all``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zerotrip.cases.audit import chain_hash, event_body
from zerotrip.cases.catalogue import load_catalogue
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.cases.models import AuditEvent, Case
from zerotrip.config import Settings
from zerotrip.dashboard import rollup
from zerotrip.dashboard.facts import Event, derive
from zerotrip.dashboard.models import CaseMetrics
from zerotrip.dashboard.queries import Period, _facts_groups, _facts_totals, accumulate, figures
from zerotrip.db import Database, migrate
from zerotrip.kit.actor import Actor
from zerotrip.kit.canonical import canonical_json
from zerotrip.ratings.models import LEVEL_SCORE, Rating, RatingLevel

ZONE = ZoneInfo("Asia/Shanghai")
CAL = WorkingCalendar()
START = datetime(2025, 5, 1, tzinfo=UTC)
SPAN_DAYS = 540
CLERK = Actor("staff", "1", "Clerk (clerk)")
APPLICANT = Actor("applicant", "", "applicant")
COURIER = Actor("courier", "local", "local")


def _case_events(
    rng: random.Random, submitted: datetime
) -> tuple[list[tuple], str, datetime | None]:
    """(actor, kind, payload, at) of one case's life; the final state; when it closed."""
    t = submitted
    ev: list[tuple] = [(APPLICANT, "case.submitted", {"via": "applicant"}, t)]
    ev.append((APPLICANT, "link.issued", {"link": 1}, t))

    def later(hours: float) -> datetime:
        nonlocal t
        t = t + timedelta(hours=hours * rng.uniform(0.5, 1.5))
        return t

    if rng.random() < 0.04:
        ev.append((APPLICANT, "case.withdraw", {"to": "withdrawn"}, later(30)))
        return ev, "withdrawn", t
    ev.append((CLERK, "case.prereview", {"to": "accepted"}, later(20)))
    ev.append((CLERK, "mailing.order_created", {"kind": "pickup"}, later(1)))
    if rng.random() < 0.4:
        ev.append((APPLICANT, "live.joined", {"session": 1, "state": "live"}, later(60)))
        ev.append((CLERK, "live.ended", {"session": 1, "state": "ended"}, later(0.4)))
    else:
        ev.append((APPLICANT, "evidence.received", {"origin": "capture"}, later(50)))
    ev.append((CLERK, "case.record_inspection", {"to": "inspected", "result": "pass"}, later(30)))
    channel = "in_person" if rng.random() < 0.08 else "courier"
    ev.append((CLERK, "case.receive_materials", {"channel": channel}, later(10)))
    if rng.random() < 0.05:
        ev.append((CLERK, "case.reject", {"to": "rejected"}, later(60)))
    else:
        ev.append((CLERK, "case.approve", {"to": "approved"}, later(60 + rng.expovariate(1 / 80))))
        ev.append((CLERK, "case.issue_certificate", {"to": "certificate_issued"}, later(4)))
        ev.append((COURIER, "mailing.status", {"kind": "delivery", "to": "picked_up"}, later(3)))
        ev.append((COURIER, "mailing.status", {"kind": "delivery", "to": "delivered"}, later(40)))
        ev.append((CLERK, "case.mark_delivered", {"method": "courier"}, later(1)))
    closed = later(20)
    if closed > START + timedelta(days=SPAN_DAYS + 30):
        return ev[:-1], "inspecting", None
    ev.append((CLERK, "case.close", {"to": "closed"}, closed))
    return ev, "closed", closed


def seed(url: str, n: int, rng: random.Random) -> None:
    engine = sa.create_engine(url)
    catalogue = load_catalogue()
    matters = [m.code for m in catalogue.matters]
    limits = {m.code: m.time_limit_working_days for m in catalogue.matters}
    levels = list(RatingLevel)
    weights = [40, 35, 15, 6, 4]
    cases, events, metrics, ratings = [], [], [], []
    event_id = 0
    for i in range(1, n + 1):
        matter = rng.choices(matters, weights=[50, 25, 15, 10])[0]
        submitted = START + timedelta(seconds=rng.uniform(0, SPAN_DAYS * 86400))
        life, state, closed = _case_events(rng, submitted)
        head, seq = "0" * 64, 0
        parsed = []
        for actor, kind, payload, at in life:
            seq += 1
            event_id += 1
            body = event_body(i, seq, at, actor, kind, payload)
            digest = chain_hash(head, body)
            events.append(
                {"id": event_id, "case_id": i, "seq": seq, "at": at, "actor_kind": actor.kind,
                 "actor_id": actor.id, "actor_label": actor.label, "kind": kind,
                 "payload": canonical_json(payload), "prev_hash": head, "hash": digest}
            )  # fmt: skip
            head = digest
            parsed.append(Event(kind, at, payload))
        case = Case(
            id=i, reference=f"ZT-B{i:07d}", matter_code=matter, state=state,
            applicant_name="申请人", premises_address="文三路 90 号", submitted_at=submitted,
            updated_at=life[-1][3], closed_at=closed, audit_seq=seq, audit_head=head,
        )  # fmt: skip
        cases.append(case.model_dump())
        if closed is not None:
            facts = derive(case, parsed, limit_days=limits[matter], calendar=CAL, zone=ZONE)
            metrics.append(facts.model_dump())
            if rng.random() < 0.35:
                level = rng.choices(levels, weights=weights)[0]
                bad = LEVEL_SCORE[level] <= 2
                ratings.append(
                    {"case_id": i, "matter_code": matter, "step": "delivery", "level": level.value,
                     "score": LEVEL_SCORE[level], "comment": "", "reply": "", "call_note": "",
                     "created_at": closed + timedelta(hours=2),
                     "rectification_state": (rng.choice(["open", "done", "done"]) if bad else None),
                     "due_date": (closed + timedelta(days=7)).date() if bad else None}
                )  # fmt: skip
        if len(events) > 50_000 or i == n:
            with engine.begin() as conn:
                conn.execute(sa.insert(Case.__table__), cases)
                conn.execute(sa.insert(AuditEvent.__table__), events)
                if metrics:
                    conn.execute(sa.insert(CaseMetrics.__table__), metrics)
                if ratings:
                    conn.execute(sa.insert(Rating.__table__), ratings)
            cases, events, metrics, ratings = [], [], [], []
    with engine.begin() as conn:  # the month rollup, as `zerotrip dashboard rebuild` fills it
        for stmt in rollup.rebuild_statements():
            conn.execute(stmt)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


async def naive(db: Database, period: Period, matter: str | None) -> dict[str, Any]:
    """Without facts rows: read every event of the period's closed cases and derive in Python."""
    limits = {m.code: m.time_limit_working_days for m in load_catalogue().matters}
    cond = [Case.closed_at >= period.since, Case.closed_at < period.until]
    if matter:
        cond.append(Case.matter_code == matter)
    async with db.session() as session:
        cases = (await session.exec(sa.select(Case).where(*cond))).scalars().all()
        by_case: dict[int, list[Event]] = {c.id: [] for c in cases}
        ids = list(by_case)
        for chunk in range(0, len(ids), 900):
            rows = await session.exec(
                sa.select(AuditEvent.case_id, AuditEvent.kind, AuditEvent.at, AuditEvent.payload)
                .where(AuditEvent.case_id.in_(ids[chunk : chunk + 900]))
                .order_by(AuditEvent.case_id, AuditEvent.seq)
            )
            for cid, kind, at, payload in rows.all():
                by_case[cid].append(Event(kind, at, json.loads(payload)))
    facts = [
        derive(c, by_case[c.id], limit_days=limits[c.matter_code], calendar=CAL, zone=ZONE)
        for c in cases
    ]
    days = sorted(f.handling_days for f in facts if f.handling_days is not None)
    return {"closed": len(facts), "average": statistics.fmean(days) if days else None}


async def timed(fn: Any, runs: int = 5) -> tuple[float, Any]:
    samples, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = await fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples), result


async def query_plans(
    db: Database, period: Period, matter: str | None
) -> list[tuple[str, list[str]]]:
    statements: list[tuple[str, Any]] = []

    def capture(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        statements.append((statement, params))

    sa.event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    async with db.session() as session:
        await figures(session, period, matter)
    sa.event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
    plans = []
    async with db.engine.connect() as conn:
        for statement, params in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            plans.append((" ".join(statement.split())[:110], [r[-1] for r in rows.all()]))
    return plans


async def measure(settings: Settings) -> tuple[float, float]:
    db = Database(settings)
    year = Period(date(2025, 10, 1), date(2026, 9, 30), ZONE)
    try:
        t_one, fig = await timed(lambda: _figures(db, year, "food-business"))
        t_all, fig_all = await timed(lambda: _figures(db, year, None))
        t_naive, slow = await timed(lambda: naive(db, year, "food-business"), runs=1)
        for label, matter in (("one matter", "food-business"), ("all matters", None)):
            t_roll, via_rollup = await timed(lambda m=matter: _closed_figures(db, year, m))
            t_group, via_facts = await timed(lambda m=matter: _grouped_facts(db, year, m))
            assert via_rollup == via_facts, label
            print(
                f"closed-case figures, {label}: month rollup {t_roll:.1f} ms, GROUP BY over "
                f"the facts rows {t_group:.1f} ms ({t_group / t_roll:.0f}x)"
            )
        assert slow["closed"] == fig["closed"] + fig["withdrawn"], (slow, fig["closed"])
        print(
            f"year of food-business: {fig['received']} received, {fig['closed']} closed, "
            f"p90 {fig['handling_days']['p90']} working days, {fig['ratings']['total']} ratings"
        )
        print(f"all matters: {fig_all['received']} received, {fig_all['closed']} closed")
        print(
            f"naive (parse every event of the period's cases): {t_naive:.0f} ms, "
            f"{t_naive / t_one:.0f}x the dashboard's {t_one:.1f} ms"
        )
        for label, matter in (("one matter", "food-business"), ("all matters", None)):
            print(f"query plans (SQLite EXPLAIN QUERY PLAN), {label}:")
            seen = set()
            for sql, plan in await query_plans(db, year, matter):
                if sql in seen:  # the per-month counts share one plan
                    continue
                seen.add(sql)
                print(f"  {sql}")
                for line in plan:
                    print(f"      {line}")
    finally:
        await db.dispose()
    return t_one, t_all


async def _closed_figures(db: Database, period: Period, matter: str | None) -> Any:
    async with db.session() as session:
        return await _facts_totals(session, period, matter)


async def _grouped_facts(db: Database, period: Period, matter: str | None) -> Any:
    """The closed-case figures as they were read before the month rollup."""
    async with db.session() as session:
        groups = _facts_groups(matter, [(period.since, period.until)])
        return accumulate(list((await session.exec(groups)).all()))


async def _figures(db: Database, period: Period, matter: str | None) -> dict[str, Any]:
    async with db.session() as session:
        return await figures(session, period, matter)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zt-bench-dash-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        settings = Settings(database_url=url, secret_key="bench", data_dir=Path(tmp)).resolved()
        migrate(settings)
        t0 = time.perf_counter()
        seed(url.replace("+aiosqlite", ""), args.cases, random.Random(7))
        print(f"seeded {args.cases} cases with their events in {time.perf_counter() - t0:.0f} s")
        t_one, t_all = asyncio.run(measure(settings))
    print(f"dashboard: {t_one:.0f} ms for a year of one matter, {t_all:.0f} ms for all")
    return 0


if __name__ == "__main__":
    from header import loaded  # bench/header.py: the load average before and after

    with loaded():
        sys.exit(main())
