"""The pages in a real headless Chromium: a clerk logs in, files a case on an applicant's behalf,
pre-reviews it with an outstanding material, receives the paper originals, and reads the result
and the audit trail; the applicant's link shows the progress, in Chinese and in English."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.factories import PASSWORD, make_staff
from tests.harness.apps import LiveServer

pytestmark = pytest.mark.browser


class PageErrors:
    """JavaScript errors and failed API calls a page ran into; a test ends with none."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda msg: self.errors.append(f"console: {msg.text}") if msg.type == "error" else None,
        )


def _shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_clerk_files_and_moves_a_case_and_the_applicant_follows_it(
    browser: Any, live_app: LiveServer, tmp_path: Path
) -> None:
    live_app.run(make_staff(live_app.db, "clerk", "wang.fang"))
    base = live_app.url
    due = (live_app.clock.today() + timedelta(days=14)).isoformat()

    staff_ctx = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = staff_ctx.new_page()
    page.set_default_timeout(15_000)
    errors = PageErrors(page)

    # Log in.
    page.goto(f"{base}/staff/login")
    assert page.locator("h2").first.inner_text() == "工作人员登录"
    _shot(page, tmp_path, "01-login")
    page.fill("#username", "wang.fang")
    page.fill("#password", "wrong password")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-error:not(.hidden)")
    assert "Wrong username or password" in page.inner_text("#login-error")
    errors.errors.clear()  # the refused login logs its 401; nothing else may fail
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{base}/staff")
    page.wait_for_selector("#whoami:has-text('受理人员')")
    # The case list loads after the page: wait for it rather than read it as soon as it shows.
    page.wait_for_selector("#cases tbody:has-text('没有符合条件的办件')")

    # File an application on the applicant's behalf (帮代办).
    page.click("#new-case")
    page.wait_for_selector("#new-case-dialog[open]")
    page.select_option("#nc-matter", "food-business")
    page.fill("#nc-applicant_name", "李娜")
    page.fill("#nc-applicant_phone", "+86 138 0000 0000")
    page.fill("#nc-organisation", "李记小面馆")
    page.fill("#nc-premises_address", "浙江省杭州市西湖区文三路 90 号")
    _shot(page, tmp_path, "02-new-case")
    page.click("#new-case-form button[type=submit]")
    page.wait_for_url(re.compile(r"/staff/cases/\d+\?link="))
    case_id = int(re.search(r"/staff/cases/(\d+)", page.url)[1])
    link = page.inner_text("#new-link")
    assert link.startswith(f"{base}/a/zta_")
    page.wait_for_selector("#case-head [data-state=submitted]")
    assert page.inner_text("#applicant").count("李娜") == 1
    assert "窗口代办" in page.inner_text("#case-head")
    assert page.locator("#audit tbody tr").count() == 2  # submitted, link issued
    _shot(page, tmp_path, "03-case-submitted")

    # Pre-review: accept, with the staff health certificates outstanding (容缺受理).
    page.click("#actions [data-action=prereview]")
    page.wait_for_selector("#action-dialog[open]")
    page.select_option("#pr-outcome", "accept")
    page.check("input[name=outstanding][value=staff-health-certs]")
    page.fill("input[name='due_staff-health-certs']", due)
    _shot(page, tmp_path, "04-prereview")
    page.click("#action-confirm")
    page.wait_for_selector("#case-head [data-state=accepted]")
    page.wait_for_selector("#audit tbody tr[data-kind='case.prereview']")
    head = page.inner_text("#case-head")
    assert "已受理" in head and "10 个工作日" in head and "正常" in head
    row = page.inner_text("#materials tr[data-material=staff-health-certs]")
    assert "容缺后补" in row
    assert "已收" in page.inner_text("#materials tr[data-material=business-licence]")
    assert "待收" in page.inner_text("#materials tr[data-material=application-form]")

    # The paper originals arrive by courier.
    page.click("#actions [data-action=receive_materials]")
    page.wait_for_selector("#action-dialog[open]")
    page.check("input[name=codes][value=application-form]")
    page.check("input[name=codes][value=layout-plan]")
    page.select_option("select[name=channel]", "courier")
    page.click("#action-confirm")
    page.wait_for_selector("#audit tbody tr[data-kind='case.receive_materials']")
    assert "已收" in page.inner_text("#materials tr[data-material=application-form]")
    kinds = page.locator("#audit tbody tr").evaluate_all("rows => rows.map(r => r.dataset.kind)")
    assert kinds == [
        "case.receive_materials",
        "mailing.order_created",  # the courier pickup of the paper originals
        "case.prereview",
        "link.issued",
        "case.submitted",
    ]
    chain = page.locator("#chain-status")
    assert chain.get_attribute("data-ok") == "true" and chain.inner_text() == "审计链完整"
    _shot(page, tmp_path, "05-case-accepted")

    # The list shows it with its state and deadline; the overdue filter does not.
    page.click("header a[href='/staff']")
    page.wait_for_selector(f"#cases tr[data-case-id='{case_id}']")
    listed = page.inner_text(f"#cases tr[data-case-id='{case_id}']")
    assert "已受理" in listed and "食品经营许可" in listed
    _shot(page, tmp_path, "06-list")
    page.select_option("#f-due", "overdue")
    page.click("#filters button[type=submit]")
    page.wait_for_selector("#cases tbody:has-text('没有符合条件的办件')")

    # The applicant opens their link on a phone, in Chinese and in English.
    for locale, progress, accepted, outstanding in (
        ("zh-CN", "办理进度", "已受理", "容缺后补"),
        ("en-GB", "Progress", "Accepted", "Outstanding"),
    ):
        phone = browser.new_context(locale=locale, viewport={"width": 390, "height": 844})
        applicant = phone.new_page()
        applicant.set_default_timeout(15_000)
        applicant_errors = PageErrors(applicant)
        applicant.goto(link)
        applicant.wait_for_selector("#summary [data-state=accepted]")
        assert applicant.inner_text("h2 >> nth=1") == progress
        assert applicant.inner_text("#steps li.current") == accepted
        assert applicant.locator("#steps li.done").count() == 1
        assert applicant.inner_text("#deadline")
        material = applicant.inner_text("#materials [data-material=staff-health-certs]")
        assert outstanding in material
        assert applicant.locator("#actions [data-action=withdraw]").count() == 1
        assert "wang.fang" not in applicant.content()  # no office-internal detail
        _shot(applicant, tmp_path, f"07-applicant-{locale}")
        assert applicant_errors.errors == []
        phone.close()

    # English staff pages render too.
    page.evaluate("localStorage.setItem('zerotrip.lang', 'en')")
    page.goto(f"{base}/staff/cases/{case_id}")
    page.wait_for_selector("#case-head [data-state=accepted]")
    assert "Accepted" in page.inner_text("#case-head")
    assert page.inner_text("#chain-status") == "Chain intact"
    _shot(page, tmp_path, "08-case-en")
    assert errors.errors == []
    staff_ctx.close()


def test_applicant_applies_on_a_phone_and_follows_the_link(
    browser: Any, live_server: str, tmp_path: Path
) -> None:
    ctx = browser.new_context(locale="en-GB", viewport={"width": 390, "height": 844})
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    errors = PageErrors(page)
    page.goto(f"{live_server}/")
    page.click("a[href='/apply']")
    page.wait_for_selector("#matter option[value=pharmacy-retail]", state="attached")
    page.select_option("#matter", "pharmacy-retail")
    page.fill("#name", "Zhao Liu")
    page.fill("#phone", "call me maybe")
    page.fill("#address", "12 Wensan Road, Hangzhou")
    page.click("#apply-form button[type=submit]")
    page.wait_for_selector("#apply-error:not(.hidden)")  # the server names the bad field
    assert "applicant_phone" in page.inner_text("#apply-error")
    errors.errors.clear()  # the refused submission logs its 422
    page.fill("#phone", "+86 139 0000 0000")
    page.click("#apply-form button[type=submit]")
    page.wait_for_selector("#done:not(.hidden)")
    _shot(page, tmp_path, "apply-done")
    link = page.get_attribute("#link", "href")
    assert link.startswith(f"{live_server}/a/zta_")
    page.goto(link)
    page.wait_for_selector("#summary [data-state=submitted]")
    assert "Pharmacy retail licence" in page.inner_text("#summary")
    assert page.inner_text("#steps li.current") == "Submitted"
    _shot(page, tmp_path, "applicant-submitted")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("#actions [data-action=withdraw]")
    page.wait_for_function("document.querySelector('#summary [data-state]')")
    assert asked and "Withdraw" in asked[0]
    assert page.locator("#summary [data-state=submitted]").count() == 1  # said no: nothing changed
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#actions [data-action=withdraw]")
    page.wait_for_selector("#summary [data-state=withdrawn]")
    assert errors.errors == []
    ctx.close()


def test_dead_applicant_link_says_so(browser: Any, live_server: str) -> None:
    ctx = browser.new_context(locale="en-GB")
    page = ctx.new_page()
    page.goto(f"{live_server}/a/zta_not-a-real-link")
    page.wait_for_selector("#case-error:not(.hidden)")
    assert "This link does not work" in page.inner_text("#case-error")
    ctx.close()
