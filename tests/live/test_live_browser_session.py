"""A live session from the recording notice to its end, in two headless Chromium pages with the
fake camera: the notice is accepted (and audited) before the camera opens, the call fills the
phone's screen with a recording indicator, the inspector's click and drag on the video show on
the phone as a circle and an arrow ("请拍这里", audited with the video offset), the console ticks
each checkpoint and keeps the prompt's acknowledgement, and "结束踏勘" puts both pages in an
ended state with a summary, the phone on its way back to its case page."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlmodel import select

from tests.harness.apps import base_url
from tests.harness.browsers import PageErrors, applicant_page
from tests.live.live_helpers import (
    audit_kinds,
    booked_session,
    evidence_of,
    open_console,
    until,
)
from zerotrip.api.keys import LIVE
from zerotrip.cases.models import AuditEvent
from zerotrip.media.models import TrustVerdict

# Known intermittent defect (not understood yet): in a full `make test`, the console on the
# SQLite pass sometimes never receives its first frames (1-2 runs in 3, never in isolation).
# One rerun, so the rest of the journey is still checked; a second failure fails the suite.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.flaky(reruns=1, reruns_delay=2)]
pytest.importorskip("playwright.async_api")

PREMISES = (30.2741, 120.1551)
FIX = {"latitude": PREMISES[0] + 0.0002, "longitude": PREMISES[1], "accuracy": 10}
WAIT = 30_000  # ms: a bound on waiting under load, not a speed requirement


async def _events(db, case_id: int, kind: str) -> list[dict]:
    async with db.session() as session:
        rows = await session.exec(
            select(AuditEvent)
            .where(AuditEvent.case_id == case_id, AuditEvent.kind == kind)
            .order_by(AuditEvent.seq)
        )
        return [json.loads(row.payload) for row in rows.all()]


async def _phone_with_consent(browser, base, booked, errors, db, shots):
    """The phone asks for consent before the camera: nothing opens or is recorded until then."""
    phone = await applicant_page(
        browser,
        f"{base}/a/{booked.token}/live/{booked.session['id']}",
        geolocation=FIX,
        permissions=["geolocation", "camera", "microphone"],
        errors=PageErrors(console=False, errors=errors),
    )
    await phone.click("#join")
    await phone.wait_for_selector("#consent:not(.hidden)")
    assert "录像" in await phone.text_content("#consent")
    assert await phone.evaluate("() => window.liveApplicant.stream") is None
    assert "live.recording_consent" not in await audit_kinds(db, booked.case["id"])
    await shots(phone, "live-applicant-consent")
    await phone.click("#consent-accept")
    await phone.wait_for_function(
        "() => window.liveApplicant.pc?.connectionState === 'connected'", timeout=WAIT
    )
    return phone


async def test_consent_pointer_ticks_and_end(client, db, clock, browser, shots):
    base = base_url(client)
    booked = await booked_session(client, db, clock)
    sid, case_id = booked.session["id"], booked.case["id"]
    first = booked.checkpoint_id
    errors: list[str] = []
    async with asyncio.timeout(240):
        phone = await _phone_with_consent(browser, base, booked, errors, db, shots)
        kinds = await audit_kinds(db, case_id)
        assert "live.recording_finalized" not in kinds[: kinds.index("live.recording_consent")]
        assert (await _events(db, case_id, "live.recording_consent"))[0]["accepted"] is True
        # In the call: the video fills the screen, the readiness card is gone, "录像中" shows.
        assert await phone.is_visible("#rec") and await phone.is_hidden("#readiness")
        box = await phone.locator("#preview").bounding_box()
        assert box["width"] >= 380 and box["height"] >= 700

        _, desk = await open_console(browser, base, booked, errors)
        await desk.wait_for_selector("#rec-state[data-recording='true']", timeout=WAIT)

        # A prompt, then its acknowledgement stays while recording notices arrive.
        await desk.fill("#prompt-text", "请对准灭火器")
        await desk.click("#send-prompt")
        await desk.wait_for_function("() => window.liveConsole.prompts[0]?.shown === true")
        room = client.server.app[LIVE].rooms[sid]
        room.recorder.rotate("test: a segment closes mid-call")
        await desk.wait_for_function("() => window.liveConsole.segments >= 1", timeout=WAIT)
        assert await desk.text_content("#prompt-state") == "✓ 请对准灭火器"
        assert "1" in await desk.text_content("#rec-state")

        # A click on the console's video: a circle on the phone, where it was clicked.
        video = desk.locator("#remote")
        vbox = await video.bounding_box()
        await video.click(position={"x": vbox["width"] * 0.5, "y": vbox["height"] * 0.5})
        await phone.wait_for_selector("#pointer:not(.hidden) circle", timeout=WAIT)
        assert await phone.text_content("#pointer-label") == "请拍这里"
        circle = await phone.eval_on_selector(
            "#pointer circle", "c => [c.cx.baseVal.value, c.cy.baseVal.value]"
        )
        pbox = await phone.locator("#preview").bounding_box()
        assert abs(circle[0] - pbox["width"] / 2) < 20 and abs(circle[1] - pbox["height"] / 2) < 20
        await shots(phone, "live-applicant-pointer")
        # A drag: an arrow; both audited with where they fall in the recording.
        await desk.mouse.move(vbox["x"] + vbox["width"] * 0.2, vbox["y"] + vbox["height"] * 0.2)
        await desk.mouse.down()
        await desk.mouse.move(vbox["x"] + vbox["width"] * 0.6, vbox["y"] + vbox["height"] * 0.7)
        await desk.mouse.up()
        await phone.wait_for_selector("#pointer[data-shape='arrow'] line", timeout=WAIT)
        pointers = await _events(db, case_id, "live.pointer")
        assert [p["shape"] for p in pointers] == ["circle", "arrow"]
        assert pointers[0]["x"] == pytest.approx(0.5, abs=0.03)
        assert pointers[1]["x2"] == pytest.approx(0.6, abs=0.03)
        assert all(isinstance(p["video_offset_ms"], int) for p in pointers)
        assert pointers[1]["video_offset_ms"] >= pointers[0]["video_offset_ms"]
        # ... and gone from the phone after a few seconds.
        await phone.wait_for_selector("#pointer.hidden", state="attached", timeout=WAIT)

        # A still ticks its checkpoint on the console.
        row = f".checkpoint[data-checkpoint='{first}']"
        assert await desk.get_attribute(f"{row} [data-tick='still']", "data-done") == "false"
        await desk.click(f"{row} .capture")
        await desk.wait_for_selector(f"{row} [data-tick='still'][data-done='true']", timeout=WAIT)
        assert await desk.get_attribute(f"{row} [data-tick='photo']", "data-done") == "false"

        # A challenge code shown to the camera.
        await desk.click("#issue-code")
        await desk.wait_for_selector("#code-box:not(.hidden)")
        code = (await desk.text_content("#code")).strip()
        await desk.click("#code-shown")
        await desk.wait_for_function("() => window.liveConsole.challenge === null")
        await phone.wait_for_selector("#notice:not(.hidden)", timeout=WAIT)  # "still taken"
        await shots(desk, "live-console-call")
        await shots(phone, "live-applicant-call-fullscreen")

        # End: both pages in the ended state with the summary.
        await desk.click("#end")
        await desk.wait_for_selector("#summary:not(.hidden)", timeout=WAIT)
        await phone.wait_for_selector("#summary:not(.hidden)", timeout=WAIT)
        await until(lambda: sid not in client.server.app[LIVE].rooms)
        assert await desk.text_content("#session-state") == "Ended"
        assert await phone.text_content("#session-state") == "已结束"
        for button in ("#issue-code", "#code-shown", "#code-not-shown", "#send-prompt"):
            assert await desk.is_disabled(button), button
        assert await desk.locator(".capture:enabled, .ask-photo:enabled").count() == 0
        # The summary waits for the recording to be saved before showing it.
        await desk.wait_for_function(
            "() => window.liveConsole.summary && !window.liveConsole.summary.finalizing",
            timeout=WAIT,
        )
        summary = await desk.evaluate("() => window.liveConsole.summary")
        assert summary["state"] == "ended" and summary["duration_s"] > 0
        assert summary["recording_segments"] >= 2 and summary["recording_s"] > 0
        assert summary["challenges"] == [{"code": code, "result": "shown"}]
        tally = next(c for c in summary["checkpoints"] if c["checkpoint_id"] == first)
        assert (tally["stills"], tally["photos"]) == (1, 0)
        assert code in await desk.text_content("#summary-codes")
        assert "Ended" in await desk.text_content("#summary-state")
        # The phone: no stale notice, prompt or pointer; its summary; the way back.
        for stale in ("#notice", "#prompt", "#challenge", "#rec", "#call"):
            assert await phone.is_hidden(stale), stale
        phone_summary = await phone.text_content("#summary")
        assert "本次踏勘小结" in phone_summary and "已出示" in phone_summary
        assert "秒" in await phone.text_content("#summary-duration")
        assert "秒后自动返回" in await phone.text_content("#returning")
        await shots(phone, "live-applicant-ended")
        await shots(desk, "live-console-ended")
        await phone.click("#back")
        await phone.wait_for_url(f"**/a/{booked.token}")

        # The recordings carry the phone's location: no "location missing" finding.
        recordings = await evidence_of(db, case_id, "recording")
        assert len(recordings) >= 2
        async with db.session() as session:
            verdicts = (
                await session.exec(
                    select(TrustVerdict).where(
                        TrustVerdict.evidence_id.in_([r.id for r in recordings])
                    )
                )
            ).all()
        for evidence in recordings:
            assert evidence.capture["lat"] == pytest.approx(FIX["latitude"], abs=1e-6)
        codes = {f.get("code") for v in verdicts for f in v.findings}
        assert "location_missing" not in codes

        await _watch_the_recording(desk, booked, summary, len(recordings), shots)
        assert errors == []


async def _watch_the_recording(desk, booked, summary, segments: int, shots) -> None:
    """The console's summary leads to the recording: one timeline over its segments, chapter
    marks for what happened, the pointer drawn again, downloads under a real file name."""
    sid = booked.session["id"]
    await desk.click("#watch")
    await desk.wait_for_url(f"**/staff/live/{sid}/recording")
    await desk.wait_for_function("() => window.liveRecording.ready === true", timeout=WAIT)
    view = await desk.evaluate("() => window.liveRecording.view")
    assert len(view["segments"]) == segments >= 2
    starts = [s["start_s"] for s in view["segments"]]
    assert starts == sorted(starts) and starts[0] == 0
    for before, after in zip(view["segments"], view["segments"][1:], strict=False):
        # no hole in the timeline where a segment was rotated (arrival jitter under load may
        # make neighbours overlap a little: the player moves on by index)
        assert after["start_s"] <= before["start_s"] + before["duration_s"] + 1.5
    # the timeline spans the segments (with at most small holes where one was rotated)
    assert summary["recording_s"] - 1.0 <= view["duration_s"]
    assert view["duration_s"] <= summary["recording_s"] + 1.5 * segments
    kinds = [c["kind"] for c in view["chapters"]]
    expected = {"prompt": 1, "pointer": 2, "still": 1, "challenge": 2, "checkpoint": 1}
    for kind, count in expected.items():
        assert kinds.count(kind) == count, (kind, kinds)
    assert await desk.locator("#timeline .mark").count() == len(kinds)
    prompt = next(c for c in view["chapters"] if c["kind"] == "prompt")
    assert prompt["label"] == "请对准灭火器"

    # Jump to the arrow: the player is there and the arrow is drawn over the video again.
    arrow = next(c for c in view["chapters"] if c["kind"] == "pointer" and
                 c["pointer"]["shape"] == "arrow")  # fmt: skip
    await desk.click(f"#chapters li[data-kind='pointer'][data-at='{arrow['at_s']}'] button")
    await desk.wait_for_selector("#pointer[data-shape='arrow']:not(.hidden)", timeout=WAIT)
    await desk.wait_for_function("() => document.querySelector('#player').videoWidth > 0")
    await shots(desk, "live-recording")

    # Playing across a segment's end continues in the next one: one timeline.
    first = view["segments"][0]
    await desk.evaluate(
        "(at) => { document.querySelector('#player').muted = true;"
        " window.liveRecording.seek(at, true); }",
        max(0.0, first["duration_s"] - 1.0),
    )
    await desk.wait_for_function(
        "() => window.liveRecording.current === 1"
        " && document.querySelector('#player').currentTime > 0.3",
        timeout=WAIT,
    )
    assert await desk.text_content("#segment-now") == f"Part 2 / {segments}"

    # Downloads: the file name has the case, the session, the part and the extension.
    link = desk.locator("#downloads a").first
    name = await link.get_attribute("download")
    assert name == view["segments"][0]["file_name"]
    assert name.startswith(f"{booked.case['reference']}-live-{sid}-part-") and name.endswith(".mkv")
    base = desk.url.split("/staff/")[0]
    response = await desk.request.get(base + await link.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-disposition"] == f'attachment; filename="{name}"'
    assert (await response.body())[:4] == bytes.fromhex("1a45dfa3")  # EBML: Matroska

    # On the staff case page the recording sits under its session, with the way to watch it.
    await desk.goto(f"{base}/staff/cases/{booked.case['id']}")
    group = desk.locator(f"#evidence-grid .ev-group[data-session='{sid}']")
    await group.wait_for(timeout=WAIT)
    assert f"Live inspection recording #{sid}" in await group.locator("h3").text_content()
    assert await group.locator(".ev-tile").count() == segments
    assert await group.locator("a").get_attribute("href") == f"/staff/live/{sid}/recording"
    watch = desk.locator(f"#live-sessions p[data-session='{sid}'] a.watch")
    await watch.wait_for(timeout=WAIT)
    assert await watch.get_attribute("href") == f"/staff/live/{sid}/recording"
    await shots(desk.locator("#evidence-grid"), "live-recording-under-session")
