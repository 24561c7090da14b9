"""The courier sections in a real headless Chromium: the applicant's timeline (both orders of a
delivered case, and the pickup choice), and the staff console with a stuck order first."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from tests.factories import PASSWORD, act, apply, make_staff
from tests.harness.outbox import drain
from tests.mailing.test_flow import walk_to_delivered

pytestmark = pytest.mark.browser
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(os.environ.get("ZEROTRIP_SCREENSHOTS", "var/screenshots"))


@pytest.fixture
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        yield b
        await b.close()


@pytest.fixture
def shots() -> Path:
    return SHOTS


@pytest.fixture
async def served(mail_client):
    return mail_client


async def test_applicant_sees_both_orders_of_a_delivered_case(served, db, clock, browser, shots):
    _, token, _ = await walk_to_delivered(served, db, clock)
    page = await browser.new_page(viewport={"width": 390, "height": 1400}, locale="zh-CN")
    await page.goto(str(served.make_url(f"/a/{token}")))
    await page.wait_for_selector("#mailing section.order[data-kind='delivery']")
    orders = page.locator("#mailing section.order")
    assert await orders.count() == 2
    statuses = await page.locator("#mailing section.order [data-order-status]").all_inner_texts()
    assert statuses == ["已送达", "已送达"] or all(s for s in statuses)
    waybills = await page.locator("#mailing .waybill").all_inner_texts()
    assert all(w.startswith("LOCAL-") for w in waybills) and len(waybills) == 2
    assert await page.locator("#mailing a[href$='.pdf']").count() == 0  # no label for applicants
    await page.screenshot(path=str(shots / "mailing-applicant-delivered.png"), full_page=True)
    await page.close()


async def test_applicant_books_a_pickup_window_in_the_page(served, db, clock, browser, shots):
    clerk = await make_staff(db, "clerk")
    case, token = await apply(served)
    await act(served, case["id"], "prereview", clerk.headers, outcome="accept")
    page = await browser.new_page(viewport={"width": 390, "height": 1200}, locale="en-GB")
    await page.goto(str(served.make_url(f"/a/{token}")))
    await page.wait_for_selector("#mailing .choice")
    await page.screenshot(path=str(shots / "mailing-applicant-choice.png"), full_page=True)
    await page.click("#mailing button[id^='book-']")
    await page.wait_for_selector("#mailing [data-order-status='queued']")
    assert await drain(served) == 1
    resp = await served.get(f"/api/cases/{case['id']}/mailing", headers=clerk.headers)
    [order] = (await resp.json())["orders"]
    assert order["status"] == "pickup_scheduled" and order["window_start"]
    await page.close()


async def test_staff_console_lists_stuck_orders_first(
    served, db, clock, browser, shippo_standin, shots
):
    clerk = await make_staff(db, "clerk", "console-clerk")
    shippo_standin.invalid_streets.add("浙江省杭州市西湖区文三路 90 号")
    ids = []
    for _ in range(2):
        case, _ = await apply(served)
        await act(served, case["id"], "prereview", clerk.headers, outcome="accept")
        ids.append(case["id"])
    orders = [
        (await (await served.get(f"/api/cases/{cid}/mailing", headers=clerk.headers)).json())[
            "orders"
        ][0]
        for cid in ids
    ]
    resp = await served.post(
        f"/api/mailing/orders/{orders[1]['id']}/reassign",
        json={"courier": "shippo"},
        headers=clerk.headers,
    )
    assert resp.status == 200
    clock.advance(timedelta(hours=25))
    await drain(served)  # order 0 books locally; order 1's address is refused by Shippo
    clock.advance(timedelta(hours=-25))  # back to now, so the staff session is not expired
    page = await browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(str(served.make_url("/staff/login?next=/staff/mailing")))
    await page.wait_for_load_state("networkidle")
    await page.fill("#username", "console-clerk")
    await page.fill("#password", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_url(str(served.make_url("/staff/mailing")))
    try:
        await page.wait_for_selector("#orders tbody tr[data-order-id]", timeout=10_000)
    except Exception:
        await page.screenshot(path=str(shots / "debug.png"))
        raise AssertionError(f"{errors} {await page.content()}") from None
    first = page.locator("#orders tbody tr").first
    assert await first.get_attribute("data-status") == "attention"
    assert await first.locator("[data-op='retry']").count() == 1
    await page.screenshot(path=str(shots / "mailing-staff-console.png"), full_page=True)
    await first.locator("[data-op='reassign']").click()
    await page.wait_for_selector("#orders tbody tr:first-child[data-status='queued']")
    # The same order on the staff case page, with its dispatch history and staff actions.
    await page.click("#orders tbody tr:first-child a")
    await page.wait_for_selector("#mailing section.order [data-op='retry']")
    await page.wait_for_selector("#mailing section.order[data-kind='pickup']")
    await page.screenshot(path=str(shots / "mailing-staff-case.png"), full_page=True)
    await page.close()
