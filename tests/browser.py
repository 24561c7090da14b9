"""Headless Chromium for page tests: the system's ``/usr/bin/chromium`` driven by Playwright.

Playwright's sync API is used: write page tests as plain ``def`` tests together with the
``live_server``/``live_app`` fixtures (set records up with ``live_app.run(coroutine)``, not with
async fixtures). While it runs, the sync API keeps an event loop running in the test thread, so
``browser`` lives for one test module (not the session: the async tests after it need the thread
free). Each test opens its own context (``browser.new_context()``), so cookies and storage never
leak between tests. ``--use-fake-*`` give pages a synthetic camera and microphone.
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


@pytest.fixture(scope="module")
def browser(database_template: str) -> Iterator[object]:
    """A Playwright ``Browser`` (sync API) on headless Chromium, shared by a test module.

    Depends on ``database_template`` so the migrations (which use ``asyncio.run``) are done
    before Playwright's loop occupies the thread.
    """
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
