"""Evidence binding: what an applicant's upload may claim, and where it may go.

Attacks from the security review, against a real server: a gallery file labelled as a live
photo, an upload into the restricted identity checkpoint. Each must be refused with a problem
response, leaving no evidence row and nothing in storage; an honest upload must still work.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from sqlmodel import select

from tests.factories import applicant_headers, make_staff, walk
from tests.live.live_helpers import booked_session, participant
from tests.media import samples
from zerotrip.media.models import Evidence


def _claims(**claims) -> dict[str, str]:
    return {"X-Capture": json.dumps(claims), "Content-Type": "image/jpeg"}


async def _rows(db) -> list[Evidence]:
    async with db.session() as session:
        return list((await session.exec(select(Evidence))).all())


def _stored_originals(settings) -> list:
    return [p for p in (settings.media_dir / "originals").rglob("*") if p.is_file()]


async def _inspecting_case(client, db):
    clerk, inspector = await make_staff(db, "clerk"), await make_staff(db, "inspector")
    case, token = await walk(client, clerk, inspector, until="inspecting")
    view = await (await client.get(f"/api/cases/{case['id']}", headers=clerk.headers)).json()
    return view, applicant_headers(token), inspector


@pytest.mark.parametrize("route", ["nonce", "evidence"])
async def test_applicant_cannot_reach_the_restricted_identity_checkpoint(
    client, db, settings, route
):
    case, applicant, _ = await _inspecting_case(client, db)
    identity = next(c for c in case["checkpoints"] if c["restricted"])
    url = f"/api/cases/{case['id']}/checkpoints/{identity['id']}/{route}"
    resp = await client.post(url, data=samples.jpeg_bytes(seed=3), headers={**applicant,
                             **_claims(origin="gallery")})  # fmt: skip
    assert resp.status == 404, await resp.text()
    assert resp.content_type == "application/problem+json"
    assert await _rows(db) == []
    assert not (settings.media_dir / "originals").exists() or _stored_originals(settings) == []
    # The visible checkpoints still take the same upload.
    visible = next(c for c in case["checkpoints"] if not c["restricted"])
    ok = await client.post(
        f"/api/cases/{case['id']}/checkpoints/{visible['id']}/evidence",
        data=samples.jpeg_bytes(seed=3),
        headers={**applicant, **_claims(origin="gallery", taken_at=int(time.time() * 1000))},
    )
    assert ok.status == 201, await ok.text()


async def _upload(client, booked, headers, seed: int, **claims):
    return await client.post(
        f"/api/cases/{booked.case['id']}/checkpoints/{booked.checkpoint_id}/evidence",
        data=samples.jpeg_bytes(seed=seed),
        headers={**headers, **_claims(taken_at=int(time.time() * 1000), **claims)},
    )


async def _screen_nonce(client, booked, headers) -> str:
    resp = await client.post(
        f"/api/cases/{booked.case['id']}/checkpoints/{booked.checkpoint_id}/nonce",
        headers=headers,
    )
    assert resp.status == 201
    return (await resp.json())["nonce"]


async def test_a_gallery_file_labelled_live_photo_is_refused(client, db, settings, clock):
    """The reported bypass: ``origin: live_photo`` with no nonce, with the session but no nonce,
    with the capture screen's nonce, while the session IS live. None may become evidence."""
    booked = await booked_session(client, db, clock)
    sid = booked.session["id"]
    headers = applicant_headers(booked.token)
    async with (
        participant(client, booked.ws_path, booked.token) as applicant,
        participant(client, booked.ws_path, booked.inspector.token) as inspector,
    ):
        await applicant.connect()
        await inspector.connect()
        attempts = [
            {"origin": "live_photo"},
            {"origin": "live_photo", "live_session": sid},
            {"origin": "live_photo", "live_session": sid, "nonce": "made-up"},
            {"origin": "live_photo", "nonce": await _screen_nonce(client, booked, headers)},
            {"origin": "live_photo", "live_session": sid,
             "nonce": await _screen_nonce(client, booked, headers)},
        ]  # fmt: skip
        for n, claims in enumerate(attempts):
            resp = await _upload(client, booked, headers, 40 + n, **claims)
            assert resp.status == 403, (claims, await resp.text())
            assert resp.content_type == "application/problem+json"
            assert (await resp.json())["code"] in ("live_photo_unbound", "nonce_invalid")
    assert await _rows(db) == []
    assert not (settings.media_dir / "originals").exists() or _stored_originals(settings) == []


async def test_a_live_photo_uses_the_nonce_of_the_request_once(client, db, settings, clock):
    booked = await booked_session(client, db, clock)
    sid = booked.session["id"]
    headers = applicant_headers(booked.token)
    async with (
        participant(client, booked.ws_path, booked.token) as applicant,
        participant(client, booked.ws_path, booked.inspector.token) as inspector,
    ):
        await applicant.connect()
        await inspector.connect()
        await inspector.request({"type": "photo_request", "checkpoint_id": booked.checkpoint_id})
        nonce = (await applicant.expect("photo_request"))["nonce"]
        # The request's nonce is the live photo's only: not an in-page capture's.
        wrong = await _upload(client, booked, headers, 50, origin="capture", nonce=nonce)
        assert wrong.status == 403 and (await wrong.json())["code"] == "nonce_invalid"
        ok = await _upload(client, booked, headers, 51, origin="live_photo", live_session=sid,
                           nonce=nonce)  # fmt: skip
        assert ok.status == 201, await ok.text()
        again = await _upload(client, booked, headers, 52, origin="live_photo", live_session=sid,
                              nonce=nonce)  # fmt: skip
        assert again.status == 409 and (await again.json())["code"] == "nonce_used"
    rows = await _rows(db)
    assert [(e.source, e.live_session_id) for e in rows] == [("live_photo", sid)]
    listing = await (
        await client.get(
            f"/api/cases/{booked.case['id']}/evidence", headers=booked.inspector.headers
        )
    ).json()
    codes = [f["code"] for f in listing["items"][0]["verdict"]["findings"]]
    assert "gallery_upload" not in codes
    assert len(_stored_originals(settings)) == 1


async def test_a_live_photo_after_the_applicant_left_is_refused(client, db, settings, clock):
    booked = await booked_session(client, db, clock)
    sid = booked.session["id"]
    headers = applicant_headers(booked.token)
    async with participant(client, booked.ws_path, booked.inspector.token) as inspector:
        async with participant(client, booked.ws_path, booked.token) as applicant:
            await applicant.connect()
            await inspector.connect()
            await inspector.request(
                {"type": "photo_request", "checkpoint_id": booked.checkpoint_id}
            )
            nonce = (await applicant.expect("photo_request"))["nonce"]
        await until_state(client, booked, "interrupted")
        resp = await _upload(client, booked, headers, 60, origin="live_photo", live_session=sid,
                             nonce=nonce)  # fmt: skip
        assert resp.status == 409, await resp.text()
        assert (await resp.json())["code"] == "live_session_not_live"
    assert await _rows(db) == []


async def until_state(client, booked, state: str) -> None:
    async def current() -> str:
        resp = await client.get(
            f"/api/cases/{booked.case['id']}/live-sessions", headers=booked.clerk.headers
        )
        return (await resp.json())[0]["state"]

    async with asyncio.timeout(20):
        while await current() != state:  # noqa: ASYNC110 - server state, polled
            await asyncio.sleep(0.05)
