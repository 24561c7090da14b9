"""The certificate's delivery address: proposed from the premises, validated, confirmed or
changed by the applicant before issuance (audited), and used by the delivery order."""

from __future__ import annotations

from tests.factories import advance, make_staff, walk

ADDRESS = {
    "recipient": "李娜",
    "phone": "+86 139 1234 5678",
    "province": "浙江省",
    "city": "杭州市",
    "address": "西湖区文二路 100 号 3 单元",
    "postcode": "310012",
}


async def test_confirmed_address_is_audited_and_used_by_the_delivery_order(client, db):
    clerk, inspector = await make_staff(db, "clerk"), await make_staff(db, "inspector")
    walked = await walk(client, clerk, inspector, until="accepted")
    url = f"/api/cases/{walked.id}/delivery-address"
    view = await (await client.get(url, headers=walked.applicant_headers)).json()
    assert view["address"] is None and view["changeable"] is True
    assert view["proposed"]["address"] == "浙江省杭州市西湖区文三路 90 号"  # the premises
    case = await (
        await client.get(f"/api/cases/{walked.id}", headers=walked.applicant_headers)
    ).json()
    assert "confirm_address" in [s["kind"] for s in case["next_steps"]["steps"]]

    resp = await client.put(url, json=ADDRESS, headers=walked.applicant_headers)
    assert resp.status == 200, await resp.text()
    saved = await resp.json()
    assert saved["address"]["phone"] == "13912345678" and saved["confirmed_at"]
    case = await (
        await client.get(f"/api/cases/{walked.id}", headers=walked.applicant_headers)
    ).json()
    assert "confirm_address" not in [s["kind"] for s in case["next_steps"]["steps"]]
    staff_view = await (await client.get(f"/api/cases/{walked.id}", headers=clerk.headers)).json()
    assert staff_view["delivery"]["address"]["city"] == "杭州市"

    await advance(client, walked.id, clerk, inspector, until="certificate_issued")
    mailing = await (
        await client.get(f"/api/cases/{walked.id}/mailing", headers=clerk.headers)
    ).json()
    delivery = next(o for o in mailing["orders"] if o["kind"] == "delivery")
    assert delivery["recipient"]["street1"] == ADDRESS["address"]
    assert delivery["recipient"]["zip"] == "310012" and delivery["recipient"]["city"] == "杭州市"

    # after issuance the address no longer changes, with a zh-CN reason
    resp = await client.put(url, json=ADDRESS, headers=walked.applicant_headers)
    assert resp.status == 409 and "邮寄地址" in (await resp.json())["detail"]
    audit = await (await client.get(f"/api/cases/{walked.id}/audit", headers=clerk.headers)).json()
    event = next(e for e in audit["events"] if e["kind"] == "delivery_address.confirmed")
    assert event["payload"]["address"]["postcode"] == "310012"


async def test_bad_addresses_are_refused_in_chinese_naming_the_field(client, db):
    clerk, inspector = await make_staff(db, "clerk"), await make_staff(db, "inspector")
    walked = await walk(client, clerk, inspector, until="accepted")
    url = f"/api/cases/{walked.id}/delivery-address"
    for field, value, name in (
        ("postcode", "31001", "邮政编码"),
        ("phone", "12345", "联系电话"),
        ("address", "", "详细地址"),
    ):
        resp = await client.put(
            url, json={**ADDRESS, field: value}, headers=walked.applicant_headers
        )
        assert resp.status == 422
        problem = await resp.json()
        assert name in problem["detail"] and field not in problem["detail"], problem
        assert problem["errors"][0]["field"] == field
    view = await (await client.get(url, headers=walked.applicant_headers)).json()
    assert view["address"] is None  # nothing half-written
