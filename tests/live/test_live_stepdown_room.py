"""Step-down in a running room, with real aiortc peers over the real WebSocket: a phone whose
video stops getting through while it reports what a starved Chrome reports is switched to audio
plus photos (both sides told, audited, stills refused in both languages); its upload probes then
bring the video back; a probe that is malformed or from the inspector is refused."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlmodel import select

from tests.harness.apps import base_url
from tests.harness.browsers import staff_page
from tests.live.live_helpers import booked_session, call, until
from zerotrip.api.keys import LIVE
from zerotrip.cases.models import AuditEvent

STARVED = {"kbps": 90, "limited_by": "bandwidth", "estimate_kbps": 120, "loss": 0.0}


async def _payloads(db, case_id: int, kind: str) -> list[dict]:
    async with db.session() as session:
        rows = await session.exec(
            select(AuditEvent)
            .where(AuditEvent.case_id == case_id, AuditEvent.kind == kind)
            .order_by(AuditEvent.seq)
        )
        return [json.loads(row.payload) for row in rows.all()]


def _starve(applicant: Any) -> None:
    """Nothing of the phone's video gets through any more."""
    original = applicant.video_track.recv

    async def starved() -> Any:
        await asyncio.sleep(3600)
        return await original()

    applicant.video_track.recv = starved


async def _report(applicant: Any, stats: dict[str, Any]) -> None:
    while True:
        await applicant.send({"type": "stats", "stats": stats})
        await asyncio.sleep(1)


async def _probe(applicant: Any, serial: int) -> dict[str, Any]:
    pad = "x" * 12 * 1024
    for part in range(5):
        await applicant.send(
            {"type": "probe", "probe": serial, "part": part, "parts": 6, "pad": pad}
        )
    return await applicant.request(
        {"type": "probe", "probe": serial, "part": 5, "parts": 6, "pad": pad}
    )


async def test_starved_phone_steps_down_and_probes_bring_the_video_back(client, db, clock):
    booked = await booked_session(client, db, clock)
    case_id, sid = booked.case["id"], booked.session["id"]
    async with asyncio.timeout(120), call(client, booked) as (applicant, inspector):
        room = client.server.app[LIVE].rooms[sid]
        reporter = asyncio.create_task(
            _report(applicant, {"limited_by": "none", "estimate_kbps": 2500, "loss": 0.0})
        )
        try:
            await asyncio.sleep(7)  # past the new stream's ramp-up: healthy, nothing happens
            assert room.stepdown.mode == "video"
            assert await _payloads(db, case_id, "live.step_down") == []
            reporter.cancel()
            _starve(applicant)
            reporter = asyncio.create_task(_report(applicant, STARVED))
            phone_told = await applicant.expect("link_mode", within=20)
            console_told = await inspector.expect("link_mode", within=5)
        finally:
            reporter.cancel()
        assert phone_told == console_told
        assert (phone_told["mode"], phone_told["reason"]) == ("audio_photos", "low_bitrate")
        down = await _payloads(db, case_id, "live.step_down")
        assert len(down) == 1 and down[0]["reason"] == "low_bitrate" and down[0]["kbps"] < 250

        refused = await inspector.request(
            {"type": "capture", "checkpoint_id": booked.checkpoint_id}
        )
        assert refused["type"] == "error" and refused["status"] == 409
        assert refused["problem"] == "conflict" and "拍照" in refused["detail"]
        assert room.stepdown.mode == "audio_photos"

        # A probe from the inspector, or a malformed one, is refused; the session goes on.
        wrong = await inspector.request({"type": "probe", "probe": 1, "part": 0, "parts": 2})
        assert wrong["type"] == "error" and wrong["status"] == 403
        bad = await applicant.request({"type": "probe", "probe": 1, "part": 0, "parts": 1})
        assert bad["type"] == "error" and bad["status"] == 422

        # Fast probes (the link is fine again): back to video after the hysteresis, audited.
        results = []
        for serial in range(1, 12):
            results.append(await _probe(applicant, serial))
            if room.stepdown.mode == "video":
                break
            await asyncio.sleep(2)
        assert results[0]["type"] == "probe_result" and results[0]["kbps"] >= 1000
        await until(lambda: room.stepdown.mode == "video", within=10)
        assert results[-1]["mode"] == "video"  # (its link_mode came while awaiting that reply)
        told = await inspector.expect("link_mode", within=10)
        assert (told["mode"], told["reason"]) == ("video", "recovered")
        up = await _payloads(db, case_id, "live.step_up")
        assert len(up) == 1 and up[0]["kbps"] >= 1000
        assert len(results) >= 3  # not on the first good probe: held for the step-up time


@pytest.mark.browser
async def test_the_console_says_why_the_video_paused_in_its_language(
    client, db, clock, browser, shots
):
    """The console's banner for a ``link_mode`` message (the message itself is checked above)."""
    booked = await booked_session(client, db, clock)
    base = base_url(client)
    for locale, paused, reason in (
        ("zh-CN", "视频已暂停", "丢包严重"),
        ("en-GB", "video paused", "heavy packet loss"),
    ):
        page = await staff_page(
            browser, base, booked.inspector, f"/staff/live/{booked.session['id']}", locale=locale
        )
        await page.evaluate(
            """() => import('/static/js/live-offline.js').then((m) => m.consoleLinkMode(
            { mode: 'audio_photos', reason: 'packet_loss', kbps: 140, loss: 0.18 },
            document.querySelector('#link-mode')))"""
        )
        banner = await page.text_content("#link-mode")
        assert paused in banner and reason in banner
        assert await page.is_visible("#link-mode")
        await shots(page, f"live-console-stepped-down-{locale}")
        await page.context.close()
