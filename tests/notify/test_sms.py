"""SMS through a signed webhook to a local stand-in gateway, its signed delivery reports, and the
default notifier that only records messages in the case."""

from __future__ import annotations

import json
import re
import time

from tests.factories import APPLICATION, act, applicant_headers, judge_all, make_staff, walk
from tests.harness.outbox import drain
from tests.standins.sms_gateway import SECRET, signed
from zerotrip.notify.sms import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign


async def test_sms_goes_through_the_signed_gateway_and_reports_come_back_signed(apps, db, gateway):
    url, received = gateway
    async with apps.client(
        outbox_worker=False, notifier="sms", sms_gateway_url=url, sms_secret=SECRET
    ) as client:
        clerk, inspector = await make_staff(db, "clerk"), await make_staff(db, "inspector")
        case, _ = await walk(client, clerk, inspector, until="inspecting")
        await judge_all(client, case["id"], inspector.headers, "rectify")
        await act(
            client,
            case["id"],
            "record_inspection",
            inspector.headers,
            result="rectify",
            comment="洗手池缺少热水",
        )
        await drain(client)
        topics = [m["text"].split("\n")[0] for m in received]
        assert len(received) == 2  # pre-review result, rectification request
        assert received[0]["to"] == "+86 138 0000 0000"
        assert "洗手池缺少热水" in received[1]["text"] and "/a/zta_" in received[1]["text"]
        assert "整改" in topics[1]

        report = json.dumps({"id": "gw-2", "status": "delivered"}).encode()
        unsigned = await client.post(
            "/api/notify/sms/callback", data=report, headers={"Content-Type": "application/json"}
        )
        assert unsigned.status == 401
        assert unsigned.content_type == "application/problem+json"
        forged = await client.post(
            "/api/notify/sms/callback", data=report, headers=signed(report, "guess")
        )
        assert forged.status == 401
        stale = signed(report)
        stale[TIMESTAMP_HEADER] = str(int(time.time()) - 3600)
        stale[SIGNATURE_HEADER] = sign(SECRET, stale[TIMESTAMP_HEADER], report)
        assert (
            await client.post("/api/notify/sms/callback", data=report, headers=stale)
        ).status == 401
        ok = await client.post("/api/notify/sms/callback", data=report, headers=signed(report))
        assert ok.status == 200, await ok.text()
        unknown = json.dumps({"id": "gw-99", "status": "delivered"}).encode()
        assert (
            await client.post("/api/notify/sms/callback", data=unknown, headers=signed(unknown))
        ).status == 404

        notes = (
            await (
                await client.get(f"/api/cases/{case['id']}/notifications", headers=clerk.headers)
            ).json()
        )["items"]
        assert [(n["topic"], n["status"], n["delivery_status"]) for n in notes] == [
            ("prereview.accepted", "sent", ""),
            ("inspection.rectify", "sent", "delivered"),
        ]


async def test_default_notifier_records_messages_for_staff_only(apps, db):
    async with apps.client(outbox_worker=False) as client:
        clerk, inspector = await make_staff(db, "clerk"), await make_staff(db, "inspector")
        case, token = await walk(client, clerk, inspector, until="delivered")
        await drain(client)
        resp = await client.get(f"/api/cases/{case['id']}/notifications", headers=clerk.headers)
        notes = (await resp.json())["items"]
        assert [(n["topic"], n["channel"], n["status"]) for n in notes] == [
            ("prereview.accepted", "record", "recorded"),
            ("certificate.issued", "record", "recorded"),
            ("delivery.handed_over", "record", "recorded"),
        ]
        # One language per message: the applicant's (Chinese here), shown to staff in theirs.
        assert "食品经营许可证已制证" in notes[1]["text"]
        assert "Licence" not in notes[1]["text"] and notes[1]["language"] == "zh"
        resp = await client.get(
            f"/api/cases/{case['id']}/notifications",
            headers={**clerk.headers, "Accept-Language": "en"},
        )
        english = (await resp.json())["items"]
        assert "Food Business Licence" in english[1]["text"]
        assert not re.search(r"[\u4e00-\u9fff]", english[1]["text"] + english[1]["subject"])
        denied = await client.get(
            f"/api/cases/{case['id']}/notifications", headers=applicant_headers(token)
        )
        assert denied.status == 403


async def test_each_applicant_is_written_to_in_the_language_they_applied_in(apps, db, gateway):
    url, received = gateway
    async with apps.client(
        outbox_worker=False, notifier="sms", sms_gateway_url=url, sms_secret=SECRET
    ) as client:
        clerk = await make_staff(db, "clerk")
        han = re.compile(r"[\u4e00-\u9fff]")
        references = {}
        for lang in ("en", "zh-CN"):
            resp = await client.post(
                "/api/applications", json=APPLICATION, headers={"Accept-Language": lang}
            )
            assert resp.status == 201, await resp.text()
            case = (await resp.json())["case"]
            references[lang] = case["reference"]
            await act(client, case["id"], "prereview", clerk.headers, outcome="accept")
        await drain(client)
        # The outbox sends both at once: they may reach the gateway in either order.
        assert len(received) == 2
        english, chinese = (
            next(m["text"] for m in received if references[lang] in m["text"])
            for lang in ("en", "zh-CN")
        )
        assert "accepted" in english and not han.search(english)
        assert "已受理" in chinese and "accepted" not in chinese
        assert "/a/zta_" in english and "/a/zta_" in chinese
