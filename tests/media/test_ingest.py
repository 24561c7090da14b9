"""ingest_file end to end on real files: stored by hash, analysed, judged, derived, audited."""

from __future__ import annotations

import asyncio
import dataclasses
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from tests.factories import apply
from tests.media import samples
from zerotrip.api.keys import SERVICES
from zerotrip.cases.audit import case_events, verify_case
from zerotrip.evidence.intake import ingest_file
from zerotrip.kit.actor import Actor
from zerotrip.media.ingest import analysis_pools
from zerotrip.media.keys import display_key, original_key, thumb_key
from zerotrip.media.models import Evidence, TrustVerdict
from zerotrip.problems import InvalidInput, UnsupportedMedia

APPLICANT = Actor("applicant", "link:1", "applicant")


@pytest.fixture
def storage(storage_kind):
    """Local by default; tests marked ``BOTH_STORES`` also run with S3 (SeaweedFS) as the store."""
    return storage_kind


BOTH_STORES = pytest.mark.parametrize("storage_kind", ["local", "s3"], indirect=True)


@pytest.fixture
def pools(client):
    """The app's own analysis pools (closed with it)."""
    return client.app[SERVICES].analysis


async def _case(client):
    case, _token = await apply(client)
    return case, case["checkpoints"][0]["id"]


def _write(tmp_path: Path, data: bytes, name: str = "upload.bin") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


async def _ingest(db, storage, pools, settings, tmp_path, case, checkpoint, data, origin="gallery"):
    """Ingest ``data`` for a checkpoint of ``case`` as the applicant would send it."""
    return await ingest_file(
        db,
        storage,
        settings,
        pools=pools,
        case_id=case["id"],
        checkpoint_id=checkpoint,
        path=_write(tmp_path, data),
        origin=origin,
        actor=APPLICANT,
    )


def _codes(verdict: TrustVerdict) -> set[str]:
    return {f["code"] for f in verdict.findings}


async def _verdict(db, evidence_id: int) -> TrustVerdict:
    async with db.session() as session:
        rows = await session.exec(
            select(TrustVerdict).where(TrustVerdict.evidence_id == evidence_id)
        )
        return rows.one()


@BOTH_STORES
async def test_jpeg_is_stored_judged_derived_and_audited(
    client, db, settings, storage, pools, tmp_path
):
    case, checkpoint = await _case(client)
    data = samples.jpeg_bytes((2400, 1800), exif=samples.exif_for(orientation=6))
    path = _write(tmp_path, data)
    ev = await ingest_file(
        db,
        storage,
        settings,
        pools=pools,
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


async def test_same_bytes_twice_are_one_object_and_one_row(
    client, db, settings, storage, pools, tmp_path
):
    case, checkpoint = await _case(client)
    data = samples.jpeg_bytes(exif=samples.exif_for())
    kw = dict(case_id=case["id"], checkpoint_id=checkpoint, origin="gallery", actor=APPLICANT)
    first = await ingest_file(db, storage, settings, pools=pools, path=_write(tmp_path, data), **kw)
    again = await ingest_file(db, storage, settings, pools=pools, path=_write(tmp_path, data), **kw)
    assert again.id == first.id
    originals = list((settings.media_dir / "originals").rglob("*"))
    assert len([p for p in originals if p.is_file()]) == 1


@BOTH_STORES
async def test_heic_png_and_webm_are_accepted(client, db, settings, storage, pools, tmp_path):
    case, checkpoint = await _case(client)
    kw = dict(case_id=case["id"], checkpoint_id=checkpoint, origin="gallery", actor=APPLICANT)
    heic = await ingest_file(
        db,
        storage,
        settings,
        pools=pools,
        path=_write(tmp_path, samples.heic_bytes(exif=samples.exif_for())),
        **kw,
    )
    png = await ingest_file(
        db, storage, settings, pools=pools, path=_write(tmp_path, samples.png_bytes()), **kw
    )
    video = await ingest_file(
        db,
        storage,
        settings,
        pools=pools,
        path=_write(tmp_path, samples.webm_bytes()),
        **{**kw, "origin": "recording"},
    )
    assert (heic.media_type, heic.kind) == ("image/heic", "photo")
    assert heic.meta["facts"]["gps"]["lat"] == pytest.approx(samples.PREMISES[0], abs=1e-4)
    assert (png.media_type, png.width) == ("image/png", 640)
    assert (video.media_type, video.kind) == ("video/webm", "recording")
    assert video.duration_s == pytest.approx(1.0, abs=0.2)
    assert await storage.exists(thumb_key(video.sha256))


async def test_refused_and_unsupported_files_leave_no_row(
    client, db, settings, storage, pools, tmp_path
):
    case, checkpoint = await _case(client)
    kw = dict(case_id=case["id"], checkpoint_id=checkpoint, origin="gallery", actor=APPLICANT)
    with pytest.raises(UnsupportedMedia):
        await ingest_file(
            db, storage, settings, pools=pools, path=_write(tmp_path, b"PK\x03\x04zip"), **kw
        )
    truncated = samples.jpeg_bytes()[:5000]
    with pytest.raises(InvalidInput) as err:
        await ingest_file(
            db, storage, settings, pools=pools, path=_write(tmp_path, truncated), **kw
        )
    assert err.value.extensions["code"] == "undecodable"
    async with db.session() as session:
        assert (await session.exec(select(Evidence))).all() == []
        kinds = [e.kind for e in await case_events(session, case["id"])]
    assert kinds[-1] == "evidence.refused"
    leftovers = [p for p in (settings.media_dir / "incoming").rglob("*")]
    assert leftovers == []


async def test_old_far_edited_photo_is_inconsistent(client, db, settings, storage, pools, tmp_path):
    case, checkpoint = await _case(client)
    exif = samples.exif_for(
        taken=datetime.now(UTC) - timedelta(days=30),
        gps=(31.2304, 121.4737),
        software="Adobe Photoshop 25.0",
    )
    ev = await _ingest(
        db, storage, pools, settings, tmp_path, case, checkpoint, samples.jpeg_bytes(exif=exif)
    )
    verdict = await _verdict(db, ev.id)
    assert verdict.verdict == "inconsistent"
    assert {"time_outside_window", "location_far", "editing_software"} <= _codes(verdict)
    far = next(f for f in verdict.findings if f["code"] == "location_far")
    assert far["params"]["distance_m"] > 100_000 and "米" in far["zh"] and " m " in far["en"]


async def test_reuse_in_another_case_is_found_exactly_and_perceptually(
    client, db, settings, storage, pools, tmp_path
):
    first_case, first_cp = await _case(client)
    second_case, second_cp = await _case(client)
    base = samples.picture((1600, 1200), 77)
    original = samples.jpeg_bytes(im=base, exif=samples.exif_for())
    kw = dict(origin="gallery", actor=APPLICANT)
    await ingest_file(
        db,
        storage,
        settings,
        pools=pools,
        case_id=first_case["id"],
        checkpoint_id=first_cp,
        path=_write(tmp_path, original),
        **kw,
    )
    same = await ingest_file(
        db,
        storage,
        settings,
        pools=pools,
        case_id=second_case["id"],
        checkpoint_id=second_cp,
        path=_write(tmp_path, original),
        **kw,
    )
    resized = base.resize((800, 600))
    reencoded = await ingest_file(
        db,
        storage,
        settings,
        pools=pools,
        case_id=second_case["id"],
        checkpoint_id=second_cp,
        path=_write(tmp_path, samples.jpeg_bytes(im=resized, quality=60)),
        **kw,
    )
    exact = await _verdict(db, same.id)
    assert "duplicate_other_case" in _codes(exact) and exact.verdict == "inconsistent"
    near = await _verdict(db, reencoded.id)
    similar = next(f for f in near.findings if f["code"] == "similar_other_case")
    assert (
        similar["params"]["distance"] <= 4
        and similar["params"]["reference"] == first_case["reference"]
    )
    assert "same premises" in similar["en"]  # both applications name the same address


async def test_a_newer_policy_adds_a_verdict_and_never_rewrites_the_old(
    client, db, settings, storage, pools, tmp_path
):
    from zerotrip.evidence.judging import reassess
    from zerotrip.media.trust import POLICY_VERSION

    case, checkpoint = await _case(client)
    ev = await _ingest(
        db, storage, pools, settings, tmp_path, case, checkpoint, samples.jpeg_bytes()
    )
    async with db.transaction() as session:  # pretend it was judged under an older policy
        old = (await session.exec(select(TrustVerdict))).one()
        old.policy_version, old.verdict = "2025-01.0", "consistent"
        session.add(old)
    newer = await reassess(db, settings, ev.id, Actor.system())
    again = await reassess(db, settings, ev.id, Actor.system())
    assert newer.id == again.id and newer.policy_version == POLICY_VERSION
    async with db.session() as session:
        rows = (await session.exec(select(TrustVerdict).order_by(TrustVerdict.id))).all()
        assert [(r.policy_version, r.verdict) for r in rows] == [
            ("2025-01.0", "consistent"),
            (POLICY_VERSION, "needs_review"),
        ]
        assert (await verify_case(session, case["id"])).ok


async def test_derived_copies_are_regenerated_identically_from_the_original(
    client, db, settings, storage, pools, tmp_path
):
    from zerotrip.media.ingest import rederive

    case, checkpoint = await _case(client)
    ev = await _ingest(
        db,
        storage,
        pools,
        settings,
        tmp_path,
        case,
        checkpoint,
        samples.jpeg_bytes(exif=samples.exif_for(orientation=8)),
    )
    for key in (display_key(ev.sha256), thumb_key(ev.sha256)):
        storage.local_path(key).unlink()
    again = await rederive(storage, settings, ev, pools=pools)
    assert again == ev.meta["derived"]
    assert await storage.exists(display_key(ev.sha256)) and await storage.exists(
        thumb_key(ev.sha256)
    )


async def test_a_still_does_not_queue_behind_recordings(settings, tmp_path):
    """Recordings are analysed in their own lane: with one interactive worker, a still sent
    after three slow recordings does not wait for them (in one queue it would come last)."""
    one = analysis_pools(dataclasses.replace(settings, evidence_workers=1))
    one.warm("live_still", "recording")  # no worker start-up in the race
    finished: list[str] = []

    async def analyse(name: str, data: bytes, fmt: str, origin: str) -> None:
        folder = tmp_path / name
        folder.mkdir()
        result = await one.lane(origin).run(_write(folder, data), "image", fmt, folder)
        assert result["ok"], result
        finished.append(name)

    slow = [samples.png_bytes((4000, 3000), seed=n) for n in range(3)]  # full decodes, no draft
    try:
        recordings = [
            asyncio.create_task(analyse(f"recording-{n}", data, "PNG", "recording"))
            for n, data in enumerate(slow)
        ]
        await asyncio.sleep(0.3)  # the recordings are queued for analysis first
        await analyse("still", samples.jpeg_bytes((640, 480), seed=9), "JPEG", "live_still")
        await asyncio.gather(*recordings)
    finally:
        one.close()
    # The recordings wait for each other in their single worker; the still waits for none of
    # them (on a loaded machine it may land after recording-1, never after them all).
    assert finished.index("still") < finished.index(f"recording-{len(slow) - 1}"), finished
