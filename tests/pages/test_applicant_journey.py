"""The applicant's phone page in a real headless Chromium (390x844): the "下一步" list leads,
done sections fold, an outstanding (容缺) material is handed in from the page, the delivery
address is confirmed, a bad link says what to do, and date pickers count days in office time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import act, applicant_headers, apply, make_staff
from tests.harness.apps import base_url
from tests.harness.browsers import PageErrors, applicant_page, staff_page

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CODE = "staff-health-certs"
# What must never reach a zh-CN page: raw codes, enum values, "null", UTC.
RAW = re.compile(r"null|undefined|UTC|staff-health-certs|awaiting_choice|outstanding|\[object")


async def _accepted(client, db, clock):
    clerk = await make_staff(db, "clerk")
    case, token = await apply(client)
    due = (clock.today() + timedelta(days=10)).isoformat()
    await act(
        client, case["id"], "prereview", clerk.headers,
        outcome="accept", outstanding=[{"code": CODE, "due_date": due}],
    )  # fmt: skip
    return case["id"], token, clerk


async def _kinds(page) -> list[str]:
    return await page.locator("#next-steps [data-step]").evaluate_all(
        "els => els.map(e => e.dataset.step)"
    )


async def test_task_list_leads_and_the_applicant_hands_in_and_confirms(
    client, db, clock, browser, shots
):
    cid, token, clerk = await _accepted(client, db, clock)
    errors = PageErrors()
    page = await applicant_page(browser, f"{base_url(client)}/a/{token}", lang="zh", errors=errors)
    await page.wait_for_selector("#next-steps [data-step]")
    await page.wait_for_selector("#mailing h2")
    assert await _kinds(page) == [
        "supply_material",
        "book_pickup",
        "take_photos",
        "confirm_address",
    ]
    assert "拍照" in await page.text_content("#inspection-mode")
    # the task list is on the first screen, above the progress bar
    box = await page.locator("#next-steps").bounding_box()
    assert box and box["y"] < 400
    await page.wait_for_selector("#live-sessions.folded")  # nothing to do there: folded
    await shots(page, "applicant-tasks-accepted")
    body = await page.text_content("main")
    assert not RAW.search(body), RAW.search(body)

    # The first task opens the materials; the document goes up from the page (or may ride
    # with the pickup that is coming).
    await page.click("#next-steps [data-step=supply_material]")
    assert await page.locator(f"[data-hand-in={CODE}] button[data-op=mail]").count() == 1
    await page.locator(f"input[data-upload={CODE}]").set_input_files(
        files=[{"name": "健康证.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    await page.wait_for_selector("[data-hand-in-state=submitted]")
    assert "supply_material" not in await _kinds(page)
    await shots(page, "applicant-hand-in-submitted")

    # The address: proposed from the premises, a bad postcode is refused in Chinese.
    await page.click("#next-steps [data-step=confirm_address]")
    assert await page.input_value("#addr-address") == "浙江省杭州市西湖区文三路 90 号"
    await page.fill("#addr-city", "杭州市")
    await page.fill("#addr-postcode", "3100")
    await page.click("#address-confirm")
    await page.wait_for_selector("#delivery-address .error:not(.hidden)")
    assert "邮政编码" in await page.text_content("#delivery-address .error")
    await shots(page, "applicant-address-refused")
    await page.fill("#addr-postcode", "310012")
    await page.click("#address-confirm")
    await page.wait_for_selector("#delivery-address [data-confirmed]")
    assert "confirm_address" not in await _kinds(page)
    assert "310012" in await page.text_content("#address-shown")
    await shots(page, "applicant-address-confirmed")

    # The clerk rejects the upload with a reason; the page asks again, with the reason.
    staff = await staff_page(browser, base_url(client), clerk, f"/staff/cases/{cid}", lang="zh")
    await staff.wait_for_selector("#hand-ins [data-hand-in] button[data-op=reject]")
    staff.on("dialog", lambda d: d.accept("扫描不清晰，请重新上传"))
    await staff.click("#hand-ins button[data-op=reject]")
    await staff.wait_for_selector("#hand-ins [data-state=rejected]")
    await shots(staff.locator("#hand-ins"), "staff-hand-ins")
    await page.reload()
    await page.wait_for_selector("[data-hand-in-state=rejected]")
    assert "扫描不清晰" in await page.text_content("[data-hand-in-state=rejected]")
    assert (await _kinds(page))[0] == "supply_material"
    # (the refused postcode is the one failed request the console reports)
    assert [e for e in errors.errors if "status of 422" not in e] == []


async def test_without_a_pickup_coming_the_material_is_only_uploaded(
    client, db, clock, browser, shots
):
    """The originals came to the counter, so no courier comes: the page offers no "mail it
    with the courier" for the outstanding material, only the upload."""
    cid, token, clerk = await _accepted(client, db, clock)
    paper = ["application-form", "layout-plan"]
    await act(client, cid, "receive_materials", clerk.headers, codes=paper)
    page = await applicant_page(browser, f"{base_url(client)}/a/{token}", lang="zh")
    await page.wait_for_selector(f"[data-hand-in={CODE}] button[data-op=upload]")
    assert await page.locator(f"[data-hand-in={CODE}] button[data-op=mail]").count() == 0
    shown = await page.text_content(f"[data-hand-in={CODE}]")
    assert "随快递" not in shown and "null" not in shown
    await shots(page.locator("#materials"), "applicant-material-upload-only")


async def test_before_prereview_no_photos_are_invited(client, db, browser, shots):
    _, token = await apply(client)
    page = await applicant_page(browser, f"{base_url(client)}/a/{token}", lang="zh")
    await page.wait_for_selector("#next-steps [data-step]")
    assert await _kinds(page) == ["wait_prereview"]
    assert await page.locator("#evidence-capture").count() == 0
    assert "预审通过后" in await page.text_content("#inspection-mode")
    await shots(page, "applicant-tasks-submitted")


async def test_a_bad_link_says_what_to_do_and_shows_no_empty_cards(client, browser, shots):
    page = await applicant_page(browser, f"{base_url(client)}/a/not-a-real-link", lang="zh")
    await page.wait_for_selector("#case-error:not(.hidden) h2")
    text = await page.text_content("#case-error")
    assert "链接" in text and "办理窗口" in text
    assert not re.search(r"[A-Za-z]{3,}", text), text
    assert not await page.locator("#summary").is_visible()
    assert not await page.locator("#steps").is_visible()
    await shots(page, "applicant-bad-link")


async def test_pickup_date_picker_counts_days_in_office_time(client, db, clock, browser):
    """At 01:30 in Beijing (17:30 UTC the day before) "tomorrow" is the office's tomorrow."""
    _, token, _ = await _accepted(client, db, clock)
    page = await applicant_page(browser, None, lang="zh")
    await page.clock.set_system_time(datetime(2026, 12, 1, 17, 30, tzinfo=UTC))
    await page.goto(f"{base_url(client)}/a/{token}")
    picker = page.locator("#mailing input[type=date]")
    await picker.wait_for()
    assert await picker.get_attribute("min") == "2026-12-03"


async def test_rating_card_never_shows_null(client, db, browser):
    from tests.factories import walk

    clerk, inspector = await make_staff(db, "clerk"), await make_staff(db, "inspector")
    case, token = await walk(client, clerk, inspector)
    await client.post(
        f"/api/cases/{case['id']}/ratings", json={"step": "prereview", "level": "satisfied"},
        headers=applicant_headers(token),
    )  # fmt: skip
    page = await applicant_page(browser, f"{base_url(client)}/a/{token}", lang="zh")
    await page.wait_for_selector("#rating-card [data-rated=prereview]")
    text = await page.text_content("#rating-card")
    assert "null" not in text and "undefined" not in text


async def test_apply_with_a_pasted_map_link_or_the_phone_position(client, db, browser, shots):
    from tests.cases.test_geo import WGS_GCJ
    from zerotrip.cases.geo import distance_m

    clerk = await make_staff(db, "clerk")
    wlat, wlon, glat, glon = WGS_GCJ[0]
    page = await applicant_page(browser, f"{base_url(client)}/apply", lang="zh")
    await page.wait_for_selector("#matter option", state="attached")
    await page.fill("#name", "李娜")
    await page.fill("#address", "上海市浦东新区张杨路 1 号")
    await page.fill("#map-paste", f"https://uri.amap.com/marker?position={glon},{glat}&name=店")
    assert await page.input_value("#datum") == "gcj02"
    assert "已识别坐标" in await page.text_content("#location-status")
    await shots(page, "apply-map-link")
    await page.click("#apply-form button[type=submit]")
    await page.wait_for_selector("#done:not(.hidden)")
    token = (await page.get_attribute("#link", "href")).rsplit("/", 1)[-1]
    link = await (await client.get("/api/link", headers=applicant_headers(token))).json()
    view = await (await client.get(f"/api/cases/{link['case_id']}", headers=clerk.headers)).json()
    assert distance_m(view["premises_lat"], view["premises_lon"], wlat, wlon) < 1
    assert view["premises_input"]["source"] == "map_link"

    phone = await applicant_page(
        browser, f"{base_url(client)}/apply", lang="zh",
        geolocation={"latitude": wlat, "longitude": wlon, "accuracy": 18},
        permissions=["geolocation"],
    )  # fmt: skip
    await phone.wait_for_selector("#matter option", state="attached")
    await phone.click("#use-location")
    await phone.wait_for_function("() => document.querySelector('#source').value === 'device'")
    assert await phone.input_value("#datum") == "wgs84"
    assert await phone.input_value("#accuracy") == "18"
    assert "精度约 18 米" in await phone.text_content("#location-status")
    await shots(phone, "apply-phone-position")


async def test_the_apply_form_offers_only_the_matters_the_office_offers(client, db, browser, shots):
    admin = await make_staff(db, "admin", "chief")
    resp = await client.put(
        "/api/admin/matters/swimming-venue", json={"enabled": False}, headers=admin.headers
    )
    assert resp.status == 200, await resp.text()
    page = await applicant_page(browser, f"{base_url(client)}/apply", lang="zh")
    await page.wait_for_selector("#matter option", state="attached")
    offered = await page.locator("#matter option").evaluate_all("os => os.map(o => o.value)")
    assert "swimming-venue" not in offered and "food-business" in offered
    await shots(page, "apply-offered-matters")


async def test_the_pickup_lists_a_mailed_material_and_the_delivery_shows_its_address(
    client, db, clock, browser, shots
):
    from tests.factories import advance

    cid, token, clerk = await _accepted(client, db, clock)
    resp = await client.post(
        f"/api/cases/{cid}/materials/{CODE}/mail-in", headers=applicant_headers(token)
    )
    assert resp.status == 201, await resp.text()
    for headers in (applicant_headers(token), clerk.headers):
        mailing = await (await client.get(f"/api/cases/{cid}/mailing", headers=headers)).json()
        pickup = next(o for o in mailing["orders"] if o["kind"] == "pickup")
        carried = {m["code"]: m["outstanding"] for m in pickup["contents"]}
        assert carried[CODE] is True and False in carried.values()  # and the paper originals
    page = await applicant_page(browser, f"{base_url(client)}/a/{token}", lang="zh")
    item = page.locator(f"#mailing [data-contents] li[data-material={CODE}]")
    await item.wait_for()
    assert "容缺补交" in await item.inner_text()
    assert "文三路" in await page.text_content("#mailing [data-address=pickup]")
    await shots(page.locator("#mailing"), "applicant-pickup-contents")

    address = {
        "recipient": "李娜", "phone": "13912345678", "city": "杭州市",
        "address": "西湖区文二路 100 号 3 单元", "postcode": "310012",
    }  # fmt: skip
    resp = await client.put(
        f"/api/cases/{cid}/delivery-address", json=address, headers=applicant_headers(token)
    )
    assert resp.status == 200, await resp.text()
    inspector = await make_staff(db, "inspector")
    await advance(client, cid, clerk, inspector, until="certificate_issued")
    await page.reload()
    shown = page.locator("#mailing [data-address=delivery]")
    await shown.wait_for()
    text = await shown.inner_text()
    assert "文二路 100 号" in text and "310012" in text and "13912345678" in text
    assert not RAW.search(await page.text_content("#mailing"))
    await shots(page.locator("#mailing"), "applicant-delivery-address")
    staff = await staff_page(browser, base_url(client), clerk, f"/staff/cases/{cid}", lang="zh")
    shown = staff.locator("#mailing [data-address=delivery]")
    await shown.wait_for()
    assert "310012" in await shown.inner_text()
    await shots(staff.locator("#mailing"), "staff-delivery-address")
