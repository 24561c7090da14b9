"""Shared set-up for the live tests: a case ready for inspection with a booked session,
synthetic participants joined over the real WebSocket of the running test server, and the two
live pages (phone and console) opened in headless Chromium with the fake camera."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlmodel import select

from tests.factories import Staff, make_staff, walk
from tests.harness.browsers import PageErrors, applicant_page, staff_page
from zerotrip.cases.models import AuditEvent
from zerotrip.db import Database
from zerotrip.live.synthetic import Clip, SyntheticClient, make_clip
from zerotrip.media.models import Evidence

_CLIP: Clip | None = None
_SERIAL = itertools.count(1)


def clip() -> Clip:
    """One small pre-encoded clip shared by all tests (encoding it takes a moment)."""
    global _CLIP
    if _CLIP is None:
        _CLIP = make_clip(320, 240, fps=30, seconds=4, gop=30)
    return _CLIP


@dataclass
class Booked:
    case: dict[str, Any]
    token: str
    session: dict[str, Any]
    clerk: Staff
    inspector: Staff

    @property
    def ws_path(self) -> str:
        return f"/api/live/sessions/{self.session['id']}/ws"

    @property
    def checkpoint_id(self) -> int:
        return self.case["checkpoints"][0]["id"]


async def booked_session(client: TestClient, db: Database, clock: Any, **apply_kw: Any) -> Booked:
    suffix = next(_SERIAL)
    clerk = await make_staff(db, "clerk", f"clerk{suffix}")
    inspector = await make_staff(db, "inspector", f"inspector{suffix}")
    case, token = await walk(client, clerk, inspector, until="inspecting", **apply_kw)
    now = clock.now()
    resp = await client.post(
        f"/api/cases/{case['id']}/live-sessions",
        json={"slot_start": now.isoformat(), "slot_end": (now + timedelta(hours=1)).isoformat()},
        headers=clerk.headers,
    )
    assert resp.status == 201, await resp.text()
    return Booked(case, token, await resp.json(), clerk, inspector)


def ws_url(client: TestClient, path: str) -> str:
    return str(client.make_url(path))


@contextlib.asynccontextmanager
async def participant(
    client: TestClient, path: str, token: str, **kw: Any
) -> AsyncIterator[SyntheticClient]:
    peer = SyntheticClient(client.session, ws_url(client, path), token, **kw)
    try:
        yield peer
    finally:
        await peer.close()


@contextlib.asynccontextmanager
async def call(
    client: TestClient, booked: Booked
) -> AsyncIterator[tuple[SyntheticClient, SyntheticClient]]:
    """The applicant publishing the test clip, the inspector subscribed (counting packets)."""
    async with (
        participant(client, booked.ws_path, booked.token) as applicant,
        participant(client, booked.ws_path, booked.inspector.token) as inspector,
    ):
        await applicant.connect()
        await applicant.publish(clip())
        await inspector.connect()
        await inspector.subscribe(decode=False)
        yield applicant, inspector


async def until(condition: Any, within: float = 30, step: float = 0.05) -> None:
    """Wait for a condition (a bound on waiting, not a speed assertion)."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - polling server-side state from the test
            await asyncio.sleep(step)


async def audit_kinds(db: Database, case_id: int) -> list[str]:
    async with db.session() as session:
        rows = await session.exec(
            select(AuditEvent.kind).where(AuditEvent.case_id == case_id).order_by(AuditEvent.seq)
        )
        return list(rows.all())


async def evidence_of(db: Database, case_id: int, kind: str) -> list[Evidence]:
    async with db.session() as session:
        rows = await session.exec(
            select(Evidence)
            .where(Evidence.case_id == case_id, Evidence.kind == kind)
            .order_by(Evidence.id)
        )
        return list(rows.all())


# --- the live pages in headless Chromium (the ``browser`` fixture) ---------------------------


async def frame_mean(page: Any, selector: str = "#preview") -> list[float]:
    """Average RGB of a video element's current frame, drawn to a canvas in the page."""
    return await page.eval_on_selector(
        selector,
        """(v) => { const c = document.createElement('canvas'); c.width = 64; c.height = 48;
        const g = c.getContext('2d'); g.drawImage(v, 0, 0, 64, 48);
        const d = g.getImageData(0, 0, 64, 48).data; const m = [0, 0, 0];
        for (let i = 0; i < d.length; i += 4) { m[0] += d[i]; m[1] += d[i+1]; m[2] += d[i+2]; }
        return m.map((x) => x / (64 * 48)); }""",
    )


async def open_phone(
    browser: Any,
    base: str,
    booked: Booked,
    fix: dict[str, float],
    errors: list[str],
    join: bool = True,
) -> tuple[Any, Any]:
    """The applicant's live page on a phone-sized context at ``fix``, joined and connected
    (or, with ``join=False``, just opened, for the readiness check)."""
    page = await applicant_page(
        browser,
        f"{base}/a/{booked.token}/live/{booked.session['id']}",
        geolocation=fix,
        permissions=["geolocation", "camera", "microphone"],
        errors=PageErrors(console=False, errors=errors),
    )
    context = page.context
    if not join:
        return context, page
    await page.click("#join")
    await page.click("#consent-accept")  # the recording notice comes before the camera
    await page.wait_for_function(
        "() => window.liveApplicant.pc?.connectionState === 'connected'", timeout=20_000
    )
    return context, page


async def open_console(
    browser: Any, base: str, booked: Booked, errors: list[str]
) -> tuple[Any, Any]:
    """The inspector's console, signed in, joined and decoding the phone's video."""
    page = await staff_page(
        browser,
        base,
        booked.inspector,
        f"/staff/live/{booked.session['id']}",
        locale="en-GB",
        permissions=["microphone"],
        errors=PageErrors(console=False, errors=errors),
    )
    context = page.context
    await page.click("#join")
    await page.wait_for_function(
        "() => document.querySelector('#remote').videoWidth > 0"
        " && (window.liveConsole.quality.here?.frames || 0) > 10",
        timeout=90_000,  # bounded; two suites' browsers and peers share two cores in make test
    )
    return context, page
