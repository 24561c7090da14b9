"""Headless Chromium for async page tests: the system browser through Playwright, as staff."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from urllib.parse import quote

from playwright.async_api import Browser, Page, async_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.factories import PASSWORD


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def staff_page(
    browser: Browser, base: str, username: str, path: str, *, lang: str = "zh"
) -> Page:
    """A page logged in through the real login form, then at ``path``."""
    context = await browser.new_context(viewport={"width": 1280, "height": 1500}, locale="zh-CN")
    await context.add_init_script(f"localStorage.setItem('zerotrip.lang', '{lang}')")
    page = await context.new_page()
    await page.goto(f"{base}/staff/login?next={quote(path)}")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_url(f"{base}{path.split('?')[0]}*")
    return page
