"""The courier sections in a real headless Chromium: the applicant's timeline (both orders of a
delivered case, and the pickup choice), and the staff console with a stuck order first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import act, apply, make_staff
from tests.harness.apps import base_url
from tests.harness.browsers import PageErrors, applicant_page, staff_page
from tests.harness.outbox import drain
from tests.mailing.by_courier import walk_to_delivered

pytestmark = pytest.mark.browser


async def test_applicant_sees_both_orders_of_a_delivered_case(
    mail_client, db, clock, browser, shots
):
    _, token, _ = await walk_to_delivered(mail_client, db, clock)
    page = await applicant_page(browser, f"{base_url(mail_client)}/a/{token}", height=1400)
    await page.wait_for_selector("#mailing section.order[data-kind='delivery']")
    orders = page.locator("#mailing section.order")
    assert await orders.count() == 2
    statuses = await page.locator("#mailing section.order [data-order-status]").all_inner_texts()
    assert statuses == ["已送达", "已送达"] or all(s for s in statuses)
    waybills = await page.locator("#mailing .waybill").all_inner_texts()
    assert all(w.startswith("LOCAL-") for w in waybills) and len(waybills) == 2
    assert await page.locator("#mailing a[href$='.pdf']").count() == 0  # no label for applicants
    await shots(page, "mailing-applicant-delivered")


async def test_applicant_books_a_pickup_window_in_the_page(mail_client, db, clock, browser, shots):
    clerk = await make_staff(db, "clerk")
    case, token = await apply(mail_client)
    await act(mail_client, case["id"], "prereview", clerk.headers, outcome="accept")
    page = await applicant_page(
        browser, f"{base_url(mail_client)}/a/{token}", locale="en-GB", height=1200
    )
    await page.wait_for_selector("#mailing .choice")
    await shots(page, "mailing-applicant-choice")
    await page.click("#mailing button[id^='book-']")
    await page.wait_for_selector("#mailing [data-order-status='queued']")
    assert await drain(mail_client) == 1
    resp = await mail_client.get(f"/api/cases/{case['id']}/mailing", headers=clerk.headers)
    [order] = (await resp.json())["orders"]
    assert order["status"] == "pickup_scheduled" and order["window_start"]


async def test_staff_console_lists_stuck_orders_first(
    mail_client, db, clock, browser, shippo_standin, shots
):
    clerk = await make_staff(db, "clerk", "console-clerk")
    shippo_standin.invalid_streets.add("浙江省杭州市西湖区文三路 90 号")
    ids = []
    for _ in range(2):
        case, _ = await apply(mail_client)
        await act(mail_client, case["id"], "prereview", clerk.headers, outcome="accept")
        ids.append(case["id"])
    orders = [
        (await (await mail_client.get(f"/api/cases/{cid}/mailing", headers=clerk.headers)).json())[
            "orders"
        ][0]
        for cid in ids
    ]
    resp = await mail_client.post(
        f"/api/mailing/orders/{orders[1]['id']}/reassign",
        json={"courier": "shippo"},
        headers=clerk.headers,
    )
    assert resp.status == 200
    clock.advance(timedelta(hours=25))
    await drain(mail_client)  # order 0 books locally; order 1's address is refused by Shippo
    clock.advance(timedelta(hours=-25))  # back to now, so the staff session is not expired
    page = await staff_page(browser, base_url(mail_client), clerk, "/staff/mailing", height=800)
    errors = PageErrors(page).errors
    await page.wait_for_selector("#orders tbody tr[data-order-id]", timeout=10_000)
    first = page.locator("#orders tbody tr").first
    assert await first.get_attribute("data-status") == "attention"
    assert await first.locator("[data-op='retry']").count() == 1
    await shots(page, "mailing-staff-console")
    await first.locator("[data-op='reassign']").click()
    await page.wait_for_selector("#orders tbody tr:first-child[data-status='queued']")
    # The same order on the staff case page, with its dispatch history and staff actions.
    await page.click("#orders tbody tr:first-child a")
    await page.wait_for_selector("#mailing section.order [data-op='retry']")
    await page.wait_for_selector("#mailing section.order[data-kind='pickup']")
    await shots(page, "mailing-staff-case")
    assert errors == []
