"""Inspector review benchmark: flattening, the signed report and bundle verification, each against
the naive way measured in the same run.

* ``flatten``: a 1600 px display copy with 20 shapes (rectangles, ellipses, arrows, freehand,
  Chinese labels, blur regions) drawn by :func:`zerotrip.review.flatten.flatten_bytes`; naive:
  the same drawing started from the 12-megapixel original decoded in full (no ``draft``, which is
  what an uncached render without a display copy costs);
* ``report``: :func:`zerotrip.review.report.render_report` for 20 checkpoints, each with an
  annotated image from the flatten cache; naive: every image flattened again from its original
  before rendering (no cache);
* ``bundle verify``: :func:`zerotrip.review.bundle_verify.verify_bundle` streaming each member
  through SHA-256 in 1 MiB chunks; naive: reading every member whole into memory first. The
  bundle is a real export (SQLite case, LocalStorage originals, audit chain) of ~120 MB of
  originals.

Last line: ``review: flatten <A> ms, report <B> ms for 20 checkpoints, bundle verify <C> MB/s``.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image, ImageDraw

from zerotrip.cases.audit import append_event
from zerotrip.cases.catalogue import load_catalogue
from zerotrip.cases.store import Application, create_case, lock_case
from zerotrip.config import Settings
from zerotrip.db import Database, migrate
from zerotrip.kit.actor import Actor
from zerotrip.media.keys import original_key
from zerotrip.media.models import Evidence
from zerotrip.media.storage_local import LocalStorage
from zerotrip.review.annotations import AnnotationInput, to_document
from zerotrip.review.bundle import export_bundle
from zerotrip.review.bundle_verify import verify_bundle
from zerotrip.review.flatten import flatten_bytes
from zerotrip.review.fonts import find_font
from zerotrip.review.report import CheckpointFacts, EvidenceFacts, ReportData, render_report


def phone_jpeg(width: int, height: int, seed: int) -> bytes:
    """A photo-like JPEG: gradients and edges (JPEG cost depends on content), EXIF orientation."""
    im = Image.radial_gradient("L").resize((width, height)).convert("RGB")
    d = ImageDraw.Draw(im)
    for i in range(0, width, 37):
        d.line([(i, 0), (width - i, height)], fill=((i * 7 + seed) % 255, 90, 160), width=3)
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"
    exif[0x0112] = 1
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def twenty_shapes() -> dict:
    items = []
    for n in range(20):
        x, y = (n % 5) * 0.19 + 0.01, (n // 5) * 0.24 + 0.01
        kind = ["rect", "ellipse", "arrow", "freehand", "text", "blur"][n % 6]
        if kind in ("rect", "ellipse", "blur"):
            shape = {"type": kind, "x": x, "y": y, "w": 0.15, "h": 0.18}
        elif kind == "arrow":
            shape = {"type": "arrow", "x1": x, "y1": y, "x2": x + 0.15, "y2": y + 0.18}
        elif kind == "freehand":
            shape = {
                "type": "freehand",
                "points": [[x + i * 0.003, y + (i % 7) * 0.02] for i in range(50)],
            }
        else:
            shape = {"type": "text", "x": x, "y": y, "text": f"第{n}处 消防通道堵塞", "size": 0.03}
        items.append({"id": f"s{n}", "x-shape": shape, "x-style": {"stroke": "#e53935"}})
    parsed = AnnotationInput.model_validate({"base_version": 0, "items": items})
    return to_document(parsed.items, source="urn:bench", sha256="0" * 64)


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def report_data(images: list[bytes]) -> ReportData:
    now = datetime.now(UTC)
    checkpoints = [
        CheckpointFacts(
            n,
            f"cp{n}",
            f"检查项 {n}",
            f"Checkpoint {n}",
            "pass",
            "符合要求",
            1,
            [
                EvidenceFacts(
                    n,
                    "ab" * 32,
                    "photo",
                    "capture",
                    1,
                    now,
                    now,
                    "定位与经营场所相符 consistent with the premises",
                    "consistent",
                    images[n],
                    1,
                )
            ],
        )
        for n in range(20)
    ]
    return ReportData(
        "ZT-BENCH",
        "食品经营许可",
        "Food business licence",
        "李记小面馆",
        "李娜",
        "浙江省杭州市西湖区文三路 90 号",
        "(30.27, 120.16)",
        "inspected",
        "pass",
        "Inspector",
        now,
        "0" * 64,
        42,
        1,
        True,
        checkpoints,
    )


async def build_bundle(root: Path, megabytes: int) -> Path:
    settings = Settings(data_dir=root, secret_key="bench").resolved()
    await asyncio.to_thread(migrate, settings)
    db = Database(settings)
    storage = LocalStorage(settings.media_dir)  # type: ignore[arg-type]
    async with db.transaction() as session:
        case = await create_case(
            session,
            load_catalogue(),
            Application(
                matter_code="food-business",
                applicant_name="李娜",
                premises_address="文三路 90 号",
            ),
            Actor("applicant"),
        )
        cid = case.id
    size = 3 * 1024 * 1024
    for n in range(megabytes // 3):
        data = os.urandom(size)
        sha = hashlib.sha256(data).hexdigest()
        src = root / f"blob-{n}"  # a new file each time: a handed-over path is never rewritten
        src.write_bytes(data)
        await storage.put_file(original_key(sha), src)
        src.unlink()
        async with db.transaction() as session:
            case = await lock_case(session, cid)
            session.add(
                Evidence(
                    case_id=cid,
                    kind="recording",
                    source="recording",
                    sha256=sha,
                    blob_key=original_key(sha),
                    media_type="video/webm",
                    size=size,
                    received_at=datetime.now(UTC),
                    actor_kind="system",
                )
            )
            append_event(
                session, case, Actor.system(), "evidence.received", {"sha256": sha, "n": n}
            )
    out = root / "bundle.zip"
    await export_bundle(db, storage, cid, out)
    await db.dispose()
    return out


def main() -> None:
    font = find_font()
    print(f"font: {font.path} (face {font.index}, cjk={font.cjk})")
    original = phone_jpeg(4000, 3000, 1)
    display = flatten_bytes(original, {"items": []})  # the 1600 px display copy, no shapes
    doc = twenty_shapes()
    flatten_bytes(display, doc)  # warm the font cache
    fast = median_ms(lambda: flatten_bytes(display, doc), 15)
    naive = median_ms(lambda: flatten_bytes(original, doc, draft=False), 5)
    print(
        f"flatten: {fast:.0f} ms from the 1600 px display copy; naive {naive:.0f} ms from the "
        f"12 MP original without draft ({naive / fast:.1f}x)"
    )

    originals = [phone_jpeg(4000, 3000, n) for n in range(20)]
    cached = [flatten_bytes(o, doc) for o in originals]
    report = median_ms(lambda: render_report(report_data(cached)), 3)
    naive_report = median_ms(
        lambda: render_report(report_data([flatten_bytes(o, doc, draft=False) for o in originals])),
        1,
    )
    print(
        f"report: {report:.0f} ms for 20 checkpoints from cached renders; naive {naive_report:.0f}"
        f" ms re-flattening every image from its original ({naive_report / report:.1f}x)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        bundle = asyncio.run(build_bundle(Path(tmp), 120))
        size_mb = bundle.stat().st_size / 1e6
        verify_bundle(bundle)  # page cache warm for both ways
        stream = median_ms(lambda: verify_bundle(bundle), 3)
        whole = median_ms(lambda: verify_bundle(bundle, whole=True), 3)
        assert verify_bundle(bundle).ok
    mbps = size_mb / (stream / 1000)
    print(
        f"bundle verify: {size_mb:.0f} MB in {stream:.0f} ms streaming; naive {whole:.0f} ms "
        f"reading members whole ({whole / stream:.2f}x, and O(member) memory)"
    )
    print(
        f"review: flatten {fast:.0f} ms, report {report:.0f} ms for 20 checkpoints, "
        f"bundle verify {mbps:.0f} MB/s"
    )


if __name__ == "__main__":
    from header import loaded  # bench/header.py: the load average before and after

    with loaded():
        main()
