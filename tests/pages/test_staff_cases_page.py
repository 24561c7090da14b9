"""The staff case list pages with the list's cursors and searches through its index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import expect

from tests.factories import make_staff
from tests.harness.apps import base_url
from tests.harness.browsers import staff_page
from zerotrip.cases.models import Case


async def test_case_list_pages_forward_and_back_and_searches(client, db, browser, shots):
    await make_staff(db, "clerk")
    at = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    async with db.transaction() as session:
        for i in range(55):
            session.add(
                Case(
                    reference=f"ZT20260601{i:04d}",
                    matter_code="food-business",
                    state="submitted",
                    applicant_name=["王小明", "李娜", "张伟"][i % 3],
                    applicant_phone=f"1380000{i:04d}",
                    premises_address=f"杭州市西湖区{'文三路' if i % 5 == 0 else '天目山路'} {i} 号",
                    submitted_at=at,
                    updated_at=at + timedelta(minutes=i),
                )
            )
    page = await staff_page(browser, base_url(client), "clerk", "/staff", lang="zh")
    rows = page.locator("#cases tbody tr[data-case-id]")
    await expect(rows).to_have_count(50)
    assert "ZT202606010054" in await rows.nth(0).text_content()  # newest change first
    assert await page.text_content("#total") == "第 1 页"
    assert await page.is_disabled("#prev") and not await page.is_disabled("#next")
    await shots(page, "staff-cases")
    await page.click("#next")
    await expect(page.locator("#total")).to_have_text("第 2 页")
    await expect(rows).to_have_count(5)
    assert "ZT202606010000" in await rows.nth(4).text_content()
    assert await page.is_disabled("#next") and not await page.is_disabled("#prev")
    await page.click("#prev")
    await expect(page.locator("#total")).to_have_text("第 1 页")
    await expect(rows).to_have_count(50)
    await page.fill("#f-q", "文三")
    await page.press("#f-q", "Enter")
    await expect(rows).to_have_count(11)
    assert all("文三路" in t for t in await rows.all_text_contents())
    await page.fill("#f-q", "00000007")  # a piece of a phone number
    await page.press("#f-q", "Enter")
    await expect(rows).to_have_count(1)
    assert "ZT202606010007" in await rows.nth(0).text_content()
    await shots(page, "staff-cases-search")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, width
