"""ingest_file end to end on real files: stored by hash, analysed, judged, derived, audited."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from tests.factories import apply
from tests.media import samples
from zerotrip.cases.audit import Actor, case_events, verify_case
from zerotrip.media.ingest import ingest_file
from zerotrip.media.keys import display_key, original_key, thumb_key
from zerotrip.media.models import Evidence, TrustVerdict
from zerotrip.media.storage_local import LocalStorage
from zerotrip.problems import InvalidInput, UnsupportedMedia

APPLICANT = Actor("applicant", "link:1", "applicant")


@pytest.fixture
def storage(settings):
    return LocalStorage(settings.media_dir)


async def _case(client):
    case, _token = await apply(client)
    return case, case["checkpoints"][0]["id"]


def _write(tmp_path: Path, data: bytes, name: str = "upload.bin") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _codes(verdict: TrustVerdict) -> set[str]:
    return {f["code"] for f in verdict.findings}


async def _verdict(db, evidence_id: int) -> TrustVerdict:
    async with db.session() as session:
        rows = await session.exec(
            select(TrustVerdict).where(TrustVerdict.evidence_id == evidence_id)
        )
        return rows.one()


async def test_jpeg_is_stored_judged_derived_and_audited(client, db, settings, storage, tmp_path):
    case, checkpoint = await _case(client)
    data = samples.jpeg_bytes((2400, 1800), exif=samples.exif_for(orientation=6))
    path = _write(tmp_path, data)
    ev = await ingest_file(
        db,
        storage,
        settings,
        case_id=case["id"],
        checkpoint_id=checkpoint,
        path=path,
        origin="gallery",
        actor=APPLICANT,
    )
    assert not path.exists()
    assert await storage.read_bytes(original_key(ev.sha256)) == data
    assert (ev.width, ev.height) == (1800, 2400)  # orientation 6: portrait
    display = Image.open(io.BytesIO(await storage.read_bytes(display_key(ev.sha256))))
    thumb = Image.open(io.BytesIO(await storage.read_bytes(thumb_key(ev.sha256))))
    assert display.size == (1200, 1600) and thumb.size == (240, 320)
    assert display.getexif() == {} and "exif" not in display.info
    verdict = await _verdict(db, ev.id)
    assert verdict.verdict == "needs_review"  # a gallery upload
    assert _codes(verdict) == {"gallery_upload"}
    assert ev.captured_at is not None and ev.meta["distance_m"] < 5
    async with db.session() as session:
        kinds = [e.kind for e in await case_events(session, case["id"])]
        assert (await verify_case(session, case["id"])).ok
    assert kinds[-3:] == ["evidence.received", "evidence.verdict", "evidence.derived"]


async def test_same_bytes_twice_are_one_object_and_one_row(client, db, settings, storage, tmp_path):
    case, checkpoint = await _case(client)
    data = samples.jpeg_bytes(exif=samples.exif_for())
    kw = dict(case_id=case["id"], checkpoint_id=checkpoint, origin="gallery", actor=APPLICANT)
    first = await ingest_file(db, storage, settings, path=_write(tmp_path, data), **kw)
    again = await ingest_file(db, storage, settings, path=_write(tmp_path, data), **kw)
    assert again.id == first.id
    originals = list((settings.media_dir / "originals").rglob("*"))
    assert len([p for p in originals if p.is_file()]) == 1


async def test_heic_png_and_webm_are_accepted(client, db, settings, storage, tmp_path):
    case, checkpoint = await _case(client)
    kw = dict(case_id=case["id"], checkpoint_id=checkpoint, origin="gallery", actor=APPLICANT)
    heic = await ingest_file(
        db,
        storage,
        settings,
        path=_write(tmp_path, samples.heic_bytes(exif=samples.exif_for())),
        **kw,
    )
    png = await ingest_file(db, storage, settings, path=_write(tmp_path, samples.png_bytes()), **kw)
    video = await ingest_file(
        db,
        storage,
        settings,
        path=_write(tmp_path, samples.webm_bytes()),
        **{**kw, "origin": "recording"},
    )
    assert (heic.media_type, heic.kind) == ("image/heic", "photo")
    assert heic.meta["facts"]["gps"]["lat"] == pytest.approx(samples.PREMISES[0], abs=1e-4)
    assert (png.media_type, png.width) == ("image/png", 640)
    assert (video.media_type, video.kind) == ("video/webm", "recording")
    assert video.duration_s == pytest.approx(1.0, abs=0.2)
    assert await storage.exists(thumb_key(video.sha256))


async def test_refused_and_unsupported_files_leave_no_row(client, db, settings, storage, tmp_path):
    case, checkpoint = await _case(client)
    kw = dict(case_id=case["id"], checkpoint_id=checkpoint, origin="gallery", actor=APPLICANT)
    with pytest.raises(UnsupportedMedia):
        await ingest_file(db, storage, settings, path=_write(tmp_path, b"PK\x03\x04zip"), **kw)
    truncated = samples.jpeg_bytes()[:5000]
    with pytest.raises(InvalidInput) as err:
        await ingest_file(db, storage, settings, path=_write(tmp_path, truncated), **kw)
    assert err.value.extensions["code"] == "undecodable"
    async with db.session() as session:
        assert (await session.exec(select(Evidence))).all() == []
        kinds = [e.kind for e in await case_events(session, case["id"])]
    assert kinds[-1] == "evidence.refused"
    leftovers = [p for p in (settings.media_dir / "incoming").rglob("*")]
    assert leftovers == []


async def test_old_far_edited_photo_is_inconsistent(client, db, settings, storage, tmp_path):
    case, checkpoint = await _case(client)
    exif = samples.exif_for(
        taken=datetime.now(UTC) - timedelta(days=30),
        gps=(31.2304, 121.4737),
        software="Adobe Photoshop 25.0",
    )
    ev = await ingest_file(
        db,
        storage,
        settings,
        case_id=case["id"],
        checkpoint_id=checkpoint,
        path=_write(tmp_path, samples.jpeg_bytes(exif=exif)),
        origin="gallery",
        actor=APPLICANT,
    )
    verdict = await _verdict(db, ev.id)
    assert verdict.verdict == "inconsistent"
    assert {"time_outside_window", "location_far", "editing_software"} <= _codes(verdict)
    far = next(f for f in verdict.findings if f["code"] == "location_far")
    assert far["params"]["distance_m"] > 100_000 and "米" in far["zh"] and " m " in far["en"]
