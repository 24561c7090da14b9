"""The analysis of a picture the server made itself (a live still: a keyframe it decoded and
encoded as JPEG), done once, in the thread that encoded it.

A worker process re-decoding those bytes would learn nothing new (no EXIF, no XMP, no embedded
thumbnail, no ICC: the server wrote the file), and under load its queue and start-up were most of
a still's latency. The display copy, thumbnail and hashes come from the decoded frame itself;
the result has the same shape as :func:`zerotrip.media.analyse.analyse_image`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from zerotrip.media.derive import derive


def analyse_frame(image: Image.Image, workdir: Path) -> dict[str, Any]:
    """Derived copies of ``image`` written into ``workdir`` (created), and what is known."""
    workdir.mkdir(parents=True, exist_ok=True)
    derived = derive(image, 1, workdir)
    return {
        "ok": True,
        "kind": "image",
        "format": "JPEG",
        "width": image.width,
        "height": image.height,
        "facts": {},
        "xmp_tools": [],
        "icc": False,
        "dhash": derived.dhash,
        "dhash_unoriented": derived.dhash_unoriented,
        "embedded_thumb_dhash": None,
        "display": derived.display.as_dict(),
        "thumb": derived.thumb.as_dict(),
    }
