"""Graceful step-down on a real bad network: the phone's Chromium runs inside a network namespace
of the test's own, joined to the service on the host by a veth pair; the test shapes the phone's
uplink with ``tc`` and then cuts it.

1. good link: video flows, no step-down;
2. uplink rate-limited (with loss): the session switches by itself to audio plus photos within a
   bound, both sides are told why, the change is audited, stills are refused in both languages;
3. limit lifted: back to video (after the hysteresis), audited;
4. outage (the phone's link down): the phone offers in-page capture of the remaining
   checkpoints; a photo taken then waits in IndexedDB and is uploaded once the link is back, with
   its original capture time and location.

``netem`` is used when the kernel has it (``rate`` and ``loss``); where ``sch_netem`` is missing
(as on this project's CI machine) a token bucket (``tbf``) limits the rate and its tail drop
makes the loss. Skipped, saying why, only where network namespaces cannot be made (not root, no
``ip``). The namespace and its veth pair are removed whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import async_playwright
from sqlmodel import select

from tests.harness.browsers import CHROMIUM, PageErrors, applicant_page, chromium_args
from tests.live.live_helpers import booked_session, participant, until
from zerotrip.api.keys import LIVE
from zerotrip.cases.models import AuditEvent
from zerotrip.media.models import Evidence

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest.importorskip("playwright.async_api")

PREMISES = (30.2741, 120.1551)
FIX = {"latitude": PREMISES[0] + 0.0002, "longitude": PREMISES[1], "accuracy": 10}
STEP_DOWN_WITHIN_S = 25  # bounds on waiting (the bench measures the time), not speed goals
STEP_UP_WITHIN_S = 60
OFFLINE_WITHIN_S = 60


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=10)


class PhoneNetwork:
    """A namespace for the phone, a veth pair to the host, and what the test does to the link."""

    def __init__(self) -> None:
        n = os.getpid() % 200 + 20
        self.name = f"zt-phone-{os.getpid()}"
        self.host_if, self.phone_if = f"ztH{os.getpid()}"[:15], f"ztP{os.getpid()}"[:15]
        self.host_ip, self.phone_ip = f"10.231.{n}.1", f"10.231.{n}.2"
        self.shaper = ""

    def create(self) -> None:
        _ip("netns", "add", self.name)
        _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.phone_if)
        _ip("link", "set", self.phone_if, "netns", self.name)
        _ip("addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
        _ip("link", "set", self.host_if, "up")
        _ip("-n", self.name, "addr", "add", f"{self.phone_ip}/30", "dev", self.phone_if)
        _ip("-n", self.name, "link", "set", self.phone_if, "up")
        _ip("-n", self.name, "link", "set", "lo", "up")

    def _tc(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.name, "tc", *args],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip

    def limit_uplink(self, kbit: int, loss_percent: float) -> str:
        """The phone's egress (its uplink): netem rate and loss, or tbf where netem is missing."""
        netem = self._tc(
            "qdisc", "replace", "dev", self.phone_if, "root", "netem",
            "rate", f"{kbit}kbit", "loss", f"{loss_percent}%", "limit", "40",
        )  # fmt: skip
        if netem.returncode == 0:
            self.shaper = f"netem rate {kbit}kbit loss {loss_percent}%"
            return self.shaper
        tbf = self._tc(
            "qdisc", "replace", "dev", self.phone_if, "root", "tbf",
            "rate", f"{kbit}kbit", "burst", "4kb", "latency", "60ms",
        )  # fmt: skip
        assert tbf.returncode == 0, f"neither netem ({netem.stderr}) nor tbf ({tbf.stderr})"
        self.shaper = f"tbf rate {kbit}kbit (tail drop; netem: {netem.stderr.strip()})"
        return self.shaper

    def lift(self) -> None:
        self._tc("qdisc", "del", "dev", self.phone_if, "root")

    def outage(self, down: bool) -> None:
        _ip("-n", self.name, "link", "set", self.phone_if, "down" if down else "up")

    def delete(self) -> None:
        _ip("netns", "del", self.name, check=False)
        _ip("link", "del", self.host_if, check=False)  # gone with its peer, normally


def _namespaces_permitted() -> str | None:
    """Why this test cannot run here, or None."""
    if shutil.which("ip") is None or shutil.which("tc") is None:
        return "the ip and tc commands (iproute2) are missing"
    probe = f"zt-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"network namespaces are not permitted here: {made.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


@contextlib.contextmanager
def phone_network() -> Iterator[PhoneNetwork]:
    why = _namespaces_permitted()
    if why is not None:
        pytest.skip(f"netem step-down test skipped: {why}")
    net = PhoneNetwork()
    try:
        net.create()
        yield net
    finally:
        net.delete()


@contextlib.asynccontextmanager
async def chromium_in(net: PhoneNetwork, origin: str) -> AsyncIterator[object]:
    """Chromium started inside the namespace (through ``ip netns exec``) and driven over the
    DevTools protocol on Playwright's pipe; the service's origin counts as secure (camera)."""
    folder = Path(tempfile.mkdtemp(prefix="zt-netns-"))
    wrapper = folder / "chromium-in-netns"
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {net.name} {CHROMIUM} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    args = [*chromium_args(), f"--unsafely-treat-insecure-origin-as-secure={origin}"]
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(wrapper), headless=True, args=args
            )
            try:
                yield browser
            finally:
                await browser.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def _events(db, case_id: int, kind: str) -> list[dict]:
    async with db.session() as session:
        rows = await session.exec(
            select(AuditEvent)
            .where(AuditEvent.case_id == case_id, AuditEvent.kind == kind)
            .order_by(AuditEvent.seq)
        )
        return [json.loads(row.payload) for row in rows.all()]


async def _wait_js(page, expression: str, within_s: float) -> float:
    """Wait for a page condition; the seconds it took (a bound, not a speed assertion)."""
    started = time.monotonic()
    try:
        await page.wait_for_function(expression, timeout=within_s * 1000, polling=200)
    except PlaywrightTimeout:
        raise AssertionError(f"not within {within_s} s: {expression}") from None
    return time.monotonic() - started


async def test_step_down_recover_and_offline_capture_on_a_shaped_link(client, db, clock, shots):
    with phone_network() as net:
        site = web.TCPSite(client.server.runner, net.host_ip, 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        origin = f"http://{net.host_ip}:{port}"
        booked = await booked_session(client, db, clock)
        sid, case_id = booked.session["id"], booked.case["id"]
        errors: list[str] = []
        try:
            async with (
                asyncio.timeout(360),
                chromium_in(net, origin) as browser,
                participant(client, booked.ws_path, booked.inspector.token) as inspector,
            ):
                await inspector.connect()
                phone = await applicant_page(
                    browser, f"{origin}/a/{booked.token}/live/{sid}", geolocation=FIX,
                    permissions=["geolocation", "camera", "microphone"],
                    errors=PageErrors(console=False, errors=errors),
                )  # fmt: skip
                await phone.click("#join")
                await phone.click("#consent-accept")
                await _wait_js(
                    phone, "() => window.liveApplicant.pc?.connectionState === 'connected'", 30
                )
                room = client.server.app[LIVE].rooms[sid]
                await until(lambda: room.video.stats.keyframes_in > 0, within=30)
                await inspector.subscribe(decode=False)

                # 1. A good link: video for a while, no step-down.
                await asyncio.sleep(8)
                assert room.stepdown.mode == "video", "\n".join(map(str, room.stepdown.recent))
                assert await _events(db, case_id, "live.step_down") == []
                await _wait_js(phone, "() => window.liveApplicant.offlineNonces", 20)

                # 2. The uplink shaped: audio plus photos by itself, both sides told why.
                shaped = net.limit_uplink(100, 8)
                try:
                    took = await _wait_js(
                        phone, "() => window.liveApplicant.linkMode === 'audio_photos'",
                        STEP_DOWN_WITHIN_S,
                    )  # fmt: skip
                except Exception:
                    print("\n".join(map(str, room.stepdown.recent)))
                    raise
                print(f"step-down after {took:.1f} s on {shaped}")
                down = await _events(db, case_id, "live.step_down")
                assert len(down) == 1 and down[0]["reason"] in ("low_bitrate", "packet_loss")
                told = await inspector.expect("link_mode", within=20)
                assert (told["mode"], told["reason"]) == ("audio_photos", down[0]["reason"])
                banner = await phone.text_content("#link-mode")
                assert "已暂停视频" in banner and ("带宽" in banner or "丢包" in banner)
                assert await phone.evaluate(
                    "() => window.liveApplicant.pc.getSenders()"
                    ".some((s) => s === window.liveApplicant.videoSender && s.track === null)"
                )
                refused = await inspector.request(
                    {"type": "capture", "checkpoint_id": booked.checkpoint_id}
                )
                assert refused["type"] == "error" and refused["status"] == 409
                assert refused.get("code") == "video-stepped-down" or "photo" in refused["detail"]
                await shots(phone, "live-applicant-stepped-down")

                # 3. The limit lifted: back to video after the hysteresis.
                net.lift()
                took = await _wait_js(
                    phone, "() => window.liveApplicant.linkMode === 'video'", STEP_UP_WITHIN_S
                )
                print(f"back to video {took:.1f} s after the limit was lifted")
                up = await _events(db, case_id, "live.step_up")
                assert len(up) == 1 and up[0]["reason"] == "recovered"
                assert (await inspector.expect("link_mode", within=20))["mode"] == "video"
                assert await phone.evaluate(
                    "() => window.liveApplicant.videoSender.track?.kind === 'video'"
                )

                # 4. The link cut: offline capture, queued on the phone, uploaded on return.
                net.outage(True)
                await _wait_js(
                    phone, "() => !document.querySelector('#offline').classList.contains('hidden')",
                    OFFLINE_WITHIN_S,
                )  # fmt: skip
                assert "网络已中断" in await phone.text_content("#offline")
                await phone.click(f"#offline [data-checkpoint='{booked.checkpoint_id}']")
                await _wait_js(phone, "() => window.liveApplicant.pendingUploads === 1", 20)
                queued = await phone.evaluate(
                    "() => import('/static/js/live-offline.js')"
                    ".then((m) => m.queued()).then((items) => items.map((i) => i.claims))"
                )
                assert len(queued) == 1 and queued[0]["origin"] == "capture"
                taken_at = queued[0]["taken_at"]
                await shots(phone, "live-applicant-offline-capture")
                await asyncio.sleep(3)  # the upload comes clearly later than the capture
                assert await _evidence(db, case_id, "capture") == []
                net.outage(False)
                uploaded = "() => (window.liveApplicant.uploaded || []).length === 1"
                await _wait_js(phone, uploaded, 40)
                stored = await _evidence(db, case_id, "capture")
                assert len(stored) == 1
                evidence = stored[0]
                assert evidence.checkpoint_id == booked.checkpoint_id
                assert evidence.capture is not None
                assert evidence.capture["taken_at"] == taken_at
                assert evidence.capture["lat"] == pytest.approx(FIX["latitude"])
                assert evidence.capture["lon"] == pytest.approx(FIX["longitude"])
                received = evidence.received_at.replace(tzinfo=UTC)
                taken = datetime.fromtimestamp(taken_at / 1000, UTC)
                assert (received - taken).total_seconds() >= 2.5  # judged by the original time
                if evidence.captured_at is not None:
                    captured = evidence.captured_at.replace(tzinfo=UTC)
                    assert abs((captured - taken).total_seconds()) < 1
                assert await phone.evaluate("() => window.liveApplicant.pendingUploads") == 0
                assert errors == []
        finally:
            await site.stop()


async def _evidence(db, case_id: int, source: str) -> list[Evidence]:
    async with db.session() as session:
        rows = await session.exec(
            select(Evidence)
            .where(Evidence.case_id == case_id, Evidence.source == source)
            .order_by(Evidence.id)
        )
        return list(rows.all())
