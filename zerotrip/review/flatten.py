"""Flattening: drawing an annotation version onto a copy of the image, never onto the original.

The base is the display copy (oriented, at most 1600 px, no EXIF) when the ingest pipeline made
one, else the original decoded with JPEG ``draft`` first and ``exif_transpose`` after (draft
first is 4x faster; see research/evidence.md §2.3). Blur regions are applied to the pixels
(pixelate, then blur, so nothing of a face or ID number survives); the other shapes are drawn on
a transparent overlay composited on top, with stroke widths and text scaled by
``max(W, H) / 1600``. The result is a JPEG with no metadata, cached in storage under a key made
of the original's hash, the document's hash and :data:`RENDERER`, so a new annotation version
or a new renderer makes a new file and nothing is ever stale.
"""

from __future__ import annotations

import asyncio
import io
import math
from typing import Any

from PIL import Image, ImageDraw, ImageFilter, ImageOps

from zerotrip.media.interfaces import Storage
from zerotrip.media.keys import display_key
from zerotrip.review.annotations import Arrow, Box, Freehand, Label, Style, shapes_of
from zerotrip.review.blobs import put_bytes
from zerotrip.review.fonts import FontChoice, find_font, pillow_font

RENDERER = "r1"
DISPLAY_EDGE = 1600
JPEG_QUALITY = 85


def annotated_key(sha256: str, document_sha256: str) -> str:
    return f"derived/{sha256}/annotated-{document_sha256[:24]}-{RENDERER}.jpg"


def oriented_base(data: bytes, *, draft: bool = True) -> Image.Image:
    """Decode to an upright RGB image of at most DISPLAY_EDGE px (draft before transpose)."""
    im = Image.open(io.BytesIO(data))
    if draft and im.format == "JPEG":
        im.draft("RGB", (DISPLAY_EDGE, DISPLAY_EDGE))
    im = ImageOps.exif_transpose(im)
    im = im.convert("RGB")
    if max(im.size) > DISPLAY_EDGE:
        im.thumbnail((DISPLAY_EDGE, DISPLAY_EDGE), Image.Resampling.LANCZOS)
    return im


def _rgba(hex_colour: str, alpha: int = 255) -> tuple[int, int, int, int]:
    return (int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16), alpha)


def _blur(im: Image.Image, box: Box) -> None:
    w, h = im.size
    x0, y0 = int(box.x * w), int(box.y * h)
    x1, y1 = (
        max(x0 + 1, math.ceil((box.x + box.w) * w)),
        max(y0 + 1, math.ceil((box.y + box.h) * h)),
    )
    region = im.crop((x0, y0, x1, y1))
    cells = max(1, max(region.size) // 24)
    small = region.resize(
        (max(1, region.width // cells), max(1, region.height // cells)), Image.Resampling.BILINEAR
    )
    region = small.resize(region.size, Image.Resampling.NEAREST)
    region = region.filter(ImageFilter.BoxBlur(max(2, cells // 2)))  # softens the cell edges
    im.paste(region, (x0, y0))


def _arrow(
    d: ImageDraw.ImageDraw, pts: tuple[float, float, float, float], fill: Any, width: int
) -> None:
    x1, y1, x2, y2 = pts
    angle = math.atan2(y2 - y1, x2 - x1)
    head = max(10.0, width * 5.0)
    spread = math.radians(25)
    left = (x2 - head * math.cos(angle - spread), y2 - head * math.sin(angle - spread))
    right = (x2 - head * math.cos(angle + spread), y2 - head * math.sin(angle + spread))
    base = (x2 - head * 0.8 * math.cos(angle), y2 - head * 0.8 * math.sin(angle))
    d.line([(x1, y1), base], fill=fill, width=width)
    d.polygon([(x2, y2), left, right], fill=fill)


def _label(
    d: ImageDraw.ImageDraw, label: Label, size: tuple[int, int], style: Style, font: FontChoice
) -> None:
    w, h = size
    px = max(8, int(label.size * h))
    face = pillow_font(font, px, label.lang)
    x, y = label.x * w, label.y * h
    pad = max(2, px // 5)
    left, top, right, bottom = d.textbbox((x, y), label.text, font=face)
    d.rectangle((left - pad, top - pad, right + pad, bottom + pad), fill=(255, 255, 255, 200))
    d.text((x, y), label.text, font=face, fill=_rgba(style.stroke))


def render(
    base: Image.Image, document: dict[str, Any], font: FontChoice | None = None
) -> Image.Image:
    """Draw ``document`` on ``base`` (an upright RGB image); returns a new RGB image."""
    font = font or find_font()
    shapes = shapes_of(document)
    im = base.copy()
    for shape, _ in shapes:
        if isinstance(shape, Box) and shape.type == "blur":
            _blur(im, shape)
    w, h = im.size
    scale = max(w, h) / DISPLAY_EDGE
    overlay = Image.new("RGBA", im.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(overlay)
    for shape, style in shapes:
        fill = _rgba(style.stroke)
        width = max(1, round(style.width * scale))
        if isinstance(shape, Box) and shape.type != "blur":
            box = (shape.x * w, shape.y * h, (shape.x + shape.w) * w, (shape.y + shape.h) * h)
            draw = d.rectangle if shape.type == "rect" else d.ellipse
            draw(box, outline=fill, width=width)
        elif isinstance(shape, Arrow):
            _arrow(d, (shape.x1 * w, shape.y1 * h, shape.x2 * w, shape.y2 * h), fill, width)
        elif isinstance(shape, Freehand):
            d.line([(x * w, y * h) for x, y in shape.points], fill=fill, width=width, joint="curve")
        elif isinstance(shape, Label):
            _label(d, shape, im.size, style, font)
    # Blending through the overlay's own alpha as a paste mask is the same "over" operation as
    # alpha_composite on an opaque base, without converting the whole image to RGBA and back.
    box = overlay.getbbox()
    if box:
        im.paste(overlay.crop(box).convert("RGB"), box[:2], overlay.crop(box).getchannel("A"))
    return im


def encode_jpeg(im: Image.Image) -> bytes:
    """JPEG bytes with no EXIF, XMP or comments: only pixels leave the service."""
    out = io.BytesIO()
    im.save(out, "JPEG", quality=JPEG_QUALITY, optimize=False, exif=b"")
    return out.getvalue()


def flatten_bytes(
    data: bytes, document: dict[str, Any], *, draft: bool = True, font: FontChoice | None = None
) -> bytes:
    return encode_jpeg(render(oriented_base(data, draft=draft), document, font))


async def base_bytes(storage: Storage, sha256: str, blob_key: str) -> bytes:
    """The display copy if the ingest pipeline made one, else the original."""
    if await storage.exists(display_key(sha256)):
        return await storage.read_bytes(display_key(sha256))
    return await storage.read_bytes(blob_key)


async def flattened(
    storage: Storage,
    *,
    sha256: str,
    blob_key: str,
    document: dict[str, Any],
    document_sha256: str,
    font: FontChoice | None = None,
) -> tuple[str, bytes]:
    """The flattened JPEG for one annotation version: from the cache, or rendered and cached."""
    key = annotated_key(sha256, document_sha256)
    if await storage.exists(key):
        return key, await storage.read_bytes(key)
    data = await base_bytes(storage, sha256, blob_key)
    rendered = await asyncio.to_thread(lambda: flatten_bytes(data, document, font=font))
    await put_bytes(storage, key, rendered, replace=True)
    return key, rendered
