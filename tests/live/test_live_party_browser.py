"""The second party in three headless Chromium contexts with fake devices: the applicant's
phone, the inspector's console, and an outside expert who opens the one-time invitation link the
console made. The expert's page decodes the phone's video, the console receives the expert's
voice on its own track, the expert's prompt reaches the phone, the phone says a third person is
present, the console lists all three, a second browser opening the same link is refused in
Chinese, joins and leaves are audited, and the recording holds three named voice tracks that the
playback page lists by name."""

from __future__ import annotations

import asyncio
import io

import av
import pytest

from tests.harness.apps import base_url
from tests.harness.browsers import OFFICE_ZONE, PageErrors, staff_page
from tests.live.live_helpers import audit_kinds, booked_session, evidence_of, open_phone, until
from zerotrip.api.keys import LIVE

# The console's intermittent first-frames stall under load (see test_live_browser_session.py)
# also shows here now and then: one rerun, a second failure fails the suite.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.flaky(reruns=1, reruns_delay=2)]
pytest.importorskip("playwright.async_api")

FIX = {"latitude": 30.2743, "longitude": 120.1551, "accuracy": 10}
WAIT = 90_000  # ms: a bound on waiting under load, not a speed requirement
DESKTOP = {"width": 1280, "height": 900}


async def _desktop(browser, errors, label="guest"):
    """An outside expert's desktop browser: no account, a microphone (the fake device)."""
    context = await browser.new_context(
        viewport=DESKTOP, locale="zh-CN", timezone_id=OFFICE_ZONE, permissions=["microphone"]
    )
    page = await context.new_page()
    PageErrors(console=False, errors=errors).watch(page, label)
    return page


async def _received_audio(page, path: str) -> int:
    """Audio packets received on one transceiver of the page's peer connection."""
    return await page.evaluate(
        f"""async () => {{ const tr = {path}; if (!tr) return 0;
        let n = 0; (await tr.receiver.getStats()).forEach((s) => {{
          if (s.type === 'inbound-rtp') n += s.packetsReceived || 0; }}); return n; }}"""
    )


async def test_three_parties_guest_by_invitation(client, db, clock, browser, shots):
    base = base_url(client)
    booked = await booked_session(client, db, clock)
    sid, case_id = booked.session["id"], booked.case["id"]
    errors: list[str] = []
    async with asyncio.timeout(420):
        _, phone = await open_phone(browser, base, booked, FIX, errors)
        console = await staff_page(
            browser, base, booked.inspector, f"/staff/live/{sid}",
            permissions=["microphone"], errors=PageErrors(console=False, errors=errors),
        )  # fmt: skip
        await console.click("#join")
        await console.wait_for_function(
            "() => document.querySelector('#remote').videoWidth > 0", timeout=WAIT
        )

        # the inspector invites the expert from the console
        await console.fill("#invite-name", "王工")
        await console.click("#invite-create")
        await console.wait_for_selector("#invite-url")
        link = await console.text_content("#invite-url")
        assert f"/live/{sid}/guest#" in link
        await console.wait_for_selector("#invitations li[data-state='open']")

        guest = await _desktop(browser, errors)
        await guest.goto(link)
        await guest.wait_for_function("() => window.liveGuest.key", timeout=WAIT)
        assert "#" not in guest.url  # the spent token left the address bar
        assert "专家" in await guest.text_content("h1")
        await guest.click("#join")
        await guest.wait_for_function(
            "() => document.querySelector('#remote').videoWidth > 0"
            " && document.querySelector('#remote').currentTime > 0.5",
            timeout=WAIT,
        )  # the phone's video plays on the guest's page

        # the console lists all three; the phone says a third person is present
        await console.wait_for_function(
            "() => document.querySelector('#participants').dataset.roles"
            " === 'applicant,inspector,guest'",
            timeout=WAIT,
        )
        assert "王工" in await console.text_content("#participants")
        await phone.wait_for_selector("#third-party:not(.hidden)", timeout=WAIT)
        assert "王工" in await phone.text_content("#third-party")
        await guest.wait_for_function(
            "() => document.querySelector('#participants').dataset.roles"
            " === 'applicant,inspector,guest'",
            timeout=WAIT,
        )

        # the inspector hears the guest: packets on the console's third-party audio line
        third_line = "window.liveConsole.pc.getTransceivers()[2]"
        for _ in range(360):
            if await _received_audio(console, third_line) > 50:
                break
            await asyncio.sleep(0.25)
        assert await _received_audio(console, third_line) > 50
        assert (
            await console.evaluate(
                "() => document.querySelector('#guest-audio')?.srcObject?.getAudioTracks().length"
            )
            == 1
        )

        # a prompt from the guest reaches the phone
        await guest.fill("#prompt-text", "请拍一下灭火器的压力表")
        await guest.click("#send-prompt")
        await phone.wait_for_function(
            "() => document.querySelector('#prompt').textContent.includes('压力表')",
            timeout=WAIT,
        )
        await guest.wait_for_function(  # the phone acknowledged showing it
            "() => document.querySelector('#prompt-state').textContent.startsWith('✓')",
            timeout=WAIT,
        )
        await console.wait_for_selector("#invitations li[data-state='used']", timeout=WAIT)
        assert "王工：请拍一下灭火器的压力表" in await console.text_content("#prompt-state")

        room = client.server.app[LIVE].rooms[sid]
        await until(
            lambda: any(s.audio.get("guest", 0) > 50 for s in room.recorder.segments), within=90
        )
        await shots(guest, "live-guest")
        await console.wait_for_function(  # the connection figures, in Chinese too
            "() => document.querySelector('#q-server')?.textContent.includes('帧')", timeout=WAIT
        )
        figures = await console.text_content("#quality") or ""
        assert not any(word in figures for word in ("lost", "rtt", "dropped")), figures
        await shots(console, "live-console-three-parties")
        await shots(phone, "live-applicant-third-party")

        # the same link in a second browser is refused, in Chinese
        second = await _desktop(browser, [], "second")
        await second.goto(link)
        await second.wait_for_selector("#live-error:not(.hidden)", timeout=WAIT)
        assert "已被使用" in await second.text_content("#live-error")
        assert await second.is_disabled("#join")

        await guest.click("#leave")
        await console.wait_for_function(
            "() => document.querySelector('#participants').dataset.roles === 'applicant,inspector'",
            timeout=WAIT,
        )
        await phone.wait_for_selector("#third-party.hidden", state="attached", timeout=WAIT)
        await console.click("#end")
        await until(lambda: sid not in client.server.app[LIVE].rooms, within=60)

    kinds = await audit_kinds(db, case_id)
    for kind in ("live.invitation_created", "live.invitation_used", "live.guest_joined",
                 "live.guest_left"):  # fmt: skip
        assert kind in kinds, kinds
    recordings = await evidence_of(db, case_id, "recording")
    named = [e for e in recordings if "王工" in (e.capture or {}).get("audio_titles", [])]
    assert named, [e.capture for e in recordings]
    resp = await client.get(
        f"/api/live/sessions/{sid}/recording/{named[0].id}?download=1",
        headers=booked.inspector.headers,
    )
    with av.open(io.BytesIO(await resp.read())) as container:
        titles = [s.metadata.get("title") for s in container.streams.audio]
    assert titles == ["applicant", "inspector", "王工"]

    player = await staff_page(
        browser, base, booked.inspector, f"/staff/live/{sid}/recording",
        errors=PageErrors(console=False, errors=errors),
    )  # fmt: skip
    await player.wait_for_selector("#voices li[data-lane='guest']", timeout=WAIT)
    voices = await player.text_content("#voices")
    assert "申请人" in voices and "检查员" in voices and "王工" in voices
    await shots(player, "live-recording-voices")
    assert errors == [], errors


async def test_supervisor_joins_from_the_console_link(client, db, clock, browser, shots):
    """Staff join as the second party from their console: the inspector's seat stays theirs."""
    from tests.factories import make_staff

    base = base_url(client)
    booked = await booked_session(client, db, clock)
    sid = booked.session["id"]
    supervisor = await make_staff(db, "inspector", "supervisor-browser")
    errors: list[str] = []
    async with asyncio.timeout(300):
        _, phone = await open_phone(browser, base, booked, FIX, errors)
        console = await staff_page(
            browser, base, booked.inspector, f"/staff/live/{sid}",
            permissions=["microphone"], errors=PageErrors(console=False, errors=errors),
        )  # fmt: skip
        await console.click("#join")
        await console.wait_for_function(
            "() => document.querySelector('#remote').videoWidth > 0", timeout=WAIT
        )
        assert await console.get_attribute("#join-as-guest", "href") == f"/staff/live/{sid}/guest"
        watcher = await staff_page(
            browser, base, supervisor, f"/staff/live/{sid}/guest",
            permissions=["microphone"], errors=PageErrors(console=False, errors=errors),
        )  # fmt: skip
        await watcher.click("#join")
        await watcher.wait_for_function(
            "() => document.querySelector('#remote').videoWidth > 0", timeout=WAIT
        )
        await console.wait_for_function(
            "() => document.querySelector('#participants').dataset.roles"
            " === 'applicant,inspector,guest'",
            timeout=WAIT,
        )
        assert "Supervisor" in await console.text_content("#participants li[data-role='guest']")
        await phone.wait_for_selector("#third-party:not(.hidden)", timeout=WAIT)
        await shots(watcher, "live-guest-staff")
    joined = await audit_kinds(db, booked.case["id"])
    assert "live.guest_joined" in joined
    assert errors == [], errors
