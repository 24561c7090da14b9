"""The media half of evidence intake: store an original write-once, analyse it in a bounded
worker, install its derived copies. Recording the result on a case is
:mod:`zerotrip.evidence.intake`, which calls these in order, once each.

Originals are stored BEFORE any decoder sees them, so nothing a decoder does can change what was
received; analysis runs in a worker process with pixel, memory and time limits, and its refusals
(not a usable picture) are named by ``REFUSALS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiofiles  # type: ignore[import-untyped]

from zerotrip.config import Settings
from zerotrip.media.interfaces import Storage
from zerotrip.media.keys import display_key, original_key, thumb_key
from zerotrip.media.models import Evidence
from zerotrip.media.receive import incoming_dir
from zerotrip.media.sniff import Sniffed, sniff_file
from zerotrip.media.worker import AnalysisPools, Limits
from zerotrip.problems import InvalidInput

ORIGINS = ("capture", "gallery", "live_still", "live_photo", "recording")
# Analysis outcomes that mean "this is not a usable picture": refused with a 422.
REFUSALS = {"pixel_limit", "undecodable", "no_video", "memory_limit", "exif_unreadable"}
# The analysis worker reports in English (its detail carries the decoder's own words); the
# applicant reads the refusal by its code, in Chinese.
REFUSALS_ZH = {
    "pixel_limit": "图片或视频的像素过多，请用手机相机的常规尺寸重新拍摄。",
    "undecodable": "文件已损坏或无法识别，请重新拍摄后上传。",
    "no_video": "文件中没有视频画面。",
    "memory_limit": "文件太大，无法处理，请用常规尺寸重新拍摄。",
    "exif_unreadable": "照片的拍摄信息（EXIF）已损坏，无法读取，请用相机重新拍摄。",
    "timeout": "文件处理超时，请重新拍摄后上传。",
    "crashed": "文件处理中断（可能过大或已损坏），请重新拍摄后上传。",
}


def analysis_limits(settings: Settings) -> Limits:
    return Limits(
        timeout_s=settings.evidence_analysis_timeout_s,
        memory_bytes=settings.evidence_analysis_memory_mb * 1024 * 1024,
        max_pixels=settings.evidence_max_pixels,
    )


def analysis_pools(settings: Settings) -> AnalysisPools:
    """The pools a service analyses evidence in (built once by the composition root)."""
    return AnalysisPools(settings.evidence_workers, analysis_limits(settings))


def evidence_kind(origin: str, sniffed: Sniffed) -> str:
    if origin in ("live_still", "live_photo"):
        return "still"
    if origin == "recording":
        return "recording"
    return "video" if sniffed.kind == "video" else "photo"


def refused(analysis: dict[str, Any]) -> bool:
    """Whether the analysis says the file is not a usable picture or video at all."""
    return not analysis.get("ok") and analysis.get("code") in REFUSALS


def refusal_zh(analysis: dict[str, Any]) -> str:
    """The analysis's refusal in Chinese, named by its code (the detail stays English)."""
    return REFUSALS_ZH.get(str(analysis.get("code")), "无法处理这个文件，请重新拍摄后上传。")


@contextlib.asynccontextmanager
async def analysis_workdir(settings: Settings, prefix: str = "analysis-") -> AsyncIterator[Path]:
    """A scratch folder beside the uploads for one analysis; removed with what is left in it."""
    root = incoming_dir(settings.media_dir or settings.data_dir)
    workdir = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix=prefix, dir=root))
    try:
        yield workdir
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir, True)


async def store_original(storage: Storage, sha: str, path: Path) -> None:
    """Keep the received bytes write-once under their hash (a second copy is a no-op)."""
    await storage.put_file(original_key(sha), path)


async def analyse(
    pools: AnalysisPools, origin: str, path: Path, sniffed: Sniffed, workdir: Path
) -> dict[str, Any]:
    """Decode, read metadata and make the derived copies in a bounded worker (into ``workdir``);
    recordings go to their own lane, so a photo someone waits for never queues behind them."""
    return await pools.lane(origin).run(path, sniffed.kind, sniffed.pillow_format, workdir)


async def store_derived(storage: Storage, sha: str, analysis: dict[str, Any]) -> dict[str, str]:
    """Install the display copy and thumbnail the analysis made; their hashes by name."""
    if not analysis.get("ok"):
        return {}
    await asyncio.gather(
        storage.replace_file(display_key(sha), Path(analysis["display"]["path"])),
        storage.replace_file(thumb_key(sha), Path(analysis["thumb"]["path"])),
    )
    return {"display": analysis["display"]["sha256"], "thumb": analysis["thumb"]["sha256"]}


def analysis_meta(
    analysis: dict[str, Any], judged: dict[str, Any], derived: dict[str, str]
) -> dict[str, Any]:
    """What an Evidence row keeps of its analysis (enough to judge it again later)."""
    keep = ("format", "facts", "xmp_tools", "icc", "embedded_thumb_dhash", "dhash_unoriented")
    meta = {k: analysis.get(k) for k in keep if analysis.get(k) is not None}
    if not analysis.get("ok"):
        meta["analysis_error"] = {"code": analysis.get("code"), "detail": analysis.get("detail")}
    meta["time_source"] = judged["time_source"]
    meta["distance_m"] = judged["distance_m"]
    meta["derived"] = derived
    return meta


async def rederive(
    storage: Storage, settings: Settings, evidence: Evidence, *, pools: AnalysisPools
) -> dict[str, str]:
    """Make the display copy and thumbnail again from the stored original (they are caches)."""
    async with analysis_workdir(settings, "rederive-") as workdir:
        source = workdir / "original"
        async with aiofiles.open(source, "wb") as out:
            async for chunk in storage.read(evidence.blob_key):
                await out.write(chunk)
        sniffed = await asyncio.to_thread(sniff_file, source)
        analysis = await analyse(pools, evidence.source, source, sniffed, workdir)
        if not analysis.get("ok"):
            raise InvalidInput(
                analysis.get("detail", "The original cannot be decoded."),
                zh="存档原件无法解码，不能重新生成预览图。",
            )
        return await store_derived(storage, evidence.sha256, analysis)
