"""The dashboard compares departments over a period, and its charts label months and the
statutory limit without overlapping or running off the picture."""

from __future__ import annotations

import itertools
import re

from tests.dashboard.fixture import build
from tests.factories import make_staff
from zerotrip.dashboard.charts import WIDTH, bar_chart, handling_chart, months_chart, text_width

SPRING = "from=2026-03-01&to=2026-04-30"


async def test_departments_are_compared_over_the_period(client, db):
    await build(db)
    admin = await make_staff(db, "admin")
    ids = {}
    for code, name in (
        ("market", "市场监管局"),
        ("health", "卫生健康委员会"),
        ("housing", "住建局"),
    ):
        resp = await client.post(
            "/api/admin/departments", json={"code": code, "name_zh": name}, headers=admin.headers
        )
        ids[code] = (await resp.json())["id"]
    for matter, code in (("food-business", "market"), ("swimming-venue", "health")):
        await client.put(
            f"/api/admin/matters/{matter}",
            json={"department_id": ids[code]},
            headers=admin.headers,
        )
    resp = await client.get(f"/api/dashboard/departments?{SPRING}", headers=admin.headers)
    assert resp.status == 200, await resp.text()
    rows = {r["code"]: r for r in (await resp.json())["items"]}
    food = await (
        await client.get(f"/api/dashboard?{SPRING}&matter=food-business", headers=admin.headers)
    ).json()
    every = await (await client.get(f"/api/dashboard?{SPRING}", headers=admin.headers)).json()
    market = rows["market"]
    assert (market["received"], market["closed"]) == (food["received"], food["closed"])
    hd = food["handling_days"]
    assert (market["within_limit"], market["decided"]) == (hd["within_limit"], hd["decided"])
    assert market["average_days"] == hd["average"]
    assert rows["health"]["received"] == every["received"] - food["received"]
    assert rows["health"]["closed"] == every["closed"] - food["closed"]
    assert rows["housing"]["received"] == rows["housing"]["closed"] == 0  # no matter yet
    assert None not in rows  # every matter with cases has a department

    # A member of the market department sees the market's figures; the pool's are not theirs.
    member = await make_staff(db, "clerk", "zhang")
    users = await (await client.get("/api/admin/staff", headers=admin.headers)).json()
    zhang = next(u for u in users["items"] if u["username"] == "zhang")
    await client.put(
        f"/api/admin/staff/{zhang['id']}",
        json={"departments": [ids["market"]]},
        headers=admin.headers,
    )
    theirs = await (await client.get(f"/api/dashboard?{SPRING}", headers=member.headers)).json()
    assert (theirs["received"], theirs["closed"]) == (food["received"], food["closed"])
    resp = await client.get(
        f"/api/dashboard?{SPRING}&matter=swimming-venue", headers=member.headers
    )
    assert resp.status == 403
    csv = await (
        await client.get(f"/api/dashboard/rows.csv?{SPRING}", headers=member.headers)
    ).text()
    assert "swimming-venue" not in csv and "food-business" in csv


def _labels(svg: str, y: float) -> list[tuple[float, str]]:
    found = re.findall(r'<text x="([\d.]+)" y="([\d.]+)" text-anchor="middle"[^>]*>([^<]+)<', svg)
    return [(float(x), text) for x, yy, text in found if abs(float(yy) - y) < 0.5]


def test_month_labels_do_not_overlap_and_name_the_year_once():
    months = [{"month": f"2026-{m:02d}", "received": m, "closed": m - 1} for m in range(1, 13)]
    months = [{"month": "2025-12", "received": 1, "closed": 0}, *months]
    svg = months_chart({"months": months})
    base = 300 - 56
    labels = _labels(svg, base + 16)
    assert len(labels) >= 6
    for (x1, t1), (x2, t2) in itertools.pairwise(labels):
        assert x2 - x1 >= (text_width(t1) + text_width(t2)) / 2, (t1, t2)
    assert [t for _, t in _labels(svg, base + 30)] == ["2025", "2026"]
    assert "2026-01" not in svg


def test_the_limit_label_stays_inside_the_chart():
    fig = {"handling_days": {"histogram": [[3, 2], [9, 1]], "statutory_limit": 9}}
    svg = handling_chart(fig)
    x, anchor, text = re.search(
        r'<text y="[\d.]+" fill="#dc2626" x="([\d.]+)" text-anchor="(\w+)">([^<]+)<', svg
    ).groups()
    right = float(x) + (text_width(text) if anchor == "start" else 0)
    assert right <= WIDTH and float(x) - (text_width(text) if anchor == "end" else 0) >= 0
    assert "limit" in text


def test_long_category_labels_are_thinned():
    svg = bar_chart("t", [f"第{n}个很长的类别" for n in range(30)], [])
    assert 0 < len(_labels(svg, 300 - 56 + 16)) < 30


def test_wide_bilingual_labels_go_on_two_lines_rather_than_vanish():
    fig = {
        "inspections": {"photo": 2, "live": 2},
        "courier": {"orders": 3},
        "without_visit": {"count": 4},
    }
    from zerotrip.dashboard.charts import inspections_chart

    svg = inspections_chart(fig)
    first, second = _labels(svg, 300 - 56 + 16), _labels(svg, 300 - 56 + 30)
    assert [t for _, t in first] == ["照片", "视频", "快递单", "无需到场"]
    assert [t for _, t in second] == ["photo", "live", "courier orders", "no visit"]
