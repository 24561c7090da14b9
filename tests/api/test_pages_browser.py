"""The pages in a real headless Chromium: a clerk logs in, files a case on an applicant's behalf,
pre-reviews it with an outstanding material, receives the paper originals, and reads the result
and the audit trail; the applicant's link shows the progress, in Chinese and in English."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Dialog

from tests.factories import PASSWORD, make_staff
from tests.harness.apps import base_url
from tests.harness.browsers import CONSOLE, PageErrors, Screenshots, applicant_page
from zerotrip.db import Database
from zerotrip.kit.clock import Clock

pytestmark = pytest.mark.browser


async def test_clerk_files_and_moves_a_case_and_the_applicant_follows_it(
    browser: Browser, client: TestClient, db: Database, clock: Clock, shots: Screenshots
) -> None:
    await make_staff(db, "clerk", "wang.fang")
    base = base_url(client)
    due = (clock.today() + timedelta(days=14)).isoformat()

    staff_ctx = await browser.new_context(locale="zh-CN", viewport=CONSOLE)
    page = await staff_ctx.new_page()
    page.set_default_timeout(15_000)
    errors = PageErrors(page)

    # Log in.
    await page.goto(f"{base}/staff/login")
    assert await page.locator("h2").first.inner_text() == "工作人员登录"
    await shots(page, "pages-01-login")
    await page.fill("#username", "wang.fang")
    await page.fill("#password", "wrong password")
    await page.click("#login-form button[type=submit]")
    await page.wait_for_selector("#login-error:not(.hidden)")
    assert "用户名或密码错误" in await page.inner_text("#login-error")  # the page's language
    errors.errors.clear()  # the refused login logs its 401; nothing else may fail
    await page.fill("#password", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_url(f"{base}/staff")
    await page.wait_for_selector("#whoami:has-text('受理人员')")
    # The case list loads after the page: wait for it rather than read it as soon as it shows.
    await page.wait_for_selector("#cases tbody:has-text('没有符合条件的办件')")

    # File an application on the applicant's behalf (帮代办).
    await page.click("#new-case")
    await page.wait_for_selector("#new-case-dialog[open]")
    await page.select_option("#nc-matter", "food-business")
    await page.fill("#nc-applicant_name", "李娜")
    await page.fill("#nc-applicant_phone", "+86 138 0000 0000")
    await page.fill("#nc-organisation", "李记小面馆")
    await page.fill("#nc-premises_address", "浙江省杭州市西湖区文三路 90 号")
    await shots(page, "pages-02-new-case")
    await page.click("#new-case-form button[type=submit]")
    await page.wait_for_url(re.compile(r"/staff/cases/\d+\?link="))
    case_id = int(re.search(r"/staff/cases/(\d+)", page.url)[1])
    link = await page.inner_text("#new-link")
    assert link.startswith(f"{base}/a/zta_")
    await page.wait_for_selector("#case-head [data-state=submitted]")
    assert (await page.inner_text("#applicant")).count("李娜") == 1
    assert "窗口代办" in await page.inner_text("#case-head")
    # The case trail loads after the header: wait for it, then count exactly.
    await page.wait_for_selector("#trail li:nth-child(2)")
    assert await page.locator("#trail li").count() == 2  # submitted, link issued
    await shots(page, "pages-03-case-submitted")

    # Pre-review: accept, with the staff health certificates outstanding (容缺受理).
    await page.click("#actions [data-action=prereview]")
    await page.wait_for_selector("#action-dialog[open]")
    await page.select_option("#pr-outcome", "accept")
    await page.check("input[name=outstanding][value=staff-health-certs]")
    await page.fill("input[name='due_staff-health-certs']", due)
    await shots(page, "pages-04-prereview")
    await page.click("#action-confirm")
    await page.wait_for_selector("#case-head [data-state=accepted]")
    await page.wait_for_selector("#trail li[data-kind='case.prereview']")
    head = await page.inner_text("#case-head")
    assert "已受理" in head and "10 个工作日" in head and "正常" in head
    row = await page.inner_text("#materials tr[data-material=staff-health-certs]")
    assert "容缺后补" in row
    assert "已收" in await page.inner_text("#materials tr[data-material=business-licence]")
    assert "待收" in await page.inner_text("#materials tr[data-material=application-form]")

    # The paper originals arrive by courier.
    await page.click("#actions [data-action=receive_materials]")
    await page.wait_for_selector("#action-dialog[open]")
    await page.check("input[name=codes][value=application-form]")
    await page.check("input[name=codes][value=layout-plan]")
    await page.select_option("select[name=channel]", "courier")
    await page.click("#action-confirm")
    await page.wait_for_selector("#trail li[data-kind='case.receive_materials']")
    assert "已收" in await page.inner_text("#materials tr[data-material=application-form]")
    kinds = await page.locator("#trail li").evaluate_all("rows => rows.map(r => r.dataset.kind)")
    assert kinds == [
        "case.receive_materials",
        "mailing.order_created",  # the courier pickup of the paper originals
        "case.prereview",
        "link.issued",
        "case.submitted",
    ]
    chain = page.locator("#chain-status")
    assert (
        await chain.get_attribute("data-ok") == "true" and await chain.inner_text() == "审计链完整"
    )
    await shots(page, "pages-05-case-accepted")

    # The list shows it with its state and deadline; the overdue filter does not.
    await page.click("header a[href='/staff']")
    await page.wait_for_selector(f"#cases tr[data-case-id='{case_id}']")
    listed = await page.inner_text(f"#cases tr[data-case-id='{case_id}']")
    assert "已受理" in listed and "食品经营许可" in listed
    await shots(page, "pages-06-list")
    await page.select_option("#f-due", "overdue")
    await page.click("#filters button[type=submit]")
    await page.wait_for_selector("#cases tbody:has-text('没有符合条件的办件')")

    # The applicant opens their link on a phone, in Chinese and in English.
    for locale, progress, accepted, outstanding in (
        ("zh-CN", "办理进度", "已受理", "容缺后补"),
        ("en-GB", "Progress", "Accepted", "Outstanding"),
    ):
        applicant = await applicant_page(browser, link, locale=locale)
        applicant.set_default_timeout(15_000)
        applicant_errors = PageErrors(applicant)
        await applicant.wait_for_selector("#summary [data-state=accepted]")
        assert await applicant.inner_text("#progress h2") == progress
        assert await applicant.inner_text("#steps li.current") == accepted
        assert await applicant.locator("#steps li.done").count() == 1
        assert await applicant.inner_text("#deadline")
        material = await applicant.inner_text("#materials [data-material=staff-health-certs]")
        assert outstanding in material
        assert await applicant.locator("#actions [data-action=withdraw]").count() == 1
        assert "wang.fang" not in await applicant.content()  # no office-internal detail
        await shots(applicant, f"pages-07-applicant-{locale}")
        assert applicant_errors.errors == []
        await applicant.context.close()

    # English staff pages render too.
    await page.evaluate("localStorage.setItem('zerotrip.lang', 'en')")
    await page.goto(f"{base}/staff/cases/{case_id}")
    await page.wait_for_selector("#case-head [data-state=accepted]")
    assert "Accepted" in await page.inner_text("#case-head")
    assert await page.inner_text("#chain-status") == "Chain intact"
    await shots(page, "pages-08-case-en")
    assert errors.errors == []


async def test_applicant_applies_on_a_phone_and_follows_the_link(
    browser: Browser, client: TestClient, shots: Screenshots
) -> None:
    base = base_url(client)
    page = await applicant_page(browser, f"{base}/", locale="en-GB")
    page.set_default_timeout(15_000)
    errors = PageErrors(page)
    await page.click("a[href='/apply']")
    await page.wait_for_selector("#matter option[value=pharmacy-retail]", state="attached")
    await page.select_option("#matter", "pharmacy-retail")
    await page.fill("#name", "Zhao Liu")
    await page.fill("#phone", "call me maybe")
    await page.fill("#address", "12 Wensan Road, Hangzhou")
    await page.click("#apply-form button[type=submit]")
    await page.wait_for_selector("#apply-error:not(.hidden)")  # the server names the bad field
    assert "applicant_phone" in await page.inner_text("#apply-error")
    errors.errors.clear()  # the refused submission logs its 422
    await page.fill("#phone", "+86 139 0000 0000")
    await page.click("#apply-form button[type=submit]")
    await page.wait_for_selector("#done:not(.hidden)")
    await shots(page, "pages-apply-done")
    link = await page.get_attribute("#link", "href")
    assert link.startswith(f"{base}/a/zta_")
    await page.goto(link)
    await page.wait_for_selector("#summary [data-state=submitted]")
    assert "Pharmacy retail licence" in await page.inner_text("#summary")
    assert await page.inner_text("#steps li.current") == "Submitted"
    await shots(page, "pages-applicant-submitted")
    asked: list[str] = []

    async def say_no(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.dismiss()

    page.once("dialog", say_no)
    await page.click("#actions [data-action=withdraw]")
    await page.wait_for_function("() => !!document.querySelector('#summary [data-state]')")
    assert asked and "Withdraw" in asked[0]
    assert (
        await page.locator("#summary [data-state=submitted]").count() == 1
    )  # said no: nothing changed

    async def say_yes(dialog: Dialog) -> None:
        await dialog.accept()

    page.once("dialog", say_yes)
    await page.click("#actions [data-action=withdraw]")
    await page.wait_for_selector("#summary [data-state=withdrawn]")
    assert errors.errors == []


async def test_dead_applicant_link_says_so(browser: Browser, client: TestClient) -> None:
    page = await applicant_page(
        browser, f"{base_url(client)}/a/zta_not-a-real-link", locale="en-GB"
    )
    await page.wait_for_selector("#case-error:not(.hidden)")
    assert "This link does not open" in await page.inner_text("#case-error")
