"""In a real headless Chromium: the applicant takes a photo with the fake camera at a test
geolocation, the first upload's answer is lost and retried (no duplicate), and the staff page
shows it with its findings; clicking opens the display copy."""

from __future__ import annotations

import pytest
from sqlmodel import select

from tests.factories import act, apply, make_staff
from tests.harness.apps import base_url
from tests.harness.browsers import PageErrors, applicant_page, staff_page
from tests.media import samples
from zerotrip.media.models import Evidence

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FIX = {"latitude": samples.PREMISES[0] + 0.0003, "longitude": samples.PREMISES[1], "accuracy": 20}


async def test_capture_on_phone_page_then_staff_sees_findings(client, db, browser, shots):
    base = base_url(client)
    case, token = await apply(client)
    staff = await make_staff(db, "inspector")
    clerk = await make_staff(db, "clerk")  # photos are invited once pre-review accepted the case
    await act(client, case["id"], "prereview", clerk.headers, outcome="accept")

    page = await applicant_page(
        browser, None, geolocation=FIX, permissions=["geolocation", "camera"]
    )
    watch = PageErrors(page, console=False)
    errors = watch.errors
    lost = {"count": 0}

    async def lose_first_answer(route):
        """The first upload reaches the server, but its answer never reaches the phone."""
        if lost["count"] == 0 and route.request.method == "POST":
            lost["count"] += 1
            await route.fetch()
            await route.abort("connectionreset")
        else:
            await route.continue_()

    await page.route("**/evidence", lose_first_answer)
    await page.goto(f"{base}/a/{token}")
    first = page.locator(".ev-checkpoint").first
    await first.locator(".ev-take").click()
    await page.wait_for_function(
        "() => { const v = document.querySelector('.ev-video'); return v && v.videoWidth > 0; }"
    )
    await shots(page, "evidence-camera", full_page=False)
    await first.locator(".ev-shutter").click()
    retry = first.locator(".ev-retry")
    await retry.wait_for()
    await shots(page, "evidence-retry", full_page=False)
    await retry.click()
    await first.locator("[data-uploaded]").wait_for()
    await first.locator(".ev-list img[src^='blob:']").wait_for()
    await shots(page, "evidence-applicant")
    assert errors == []
    await page.context.close()

    async with db.session() as session:
        rows = (await session.exec(select(Evidence))).all()
    assert len(rows) == 1 and rows[0].source == "capture"  # the retry made no duplicate
    assert rows[0].capture["accuracy"] == 20

    page = await staff_page(browser, base, staff, f"/staff/cases/{case['id']}", locale="en-GB")
    tile = page.locator(".ev-tile").first
    await tile.wait_for()
    await tile.locator("img[src^='blob:']").wait_for()
    assert await tile.locator("[data-verdict]").get_attribute("data-verdict") == "consistent"
    distance = await tile.locator(".ev-distance").inner_text()
    assert "33" in distance or "34" in distance, distance
    texts = await tile.inner_text()
    assert "In-page capture" in texts or "页面内拍摄" in texts
    await shots(page, "evidence-staff-grid")
    await tile.click()
    await page.wait_for_function(
        "() => document.querySelector('#evidence-display')?.naturalWidth > 0"
    )
    width = await page.evaluate("document.querySelector('#evidence-display').naturalWidth")
    assert width == min(1600, rows[0].width)  # long edge capped at 1600 px, never upscaled
    await shots(page, "evidence-staff-display", full_page=False)


async def test_staff_grid_shows_findings_of_a_suspicious_gallery_upload(client, db, browser, shots):
    from datetime import UTC, datetime, timedelta

    from tests.factories import applicant_headers

    case, token = await apply(client)
    staff = await make_staff(db, "inspector")
    exif = samples.exif_for(
        taken=datetime.now(UTC) - timedelta(days=20),
        gps=(31.2304, 121.4737),
        software="Adobe Photoshop 25.0",
    )
    checkpoint = case["checkpoints"][1]["id"]
    resp = await client.post(
        f"/api/cases/{case['id']}/checkpoints/{checkpoint}/evidence",
        data=samples.jpeg_bytes((2400, 1800), seed=3, exif=exif),
        headers={**applicant_headers(token), "Content-Type": "image/jpeg"},
    )
    assert resp.status == 201
    page = await staff_page(browser, base_url(client), staff, f"/staff/cases/{case['id']}")
    tile = page.locator(f".ev-group[data-checkpoint='{checkpoint}'] .ev-tile").first
    await tile.wait_for()
    codes = await tile.locator("[data-finding]").evaluate_all(
        "els => els.map(e => e.dataset.finding)"
    )
    assert {"gallery_upload", "time_outside_window", "location_far", "editing_software"} <= set(
        codes
    )
    assert await tile.locator("[data-verdict]").get_attribute("data-verdict") == "inconsistent"
    await shots(page, "evidence-staff-findings")
