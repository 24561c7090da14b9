"""E-mail notifications reach a real local SMTP server (aiosmtpd) with a working case link;
a mail server that is down delays the message but never the case."""

from __future__ import annotations

import re
from datetime import date, timedelta
from email.message import Message

from tests.factories import APPLICATION, act, applicant_headers, apply, make_staff
from tests.harness.apps import free_port
from tests.harness.outbox import drain
from tests.standins.smtp import Inbox, about, smtp_server, subject
from zerotrip.api.keys import SETTINGS


def _text(msg: Message) -> str:
    part = msg.get_body(preferencelist=("plain",)) if hasattr(msg, "get_body") else msg
    payload = (part or msg).get_payload(decode=True)
    return payload.decode("utf-8")


async def test_prereview_result_arrives_by_email_with_the_case_link(apps, db):
    inbox = Inbox()
    server = await smtp_server(inbox)
    port = server.sockets[0].getsockname()[1]
    try:
        async with apps.client(outbox_worker=False, notifier="email", smtp_port=port) as client:
            clerk = await make_staff(db, "clerk")
            case, _ = await apply(client)
            due = (date.today() + timedelta(days=20)).isoformat()
            await act(
                client,
                case["id"],
                "prereview",
                clerk.headers,
                outcome="accept",
                outstanding=[{"code": "staff-health-certs", "due_date": due}],
            )
            assert inbox.messages == []  # nothing is sent inside the step
            await drain(client)
            [msg] = about(inbox, "已受理")
            assert msg["To"] == APPLICATION["applicant_email"]
            assert [APPLICATION["applicant_email"]] in inbox.envelopes
            assert case["reference"] in subject(msg)
            body = _text(msg)
            assert "从业人员健康证明" in body and due in body
            found = re.search(r"(http://\S+)/a/(zta_[A-Za-z0-9_-]+)", body)
            assert found, body
            assert found.group(1) == client.app[SETTINGS].public_url
            token = found.group(2)
            resp = await client.get("/api/link", headers=applicant_headers(token))
            assert resp.status == 200
            assert (await resp.json())["case_id"] == case["id"]

            notes = await (
                await client.get(f"/api/cases/{case['id']}/notifications", headers=clerk.headers)
            ).json()
            [note] = [n for n in notes["items"] if n["topic"] == "prereview.accepted"]
            assert (note["channel"], note["status"]) == ("email", "sent")
            assert "zta_" not in note["text"]  # the credential is never stored
            audit = await (
                await client.get(f"/api/cases/{case['id']}/audit", headers=clerk.headers)
            ).json()
            kinds = [e["kind"] for e in audit["events"]]
            after = kinds[kinds.index("case.prereview") :]
            assert after.index("link.issued") < after.index("notification.sent")
            issued = [e for e in audit["events"] if e["kind"] == "link.issued"]
            assert issued[-1]["payload"]["notification"] == note["id"]
            assert audit["verification"]["ok"]
            await drain(client)
            assert len(about(inbox, "已受理")) == 1  # sent once, not again
    finally:
        server.close()
        await server.wait_closed()


async def test_mail_server_down_retries_without_blocking_the_case(apps, db, clock):
    port = free_port()
    inbox = Inbox()
    async with apps.client(
        outbox_worker=False, notifier="email", smtp_port=port, smtp_timeout_s=2.0
    ) as client:
        clerk = await make_staff(db, "clerk")
        case, _ = await apply(client)
        view = await act(client, case["id"], "prereview", clerk.headers, outcome="accept")
        assert view["state"] == "accepted"  # the step does not wait for mail
        await drain(client)
        notes = await (
            await client.get(f"/api/cases/{case['id']}/notifications", headers=clerk.headers)
        ).json()
        [note] = [n for n in notes["items"] if n["topic"] == "prereview.accepted"]
        assert note["status"] == "queued" and note["attempts"] == 1
        assert "unreachable" in note["last_error"]

        server = await smtp_server(inbox, port)
        try:
            clock.advance(timedelta(hours=1))  # past the backoff
            await drain(client)
        finally:
            server.close()
            await server.wait_closed()
        assert len(about(inbox, "已受理")) == 1
        notes = await (
            await client.get(f"/api/cases/{case['id']}/notifications", headers=clerk.headers)
        ).json()
        [note] = [n for n in notes["items"] if n["topic"] == "prereview.accepted"]
        assert (note["status"], note["attempts"]) == ("sent", 2)


async def _book_in_three_days(client, db, clock):
    """An accepted case with a live inspection booked three days ahead, as an inspector."""
    clerk, inspector = await make_staff(db, "clerk"), await make_staff(db, "inspector")
    case, _ = await apply(client)
    await act(client, case["id"], "prereview", clerk.headers, outcome="accept")
    start = (clock.now() + timedelta(days=3)).replace(microsecond=0)
    resp = await client.post(
        f"/api/cases/{case['id']}/live-sessions",
        json={
            "slot_start": start.isoformat(),
            "slot_end": (start + timedelta(minutes=30)).isoformat(),
        },
        headers=inspector.headers,
    )
    assert resp.status == 201, await resp.text()
    return case, inspector, start, await resp.json()


async def test_a_cancelled_inspection_is_never_reminded(apps, db, clock):
    inbox = Inbox()
    server = await smtp_server(inbox)
    port = server.sockets[0].getsockname()[1]
    try:
        async with apps.client(outbox_worker=False, notifier="email", smtp_port=port) as client:
            case, inspector, _start, live = await _book_in_three_days(client, db, clock)
            await drain(client)
            assert len(about(inbox, "远程踏勘已预约")) == 1
            resp = await client.post(
                f"/api/live/sessions/{live['id']}/cancel", headers=inspector.headers
            )
            assert resp.status == 200 and (await resp.json())["state"] == "cancelled"
            clock.advance(timedelta(days=2, hours=1))  # past the reminder's time
            await drain(client)
            assert about(inbox, "踏勘提醒") == []
            notes = await (
                await client.get(
                    f"/api/cases/{case['id']}/notifications", headers=inspector.headers
                )
            ).json()
            [reminder] = [n for n in notes["items"] if n["topic"] == "inspection.reminder"]
            assert reminder["status"] == "withdrawn" and reminder["attempts"] == 0
    finally:
        server.close()
        await server.wait_closed()


async def test_booked_inspection_is_announced_and_reminded_before_the_slot(apps, db, clock):
    inbox = Inbox()
    server = await smtp_server(inbox)
    port = server.sockets[0].getsockname()[1]
    try:
        async with apps.client(outbox_worker=False, notifier="email", smtp_port=port) as client:
            _case, _inspector, start, _live = await _book_in_three_days(client, db, clock)
            await drain(client)
            [booked] = about(inbox, "远程踏勘已预约")
            local = start.astimezone(clock.zone)
            assert f"{local:%Y-%m-%d %H:%M}" in _text(booked)

            clock.advance(timedelta(days=1))  # not yet a day before the slot
            await drain(client)
            assert about(inbox, "踏勘提醒") == []
            clock.advance(timedelta(days=1, hours=1))
            await drain(client)
            [reminder] = about(inbox, "踏勘提醒")
            assert "/a/zta_" in _text(reminder)
    finally:
        server.close()
        await server.wait_closed()


async def test_an_offline_reminder_of_a_cancelled_inspection_is_withdrawn(apps, db, clock):
    """On the record-only channel a reminder is recorded at booking; cancelling before it is due
    withdraws it, while the booking announcement stays recorded."""
    async with apps.client(outbox_worker=False, notifier="record") as client:
        case, inspector, _start, live = await _book_in_three_days(client, db, clock)
        resp = await client.post(
            f"/api/live/sessions/{live['id']}/cancel", headers=inspector.headers
        )
        assert resp.status == 200
        notes = await (
            await client.get(f"/api/cases/{case['id']}/notifications", headers=inspector.headers)
        ).json()
        status = {n["topic"]: n["status"] for n in notes["items"]}
        assert status["inspection.reminder"] == "withdrawn"
        assert status["inspection.booked"] == "recorded"
