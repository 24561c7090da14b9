"""Evidence ingest benchmark: the real pipeline against the naive way, measured in the same run.

Makes 12-megapixel phone-like JPEGs with EXIF (GPS, time, orientation) and a few HEICs, then:

* ``ingest``: :func:`zerotrip.media.ingest.ingest_file` end to end (hash, sniff, write-once store,
  bounded worker analysis with draft decoding, exifread on the raw EXIF block, trust checks,
  display + thumbnail + dHash, one DB transaction with audit events), one photo at a time;
* ``naive``: the same hash and store, then full decode, ``exif_transpose`` first, resize,
  exifread with ``details=True`` on the whole file, dHash of the full image;
* ``load``: 100 photos ingested 8 at a time while the RSS of the process and its analysis
  workers is sampled.

Last line: ``ingest: <X> ms/photo median, <R>x faster than naive, peak RSS <M> MB``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import multiprocessing
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import exifread
import psutil
from PIL import Image, ImageDraw, ImageOps

from zerotrip.cases.catalogue import load_catalogue
from zerotrip.cases.store import Application, checkpoints_of, create_case
from zerotrip.config import Settings
from zerotrip.db import Database, migrate
from zerotrip.evidence.intake import ingest_file
from zerotrip.kit.actor import Actor
from zerotrip.media.derive import fit
from zerotrip.media.ingest import analysis_pools
from zerotrip.media.phash import dhash64
from zerotrip.media.receive import hash_file
from zerotrip.media.sniff import sniff_file
from zerotrip.media.storage_local import LocalStorage
from zerotrip.media.worker import AnalysisPools

PREMISES = (30.2741, 120.1551)


def base_picture(seed: int, size: tuple[int, int] = (4000, 3000)) -> Image.Image:
    rng = random.Random(seed)
    small = Image.new("RGB", (size[0] // 8, size[1] // 8))
    draw = ImageDraw.Draw(small)
    for y in range(small.height):
        draw.line([(0, y), (small.width, y)], fill=(y % 256, rng.randrange(256), 200 - y % 200))
    for _ in range(40):
        x, y = rng.randrange(small.width), rng.randrange(small.height)
        draw.ellipse([x, y, x + rng.randrange(5, 200), y + rng.randrange(5, 150)],
                     fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))  # fmt: skip
    big = small.resize(size, Image.Resampling.BICUBIC)
    noise = Image.effect_noise(size, 24).convert("RGB")
    return Image.blend(big, noise, 0.12)


def phone_exif(orientation: int) -> bytes:
    taken = datetime.now(UTC) - timedelta(minutes=5)
    local = taken + timedelta(hours=8)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0131] = "Apple", "iPhone 13 Pro", "17.1"
    exif[0x0112] = orientation
    sub = exif.get_ifd(0x8769)
    sub[0x9003], sub[0x9011], sub[0x9291] = local.strftime("%Y:%m:%d %H:%M:%S"), "+08:00", "054"
    gps = exif.get_ifd(0x8825)
    for ref_tag, tag, value, pos, neg in (
        (1, 2, PREMISES[0], "N", "S"),
        (3, 4, PREMISES[1], "E", "W"),
    ):
        d = int(value)
        m = int((value - d) * 60)
        s = Fraction(((value - d) * 60 - m) * 60).limit_denominator(1000)
        gps[ref_tag], gps[tag] = pos if value >= 0 else neg, (Fraction(d), Fraction(m), s)
    gps[31] = Fraction(12)
    return exif.tobytes()


def make_photos(directory: Path, count: int, bases: int = 4) -> list[Path]:
    """Write ``count`` distinct JPEGs to ``directory`` (kept on disk, not in this process)."""
    pictures = [base_picture(seed) for seed in range(bases)]
    rng = random.Random(99)
    out = []
    for n in range(count):
        im = pictures[n % bases].copy()
        patch = Image.new(
            "RGB", (64, 64), (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        )
        im.paste(patch, (rng.randrange(3900), rng.randrange(2900)))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=92, exif=phone_exif(6 if n % 2 else 1))
        path = directory / f"photo-{n}.jpg"
        path.write_bytes(buf.getvalue())
        out.append(path)
    return out


def make_heics(directory: Path, count: int) -> list[Path]:
    import pillow_heif

    pillow_heif.register_heif_opener()
    out = []
    for n in range(count):
        buf = io.BytesIO()
        picture = base_picture(50 + n, (4032, 3024))
        # ultrafast: x265's default preset takes minutes per 12 MP frame on a busy 2-core box
        picture.save(
            buf, "HEIF", quality=80, exif=phone_exif(1), enc_params={"preset": "ultrafast"}
        )
        path = directory / f"photo-{n}.heic"
        path.write_bytes(buf.getvalue())
        out.append(path)
    return out


def naive_pipeline(photo: Path, storage_dir: Path, n: int) -> None:
    """How it is usually written: full decode, transpose first, resize, exifread with details."""
    data = photo.read_bytes()
    src = storage_dir / f"naive-src-{n}"
    src.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    sniff_file(src)
    dest = storage_dir / "naive-originals" / sha
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    with open(src, "rb") as fh:
        exifread.process_file(fh, details=True)
    im = Image.open(src)
    im.load()
    im = ImageOps.exif_transpose(im)
    display = im.copy()
    display.thumbnail((1600, 1600), reducing_gap=None)
    thumb = im.copy()
    thumb.thumbnail((320, 320), reducing_gap=None)
    dhash64(im)
    for name, rendition in (("display", display), ("thumb", thumb)):
        rendition.save(storage_dir / f"naive-{name}-{n}.jpg", "JPEG", quality=85)
    src.unlink()


async def setup(
    root: Path, workers: int
) -> tuple[Database, LocalStorage, Settings, int, int, AnalysisPools]:
    settings = Settings(data_dir=root, secret_key="bench", evidence_workers=workers).resolved()
    await asyncio.to_thread(migrate, settings)
    db = Database(settings)
    async with db.transaction() as session:
        case = await create_case(
            session,
            load_catalogue(),
            Application(
                matter_code="food-business",
                applicant_name="Bench",
                premises_address="Bench street 1",
                premises_lat=PREMISES[0],
                premises_lon=PREMISES[1],
            ),
            Actor.system(),
        )
        await session.flush()
        checkpoint = (await checkpoints_of(session, case.id))[0]
    assert settings.media_dir is not None
    storage = LocalStorage(settings.media_dir)
    return db, storage, settings, case.id or 0, checkpoint.id or 0, analysis_pools(settings)


def _as_received(photo: Path, path: Path) -> tuple[str, int]:
    """The upload as ``receive_stream`` leaves it: written to ``incoming/``, fsynced, and its
    SHA-256 computed on the way in."""
    shutil.copyfile(photo, path)
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())
    return hash_file(path)


def in_subprocess(fn, *args):
    """Run an input generator in a spawned process, so the garbage of making 12 MP pictures does
    not sit in the heap of the process whose memory is being measured."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        return pool.submit(fn, *args).result()


async def ingest_one(ctx, photo: Path, n: int) -> float:
    db, storage, settings, case_id, checkpoint_id, pools = ctx
    path = Path(settings.media_dir or ".") / f"bench-{n}.upload"
    digest = await asyncio.to_thread(_as_received, photo, path)
    started = time.perf_counter()
    await ingest_file(db, storage, settings, pools=pools, case_id=case_id,
                      checkpoint_id=checkpoint_id, path=path, origin="gallery",
                      actor=Actor("applicant", "bench"), digest=digest)  # fmt: skip
    return (time.perf_counter() - started) * 1000


class RssSampler:
    """Peak memory of this process plus all its children (forkserver and analysis workers).

    Summed as PSS (proportional set size): forked workers share pages with their parent, and
    adding their RSS would count those pages several times.
    """

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = me.memory_full_info().pss
            for child in me.children(recursive=True):
                try:
                    total += child.memory_full_info().pss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(0.02)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--sample", type=int, default=15, help="photos timed one at a time")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--heics", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="zt-bench-") as tmp:
        root = Path(tmp)
        print(
            f"making {args.photos + args.sample} 12 MP JPEGs and {args.heics} HEICs ...", flush=True
        )
        photos = in_subprocess(make_photos, root, args.photos + args.sample)
        size = statistics.median(p.stat().st_size for p in photos) / 1e6
        print(f"jpeg: 4000x3000, {size:.1f} MB median; display {fit((4000, 3000), 1600)} px")

        # Load first, in a fresh process: memory the naive pass leaves behind is not counted.
        load_ctx = await setup(root / "load", workers=2)
        await ingest_one(load_ctx, photos[-1], -1)  # start the workers
        batch = photos[args.sample : args.sample + args.photos]
        semaphore = asyncio.Semaphore(args.concurrency)

        async def bounded(n: int, photo: Path) -> float:
            async with semaphore:
                return await ingest_one(load_ctx, photo, 2000 + n)

        with RssSampler() as sampler:
            started = time.perf_counter()
            await asyncio.gather(*(bounded(n, p) for n, p in enumerate(batch)))
            wall = time.perf_counter() - started
        await load_ctx[0].dispose()
        load_ctx[5].close()

        # One at a time on one worker, the naive pipeline interleaved photo by photo so both
        # see the same machine load.
        ctx = await setup(root / "one", workers=1)
        await ingest_one(ctx, photos[-1], -1)
        fast, naive = [], []
        for i in range(args.sample):
            fast.append(await ingest_one(ctx, photos[i], i))
            started = time.perf_counter()
            await asyncio.to_thread(naive_pipeline, photos[i], root, i)
            naive.append((time.perf_counter() - started) * 1000)
        heics = in_subprocess(make_heics, root, args.heics)
        heic_ms = [await ingest_one(ctx, h, 1000 + i) for i, h in enumerate(heics)]
        await ctx[0].dispose()
        ctx[5].close()

    median_fast, median_naive = statistics.median(fast), statistics.median(naive)
    print(f"naive: {median_naive:.0f} ms/photo median (full decode, transpose first, details=True)")
    if heic_ms:
        print(f"heic: {statistics.median(heic_ms):.0f} ms/photo median (4032x3024, no draft)")
    print(f"load: {len(batch)} photos, {args.concurrency} at a time, {wall:.1f} s "
          f"({len(batch) / wall:.1f} photos/s)")  # fmt: skip
    print(
        f"ingest: {median_fast:.0f} ms/photo median, {median_naive / median_fast:.1f}x faster than "
        f"naive, peak RSS {sampler.peak / 1024 / 1024:.0f} MB"
    )


if __name__ == "__main__":
    from header import loaded  # bench/header.py: the load average before and after

    with loaded():
        asyncio.run(main())
