"""The inspector's controls over the phone, end to end in two headless Chromium pages with the
fake camera: a full-resolution photo on request (ImageCapture, and the canvas grab where the
browser has none) stored as evidence with the phone's location."""

from __future__ import annotations

import asyncio
import io
import os
import time
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from tests.inspect.live_helpers import (
    booked_session,
    chromium,
    evidence_of,
    frame_mean,
    open_console,
    open_phone,
)
from zerotrip.api.keys import STORAGE

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest.importorskip("playwright.async_api")

SHOTS = Path(os.environ.get("ZEROTRIP_SCREENSHOTS", "var/screenshots"))
PREMISES = (30.2741, 120.1551)
FIX = {"latitude": PREMISES[0] - 0.0003, "longitude": PREMISES[1] + 0.0002, "accuracy": 12}


async def _live_photos(db, case_id: int) -> list:
    return [e for e in await evidence_of(db, case_id, "still") if e.source == "live_photo"]


async def _ask_photo(client, db, desk, booked, checkpoint_id: int, count: int):
    """Click the console's photo request for a checkpoint; the stored evidence and its figure."""
    await desk.click(f".checkpoint[data-checkpoint='{checkpoint_id}'] .ask-photo")
    shown = f"#stills figure[data-source='live_photo'][data-checkpoint='{checkpoint_id}']"
    figure = desk.locator(shown)
    await figure.wait_for(timeout=30_000)
    await desk.wait_for_function(
        f'() => document.querySelector("{shown} img")?.naturalWidth > 0', timeout=10_000
    )
    photos = await _live_photos(db, booked.case["id"])
    assert len(photos) == count
    photo = photos[-1]
    assert await figure.get_attribute("data-evidence") == str(photo.id)
    image = Image.open(io.BytesIO(await client.server.app[STORAGE].read_bytes(photo.blob_key)))
    image.load()
    return photo, image, figure


def _looks_like_the_fake_camera(image: Image.Image, preview: list[float]) -> None:
    """The fake camera paints a green field: not black, not flat, close to the live preview."""
    stat = ImageStat.Stat(image.convert("RGB"))
    red, green, blue = stat.mean
    assert green > 80 and green > red + 50 and green > blue + 50
    assert max(stat.stddev) > 10
    assert all(abs(a - b) < 40 for a, b in zip(stat.mean, preview, strict=True))


async def test_inspector_asks_for_full_resolution_photos(client, db, clock):
    base = str(client.make_url("")).rstrip("/")
    booked = await booked_session(client, db, clock)
    sid = booked.session["id"]
    first, second = (cp["id"] for cp in booked.case["checkpoints"][:2])
    os.makedirs(SHOTS, exist_ok=True)
    errors: list[str] = []
    async with asyncio.timeout(120), chromium() as browser:
        phone_ctx, phone = await open_phone(browser, base, booked, FIX, errors)
        desk_ctx, desk = await open_console(browser, base, booked, errors)
        await phone.wait_for_function("() => window.liveApplicant.lastFix != null")
        camera = await phone.evaluate(
            "() => window.liveApplicant.stream.getVideoTracks()[0].getSettings()"
        )

        # Chromium has ImageCapture: the photo is the camera's own, full-sized (PNG here).
        started = time.monotonic()
        photo, image, figure = await _ask_photo(client, db, desk, booked, first, 1)
        took = time.monotonic() - started
        assert photo.checkpoint_id == first and photo.live_session_id == sid
        assert photo.kind == "still" and photo.media_type == "image/png"
        assert (image.width, image.height) == (photo.width, photo.height)
        assert image.width >= camera["width"] and image.height >= camera["height"]
        _looks_like_the_fake_camera(image, await frame_mean(phone))
        capture = photo.capture or {}
        assert capture["origin"] == "live_photo" and capture["live_session"] == sid
        assert capture["lat"] == pytest.approx(FIX["latitude"], abs=1e-6)
        assert capture["lon"] == pytest.approx(FIX["longitude"], abs=1e-6)
        assert capture["accuracy"] == FIX["accuracy"]
        assert "nonce" not in capture  # the nonce was checked and spent, never kept
        assert f"{photo.width}×{photo.height}" in await figure.text_content()
        await phone.wait_for_selector("#notice:not(.hidden)")
        assert await phone.text_content("#notice") == "照片已上传"
        await desk.screenshot(path=str(SHOTS / "live-console-photo.png"), full_page=True)

        # Without ImageCapture the page grabs the preview frame at the camera's size (JPEG).
        await phone.evaluate("() => { window.ImageCapture = undefined; }")
        photo, image, _ = await _ask_photo(client, db, desk, booked, second, 2)
        assert photo.checkpoint_id == second and photo.media_type == "image/jpeg"
        assert (image.width, image.height) == (camera["width"], camera["height"])
        _looks_like_the_fake_camera(image, await frame_mean(phone))
        assert (photo.capture or {})["lat"] == pytest.approx(FIX["latitude"], abs=1e-6)
        assert await desk.locator("#stills figure").count() == 2
        assert await desk.is_hidden("#live-error")
        assert await desk.text_content("#session-state") == "Live"
        assert errors == []
        print(f"photo request to stored evidence: {took:.2f} s")
        await phone_ctx.close()
        await desk_ctx.close()
