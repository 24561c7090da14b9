"""The evidence API over a real server: uploads, nonces, retries, access, and every bad input.

Each bad input must give a clear 4xx problem and leave nothing half-stored: no evidence row, no
temporary upload, no partial file in storage.
"""

from __future__ import annotations

import io
import json
import random
import time
from datetime import timedelta

import pytest
from sqlmodel import select

from tests.factories import applicant_headers, apply, make_staff
from tests.media import samples
from zerotrip.media.models import Evidence


async def _setup(client):
    case, token = await apply(client)
    return case, case["checkpoints"][0]["id"], applicant_headers(token)


async def _nonce(client, case_id, checkpoint_id, headers) -> str:
    resp = await client.post(
        f"/api/cases/{case_id}/checkpoints/{checkpoint_id}/nonce", headers=headers
    )
    assert resp.status == 201, await resp.text()
    return (await resp.json())["nonce"]


def _capture(nonce=None, origin="capture", **extra) -> dict[str, str]:
    claims = {
        "origin": origin,
        "lat": samples.PREMISES[0] + 0.0002,
        "lon": samples.PREMISES[1],
        "accuracy": 15,
        "taken_at": int(time.time() * 1000),
        **extra,
    }
    if nonce:
        claims["nonce"] = nonce
    return {"X-Capture": json.dumps(claims), "Content-Type": "image/jpeg"}


async def _upload(client, case_id, checkpoint_id, headers, data, capture_headers=None):
    return await client.post(
        f"/api/cases/{case_id}/checkpoints/{checkpoint_id}/evidence",
        data=data,
        headers={**headers, **(capture_headers or {"Content-Type": "application/octet-stream"})},
    )


async def _nothing_stored(settings, db):
    async with db.session() as session:
        assert (await session.exec(select(Evidence))).all() == []
    incoming = settings.media_dir / "incoming"
    assert not incoming.exists() or list(incoming.iterdir()) == []
    partial = [p for p in settings.media_dir.rglob(".incoming-*")]
    assert partial == []


async def test_capture_upload_is_consistent_and_retry_is_idempotent(client, db):
    case, checkpoint, headers = await _setup(client)
    nonce = await _nonce(client, case["id"], checkpoint, headers)
    data = samples.jpeg_bytes(seed=11)
    resp = await _upload(client, case["id"], checkpoint, headers, data, _capture(nonce))
    assert resp.status == 201, await resp.text()
    first = await resp.json()
    assert "verdict" not in first and "original" not in first["urls"]  # applicant receipt
    again = await _upload(client, case["id"], checkpoint, headers, data, _capture(nonce))
    assert again.status == 200
    assert (await again.json())["id"] == first["id"]
    staff = await make_staff(db, "inspector")
    listing = await (
        await client.get(f"/api/cases/{case['id']}/evidence", headers=staff.headers)
    ).json()
    assert len(listing["items"]) == 1
    item = listing["items"][0]
    assert item["verdict"]["verdict"] == "consistent", item["verdict"]
    assert 10 < item["distance_m"] < 50 and item["time_source"] == "browser"
    assert item["capture"]["accuracy"] == 15 and "nonce" not in item["capture"]
    assert item["verdict"]["policy_version"]


async def test_reused_nonce_with_another_photo_is_a_conflict(client, db, settings):
    case, checkpoint, headers = await _setup(client)
    nonce = await _nonce(client, case["id"], checkpoint, headers)
    ok = await _upload(
        client, case["id"], checkpoint, headers, samples.jpeg_bytes(seed=1), _capture(nonce)
    )
    assert ok.status == 201
    resp = await _upload(
        client, case["id"], checkpoint, headers, samples.jpeg_bytes(seed=2), _capture(nonce)
    )
    assert resp.status == 409
    assert resp.content_type == "application/problem+json"
    assert (await resp.json())["code"] == "nonce_used"


@pytest.mark.parametrize("nonce", ["not-a-real-nonce", "", "x" * 200])
async def test_wrong_nonce_is_refused_before_anything_is_stored(client, db, settings, nonce):
    case, checkpoint, headers = await _setup(client)
    resp = await _upload(
        client, case["id"], checkpoint, headers, samples.jpeg_bytes(), _capture(nonce or None)
    )
    assert resp.status in (403, 422), await resp.text()
    assert resp.content_type == "application/problem+json"
    await _nothing_stored(settings, db)


async def test_nonce_of_another_checkpoint_and_expired_nonce(client, db, settings, clock):
    case, checkpoint, headers = await _setup(client)
    other = case["checkpoints"][1]["id"]
    nonce = await _nonce(client, case["id"], other, headers)
    resp = await _upload(
        client, case["id"], checkpoint, headers, samples.jpeg_bytes(), _capture(nonce)
    )
    assert resp.status == 403
    nonce = await _nonce(client, case["id"], checkpoint, headers)
    clock.advance(timedelta(minutes=settings.evidence_nonce_minutes + 1))
    # The clock of the server is the test's; ingest checks expiry against real time too, so
    # move the record's expiry instead of waiting.
    from zerotrip.media.models import CaptureNonce

    async with db.transaction() as session:
        for rec in (await session.exec(select(CaptureNonce))).all():
            rec.expires_at = rec.issued_at - timedelta(seconds=1)
            session.add(rec)
    resp = await _upload(
        client, case["id"], checkpoint, headers, samples.jpeg_bytes(), _capture(nonce)
    )
    assert resp.status == 410
    await _nothing_stored(settings, db)


async def test_checkpoint_of_another_case_is_not_found(client, db, settings):
    case, _checkpoint, headers = await _setup(client)
    other_case, other_checkpoint, _ = await _setup(client)
    resp = await _upload(client, case["id"], other_checkpoint, headers, samples.jpeg_bytes())
    assert resp.status == 404
    resp = await _upload(client, other_case["id"], other_checkpoint, headers, samples.jpeg_bytes())
    assert resp.status == 404  # another applicant's case looks absent
    await _nothing_stored(settings, db)


def _corrupt_header(data: bytes) -> bytes:
    rng = random.Random(5)
    out = bytearray(data)
    for i in range(24, 700):
        out[i] = rng.randrange(256)
    return bytes(out)


BAD_FILES = {
    "empty": (b"", 422),
    "zip_renamed_jpg": (b"PK\x03\x04" + b"\x00" * 200, 415),
    "html_renamed_jpg": (b"<!doctype html><html><body>hello</body></html>", 415),
    "truncated_jpeg": (samples.jpeg_bytes(seed=3)[:4000], 422),
    "corrupted_jpeg": (_corrupt_header(samples.jpeg_bytes(seed=4)), 422),
    "jpeg_header_only": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", 422),
    "png_30000x30000": (None, 422),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
async def test_bad_files_are_refused_cleanly(client, db, settings, name):
    case, checkpoint, headers = await _setup(client)
    data, status = BAD_FILES[name]
    if data is None:
        data = samples.huge_png_bytes()
    resp = await _upload(client, case["id"], checkpoint, headers, data)
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    body = await resp.json()
    assert body["status"] == status and body["detail"]
    if name == "png_30000x30000":
        assert body["code"] == "pixel_limit"
    await _nothing_stored(settings, db)


async def test_garbage_and_cyclic_exif_are_refused(client, db, settings):
    """A camera never writes an unreadable EXIF block: such a file is damaged or crafted, and is
    refused with a 422 naming the reason, never a 500, with nothing half-stored."""
    case, checkpoint, headers = await _setup(client)
    rng = random.Random(7)
    garbage = b"Exif\x00\x00" + bytes(rng.randrange(256) for _ in range(3000))
    # A TIFF header whose first IFD points at itself, entry count 1, next-IFD pointer to itself.
    cyclic = (
        b"Exif\x00\x00II*\x00\x08\x00\x00\x00"
        + b"\x01\x00"
        + b"\x69\x87\x04\x00\x01\x00\x00\x00\x08\x00\x00\x00"
        + b"\x08\x00\x00\x00"
    )
    for seed, blob in ((21, garbage), (22, cyclic)):
        out = io.BytesIO()
        samples.picture(seed=seed).save(out, "JPEG", exif=blob)
        resp = await _upload(client, case["id"], checkpoint, headers, out.getvalue())
        assert resp.status == 422, await resp.text()
        assert resp.content_type == "application/problem+json"
        body = await resp.json()
        assert body["code"] == "exif_unreadable" and "EXIF" in body["detail"]
    await _nothing_stored(settings, db)


async def test_upload_beyond_the_size_cap_is_413(apps, db):
    small = apps.settings_with(evidence_max_bytes=50_000)
    async with apps.client(small) as client:
        case, checkpoint, headers = await _setup(client)
        big = samples.jpeg_bytes((1600, 1200), seed=8, quality=95)
        assert len(big) > 50_000
        resp = await _upload(client, case["id"], checkpoint, headers, big)
        assert resp.status == 413

        async def chunks():  # no Content-Length: the cap applies while streaming
            for i in range(0, len(big), 8192):
                yield big[i : i + 8192]

        resp = await _upload(client, case["id"], checkpoint, headers, chunks())
        assert resp.status == 413
        assert resp.content_type == "application/problem+json"
    await _nothing_stored(small, db)


async def test_files_are_served_by_audience(client, db):
    case, checkpoint, headers = await _setup(client)
    other_case, _, other_headers = await _setup(client)
    resp = await _upload(
        client, case["id"], checkpoint, headers, samples.jpeg_bytes(exif=samples.exif_for())
    )
    ev = await resp.json()
    staff = await make_staff(db, "inspector")
    for kind in ("display", "thumb"):
        mine = await client.get(f"/api/evidence/{ev['id']}/{kind}", headers=headers)
        assert mine.status == 200 and mine.content_type == "image/jpeg"
        assert b"GPS" not in await mine.read() and b"Exif" not in await mine.read()
        assert (
            await client.get(f"/api/evidence/{ev['id']}/{kind}", headers=other_headers)
        ).status == 404
    assert (await client.get(f"/api/evidence/{ev['id']}/original", headers=headers)).status == 403
    original = await client.get(f"/api/evidence/{ev['id']}/original", headers=staff.headers)
    assert original.status == 200 and b"Exif" in await original.read()
    assert (
        await client.get(f"/api/cases/{other_case['id']}/evidence", headers=headers)
    ).status == 404


async def test_restricted_evidence_is_hidden_from_the_applicant(client, db, settings):
    from zerotrip.cases.models import Checkpoint

    case, checkpoint, headers = await _setup(client)
    async with db.transaction() as session:
        cp = await session.get(Checkpoint, checkpoint)
        cp.restricted = True
        session.add(cp)
    # The applicant cannot upload there (tests/security/test_evidence_binding.py); staff can.
    staff = await make_staff(db, "inspector")
    resp = await _upload(client, case["id"], checkpoint, staff.headers, samples.jpeg_bytes())
    assert resp.status == 201
    ev = await resp.json()
    listing = await (await client.get(f"/api/cases/{case['id']}/evidence", headers=headers)).json()
    assert listing["items"] == []
    assert (await client.get(f"/api/evidence/{ev['id']}/display", headers=headers)).status == 404
    assert (
        await client.get(f"/api/evidence/{ev['id']}/display", headers=staff.headers)
    ).status == 200
