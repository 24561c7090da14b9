"""Headless Chromium for page tests: the system's ``/usr/bin/chromium`` driven by Playwright.

``browser`` is one browser for the whole run (starting Chromium is the slow part); each test
opens its own context (``browser.new_context()``), so cookies and storage never leak between
tests. Playwright's sync API is used: write page tests as plain ``def`` tests together with the
``live_server`` fixture. ``--use-fake-*`` give pages a synthetic camera and microphone.
"""

from __future__ import annotations

import os.path
from collections.abc import Iterator

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """A Playwright ``Browser`` (sync API) on headless Chromium, shared by the session."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps`")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            instance.close()
