"""What a file really is, decided from its first bytes and never from its name or Content-Type.

Only the formats the pipeline can analyse safely are recognised; everything else (a zip or an
HTML page renamed ``.jpg``, an empty body) is refused before any decoder sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zerotrip.problems import InvalidInput, UnsupportedMedia

HEAD_BYTES = 64

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_MP4_BRANDS = {
    b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash",
}  # fmt: skip


@dataclass(frozen=True)
class Sniffed:
    kind: str  # image | video
    media_type: str
    pillow_format: str | None  # the one Pillow decoder allowed to open it (images only)


ACCEPTED = "JPEG, PNG, WebP, HEIC/HEIF images or MP4, MOV, WebM videos"


def sniff_bytes(head: bytes) -> Sniffed:
    """Classify by magic bytes; raise 422 for an empty body and 415 for anything unknown."""
    if not head:
        raise InvalidInput("The upload is empty.", zh="上传的文件是空的。", code="empty")
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "image/jpeg", "JPEG")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "image/png", "PNG")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", "image/webp", "WEBP")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return Sniffed("image", "image/heic" if brand != b"mif1" else "image/heif", "HEIF")
        if brand == b"qt  ":
            return Sniffed("video", "video/quicktime", None)
        if brand in _MP4_BRANDS or brand.startswith(b"3gp"):
            return Sniffed("video", "video/mp4", None)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        media_type = "video/webm" if b"webm" in head else "video/x-matroska"
        return Sniffed("video", media_type, None)
    raise UnsupportedMedia(
        f"This file is not one of the accepted kinds ({ACCEPTED}).",
        zh=f"不接受此类文件（可接受：{ACCEPTED}）。",
    )


def sniff_file(path: Path) -> Sniffed:
    with open(path, "rb") as fh:
        return sniff_bytes(fh.read(HEAD_BYTES))
