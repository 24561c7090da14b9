"""Review test fixtures: real JPEGs made with Pillow, evidence stored in the real LocalStorage, and
cases walked to the inspection through the API."""

from __future__ import annotations

import hashlib
import io
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from PIL import Image, ImageDraw

from tests.factories import Staff, act, make_staff, walk
from zerotrip.cases.audit import append_event
from zerotrip.cases.store import lock_case
from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.evidence.intake import ingest_file
from zerotrip.kit.actor import Actor
from zerotrip.media.ingest import analysis_pools
from zerotrip.media.keys import original_key
from zerotrip.media.models import Evidence
from zerotrip.media.storage_local import LocalStorage


def photo(width: int = 1200, height: int = 900, seed: int = 0, orientation: int = 1) -> bytes:
    """A JPEG with a smooth, uniform-ish background, camera-like EXIF and an orientation tag."""
    im = Image.new("RGB", (width, height), (120, 140, 160))
    d = ImageDraw.Draw(im)
    for i in range(0, width, 80):
        d.line([(i, 0), (i, height)], fill=(110, 130, 150), width=2)
    d.rectangle(
        (width - 40 - seed * 7 % 300, 8, width - 8, 30), fill=(60 + seed * 29 % 150, 90, 60)
    )
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
) -> Evidence:
    """Ingest through the real evidence pipeline (images), or record a recording's bytes as the
    live-session recorder would (random bytes are not a decodable video)."""
    storage = LocalStorage(settings.media_dir)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "upload"
        source.write_bytes(data)
        if kind == "photo":
            pools = analysis_pools(settings)  # this helper runs outside any app's services
            try:
                return await ingest_file(
                    db,
                    storage,
                    settings,
                    pools=pools,
                    case_id=case_id,
                    checkpoint_id=checkpoint_id,
                    path=source,
                    origin="capture",
                    actor=Actor("applicant", "", "applicant"),
                    # at the premises, just now: consistent, so a verdict may rest on it as is
                    capture={
                        "lat": 30.2741,
                        "lon": 120.1551,
                        "accuracy": 12,
                        "taken_at": int(time.time() * 1000),
                    },
                    restricted=restricted,
                )
            finally:
                pools.close()
        sha = hashlib.sha256(data).hexdigest()
        await storage.put_file(original_key(sha), source)
    now = datetime.now(UTC)
    async with db.transaction() as session:
        case = await lock_case(session, case_id)
        ev = Evidence(
            case_id=case_id,
            checkpoint_id=checkpoint_id,
            kind=kind,
            source="recording",
            sha256=sha,
            blob_key=original_key(sha),
            media_type=media_type,
            size=len(data),
            received_at=now,
            actor_kind="system",
            restricted=restricted,
        )
        session.add(ev)
        await session.flush()
        append_event(session, case, Actor.system(), "evidence.received", {"sha256": sha})
    return ev


async def inspecting_case(client: TestClient, db: Database) -> dict[str, Any]:
    """A case accepted and under inspection, with its staff."""
    clerk = await make_staff(db, "clerk")
    inspector = await make_staff(db, "inspector")
    case = await walk(client, clerk, inspector, until="inspecting")
    return {
        "id": case.id,
        "view": case.view,
        "token": case.token,
        "clerk": clerk,
        "inspector": inspector,
    }


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


async def passed_case_with_annotations(
    client: TestClient, db: Database, settings: Settings
) -> tuple[dict[str, Any], Evidence, Evidence]:
    """A case whose inspection passed, with an annotated photo and a restricted one."""
    ctx = await inspecting_case(client, db)
    cid, inspector = ctx["id"], ctx["inspector"]
    cps = ctx["view"]["checkpoints"]
    ev = await add_evidence(db, settings, cid, cps[0]["id"], photo())
    secret = await add_evidence(db, settings, cid, cps[0]["id"], photo(seed=9), restricted=True)
    items = [
        box_item("r", "rect", 0.1, 0.1, 0.5, 0.5) | {"x-style": {"stroke": "#ff0000", "width": 16}},
        {"id": "t", "x-shape": {"type": "text", "x": 0.1, "y": 0.7, "text": "门牌清晰"}},
    ]
    resp = await client.put(
        f"/api/review/evidence/{ev.id}/annotations",
        json={"base_version": 0, "items": items},
        headers=inspector.headers,
    )
    assert resp.status == 201
    for cp in cps:
        await verdict(
            client, inspector, cid, cp["id"], "pass", evidence_ids=[ev.id] if cp is cps[0] else []
        )
    await act(client, cid, "record_inspection", inspector.headers, result="pass")
    return ctx, ev, secret
