"""The office pages in a real headless Chromium: the dashboard draws its charts, the
rectification list puts overdue complaints first, and the applicant can rate from their phone."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from tests.dashboard.fixture import build
from tests.factories import make_staff, walk
from tests.harness.apps import base_url
from tests.harness.browsers import applicant_page, staff_page
from zerotrip.ratings.models import Rating

pytestmark = pytest.mark.browser


def _coloured_pixels(path: Path) -> int:
    """Pixels in the chart colours (blue / green bars), to tell a drawn chart from a blank box."""
    image = Image.open(path).convert("RGB")
    return sum(1 for r, g, b in image.getdata() if (b > 180 and r < 80) or (g > 130 and r < 60))


async def test_dashboard_page_shows_figures_and_charts(client, db, browser, shots):
    await build(db)
    await make_staff(db, "admin", "chief")
    base = base_url(client)
    page = await staff_page(
        browser,
        base,
        "chief",
        "/staff/dashboard?from=2026-02-01&to=2026-05-31&matter=food-business",
        lang="zh",
    )
    await page.wait_for_selector("[data-figure=received] .value")
    assert await page.text_content("[data-figure=received] .value") == "7"  # A-F, H
    assert await page.text_content("[data-figure=p90] .value") == "12"
    charts = page.locator("img[data-chart]")
    await charts.nth(3).wait_for()  # the charts load after the figures
    assert await charts.count() == 4
    for n in range(4):  # each chart image has arrived and decoded (no eval under the CSP)
        await charts.nth(n).wait_for()
        for _ in range(300):
            if await charts.nth(n).evaluate("i => i.complete && i.naturalWidth > 0"):
                break
            await page.wait_for_timeout(100)
    assert "已办结" in await page.text_content("#dash-basis")  # what the figures count
    await page.wait_for_selector("#dept-compare tbody tr")
    await shots(page, "dashboard")
    chart_shot = await shots(page.locator("img[data-chart=handling]"), "dashboard-handling")
    assert _coloured_pixels(chart_shot) > 500


async def test_rectifications_page_lists_overdue_first(client, db, clock, browser, shots):
    """(Staff sessions expire in hours, so the deadline is moved instead of the clock.)"""
    clerk, inspector = await make_staff(db, "clerk"), await make_staff(db, "inspector")
    first, first_token = await walk(client, clerk, inspector)
    from tests.factories import applicant_headers

    await client.post(
        f"/api/cases/{first['id']}/ratings",
        json={"step": "delivery", "level": "very_dissatisfied", "comment": "等了很久"},
        headers=applicant_headers(first_token),
    )
    async with db.transaction() as session:  # the first complaint's deadline has passed
        await session.execute(sa.update(Rating).values(due_date=clock.today() - timedelta(days=1)))
    second, second_token = await walk(client, clerk, inspector)
    await client.post(
        f"/api/cases/{second['id']}/ratings",
        json={"step": "prereview", "level": "dissatisfied"},
        headers=applicant_headers(second_token),
    )
    base = base_url(client)
    page = await staff_page(browser, base, "clerk", "/staff/rectifications", lang="zh")
    await page.wait_for_selector("#rectifications tbody tr[data-rating]")
    rows = page.locator("#rectifications tbody tr")
    assert await rows.count() == 2
    assert "overdue" in (await rows.nth(0).get_attribute("class"))
    assert "等了很久" in await rows.nth(0).text_content()
    # The task is a call back: the reference, whom to call and their number, who owns it.
    first_row = await rows.nth(0).text_content()
    assert first["reference"] in first_row and "李娜" in first_row
    assert await rows.nth(0).locator("a[href='tel:+8613800000000']").count() == 1
    assert "未指派" not in first_row or "Clerk" in first_row
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, width
    await shots(page, "rectifications")


async def test_applicant_rates_from_the_case_page(client, db, browser, shots):
    clerk, inspector = await make_staff(db, "clerk"), await make_staff(db, "inspector")
    case, token = await walk(client, clerk, inspector)
    base = base_url(client)
    page = await applicant_page(browser, f"{base}/a/{token}", lang="zh")
    form = page.locator("#rating-card form[data-step=delivery]")
    await form.locator("button[data-level=satisfied]").click()
    await form.locator("textarea").fill("全程没跑一趟，很方便")
    await shots(page, "applicant-rating")
    await form.locator("button[type=submit]").click()
    await page.wait_for_selector("#rating-card [data-rated=delivery]")
    assert "满意" in await page.text_content("#rating-card [data-rated=delivery]")
    resp = await client.get(f"/api/cases/{case['id']}/ratings", headers=clerk.headers)
    assert [(r["step"], r["level"]) for r in (await resp.json())["items"]] == [
        ("delivery", "satisfied")
    ]


async def test_staff_case_page_shows_messages_and_ratings(client, db, browser, shots):
    clerk, inspector = await make_staff(db, "clerk"), await make_staff(db, "inspector")
    case, token = await walk(client, clerk, inspector)
    from tests.factories import applicant_headers

    await client.post(
        f"/api/cases/{case['id']}/ratings",
        json={"step": "delivery", "level": "dissatisfied", "comment": "证书邮寄慢"},
        headers=applicant_headers(token),
    )
    base = base_url(client)
    page = await staff_page(browser, base, "clerk", f"/staff/cases/{case['id']}", lang="zh")
    await page.wait_for_selector("#messages-card tr[data-notification]")
    await page.wait_for_selector("#ratings-card")
    assert "不满意" in await page.text_content("#ratings-card")
    await shots(page.locator("#messages-card"), "staff-case-messages")
    assert await page.locator("#messages-card tr[data-notification]").count() >= 3


async def test_another_departments_case_page_says_not_found_in_chinese(client, db, browser, shots):
    from tests.admin.test_admin_api import _department
    from tests.factories import apply

    admin = await make_staff(db, "admin", "chief")
    market = await _department(client, admin, "market", "市场监管局")
    health = await _department(client, admin, "health", "卫生健康委")
    await client.put(
        "/api/admin/matters/food-business", json={"department_id": market}, headers=admin.headers
    )
    case, _ = await apply(client, matter_code="food-business")
    await make_staff(db, "clerk", "liu")
    accounts = await (await client.get("/api/admin/staff", headers=admin.headers)).json()
    liu = next(a for a in accounts["items"] if a["username"] == "liu")
    resp = await client.put(
        f"/api/admin/staff/{liu['id']}", json={"departments": [health]}, headers=admin.headers
    )
    assert resp.status == 200, await resp.text()
    await make_staff(db, "clerk", "desk")  # (a member of no department sees it: the control)
    for username, visible in (("desk", True), ("liu", False)):
        page = await staff_page(
            browser, base_url(client), username, f"/staff/cases/{case['id']}", lang="zh"
        )
        if visible:
            await page.wait_for_selector("#trail li[data-kind]")
            assert case["reference"] in await page.inner_text("main")
        else:
            await page.wait_for_selector("#case-error:not(.hidden)")
            text = await page.inner_text("#case-error")
            assert "没有编号为" in text and "办件" in text and "No case" not in text
            assert case["reference"] not in await page.inner_text("body")
            assert "不属于您所在的部门" in await page.inner_text("#case-unavailable")
            assert not await page.locator("#case-head").is_visible()
            await shots(page, "staff-case-other-department", full_page=False)
        await page.context.close()
