"""Analysis and derived images on real files: limits, orientation, privacy, ICC, draft decoding,
and the worker's time limit."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from tests.media import samples
from zerotrip.media.analyse import analyse_file
from zerotrip.media.derive import derive
from zerotrip.media.phash import dhash64, hamming
from zerotrip.media.sniff import sniff_bytes
from zerotrip.media.worker import AnalysisPool, Limits
from zerotrip.problems import InvalidInput, UnsupportedMedia


def _analyse(tmp_path: Path, data: bytes, fmt: str = "JPEG", max_pixels: int = 120_000_000):
    path = tmp_path / "in"
    path.write_bytes(data)
    return analyse_file(path, "image", fmt, tmp_path, max_pixels)


def test_derived_copies_carry_no_exif_or_gps_but_keep_icc(tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    im = samples.picture((2000, 1500), 5)
    out = io.BytesIO()
    im.save(out, "JPEG", exif=samples.exif_for().tobytes(), icc_profile=icc)
    result = _analyse(tmp_path, out.getvalue())
    assert result["ok"] and result["facts"]["gps"]
    for kind in ("display", "thumb"):
        data = Path(result[kind]["path"]).read_bytes()
        assert b"Exif" not in data and b"GPS" not in data and b"xmp" not in data.lower()
        copy = Image.open(io.BytesIO(data))
        assert copy.getexif() == {} and copy.info.get("icc_profile") == icc


def _segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, first bytes of the payload) of every JPEG segment before the scan data."""
    assert data[:2] == b"\xff\xd8"
    out, at = [], 2
    while data[at] == 0xFF and data[at + 1] != 0xDA:
        marker, length = data[at + 1], int.from_bytes(data[at + 2 : at + 4], "big")
        out.append((marker, data[at + 4 : at + 4 + min(length - 2, 12)]))
        at += 2 + length
    return out


def _with_segments(jpeg: bytes, *segments: tuple[int, bytes]) -> bytes:
    extra = b"".join(
        b"\xff" + bytes([m]) + (len(body) + 2).to_bytes(2, "big") + body for m, body in segments
    )
    return jpeg[:2] + extra + jpeg[2:]


@pytest.mark.parametrize("size", [(2000, 1500), (800, 600)])  # resized, and kept at its size
def test_derived_copies_carry_only_pixels_and_icc(tmp_path, size):
    """COM (camera text, an HTML payload from a polyglot), XMP, Photoshop and vendor segments of
    the original never reach a display copy or a thumbnail; only the encoder's own JFIF header
    and the ICC profile do."""
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    samples.picture(size, 6).save(out, "JPEG", icc_profile=icc, dpi=(300, 300))
    hostile = _with_segments(
        out.getvalue(),
        (0xFE, b"<script>alert(1)</script> CAMERA TEXT"),
        (0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>secret</x:xmpmeta>"),
        (0xED, b"Photoshop 3.0\x008BIM secret"),
        (0xEC, b"Ducky secret"),
        (0xEB, b"JP vendor secret"),
    )
    result = _analyse(tmp_path, hostile)
    assert result["ok"], result
    for kind in ("display", "thumb"):
        data = Path(result[kind]["path"]).read_bytes()
        assert b"secret" not in data and b"script" not in data and b"CAMERA" not in data
        app = [(m, head) for m, head in _segments(data) if m == 0xFE or 0xE0 <= m <= 0xEF]
        assert [m for m, _ in app] in ([0xE0, 0xE2], [0xE0, 0xE2, 0xE2]), app
        assert app[0][1].startswith(b"JFIF\x00") and app[1][1].startswith(b"ICC_PROFILE")
        assert Image.open(io.BytesIO(data)).info.get("dpi") in (None, (1, 1), (72, 72))


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_orientation_is_applied_after_the_small_decode(tmp_path, orientation):
    base = samples.picture((1600, 1200), 9)
    data = samples.jpeg_bytes(im=base, exif=samples.exif_for(orientation=orientation))
    result = _analyse(tmp_path, data)
    display = Image.open(result["display"]["path"])
    upright = {
        1: base,
        3: base.rotate(180),
        6: base.rotate(-90, expand=True),
        8: base.rotate(90, expand=True),
    }[orientation]
    assert display.size == upright.size
    assert hamming(dhash64(display), dhash64(upright)) <= 4
    assert hamming(result["dhash"], dhash64(upright)) <= 4


def test_thumbnails_use_draft_decoding():
    """After draft the JPEG decoder delivers a 1/4-scale image: the full size is never decoded."""
    im = Image.open(io.BytesIO(samples.jpeg_bytes((4000, 3000), seed=6)))
    derived_sizes = []
    original_draft = im.draft

    def spy(mode, size):
        result = original_draft(mode, size)
        derived_sizes.append(im.size)
        return result

    im.draft = spy  # observe Pillow's own draft call; derive() must call it before decoding
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        out = derive(im, 1, Path(work))
    assert derived_sizes == [(2000, 1500)]  # decoded at 1/2 scale for a 1600 px target
    assert (out.display.width, out.display.height) == (1600, 1200)
    assert (out.thumb.width, out.thumb.height) == (320, 240)


def test_pixel_limit_is_a_refusal(tmp_path):
    result = _analyse(tmp_path, samples.png_bytes((2000, 2000)), "PNG", max_pixels=1_000_000)
    assert result == {"ok": False, "code": "pixel_limit", "detail": result["detail"]}
    heic = samples.heic_bytes((1200, 1000))
    assert _analyse(tmp_path, heic, "HEIF", max_pixels=1_000_000)["code"] == "pixel_limit"


def test_embedded_thumbnail_of_another_picture_is_detected(tmp_path):
    main, other = samples.picture((1200, 900), 41), samples.picture((1200, 900), 42)
    honest = _analyse(tmp_path, samples.jpeg_with_thumbnail(main, main))
    edited = _analyse(tmp_path, samples.jpeg_with_thumbnail(main, other))
    assert hamming(honest["embedded_thumb_dhash"], honest["dhash_unoriented"]) <= 6
    assert hamming(edited["embedded_thumb_dhash"], edited["dhash_unoriented"]) > 12


def test_heic_metadata_is_read_from_its_exif_block(tmp_path):
    result = _analyse(tmp_path, samples.heic_bytes(exif=samples.exif_for()), "HEIF")
    assert result["ok"] and result["facts"]["make"] == "Apple"
    assert result["facts"]["captured_at"]


@pytest.mark.parametrize(
    ("head", "media_type"),
    [
        (b"\xff\xd8\xff\xe1", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypheic", "image/heic"),
        (b"\x00\x00\x00\x18ftypisom", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  ", "video/quicktime"),
        (b"\x1a\x45\xdf\xa3\x9fB\x82\x84webm", "video/webm"),
    ],
)
def test_sniffing_by_magic_bytes(head, media_type):
    assert sniff_bytes(head).media_type == media_type


@pytest.mark.parametrize("head", [b"PK\x03\x04", b"<html>", b"GIF89a", b"%PDF-1.7", b"BM"])
def test_other_formats_are_unsupported(head):
    with pytest.raises(UnsupportedMedia):
        sniff_bytes(head)
    with pytest.raises(InvalidInput):
        sniff_bytes(b"")


def test_worker_past_its_time_limit_is_killed_and_replaced(tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(samples.png_bytes((4000, 3000)))  # PNG: no draft, a full decode
    pool = AnalysisPool(1, Limits(timeout_s=0.05, memory_bytes=0, max_pixels=120_000_000))
    try:
        outcome = pool.run_blocking(big, "image", "PNG", tmp_path)
        assert outcome["ok"] is False and outcome["code"] == "timeout"
        pool.limits = Limits(timeout_s=30, memory_bytes=0, max_pixels=120_000_000)
        small = tmp_path / "small.jpg"
        small.write_bytes(samples.jpeg_bytes((320, 240)))
        assert pool.run_blocking(small, "image", "JPEG", tmp_path)["ok"]
    finally:
        pool.close()


def test_worker_memory_cap_turns_a_huge_decode_into_a_refusal(tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(samples.huge_png_bytes(12000, 12000))  # 144 MP: 432 MB as RGB
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(samples.jpeg_bytes((4000, 3000)))  # 12 MP decodes within the same cap
    cap = 600 * 1024 * 1024
    pool = AnalysisPool(1, Limits(timeout_s=60, memory_bytes=cap, max_pixels=200_000_000))
    try:
        outcome = pool.run_blocking(big, "image", "PNG", tmp_path)
        assert outcome["ok"] is False and outcome["code"] in ("memory_limit", "crashed")
        assert pool.run_blocking(photo, "image", "JPEG", tmp_path)["ok"]
    finally:
        pool.close()


def test_warm_starts_every_worker_before_the_first_job(tmp_path):
    pool = AnalysisPool(2, Limits(timeout_s=30, memory_bytes=0, max_pixels=120_000_000))
    try:
        assert not pool._all
        pool.warm()
        deadline = time.monotonic() + 30
        while len(pool._all) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        started = {w.process.pid for w in pool._all}
        assert len(started) == 2 and all(w.process.is_alive() for w in pool._all)
        photo = tmp_path / "photo.jpg"
        photo.write_bytes(samples.jpeg_bytes((640, 480)))
        assert pool.run_blocking(photo, "image", "JPEG", tmp_path)["ok"]
        assert {w.process.pid for w in pool._all} == started  # the job ran on a warmed worker
    finally:
        pool.close()
