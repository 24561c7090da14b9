"""The dashboard's figures against a hand-computed fixture, its refusals, charts and export."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tests.dashboard.fixture import build
from tests.factories import make_staff, walk
from zerotrip.cases.catalogue import load_catalogue
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.dashboard.facts import rebuild_all
from zerotrip.dashboard.models import CaseMetrics
from zerotrip.dashboard.rollup import MonthRollup

SPRING = "from=2026-03-01&to=2026-04-30"


async def test_figures_match_the_hand_computed_fixture(client, db):
    await build(db)
    admin = await make_staff(db, "admin")
    resp = await client.get(f"/api/dashboard?{SPRING}&matter=food-business", headers=admin.headers)
    assert resp.status == 200, await resp.text()
    fig = await resp.json()
    # Received: A B C (March), D E H (April); F was submitted in February.
    assert fig["received"] == 6
    # Closed in the period: A B C in March, F on 1 April; D withdrew; H closed in May.
    assert fig["closed"] == 4
    assert fig["withdrawn"] == 1
    # B came in person (materials) and collected the certificate: 3 of 4 without a visit.
    assert fig["without_visit"] == {"count": 3, "share": 0.75}
    hd = fig["handling_days"]
    # A 5, B 15-3 paused = 12, C 5, F 10 working days.
    assert hd["histogram"] == [[5, 2], [10, 1], [12, 1]]
    assert hd["average"] == 8.0
    assert hd["p90"] == 12
    assert hd["statutory_limit"] == 10
    assert (hd["within_limit"], hd["within_limit_share"]) == (3, 0.75)
    # Live: A 12 min, F 30 min; photos: B, C.
    assert fig["inspections"] == {
        "photo": 2,
        "live": 2,
        "live_sessions": 2,
        "average_live_minutes": 21.0,
    }
    # Orders: A pickup + delivery, F delivery. Door to door: A 2 days between the courier's
    # pickup and delivery scans; F (no scans) half a day from certificate to handover.
    assert fig["courier"] == {"orders": 3, "deliveries": 2, "average_delivery_days": 1.25}
    ratings = fig["ratings"]
    assert ratings["distribution"] == {
        "very_satisfied": 1,
        "satisfied": 1,
        "basically_satisfied": 0,
        "dissatisfied": 1,
        "very_dissatisfied": 1,
    }
    assert (ratings["total"], ratings["satisfied_share"]) == (4, 0.5)
    assert (ratings["rectifications"], ratings["rectified"]) == (2, 1)
    assert ratings["rectification_rate"] == 0.5
    assert fig["months"] == [
        {"month": "2026-03", "received": 3, "closed": 3},
        {"month": "2026-04", "received": 3, "closed": 1},
    ]

    every = await (await client.get(f"/api/dashboard?{SPRING}", headers=admin.headers)).json()
    # G (swimming venue, 8 working days, limit 30) joins when no matter is chosen.
    assert (every["received"], every["closed"]) == (7, 5)
    assert every["handling_days"]["histogram"] == [[5, 2], [8, 1], [10, 1], [12, 1]]
    assert every["handling_days"]["statutory_limit"] == 14.0  # (10*4 + 30) / 5
    assert every["ratings"]["total"] == 5


async def test_csv_export_lists_the_rows_behind_the_figures(client, db):
    ids = await build(db)
    admin = await make_staff(db, "admin")
    resp = await client.get(
        f"/api/dashboard/rows.csv?{SPRING}&matter=food-business", headers=admin.headers
    )
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert [int(r["case_id"]) for r in rows] == [ids[n] for n in "ACBFD"]
    by_ref = {r["reference"]: r for r in rows}
    assert by_ref["ZT-FIXTURE-B"]["handling_days"] == "12"
    assert by_ref["ZT-FIXTURE-D"]["outcome"] == "withdrawn"


async def test_charts_are_svg(client, db):
    await build(db)
    admin = await make_staff(db, "admin")
    for chart in ("months", "handling", "ratings", "inspections"):
        resp = await client.get(
            f"/api/dashboard/charts/{chart}.svg?{SPRING}", headers=admin.headers
        )
        assert resp.status == 200
        assert resp.content_type == "image/svg+xml"
        svg = await resp.text()
        assert svg.startswith("<svg") and svg.count("<rect") > 3
    handling = await (
        await client.get(
            f"/api/dashboard/charts/handling.svg?{SPRING}&matter=food-business",
            headers=admin.headers,
        )
    ).text()
    assert "法定时限 limit 10" in handling
    missing = await client.get(f"/api/dashboard/charts/pie.svg?{SPRING}", headers=admin.headers)
    assert missing.status == 404


async def test_bad_ranges_are_refused(client, db):
    admin = await make_staff(db, "admin")
    for query in (
        "from=2026-04-30&to=2026-03-01",
        "from=2000-01-01&to=2026-01-01",
        "from=2026-13-01&to=2026-12-31",
        "from=2026-01-01&to=2026-02-01&matter=nope",
        "from=2026-01-01&to=2026-02-01&colour=red",
    ):
        resp = await client.get(f"/api/dashboard?{query}", headers=admin.headers)
        assert resp.status == 422, query
        assert resp.content_type == "application/problem+json"
    resp = await client.get(
        "/api/dashboard/rows.csv?from=2026-04-30&to=2026-03-01", headers=admin.headers
    )
    assert resp.status == 422
    assert (await client.get("/api/dashboard")).status == 401


async def test_closing_a_case_records_its_facts(client, db):
    clerk, inspector = await make_staff(db, "clerk"), await make_staff(db, "inspector")
    await walk(client, clerk, inspector, until="closed")
    fig = await (await client.get("/api/dashboard", headers=clerk.headers)).json()
    assert fig["received"] == 1 and fig["closed"] == 1
    assert fig["handling_days"]["histogram"] == [[0, 1]]
    assert fig["without_visit"]["count"] == 1
    assert fig["courier"]["deliveries"] == 1


async def test_facts_can_be_derived_again_from_the_chains(client, db):
    await build(db)
    admin = await make_staff(db, "admin")
    url = f"/api/dashboard?{SPRING}&matter=food-business"
    before = await (await client.get(url, headers=admin.headers)).json()
    async with db.transaction() as session:
        await session.execute(sa.delete(CaseMetrics))
        await session.execute(sa.delete(MonthRollup))
    emptied = await (await client.get(url, headers=admin.headers)).json()
    assert emptied["closed"] == 0
    done = await rebuild_all(
        db, catalogue=load_catalogue(), calendar=WorkingCalendar(), zone=ZoneInfo("Asia/Shanghai")
    )
    assert done == 7  # every closed or withdrawn case of the fixture
    assert await (await client.get(url, headers=admin.headers)).json() == before
