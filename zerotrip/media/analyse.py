"""Analysis of one stored original: decode with limits, read metadata, make derived images.

This runs inside a bounded worker process (``worker.py``): decoders are C code handling hostile
bytes, so they get a pixel limit, a memory limit and a wall-clock limit, and their only output
is a small JSON-ready dict plus the derived files written to a private work directory.

Refusals (a decompression bomb, a truncated or undecodable file, an unreadable EXIF block) come
back as ``{"ok": False, "code": ..., "detail": ...}``; the caller turns them into a 422.
"""

from __future__ import annotations

import functools
import io
import re
import warnings
from pathlib import Path
from typing import Any

from PIL import Image, ImageFile

from zerotrip.media.derive import derive
from zerotrip.media.exif import capture_facts, embedded_thumbnail, read_exif
from zerotrip.media.phash import dhash64

ImageFile.LOAD_TRUNCATED_IMAGES = False
warnings.simplefilter("error", Image.DecompressionBombWarning)

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
_XMP_TOOL = re.compile(rb"(?:CreatorTool|softwareAgent)[=>\"']+\s*([^<\"]{1,120})")


@functools.cache
def _register_heif() -> None:
    """Teach Pillow (process-wide by its own design) to open HEIF, once per worker process."""
    import pillow_heif

    pillow_heif.register_heif_opener(thumbnails=False)


class Refused(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _xmp_tools(xmp: Any) -> list[str]:
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8", "replace")
    if not isinstance(xmp, bytes | bytearray):
        return []
    found = [m.decode("utf-8", "replace").strip() for m in _XMP_TOOL.findall(bytes(xmp[:65536]))]
    return sorted(set(found))[:10]


def _open_image(path: Path, pillow_format: str, max_pixels: int) -> Image.Image:
    if pillow_format == "HEIF":
        _register_heif()
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path, formats=[pillow_format])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Refused("pixel_limit", f"The image has too many pixels ({exc}).") from None
    if im.width * im.height > max_pixels:
        raise Refused("pixel_limit", f"The image is {im.width}×{im.height}: too many pixels.")
    return im


def _thumb_dhash(data: bytes | None) -> int | None:
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as thumb:
            thumb.draft("RGB", (64, 64))
            return dhash64(thumb)
    except Exception:  # a broken embedded thumbnail is just absent evidence
        return None


def analyse_image(path: Path, pillow_format: str, workdir: Path, max_pixels: int) -> dict[str, Any]:
    im = _open_image(path, pillow_format, max_pixels)
    with im:
        raw_exif = im.info.get("exif")
        tags = read_exif(raw_exif if isinstance(raw_exif, bytes) else None)
        if "_error" in tags:  # a camera never writes this: the file was damaged or crafted
            raise Refused(
                "exif_unreadable",
                f"The photo's EXIF metadata is damaged and cannot be read ({tags['_error']}). "
                "Take the photo again with the camera.",
            )
        facts = capture_facts(tags)
        orientation = 1
        if pillow_format != "HEIF":  # pillow-heif has applied irot/imir already
            orientation = int(facts.get("orientation") or 1)
            if orientation not in range(1, 9):
                orientation = 1
        icc = im.info.get("icc_profile")
        derived = derive(im, orientation, workdir, icc if isinstance(icc, bytes) else None)
        width, height = im.size
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return {
        "ok": True,
        "kind": "image",
        "format": pillow_format,
        "width": width,
        "height": height,
        "facts": facts,
        "xmp_tools": _xmp_tools(im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")),
        "icc": bool(icc),
        "dhash": derived.dhash,
        "dhash_unoriented": derived.dhash_unoriented,
        "embedded_thumb_dhash": _thumb_dhash(embedded_thumbnail(tags)),
        "display": derived.display.as_dict(),
        "thumb": derived.thumb.as_dict(),
    }


def analyse_video(path: Path, workdir: Path, max_pixels: int) -> dict[str, Any]:
    import av

    with av.open(str(path), metadata_errors="ignore") as container:
        if not container.streams.video:
            raise Refused("no_video", "The file has no video stream.")
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if width * height > max_pixels:
            raise Refused("pixel_limit", f"The video is {width}×{height}: too many pixels.")
        duration = container.duration / 1_000_000 if container.duration else None
        if duration is None and stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        poster = None
        for frame in container.decode(stream):
            poster = frame.to_image()
            break
        if poster is None:
            raise Refused("undecodable", "No frame of the video can be decoded.")
        if duration is None:
            last = 0.0
            container.seek(0)
            for n, packet in enumerate(container.demux(stream)):
                if packet.pts is not None and packet.time_base is not None:
                    last = max(last, float(packet.pts * packet.time_base))
                if n > 200_000:
                    break
            duration = last or None
        creation = container.metadata.get("creation_time") or stream.metadata.get("creation_time")
        codec = stream.codec_context.name
    derived = derive(poster, 1, workdir)
    facts: dict[str, Any] = {}
    if creation:
        facts["creation_time"] = str(creation)[:40]
    return {
        "ok": True,
        "kind": "video",
        "format": codec,
        "width": width,
        "height": height,
        "duration_s": duration,
        "facts": facts,
        "xmp_tools": [],
        "icc": False,
        "dhash": derived.dhash,
        "dhash_unoriented": derived.dhash_unoriented,
        "embedded_thumb_dhash": None,
        "display": derived.display.as_dict(),
        "thumb": derived.thumb.as_dict(),
    }


def analyse_file(
    path: Path, kind: str, pillow_format: str | None, workdir: Path, max_pixels: int
) -> dict[str, Any]:
    """Never raises: every failure becomes a refusal code the caller can report."""
    try:
        if kind == "video":
            return analyse_video(path, workdir, max_pixels)
        assert pillow_format in ALLOWED_FORMATS
        return analyse_image(path, pillow_format, workdir, max_pixels)
    except Refused as exc:
        return {"ok": False, "code": exc.code, "detail": exc.detail}
    except MemoryError:
        return {"ok": False, "code": "memory_limit", "detail": "Decoding needs too much memory."}
    except Exception as exc:
        return {
            "ok": False,
            "code": "undecodable",
            "detail": f"The file cannot be decoded ({type(exc).__name__}: {str(exc)[:160]}).",
        }
