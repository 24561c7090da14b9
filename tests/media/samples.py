"""Real sample files made on the spot with Pillow and pillow-heif: phone-like JPEGs with EXIF
(time, offset, GPS, orientation, embedded thumbnail), HEICs, PNGs, and a short video."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from PIL import Image, ImageDraw

# The premises of tests.factories.APPLICATION.
PREMISES = (30.2741, 120.1551)


def picture(size: tuple[int, int] = (1200, 900), seed: int = 1) -> Image.Image:
    """A photo-like picture: gradients and shapes, different for each seed."""
    rng = random.Random(seed)
    im = Image.new("RGB", size)
    draw = ImageDraw.Draw(im)
    w, h = size
    for y in range(0, h, 8):
        shade = int(255 * y / h)
        draw.rectangle([0, y, w, y + 8], fill=(shade, rng.randrange(256), 255 - shade))
    for _ in range(12):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse(
            [x0, y0, x0 + rng.randrange(20, w // 2), y0 + rng.randrange(20, h // 2)], fill=color
        )
    return im


def _dms(value: float) -> tuple[Fraction, Fraction, Fraction]:
    value = abs(value)
    d = int(value)
    m = int((value - d) * 60)
    s = round(((value - d) * 60 - m) * 60, 4)
    return (Fraction(d), Fraction(m), Fraction(s).limit_denominator(10000))


def exif_for(
    taken: datetime | None = None,
    gps: tuple[float, float] | None = PREMISES,
    orientation: int = 1,
    software: str | None = "17.1",
    accuracy_m: float | None = 12.0,
) -> Image.Exif:
    """EXIF as an iPhone writes it: local time + offset, GPS with accuracy, make/model."""
    taken = taken or datetime.now(UTC) - timedelta(minutes=3)
    exif = Image.Exif()
    local = taken.astimezone(UTC) + timedelta(hours=8)
    exif[0x010F] = "Apple"
    exif[0x0110] = "iPhone 13 Pro"
    exif[0x0112] = orientation
    if software:
        exif[0x0131] = software
    exif[0x0132] = local.strftime("%Y:%m:%d %H:%M:%S")
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = local.strftime("%Y:%m:%d %H:%M:%S")
    sub[0x9011] = "+08:00"
    sub[0x9291] = "054"
    if gps is not None:
        g = exif.get_ifd(0x8825)
        g[1] = "N" if gps[0] >= 0 else "S"
        g[2] = _dms(gps[0])
        g[3] = "E" if gps[1] >= 0 else "W"
        g[4] = _dms(gps[1])
        g[7] = (Fraction(taken.hour), Fraction(taken.minute), Fraction(taken.second))
        g[29] = taken.strftime("%Y:%m:%d")
        if accuracy_m is not None:
            g[31] = Fraction(accuracy_m).limit_denominator(1000)
    return exif


def jpeg_bytes(
    size: tuple[int, int] = (1200, 900),
    seed: int = 1,
    exif: Image.Exif | None = None,
    quality: int = 90,
    im: Image.Image | None = None,
) -> bytes:
    im = im or picture(size, seed)
    out = io.BytesIO()
    kwargs = {"quality": quality}
    if exif is not None:
        kwargs["exif"] = exif.tobytes()
    im.save(out, "JPEG", **kwargs)
    return out.getvalue()


def jpeg_with_thumbnail(
    main: Image.Image, thumb_of: Image.Image, exif: Image.Exif | None = None
) -> bytes:
    """A JPEG whose EXIF carries an embedded thumbnail (IFD1), possibly of another picture."""
    small = thumb_of.copy()
    small.thumbnail((160, 120))
    tbuf = io.BytesIO()
    small.save(tbuf, "JPEG", quality=80)
    thumb = tbuf.getvalue()
    exif = exif or exif_for()
    raw = exif.tobytes()  # b"Exif\0\0" + TIFF; append IFD1 by rewriting with an offset
    tiff = bytearray(raw[6:])
    little = tiff[:2] == b"II"
    order = "little" if little else "big"
    ifd0 = int.from_bytes(tiff[4:8], order)
    count = int.from_bytes(tiff[ifd0 : ifd0 + 2], order)
    next_ptr = ifd0 + 2 + 12 * count
    ifd1 = len(tiff)
    data_at = ifd1 + 2 + 12 * 2 + 4
    entries = bytearray((2).to_bytes(2, order))
    entries += (
        (0x0201).to_bytes(2, order)
        + (4).to_bytes(2, order)
        + (1).to_bytes(4, order)
        + data_at.to_bytes(4, order)
    )
    entries += (
        (0x0202).to_bytes(2, order)
        + (4).to_bytes(2, order)
        + (1).to_bytes(4, order)
        + len(thumb).to_bytes(4, order)
    )
    entries += (0).to_bytes(4, order)
    tiff[next_ptr : next_ptr + 4] = ifd1.to_bytes(4, order)
    tiff += entries + thumb
    out = io.BytesIO()
    main.save(out, "JPEG", quality=90, exif=b"Exif\x00\x00" + bytes(tiff))
    return out.getvalue()


def heic_bytes(
    size: tuple[int, int] = (800, 600), seed: int = 2, exif: Image.Exif | None = None
) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    kwargs = {"quality": 80}
    if exif is not None:
        kwargs["exif"] = exif.tobytes()
    picture(size, seed).save(out, "HEIF", **kwargs)
    return out.getvalue()


def png_bytes(size: tuple[int, int] = (640, 480), seed: int = 3) -> bytes:
    out = io.BytesIO()
    picture(size, seed).save(out, "PNG")
    return out.getvalue()


def huge_png_bytes(width: int = 30000, height: int = 30000) -> bytes:
    """A small PNG whose header declares width×height pixels (a decompression bomb)."""
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG", optimize=True)
    return out.getvalue()


def webm_bytes(frames: int = 12, size: tuple[int, int] = (320, 240)) -> bytes:
    import av

    out = io.BytesIO()
    with av.open(out, "w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=12)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for n in range(frames):
            frame = av.VideoFrame.from_image(picture(size, seed=n))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()
