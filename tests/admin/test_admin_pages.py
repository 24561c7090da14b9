"""A new office set up entirely from the administration page in headless Chromium (1280 wide):
departments, staff accounts, the office profile, the calendar, the matters catalogue; then the
case list as department members see it."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, apply, make_staff
from tests.harness.apps import base_url
from tests.harness.browsers import PageErrors, staff_page

pytestmark = pytest.mark.browser


async def _tab(page, name: str) -> None:
    await page.click(f"nav.tabs a[data-tab={name}]")
    await page.wait_for_selector(f"body[data-tab={name}] #tab-{name}.shown")


async def _no_wider_than_the_window(page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, width


async def test_a_new_office_is_set_up_from_the_administration_page(client, db, browser, shots):
    await make_staff(db, "admin", "chief")
    base = base_url(client)
    errors = PageErrors()
    page = await staff_page(browser, base, "chief", "/staff/admin", lang="zh", errors=errors)
    await page.wait_for_selector("body[data-tab=staff] #staff-table")
    assert await page.locator("nav.staff-nav a[data-nav='nav.admin']").count() == 1

    await _tab(page, "departments")
    for code, name in (("market", "市场监管局"), ("health", "卫生健康委员会")):
        await page.fill("#new-department [name=code]", code)
        await page.fill("#new-department [name=name_zh]", name)
        await page.click("#new-department button[type=submit]")
        await page.wait_for_selector(f"#departments-table tr[data-department={code}]")
    await shots(page, "admin-departments")

    await _tab(page, "staff")
    form = page.locator("#new-staff")
    await form.locator("[name=username]").fill("zhang")
    await form.locator("[name=display_name]").fill("张敏")
    await form.locator("[name=role]").select_option("clerk")
    await form.locator("[name=password]").fill(PASSWORD)
    await form.locator("label", has_text="市场监管局").locator("input").check()
    await form.locator("button[type=submit]").click()
    row = page.locator("#staff-table tr[data-user=zhang]")
    await row.wait_for()
    assert "市场监管局" in await row.text_content()
    assert "待修改密码" in await row.text_content()
    await row.locator("button[data-act=reset]").click()
    await page.wait_for_selector("#one-time-password")
    assert len(await page.text_content("#one-time-password")) >= 12
    await shots(page, "admin-staff")

    await _tab(page, "office")
    values = {"name": "西湖区政务服务中心", "street": "文三路 100 号", "city": "杭州市"}
    for name, value in values.items():
        await page.fill(f"#office-form [name={name}]", value)
    await page.fill("#office-form [name=zip]", "310012")
    await page.click("#office-form button[type=submit]")
    await page.wait_for_selector("#admin-notice:not(.hidden)")
    assert await page.input_value("#office-form [name=name]") == "西湖区政务服务中心"
    await shots(page, "admin-office")

    await _tab(page, "calendar")
    await page.select_option("#cal-year", "2026")
    await page.wait_for_selector("#cal-prefill:not([disabled])")
    await page.click("#cal-prefill")
    await page.wait_for_selector("#calendar-table tr[data-day='2026-10-01']")
    assert "国庆节" in await page.text_content("#calendar-table tr[data-day='2026-10-01']")
    assert "调休" in await page.text_content("#calendar-table tr[data-day='2026-10-10']")
    await page.fill("#cal-add [name=day]", "2026-12-31")
    await page.select_option("#cal-add [name=kind]", "holiday")
    await page.fill("#cal-add [name=name]", "年终结账")
    await page.click("#cal-add button[type=submit]")
    await page.wait_for_selector("#calendar-table tr[data-day='2026-12-31']")
    await shots(page, "admin-calendar")

    await _tab(page, "matters")
    await page.select_option("#matters-table select[data-matter=food-business]", label="市场监管局")
    await page.wait_for_selector("#admin-notice:not(.hidden)")
    row = page.locator("#matters-table tr[data-matter=food-business]")
    await row.locator("button", has_text="编辑").click()
    await page.fill("#admin-dialog [name=limit]", "7")
    await page.fill("#admin-dialog [name=note]", "压缩时限")
    await page.click("#admin-dialog button[type=submit]")
    await page.wait_for_selector("#matters-table tr[data-matter=food-business] >> text=V1")
    await shots(page, "admin-matters")
    await row.locator("button", has_text="编辑").click()
    await shots(page, "admin-matter-editor")
    await page.click("#admin-dialog button.secondary >> text=取消")

    await _tab(page, "events")
    text = await page.text_content("#events-table")
    for shown in ("新增部门", "新建账号", "重置密码", "保存机构信息", "预填节假日", "事项新版本"):
        assert shown in text
    await shots(page, "admin-events")
    await _no_wider_than_the_window(page)
    assert errors.errors == []

    # What was set up holds: the account's departments, the office, the calendar, the matter.
    resp = await client.get("/api/admin/office", headers=(await make_staff(db, "admin")).headers)
    assert (await resp.json())["name"] == "西湖区政务服务中心"


async def test_department_members_see_their_departments_cases(client, db, browser, shots):
    admin = await make_staff(db, "admin", "chief")
    resp = await client.post(
        "/api/admin/departments",
        json={"code": "health", "name_zh": "卫生健康委员会"},
        headers=admin.headers,
    )
    health = (await resp.json())["id"]
    resp = await client.post(
        "/api/admin/departments",
        json={"code": "market", "name_zh": "市场监管局"},
        headers=admin.headers,
    )
    market = (await resp.json())["id"]
    for code, dept in (("swimming-venue", health), ("food-business", market)):
        await client.put(
            f"/api/admin/matters/{code}", json={"department_id": dept}, headers=admin.headers
        )
    food, _ = await apply(client, matter_code="food-business", applicant_name="李娜")
    pool, _ = await apply(client, matter_code="swimming-venue", applicant_name="王游")
    await make_staff(db, "clerk", "wu")
    resp = await client.get("/api/admin/staff", headers=admin.headers)
    wu = next(u for u in (await resp.json())["items"] if u["username"] == "wu")
    await client.put(
        f"/api/admin/staff/{wu['id']}", json={"departments": [health]}, headers=admin.headers
    )
    base = base_url(client)
    page = await staff_page(browser, base, "wu", "/staff", lang="zh")
    await page.wait_for_selector("#cases tbody tr[data-case-id]")
    assert await page.locator("#cases tbody tr[data-case-id]").count() == 1
    assert "王游" in await page.text_content("#cases tbody")
    assert await page.locator("nav.staff-nav a[data-nav='nav.admin']").count() == 0
    await shots(page, "cases-department-member")
    chief = await staff_page(browser, base, "chief", "/staff", lang="zh")
    await chief.wait_for_selector("#cases tbody tr[data-case-id]")
    assert await chief.locator("#cases tbody tr[data-case-id]").count() == 2
    assert {food["id"], pool["id"]}
