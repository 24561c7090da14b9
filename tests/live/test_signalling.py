"""Booking, joining and the signalling protocol: authorisation, bad input, wrong roles, and the
messages that guide the applicant (prompts, controls, challenge codes, presence)."""

from __future__ import annotations

import json
from datetime import timedelta

from aiortc import RTCPeerConnection

from tests.factories import applicant_headers
from tests.live.live_helpers import (
    audit_kinds,
    booked_session,
    participant,
    ws_url,
)
from tests.media import samples
from zerotrip.api.routes.live_socket import _internal_error


async def test_booking_is_for_staff_and_visible_to_the_applicant(client, db, clock):
    booked = await booked_session(client, db, clock)
    cid = booked.case["id"]
    now = clock.now()
    slot = {"slot_start": now.isoformat(), "slot_end": (now + timedelta(hours=1)).isoformat()}
    resp = await client.post(
        f"/api/cases/{cid}/live-sessions", json=slot, headers=applicant_headers(booked.token)
    )
    assert resp.status == 403
    bad = {"slot_start": slot["slot_end"], "slot_end": slot["slot_start"]}
    resp = await client.post(
        f"/api/cases/{cid}/live-sessions", json=bad, headers=booked.clerk.headers
    )
    assert resp.status == 422
    assert resp.content_type == "application/problem+json"
    resp = await client.get(
        f"/api/cases/{cid}/live-sessions", headers=applicant_headers(booked.token)
    )
    sessions = await resp.json()
    assert [s["id"] for s in sessions] == [booked.session["id"]]
    assert sessions[0]["state"] == "scheduled"
    assert sessions[0]["ice_servers"] == []  # nothing public by default
    assert "live.booked" in await audit_kinds(db, cid)


async def test_a_submitted_case_cannot_be_booked(client, db, clock):
    booked = await booked_session(client, db, clock)
    from tests.factories import apply

    other, _ = await apply(client)
    now = clock.now()
    resp = await client.post(
        f"/api/cases/{other['id']}/live-sessions",
        json={"slot_start": now.isoformat(), "slot_end": (now + timedelta(hours=1)).isoformat()},
        headers=booked.clerk.headers,
    )
    assert resp.status == 409


async def test_socket_needs_a_credential_first(client, db, clock):
    booked = await booked_session(client, db, clock)
    ws = await client.session.ws_connect(ws_url(client, booked.ws_path))
    await ws.send_str(json.dumps({"type": "offer", "sdp": "v=0"}))
    error = await ws.receive_json()
    assert error["type"] == "error" and error["status"] == 401
    await ws.receive()
    assert ws.close_code == 4401
    await ws.close()


async def test_another_cases_link_cannot_join(client, db, clock):
    booked = await booked_session(client, db, clock)
    other = await booked_session(client, db, clock, applicant_name="王五")
    async with participant(client, booked.ws_path, other.token) as intruder:
        error = await intruder.connect()
        assert error["type"] == "error" and error["status"] == 404
        assert (await intruder.expect("closed"))["code"] == 4404
    resp = await client.get(
        f"/api/live/sessions/{booked.session['id']}", headers=applicant_headers(other.token)
    )
    assert resp.status == 404


async def test_a_clerk_cannot_join_as_inspector(client, db, clock):
    booked = await booked_session(client, db, clock)
    async with participant(client, booked.ws_path, booked.clerk.token) as clerk:
        error = await clerk.connect()
        assert error["status"] == 403


async def test_second_applicant_on_the_same_link_is_refused(client, db, clock):
    booked = await booked_session(client, db, clock)
    async with (
        participant(client, booked.ws_path, booked.token) as first,
        participant(client, booked.ws_path, booked.token) as second,
    ):
        assert (await first.connect())["type"] == "welcome"
        error = await second.connect()
        assert error["status"] == 409 and error["code"] == "already-connected"
        assert (await second.expect("closed"))["code"] == 4409
        # The first one is unaffected, and the refusal left no trace in the session.
        assert (await first.request({"type": "ping"}))["type"] == "pong"
    kinds = await audit_kinds(db, booked.case["id"])
    assert kinds.count("live.joined") == 1 and kinds.count("live.left") <= 1  # (the first own)


async def test_bad_sdp_and_bad_messages_are_clear_errors(client, db, clock):
    booked = await booked_session(client, db, clock)
    async with participant(client, booked.ws_path, booked.token) as applicant:
        await applicant.connect()
        cases = {
            "garbage": ({"type": "offer", "sdp": "hello"}, 422),
            "unparseable": ({"type": "offer", "sdp": "v=0\r\nm=video x y\r\n"}, 422),
            "no media": (
                {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"},
                422,
            ),
            "oversized": ({"type": "offer", "sdp": "v=0\r\n" + "a=x\r\n" * 5000}, 413),
            "wrong role": ({"type": "prompt", "text": "hi"}, 403),
            "unknown": ({"type": "teleport"}, 422),
            "bad shape": ({"type": "fix", "lat": 200, "lon": 0, "accuracy": 5}, 422),
        }
        for name, (payload, status) in cases.items():
            reply = await applicant.request(payload)
            assert reply["type"] == "error", name
            assert reply["status"] == status, (name, reply)
        await applicant.send({"type": "x"})  # still alive after all that
        assert (await applicant.request({"type": "ping"}))["type"] == "pong"
        assert applicant.ws is not None
        await applicant.ws.send_str("{not json")
        assert (await applicant.expect("error"))["status"] == 400
        # A message beyond the socket's limit ends the socket cleanly (1009), not the server.
        await applicant.ws.send_str(json.dumps({"type": "offer", "sdp": "v=0" + "x" * 80_000}))
        assert (await applicant.expect("closed"))["code"] == 1009


async def test_prompts_controls_challenge_and_presence(client, db, clock):
    booked = await booked_session(client, db, clock)
    async with (
        participant(client, booked.ws_path, booked.token) as applicant,
        participant(client, booked.ws_path, booked.inspector.token) as inspector,
    ):
        await applicant.connect()
        await inspector.connect()
        assert (await applicant.expect("peer"))["present"] is True

        # Inspector-only messages are refused from the applicant, and vice versa.
        assert (await inspector.request({"type": "fix", "lat": 1, "lon": 1, "accuracy": 1}))[
            "status"
        ] == 403

        sent = await inspector.request({"type": "prompt", "text": "请对准洗手池"})
        assert sent["type"] == "prompt_sent"
        prompt = await applicant.expect("prompt")
        assert prompt["text"] == "请对准洗手池"
        await applicant.send({"type": "prompt_shown", "prompt_id": prompt["prompt_id"]})
        assert (await inspector.expect("prompt_shown"))["prompt_id"] == sent["prompt_id"]

        # Controls only for what the phone reported it supports.
        refused = await inspector.request({"type": "control", "action": "torch", "value": True})
        assert refused["status"] == 409
        await applicant.send({"type": "capabilities", "torch": True, "switch_camera": False})
        caps = await inspector.expect("capabilities")
        assert caps["torch"] is True and caps["switch_camera"] is False
        assert (await inspector.request({"type": "control", "action": "torch", "value": True}))[
            "type"
        ] == "control_sent"
        control = await applicant.expect("control")
        assert control == {"type": "control", "action": "torch", "value": True}
        await applicant.send({"type": "control_result", "action": "torch", "ok": True})
        assert (await inspector.expect("control_result"))["ok"] is True

        # Presence: the fix arrives at the console with the distance to the premises.
        await applicant.send({"type": "fix", "lat": 30.2745, "lon": 120.1551, "accuracy": 12})
        presence = await inspector.expect("presence")
        assert 40 < presence["distance_m"] < 50

        # Challenge code: issued to both screens, answered, all in the audit trail.
        issued = await inspector.request({"type": "challenge"})
        assert issued["type"] == "challenge_issued" and len(issued["code"]) == 5
        assert (await applicant.expect("challenge"))["code"] == issued["code"]
        answered = await inspector.request(
            {"type": "challenge_result", "challenge_id": issued["challenge_id"], "shown": True}
        )
        assert answered["result"] == "shown"
        again = await inspector.request(
            {"type": "challenge_result", "challenge_id": issued["challenge_id"], "shown": True}
        )
        assert again["status"] == 409

        await inspector.send({"type": "end"})
        assert (await applicant.expect("ended"))["state"] == "ended"
    kinds = await audit_kinds(db, booked.case["id"])
    for kind in ("live.joined", "live.challenge_issued", "live.challenge_answered", "live.ended"):
        assert kind in kinds
    resp = await client.get(
        f"/api/live/sessions/{booked.session['id']}", headers=booked.clerk.headers
    )
    assert (await resp.json())["state"] == "ended"
    # An ended session cannot be joined again.
    async with participant(client, booked.ws_path, booked.token) as late:
        assert (await late.connect())["status"] == 410


async def test_only_a_photo_taken_for_the_session_answers_a_photo_request(client, db, clock):
    booked = await booked_session(client, db, clock)
    case_id, checkpoint = booked.case["id"], booked.checkpoint_id
    headers = applicant_headers(booked.token)

    async def upload(seed: int, **claims) -> dict:
        resp = await client.post(
            f"/api/cases/{case_id}/checkpoints/{checkpoint}/evidence",
            data=samples.jpeg_bytes(seed=seed),
            headers={**headers, "X-Capture": json.dumps(claims), "Content-Type": "image/jpeg"},
        )
        assert resp.status == 201, await resp.text()
        return await resp.json()

    async with (
        participant(client, booked.ws_path, booked.token) as applicant,
        participant(client, booked.ws_path, booked.inspector.token) as inspector,
    ):
        await applicant.connect()
        await inspector.connect()
        asked = await inspector.request({"type": "photo_request", "checkpoint_id": checkpoint})
        assert asked["type"] == "photo_requested"
        request = await applicant.expect("photo_request")
        assert (request["case_id"], request["session_id"]) == (case_id, booked.session["id"])

        # A gallery picture of the same checkpoint is not the answer to the request.
        gallery = await upload(31, origin="gallery")
        message = {"type": "photo_uploaded", "checkpoint_id": checkpoint}
        refused = await applicant.request({**message, "evidence_id": gallery["id"]})
        assert refused["type"] == "error" and refused["status"] == 404

        photo = await upload(
            32, origin="live_photo", live_session=booked.session["id"], nonce=request["nonce"]
        )
        await applicant.send({**message, "evidence_id": photo["id"]})
        shown = await inspector.expect("photo")
        assert shown["evidence_id"] == photo["id"]  # the refused one never reached the console
        assert (shown["width"], shown["height"]) == (photo["width"], photo["height"])


async def test_pointer_consent_summary_and_recording_access(client, db, clock):
    """A pointer or a consent of the wrong shape or role is a clear error; the summary is the
    case's (staff and its own applicant), the recording is for staff only, and a recording id
    of another session looks absent."""
    booked = await booked_session(client, db, clock)
    sid = booked.session["id"]
    async with (
        participant(client, booked.ws_path, booked.token) as applicant,
        participant(client, booked.ws_path, booked.inspector.token) as inspector,
    ):
        await applicant.connect()
        await inspector.connect()
        await applicant.expect("peer")
        bad = {
            "arrow without its end": (
                {"type": "pointer", "shape": "arrow", "x": 0.1, "y": 0.1},
                422,
            ),
            "off the frame": ({"type": "pointer", "shape": "circle", "x": 1.5, "y": 0.1}, 422),
            "unknown shape": ({"type": "pointer", "shape": "star", "x": 0.1, "y": 0.1}, 422),
            "consent from staff": ({"type": "consent", "accepted": True}, 403),
        }
        for name, (payload, status) in bad.items():
            reply = await inspector.request(payload)
            assert (reply["type"], reply["status"]) == ("error", status), name
        assert (await applicant.request({"type": "consent", "accepted": False}))["status"] == 422
        # Before the notice is accepted the phone's offer is refused: nothing is recorded.
        pc = RTCPeerConnection()
        pc.addTransceiver("video", direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        refused = await applicant.request({"type": "offer", "sdp": pc.localDescription.sdp})
        await pc.close()
        assert refused["status"] == 409 and "录像告知" in refused["detail"], refused
        assert (
            await applicant.request({"type": "pointer", "shape": "circle", "x": 0.5, "y": 0.5})
        )["status"] == 403
        assert (await applicant.request({"type": "consent", "accepted": True}))[
            "type"
        ] == "consent_recorded"
        sent = await inspector.request({"type": "pointer", "shape": "circle", "x": 0.25, "y": 0.75})
        assert sent["type"] == "pointer_sent"
        shown = await applicant.expect("pointer")
        assert (shown["shape"], shown["x"], shown["y"]) == ("circle", 0.25, 0.75)
        kinds = await audit_kinds(db, booked.case["id"])
        assert kinds.count("live.recording_consent") == 1 and kinds.count("live.pointer") == 1
        await inspector.send({"type": "end"})
        await applicant.expect("ended")

    summary_path = f"/api/live/sessions/{sid}/summary"
    mine = await client.get(summary_path, headers=applicant_headers(booked.token))
    assert mine.status == 200
    body = await mine.json()
    assert body["ended"] is True and body["state"] == "ended"
    staff = await (await client.get(summary_path, headers=booked.clerk.headers)).json()
    assert len(staff["checkpoints"]) > len(body["checkpoints"])  # identity: staff only
    other = await booked_session(client, db, clock, applicant_name="王五")
    resp = await client.get(summary_path, headers=applicant_headers(other.token))
    assert resp.status == 404 and resp.content_type == "application/problem+json"

    recording = f"/api/live/sessions/{sid}/recording"
    assert (await client.get(recording, headers=applicant_headers(booked.token))).status == 403
    view = await (await client.get(recording, headers=booked.clerk.headers)).json()
    assert view["session_id"] == sid
    resp = await client.get(f"{recording}/999999", headers=booked.clerk.headers)
    assert resp.status == 404 and resp.content_type == "application/problem+json"


async def _refusal(client, booked, headers: dict[str, str], query: str = "") -> dict:
    """The error a socket gets when its first message is not a credential."""
    ws = await client.session.ws_connect(ws_url(client, booked.ws_path + query), headers=headers)
    await ws.send_str(json.dumps({"type": "offer", "sdp": "v=0"}))
    error = await ws.receive_json()
    await ws.close()
    return error


async def test_socket_errors_are_in_the_language_of_the_upgrade_request(client, db, clock):
    booked = await booked_session(client, db, clock)
    chinese = {
        "title": "请先登录或使用有效链接",
        "detail": "请先发送身份验证消息 {'type': 'auth', 'token': ...}。",
    }
    english = {
        "title": "Authentication required",
        "detail": "Send {'type': 'auth', 'token': ...} first.",
    }
    cases = [
        ({}, "", chinese),  # zh-CN by default
        ({"Accept-Language": "en"}, "", english),
        ({"Accept-Language": "en-US,en;q=0.9,zh-CN;q=0.5"}, "", english),
        ({"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}, "", chinese),
        # A page says its reader's language in the URL (a socket cannot set headers).
        ({"Accept-Language": "zh-CN"}, "?lang=en", english),
        ({"Accept-Language": "en"}, "?lang=zh", chinese),
    ]
    for headers, query, expected in cases:
        error = await _refusal(client, booked, headers, query)
        assert error["type"] == "error" and error["status"] == 401, (headers, query, error)
        assert error["problem"] == "unauthenticated"
        assert {k: error[k] for k in expected} == expected, (headers, query)

    # Inside the session: a bad message's reply speaks the socket's language too.
    async def unknown_message_reply(token: str, headers: dict[str, str]) -> dict:
        ws = await client.session.ws_connect(ws_url(client, booked.ws_path), headers=headers)
        await ws.send_str(json.dumps({"type": "auth", "token": token}))
        assert (await ws.receive_json())["type"] == "welcome"
        await ws.send_str(json.dumps({"type": "teleport", "id": "m1"}))
        while (reply := await ws.receive_json())["type"] != "error":
            pass
        await ws.close()
        return reply

    zh = await unknown_message_reply(booked.token, {})
    assert zh["reply_to"] == "m1" and zh["status"] == 422
    assert zh["title"] == "填写的内容不符合要求" and zh["detail"] == "未知的消息类型 teleport。"
    en = await unknown_message_reply(booked.inspector.token, {"Accept-Language": "en"})
    assert en["title"] == "The request is not valid"
    assert en["detail"] == "Unknown message type 'teleport'."


def test_the_internal_error_reply_is_in_the_sockets_language():
    """A message that fails on our side (no problem to render) still answers in the reader's
    language, with the incident to quote."""
    zh = _internal_error("abc123", "zh", "m7")
    assert zh["title"] == "系统内部错误" and "abc123" in zh["detail"]
    assert not any("a" <= ch.lower() <= "z" for ch in zh["detail"].replace("abc123", ""))
    en = _internal_error("abc123", "en", "m7")
    assert en["detail"] == "Something went wrong (incident abc123)."
    assert zh["reply_to"] == en["reply_to"] == "m7" and zh["incident"] == "abc123"
