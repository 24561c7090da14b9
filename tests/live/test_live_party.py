"""The second party, with real aiortc peers over the real socket (no browser): an expert invited
by a one-time link sees the phone's video, is heard by the inspector, sends prompts to the phone,
is recorded as a named voice track, and every step is audited; links that are used, expired,
revoked or for another session are refused with a problem in the caller's language."""

from __future__ import annotations

import io
from datetime import timedelta

import av

from tests.live.live_helpers import (
    audit_kinds,
    booked_session,
    clip,
    evidence_of,
    participant,
    until,
)
from zerotrip.api.keys import LIVE

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}


async def invite(client, booked, name="王工", **extra):
    resp = await client.post(
        f"/api/live/sessions/{booked.session['id']}/invitations",
        json={"name": name, **extra},
        headers=booked.inspector.headers,
    )
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    return body, body["link"].split("#", 1)[1]


async def redeem(client, live_id, token, headers=ZH):
    return await client.post(
        f"/api/live/sessions/{live_id}/invitations/redeem", json={"token": token}, headers=headers
    )


async def test_invited_expert_sees_talks_prompts_and_is_recorded_by_name(client, db, clock):
    booked = await booked_session(client, db, clock)
    live_id = booked.session["id"]
    async with (
        participant(client, booked.ws_path, booked.token) as phone,
        participant(client, booked.ws_path, booked.inspector.token) as inspector,
    ):
        await phone.connect()
        assert (await phone.publish(clip()))["type"] == "answer"
        await inspector.connect()
        answer = await inspector.subscribe(decode=False, voice=clip(), third_party=True)
        assert answer["type"] == "answer"

        view, token = await invite(client, booked)
        assert view["state"] == "open" and view["link"].startswith(f"/live/{live_id}/guest#")
        resp = await redeem(client, live_id, token)
        assert resp.status == 200, await resp.text()
        guest_pass = await resp.json()
        assert guest_pass["name"] == "王工" and guest_pass["guest_key"].startswith("zg_")

        async with participant(client, booked.ws_path, guest_pass["guest_key"]) as guest:
            welcome = await guest.connect()
            assert welcome["type"] == "welcome" and welcome["role"] == "guest", welcome
            # the phone is told a third person is present (privacy)
            present = await phone.expect("participants")
            while "guest" not in [p["role"] for p in present["present"]]:
                present = await phone.expect("participants")
            assert {"role": "guest", "name": "王工"} in present["present"]

            assert (await guest.subscribe(decode=True, voice=clip(), third_party=True))[
                "type"
            ] == "answer"
            await guest.wait_received("video", 20)  # decoded frames of the phone's camera
            room = client.server.app[LIVE].rooms[live_id]
            await until(lambda: room.guest_voice.stats.packets_in > 20)
            # the inspector hears the guest: packets on its third (audio) line
            await until(lambda: inspector.received_by_mid.get("2", 0) > 20)
            # and the guest hears the inspector on its own third line
            await until(lambda: guest.received_by_mid.get("2", 0) > 20)

            sent = await guest.request({"type": "prompt", "text": "请把镜头对准配电箱"})
            assert sent["type"] == "prompt_sent", sent
            prompt = await phone.expect("prompt")
            assert prompt["text"] == "请把镜头对准配电箱"
            told = await inspector.expect("guest_prompt")  # the inspector sees it too
            assert told["text"] == "请把镜头对准配电箱" and told["name"] == "王工"
            # a guest may not steer the phone or end the session
            refused = await guest.request({"type": "end"})
            assert refused["type"] == "error" and refused["status"] == 403

            # the recording gains the guest's named track from the next segment on
            await until(lambda: any(s.audio.get("guest", 0) > 20 for s in room.recorder.segments))
            assert (await guest.request({"type": "leave"}))["type"] == "left"
        await until(lambda: "guest" not in room.seats)
        await inspector.send({"type": "end"})
        await phone.expect("ended")
        # the recording is finalized (every segment stored) before the room is let go
        await until(lambda: live_id not in client.server.app[LIVE].rooms)

    recorded = await evidence_of(db, booked.case["id"], "recording")
    titled = [e for e in recorded if "王工" in (e.capture or {}).get("audio_titles", [])]
    assert titled, [e.capture for e in recorded]
    assert titled[0].capture["audio_tracks"] == ["applicant", "inspector", "guest"]
    download = await client.get(
        f"/api/live/sessions/{live_id}/recording/{titled[0].id}?download=1",
        headers=booked.inspector.headers,
    )
    assert download.status == 200
    with av.open(io.BytesIO(await download.read())) as container:
        titles = [s.metadata.get("title") for s in container.streams.audio]
    assert titles == ["applicant", "inspector", "王工"]  # each voice its own named track

    kinds = await audit_kinds(db, booked.case["id"])
    for kind in ("live.invitation_created", "live.invitation_used", "live.guest_joined",
                 "live.guest_left"):  # fmt: skip
        assert kind in kinds, kinds
    assert kinds.index("live.invitation_used") < kinds.index("live.guest_joined")
    recording = await client.get(
        f"/api/live/sessions/{live_id}/recording", headers=booked.inspector.headers
    )
    segments = (await recording.json())["segments"]
    assert any("王工" in s["audio_titles"] for s in segments)


async def test_used_expired_revoked_and_foreign_invitations_are_refused(client, db, clock):
    booked = await booked_session(client, db, clock)
    other = await booked_session(client, db, clock)
    live_id = booked.session["id"]

    _, token = await invite(client, booked)
    first = await redeem(client, live_id, token)
    assert first.status == 200
    again = await redeem(client, live_id, token)  # a second browser
    assert again.status == 410
    assert again.content_type == "application/problem+json"
    body = await again.json()
    assert "已被使用" in body["detail"] and body["code"] == "used", body
    assert "used" in (await (await redeem(client, live_id, token, EN)).json())["detail"]

    _, foreign = await invite(client, other)  # another session's link
    resp = await redeem(client, live_id, foreign)
    assert resp.status == 404 and "不属于" in (await resp.json())["detail"]
    assert (await redeem(client, other.session["id"], foreign)).status == 200  # still unused

    view, revoked = await invite(client, booked, name="李工")
    resp = await client.post(
        f"/api/live/sessions/{live_id}/invitations/{view['id']}/revoke",
        headers=booked.inspector.headers,
    )
    assert resp.status == 200 and (await resp.json())["state"] == "revoked"
    resp = await redeem(client, live_id, revoked)
    assert resp.status == 410 and "撤销" in (await resp.json())["detail"]

    _, short = await invite(client, booked, name="赵工", minutes=1)
    clock.advance(timedelta(minutes=2))
    resp = await redeem(client, live_id, short)
    assert resp.status == 410 and "过期" in (await resp.json())["detail"]

    resp = await redeem(client, live_id, "not-a-real-token")
    assert resp.status == 404
    resp = await client.post(
        f"/api/live/sessions/{live_id}/invitations",
        json={"name": "x"},
        headers=booked.clerk.headers,
    )
    assert resp.status == 403  # a clerk does not invite

    listed = await client.get(
        f"/api/live/sessions/{live_id}/invitations", headers=booked.inspector.headers
    )
    states = {i["name"]: i["state"] for i in await listed.json()}
    assert states == {"王工": "used", "李工": "revoked", "赵工": "expired"}
    assert all(i.get("link") is None for i in await listed.json())  # tokens are not kept
    kinds = await audit_kinds(db, booked.case["id"])
    assert kinds.count("live.invitation_created") == 3
    assert "live.invitation_revoked" in kinds


async def test_revoking_lets_the_guest_go_and_its_key_no_longer_joins(client, db, clock):
    booked = await booked_session(client, db, clock)
    live_id = booked.session["id"]
    async with participant(client, booked.ws_path, booked.inspector.token) as inspector:
        await inspector.connect()
        view, token = await invite(client, booked)
        key = (await (await redeem(client, live_id, token)).json())["guest_key"]
        async with participant(client, booked.ws_path, key) as guest:
            assert (await guest.connect())["role"] == "guest"
            listed = await inspector.expect("participants")
            while len(listed["present"]) < 2:
                listed = await inspector.expect("participants")
            assert [p["role"] for p in listed["present"]] == ["inspector", "guest"]
            resp = await client.post(
                f"/api/live/sessions/{live_id}/invitations/{view['id']}/revoke",
                headers=booked.inspector.headers,
            )
            assert resp.status == 200
            ended = await guest.expect("ended")
            assert ended["state"] == "revoked"
        room = client.server.app[LIVE].rooms[live_id]
        await until(lambda: "guest" not in room.seats)
        async with participant(client, booked.ws_path, key) as again:
            refused = await again.connect()
            assert refused["type"] == "error" and refused["status"] == 410, refused
        assert "live.guest_left" in await audit_kinds(db, booked.case["id"])


async def test_staff_join_as_the_second_party_from_the_console_link(client, db, clock):
    from tests.factories import make_staff

    booked = await booked_session(client, db, clock)
    supervisor = await make_staff(db, "inspector", "supervisor-party")
    clerk = await make_staff(db, "clerk", "clerk-party")
    path = booked.ws_path + "?seat=guest"
    async with (
        participant(client, booked.ws_path, booked.inspector.token) as inspector,
        participant(client, path, supervisor.token) as watcher,
        participant(client, path, clerk.token) as refused,
    ):
        await inspector.connect()
        welcome = await watcher.connect()
        assert welcome["role"] == "guest" and welcome["name"], welcome
        assert [p["role"] for p in welcome["present"]] == ["inspector", "guest"]
        assert (await refused.connect())["status"] == 403  # the role is checked
        async with participant(client, path, supervisor.token) as second:
            busy = await second.connect()  # one second party at a time
            assert busy["type"] == "error" and busy["status"] == 409, busy
        room = client.server.app[LIVE].rooms[booked.session["id"]]
        assert room.seats.get("inspector") is not None  # the inspector's seat is untouched
    assert "live.guest_joined" in await audit_kinds(db, booked.case["id"])


async def test_the_session_ending_lets_the_guest_go_on_the_trail(client, db, clock):
    booked = await booked_session(client, db, clock)
    live_id = booked.session["id"]
    _, token = await invite(client, booked)
    key = (await (await redeem(client, live_id, token)).json())["guest_key"]
    async with (
        participant(client, booked.ws_path, booked.inspector.token) as inspector,
        participant(client, booked.ws_path, key) as guest,
    ):
        await inspector.connect()
        assert (await guest.connect())["role"] == "guest"
        await inspector.send({"type": "end"})
        assert (await guest.expect("ended"))["state"] in ("ended", "cancelled")
        await until(lambda: live_id not in client.server.app[LIVE].rooms)
    kinds = await audit_kinds(db, booked.case["id"])
    assert kinds.index("live.guest_left") < kinds.index("live.ended"), kinds
    # the session is over: its invitations are gone, a new one is refused in Chinese
    resp = await client.post(
        f"/api/live/sessions/{live_id}/invitations",
        json={"name": "迟到的专家"},
        headers={**booked.inspector.headers, **ZH},
    )
    assert resp.status == 410 and "结束" in (await resp.json())["detail"]
    async with participant(client, booked.ws_path, key) as late:
        assert (await late.connect())["type"] == "error"
