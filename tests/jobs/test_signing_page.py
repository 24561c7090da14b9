"""In headless Chromium, on a web-role app whose signing runs on a worker: the inspector clicks
"sign", the page shows the job waiting in the queue, then its progress, then the signed report."""

from __future__ import annotations

import pytest

from tests.harness.apps import base_url
from tests.harness.browsers import PageErrors, staff_page
from tests.review.review_helpers import passed_case_with_annotations
from zerotrip.services import build_services

pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def test_the_staff_page_shows_signing_progress_until_the_report_is_signed(
    apps, db, settings, browser, shots
):
    async with apps.client(outbox_worker=False) as setup:
        ctx, _, _ = await passed_case_with_annotations(setup, db, settings)
    cid = ctx["id"]
    async with apps.client(role="web") as web:
        page = await staff_page(browser, base_url(web), ctx["inspector"], f"/staff/cases/{cid}")
        errors = PageErrors(page, console=False).errors
        await page.locator("#sign-report").click()
        text = page.locator("#sign-progress-text")
        await text.wait_for()
        # No worker yet: the job waits in the queue, and the page says so in Chinese.
        await page.wait_for_function(
            "document.querySelector('#sign-progress-text').textContent.includes('排队')"
        )
        assert await page.locator("#sign-report").is_disabled()
        await page.locator("#report-block").scroll_into_view_if_needed()
        await shots(page, "jobs-signing-queued", full_page=False)
        worker = build_services(
            apps.settings_with(role="worker", job_poll_s=0.1), role="worker", clock=apps.clock
        )
        async with worker:
            async with page.expect_navigation(timeout=90_000):
                pass
            await page.locator("#report-link").wait_for(timeout=30_000)
        await page.locator("#report-block").scroll_into_view_if_needed()
        await shots(page, "jobs-signed", full_page=False)
        assert "v1" in await page.locator("#report-block").inner_text()
        assert not errors, errors
