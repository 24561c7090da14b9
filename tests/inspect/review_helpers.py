"""Review test fixtures: real JPEGs made with Pillow, evidence stored in the real LocalStorage, and
cases walked to the inspection through the API."""

from __future__ import annotations

import hashlib
import io
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from PIL import Image, ImageDraw

from tests.factories import Staff, act, apply, make_staff
from zerotrip.cases.audit import Actor, append_event
from zerotrip.cases.store import lock_case
from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.media.models import Evidence, TrustVerdict
from zerotrip.media.storage_local import LocalStorage


def photo(width: int = 1200, height: int = 900, seed: int = 0, orientation: int = 1) -> bytes:
    """A JPEG with a smooth, uniform-ish background, camera-like EXIF and an orientation tag."""
    im = Image.new("RGB", (width, height), (120 + seed % 60, 140, 160))
    d = ImageDraw.Draw(im)
    for i in range(0, width, 80):
        d.line([(i, 0), (i, height)], fill=(110 + seed % 60, 130, 150), width=2)
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0x0112] = orientation
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


async def add_evidence(
    db: Database,
    settings: Settings,
    case_id: int,
    checkpoint_id: int | None,
    data: bytes,
    *,
    kind: str = "photo",
    media_type: str = "image/jpeg",
    restricted: bool = False,
    round: int = 1,
) -> Evidence:
    """Store an original write-once and record it, as the ingest pipeline does."""
    sha = hashlib.sha256(data).hexdigest()
    key = f"originals/{sha[:2]}/{sha}"
    storage = LocalStorage(settings.media_dir)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "upload"
        source.write_bytes(data)
        await storage.put_file(key, source)
    now = datetime.now(UTC)
    async with db.transaction() as session:
        case = await lock_case(session, case_id)
        ev = Evidence(
            case_id=case_id,
            checkpoint_id=checkpoint_id,
            kind=kind,
            source="capture",
            sha256=sha,
            blob_key=key,
            media_type=media_type,
            size=len(data),
            received_at=now,
            captured_at=now - timedelta(seconds=5),
            actor_kind="applicant",
            round=round,
            restricted=restricted,
            capture={"lat": 30.2741, "lon": 120.1551, "accuracy": 12},
        )
        session.add(ev)
        await session.flush()
        session.add(
            TrustVerdict(
                evidence_id=ev.id,
                policy_version="p1",
                verdict="consistent",
                created_at=now,
                findings=[
                    {
                        "code": "location.within_site",
                        "level": "ok",
                        "reason": "38 m from the premises (accuracy 12 m)",
                    }
                ],
            )
        )
        append_event(session, case, Actor("applicant"), "evidence.received", {"sha256": sha})
    return ev


async def inspecting_case(client: TestClient, db: Database) -> dict[str, Any]:
    """A case accepted and under inspection, with its staff."""
    clerk = await make_staff(db, "clerk")
    inspector = await make_staff(db, "inspector")
    case, token = await apply(client)
    await act(client, case["id"], "prereview", clerk.headers, outcome="accept")
    view = await act(client, case["id"], "start_inspection", inspector.headers)
    return {"id": case["id"], "view": view, "token": token, "clerk": clerk, "inspector": inspector}


async def verdict(
    client: TestClient, staff: Staff, case_id: int, checkpoint_id: int, value: str, **extra: Any
) -> Any:
    body = {
        "verdict": value,
        "comment": extra.pop("comment", "" if value == "pass" else "问题"),
        **extra,
    }
    return await client.post(
        f"/api/cases/{case_id}/checkpoints/{checkpoint_id}/verdict",
        json=body,
        headers=staff.headers,
    )


def box_item(item_id: str, kind: str, x: float, y: float, w: float, h: float) -> dict[str, Any]:
    return {
        "id": item_id,
        "x-shape": {"type": kind, "x": x, "y": y, "w": w, "h": h},
        "x-style": {"stroke": "#ff0000", "width": 6},
    }
