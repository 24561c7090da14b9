"""End to end in two real headless Chromium pages with the fake camera: the applicant runs the
readiness check and joins, the inspector joins and receives video, a prompt round-trips, a still
is captured and shows the fake camera's picture, the phone's location reaches the console, and
the recording of the session plays back. And the live section of the two case pages."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import av
import pytest
from PIL import Image, ImageStat

from tests.harness.apps import base_url
from tests.harness.browsers import PageErrors, applicant_page, staff_page
from tests.live.live_helpers import (
    booked_session,
    evidence_of,
    frame_mean,
    open_console,
    open_phone,
    until,
)
from zerotrip.api.keys import LIVE, STORAGE

# Known intermittent defect (not understood yet): in a full `make test`, the console on the
# SQLite pass sometimes never receives its first frames (1-2 runs in 3, never in isolation).
# One rerun, so the rest of the journey is still checked; a second failure fails the suite.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.flaky(reruns=1, reruns_delay=2)]
pytest.importorskip("playwright.async_api")

PREMISES = (30.2741, 120.1551)
FIX = {"latitude": PREMISES[0] + 0.0004, "longitude": PREMISES[1], "accuracy": 15}


async def test_two_browsers_inspect_live(client, db, clock, browser, shots):
    base = base_url(client)
    booked = await booked_session(client, db, clock)
    sid = booked.session["id"]
    errors: list[str] = []

    phone_ctx, phone = await open_phone(browser, base, booked, FIX, errors, join=False)
    await phone.click("#run-check")
    await phone.wait_for_function("() => document.querySelectorAll('#checks li').length === 4")
    checks = await phone.eval_on_selector_all(
        "#checks li", "els => els.map(e => [e.dataset.check, e.dataset.ok])"
    )
    assert dict(checks) == {"camera": "true", "mic": "true", "location": "true", "network": "true"}
    await shots(phone, "live-applicant-ready")
    await phone.click("#join")
    await phone.click("#consent-accept")
    await phone.wait_for_function("() => window.liveApplicant.pc?.connectionState === 'connected'")

    # The inspector receives and decodes the phone's camera.
    desk_ctx, desk = await open_console(browser, base, booked, errors)
    room = client.server.app[LIVE].rooms[sid]
    assert room.video.codec == "vp8" and room.video.stats.packets_out > 0

    # A prompt round-trips: shown large on the phone, acknowledged on the console.
    await desk.fill("#prompt-text", "请对准洗手池")
    await desk.click("#send-prompt")
    await phone.wait_for_function(
        "() => document.querySelector('#prompt').textContent === '请对准洗手池'"
    )
    await desk.wait_for_function("() => window.liveConsole.prompts[0]?.shown === true")

    # The phone's location reaches the console as a distance to the premises.
    await desk.wait_for_function(
        "() => / m$/.test(document.querySelector('#distance')?.textContent)"
    )
    distance = float((await desk.text_content("#distance")).split()[0])
    assert 35 <= distance <= 55

    # A still of the first checkpoint: the fake camera's picture, stored as evidence.
    await desk.locator(".capture").first.click()
    await desk.locator("#stills figure img").first.wait_for()
    await desk.wait_for_function(
        "() => document.querySelector('#stills figure img').naturalWidth > 0"
    )
    phone_mean = await frame_mean(phone)
    stills = await evidence_of(db, booked.case["id"], "still")
    assert len(stills) == 1 and stills[0].checkpoint_id == booked.checkpoint_id
    storage = client.server.app[STORAGE]
    image = Image.open(io.BytesIO(await storage.read_bytes(stills[0].blob_key))).convert("RGB")
    assert image.width >= 320
    stat = ImageStat.Stat(image)
    assert max(stat.stddev) > 10  # a real picture, not a flat frame
    assert all(abs(a - b) < 40 for a, b in zip(stat.mean, phone_mean, strict=True))
    await phone.wait_for_function(
        "() => !document.querySelector('#notice').classList.contains('hidden')"
    )

    await phone.wait_for_function("() => (window.liveApplicant.quality?.frames || 0) > 0")
    await desk.wait_for_function(
        "() => document.querySelector('#q-phone')?.textContent.includes('fps')"
    )
    await shots(desk, "live-console")
    await shots(phone, "live-applicant-call")

    # End the session: both pages say so and the recording is finalized as evidence.
    await desk.click("#end")
    await phone.wait_for_function("() => window.liveApplicant.ended === true")
    await desk.wait_for_function("() => window.liveConsole.ended === true")
    await until(lambda: sid not in client.server.app[LIVE].rooms)
    # The segment open when the console joined was cut, so the console's microphone is a
    # second audio track from the next one on.
    recordings = await evidence_of(db, booked.case["id"], "recording")
    assert len(recordings) >= 2
    for evidence in recordings:
        with av.open(str(storage.local_path(evidence.blob_key))) as container:
            frames = sum(1 for _ in container.decode(video=0))
            titles = [a.metadata.get("title") for a in container.streams.audio]
        assert frames == evidence.capture["frames"] > 0
        assert titles == evidence.capture["audio_tracks"]
    assert recordings[0].capture["audio_tracks"] == ["applicant"]
    last = recordings[-1].capture
    assert last["audio_tracks"] == ["applicant", "inspector"]
    assert last["audio_packets"] > 0 and last["voice_packets"] > 0
    assert last["frames"] > 10 and recordings[-1].duration_s > 0.5
    assert errors == []
    await phone_ctx.close()
    await desk_ctx.close()


async def test_case_pages_list_book_and_cancel_live_sessions(client, db, clock, browser, shots):
    """The live section of both case pages: staff see the booked slot with the console link,
    book another from the form and cancel it; the applicant sees the slots and the join link."""
    base = base_url(client)
    booked = await booked_session(client, db, clock)
    sid, case_id = booked.session["id"], booked.case["id"]
    watch = PageErrors(console=False)
    errors = watch.errors
    page = await staff_page(
        browser, base, booked.clerk, f"/staff/cases/{case_id}", locale="en-GB", errors=watch
    )
    first = page.locator(f"#live-sessions p[data-session='{sid}']")
    await first.wait_for()
    assert "Scheduled" in await first.text_content()
    assert await first.locator("a").get_attribute("href") == f"/staff/live/{sid}"

    # Book tomorrow 09:30 for 45 minutes (the office's time zone).
    tomorrow = (clock.now() + timedelta(days=1)).date()
    await page.fill("#live-start", f"{tomorrow.isoformat()}T09:30")
    await page.fill("#live-minutes", "45")
    await page.click("#live-sessions button[type=submit]")
    rows = page.locator("#live-sessions p[data-session]")
    await page.wait_for_selector("#live-sessions p[data-session] >> nth=1")
    sessions = await (await client.get(f"/api/cases/{case_id}/live-sessions",
                                       headers=booked.clerk.headers)).json()  # fmt: skip
    added = next(s for s in sessions if s["id"] != sid)
    start = datetime.fromisoformat(added["slot_start"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert (start.date(), start.hour, start.minute) == (tomorrow, 9, 30)
    end = datetime.fromisoformat(added["slot_end"])
    assert end - datetime.fromisoformat(added["slot_start"]) == timedelta(minutes=45)
    second = page.locator(f"#live-sessions p[data-session='{added['id']}']")
    assert "09:30" in await second.text_content() and "10:15" in await second.text_content()
    await shots(page.locator("#live-sessions"), "live-case-staff")

    # Cancel it, once the clerk confirms: the row says so and offers neither the console nor
    # a second cancel.
    asked: list[str] = []

    async def answer(dialog, accept: bool) -> None:
        asked.append(dialog.message)
        await (dialog.accept() if accept else dialog.dismiss())

    cancels: list[str] = []
    page.on("request", lambda r: cancels.append(r.url) if r.url.endswith("/cancel") else None)
    page.once("dialog", lambda dialog: answer(dialog, False))
    await second.locator("button").click()
    await page.evaluate("() => 0")  # the click handler has run to its end
    assert asked == ["Cancel this live inspection? The applicant will see it cancelled."]
    assert cancels == []
    assert "Scheduled" in await second.text_content()
    page.once("dialog", lambda dialog: answer(dialog, True))
    await second.locator("button").click()
    await page.wait_for_selector(
        f"#live-sessions p[data-session='{added['id']}'] .badge:has-text('Cancelled')"
    )
    assert await second.locator("a, button").count() == 0
    assert await rows.count() == 2 and len(cancels) == 1
    assert await page.is_hidden("#case-error")
    await shots(page, "live-case-staff-page")

    own = await applicant_page(browser, f"{base}/a/{booked.token}", errors=watch)
    join = own.locator(f"#live-sessions p[data-session='{sid}'] a")
    await join.wait_for()
    assert await join.get_attribute("href") == f"/a/{booked.token}/live/{sid}"
    assert await join.text_content() == "加入视频踏勘"
    cancelled = own.locator(f"#live-sessions p[data-session='{added['id']}']")
    assert "已取消" in await cancelled.text_content()
    assert await cancelled.locator("a, button").count() == 0
    assert await own.locator("#live-sessions form").count() == 0  # booking is for staff
    await shots(own.locator("#live-sessions"), "live-case-applicant")
    await join.click()
    await own.wait_for_url(f"**/a/{booked.token}/live/{sid}")
    await own.wait_for_selector("#session-state")
    assert errors == []
