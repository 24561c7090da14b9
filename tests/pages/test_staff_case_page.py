"""The staff case page in headless Chromium (1280 wide): a header with the state, the deadline
and the next actions; sections 材料 / 踏勘 / 审查 / 邮寄 / 消息 / 办件轨迹; the trail read as
sentences in the page's language with the raw event one click away; every photo once; nothing
wider than the window."""

from __future__ import annotations

import pytest

from tests.harness.apps import base_url
from tests.harness.browsers import PageErrors, staff_page
from tests.review.review_helpers import add_evidence, inspecting_case, photo

pytestmark = pytest.mark.browser

SECTIONS = ["s-materials", "s-inspection", "s-review", "s-mailing", "s-messages", "s-trail"]


async def test_the_case_page_leads_with_what_to_do_and_reads_as_a_trail(
    client, db, settings, browser, shots
):
    ctx = await inspecting_case(client, db)
    cps = ctx["view"]["checkpoints"]
    photos = [
        await add_evidence(db, settings, ctx["id"], cps[n]["id"], photo(seed=n)) for n in range(3)
    ]
    errors = PageErrors()
    page = await staff_page(
        browser,
        base_url(client),
        ctx["inspector"],
        f"/staff/cases/{ctx['id']}",
        lang="zh",
        errors=errors,
    )
    await page.wait_for_selector("#trail li[data-kind]")
    await page.wait_for_selector("#s-review #review [data-review-checkpoint]")
    await page.wait_for_selector(f".ev-tile[data-evidence='{photos[2].id}'] img[src^='blob:']")
    head = page.locator("#case-head")
    assert "踏勘中" in await head.inner_text()
    assert await head.locator("[data-deadline]").count() == 1
    assert await head.locator("button[data-action=record_inspection]").count() == 1
    nav = page.locator("nav.case-sections a")
    assert [await nav.nth(n).get_attribute("href") for n in range(6)] == [f"#{s}" for s in SECTIONS]
    for section in SECTIONS:
        assert await page.locator(f"section#{section}").count() == 1

    trail = page.locator("#trail")
    text = await trail.inner_text()
    assert "受理" in text and "case.prereview" not in text  # sentences, not event keys
    first = trail.locator("li[data-kind]").first
    raw = first.locator("details.raw")
    assert not await raw.locator("pre").is_visible()
    await raw.locator("summary").click()
    assert "hash" in await raw.locator("pre").inner_text()

    for ev in photos:  # each photo once on the page (the review shows it; the grid does not)
        shown = page.locator(f"[data-evidence='{ev.id}'] img")
        assert await shown.count() == 1, ev.id
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, width
    height = await page.evaluate("document.documentElement.scrollHeight")
    print(f"staff case page: {height} px tall")
    await shots(page, "staff-case")
    await shots(page, "staff-case-top", full_page=False)
    assert errors.errors == []


async def test_messages_read_in_the_pages_language(client, db, browser, shots):
    """A message is stored in the applicant's language and in every other; the 消息 section shows
    the page's language alone (no English beside Chinese), whatever the applicant reads."""
    import re

    from tests.factories import act, apply, make_staff

    clerk = await make_staff(db, "clerk")
    case, _ = await apply(client)
    await act(client, case["id"], "prereview", clerk.headers, outcome="accept")
    latin = re.compile(r"[A-Za-z]{3,}")
    han = re.compile(r"[\u4e00-\u9fff]")
    for lang, foreign in (("zh", latin), ("en", han)):
        page = await staff_page(
            browser, base_url(client), clerk, f"/staff/cases/{case['id']}", lang=lang
        )
        card = page.locator("#messages-card tr[data-notification]")
        await card.first.wait_for()
        text = (await card.first.inner_text()).replace(case["reference"], "")
        assert not foreign.search(text), (lang, text)
        await shots(page.locator("#messages-card"), f"staff-case-messages-{lang}")
        await page.context.close()
