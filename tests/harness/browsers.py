"""Headless Chromium for page tests: the system's ``/usr/bin/chromium`` through Playwright's
async API, on the test's own event loop, so a page test is an ordinary ``async def`` test beside
the ``client`` it drives.

One launcher (:func:`launch_chromium`, behind the ``browser`` fixture) with the flags every page
test needs: no background networking (no test touches the internet) and a synthetic camera and
microphone that need no permission prompt. The two kinds of page a user sees:

- :func:`applicant_page`: a phone (390×844, touch, mobile user agent) opening a link;
- :func:`staff_page`: a 1280-wide console signed in as a given staff member.

:class:`PageErrors` collects what a page's JavaScript threw (and what it logged as an error), so
a test can end with ``assert errors.errors == []``; :class:`Screenshots` writes the pictures a
reviewer looks at.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, async_playwright

from tests.factories import PASSWORD, Staff

CHROMIUM = "/usr/bin/chromium"
FAKE_MEDIA = "--use-fake-device-for-media-stream"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    FAKE_MEDIA,
    "--use-fake-ui-for-media-stream",
)
OFFICE_ZONE = "Asia/Shanghai"  # pages show times in the office's zone, as the people there see
PHONE = {"width": 390, "height": 844}
CONSOLE = {"width": 1280, "height": 900}


def chromium_args(cameras: int = 1) -> list[str]:
    """The launch flags; ``cameras`` > 1 gives the fake media device that many cameras."""
    fake = FAKE_MEDIA if cameras == 1 else f"{FAKE_MEDIA}=device-count={cameras}"
    return [fake if arg == FAKE_MEDIA else arg for arg in CHROMIUM_ARGS]


@contextlib.asynccontextmanager
async def launch_chromium(cameras: int = 1) -> AsyncIterator[Browser]:
    """Headless Chromium, closed (with every context it opened) when the block ends."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps`")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=chromium_args(cameras)
        )
        try:
            yield browser
        finally:
            await browser.close()


async def applicant_page(
    browser: Browser,
    url: str | None,
    *,
    locale: str = "zh-CN",
    lang: str | None = None,
    geolocation: dict[str, float] | None = None,
    permissions: Sequence[str] = (),
    height: int = PHONE["height"],
    errors: PageErrors | None = None,
) -> Page:
    """A phone opening ``url`` (a link the applicant was sent), in its own context; with
    ``url=None`` the page stays blank, so a test can route its requests before it loads.

    ``lang`` pins the page language the way the page's own switch does; otherwise the page
    follows ``locale``. ``geolocation`` needs ``"geolocation"`` in ``permissions``.
    ``errors`` starts watching the page before it loads.
    """
    context = await browser.new_context(
        viewport={"width": PHONE["width"], "height": height},
        is_mobile=True,
        has_touch=True,
        locale=locale,
        timezone_id=OFFICE_ZONE,
        geolocation=geolocation,
        permissions=list(permissions),
    )
    await _pin_language(context, lang)
    page = await context.new_page()
    if errors is not None:
        errors.watch(page, "applicant")
    if url is not None:
        await page.goto(url)
    return page


async def staff_page(
    browser: Browser,
    base: str,
    staff: Staff | str,
    path: str,
    *,
    locale: str = "zh-CN",
    lang: str | None = None,
    width: int = CONSOLE["width"],
    height: int = CONSOLE["height"],
    permissions: Sequence[str] = (),
    errors: PageErrors | None = None,
) -> Page:
    """A console page at ``path``, signed in as ``staff`` (a :class:`Staff` or a username).

    Signs in through the same ``/api/session`` call the login form makes (the form itself is
    tested in its own page test), so the session cookie is the real one. ``errors`` starts
    watching the page before it loads.
    """
    username = staff.username if isinstance(staff, Staff) else staff
    context = await browser.new_context(
        viewport={"width": width, "height": height},
        locale=locale,
        timezone_id=OFFICE_ZONE,
        permissions=list(permissions),
    )
    await _pin_language(context, lang)
    answer = await context.request.post(
        f"{base}/api/session", data={"username": username, "password": PASSWORD}
    )
    assert answer.ok, f"signing in as {username}: {answer.status} {await answer.text()}"
    page = await context.new_page()
    if errors is not None:
        errors.watch(page, "staff")
    await page.goto(f"{base}{path}")
    return page


def login_url(base: str, path: str) -> str:
    """The login form, sending the user on to ``path`` once signed in."""
    return f"{base}/staff/login?next={quote(path)}"


async def _pin_language(context: BrowserContext, lang: str | None) -> None:
    if lang is not None:
        await context.add_init_script(f"localStorage.setItem('zerotrip.lang', '{lang}')")


class PageErrors:
    """What the watched pages' JavaScript threw, and (with ``console``) what they logged as an
    error, each prefixed with the page's label; a test ends with ``errors == []``. Pass
    ``errors`` to collect into a list the test already holds."""

    def __init__(self, *pages: Page, console: bool = True, errors: list[str] | None = None) -> None:
        self.errors: list[str] = [] if errors is None else errors
        self._console = console
        for page in pages:
            self.watch(page)

    def watch(self, page: Page, label: str = "page") -> None:
        page.on("pageerror", lambda exc: self.errors.append(f"{label}: {exc}"))
        if self._console:
            page.on("console", lambda msg: self._console_error(label, msg))

    def _console_error(self, label: str, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"{label} console: {message.text}")


class Screenshots:
    """PNG files in one folder (``pytest --screenshots=DIR``, ``var/screenshots`` by default)
    for a person to look at; a shot's name says which page and moment it shows."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, name: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / f"{name}.png"

    async def __call__(self, target: Page | Locator, name: str, *, full_page: bool = True) -> Path:
        """Photograph a whole page (its full height unless ``full_page=False``) or one element."""
        path = self.path(name)
        if isinstance(target, Page):
            await target.screenshot(path=str(path), full_page=full_page)
        else:
            await target.screenshot(path=str(path))
        return path
