"""Evidence binding: what an applicant's upload may claim, and where it may go.

Attacks from the security review, against a real server: a gallery file labelled as a live
photo, an upload into the restricted identity checkpoint. Each must be refused with a problem
response, leaving no evidence row and nothing in storage; an honest upload must still work.
"""

from __future__ import annotations

import json
import time

import pytest
from sqlmodel import select

from tests.factories import applicant_headers, make_staff, walk
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
