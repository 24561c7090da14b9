"""64-bit difference hash (dHash) for spotting the same picture re-encoded or resized.

Bit-identical to ``imagehash.dhash`` without pulling in numpy/scipy. Distance 0–4 of 64 means
the same image; unrelated photos score ≥18. A second frame of the same scene also scores low,
so a match asks for review and never rejects on its own.
"""

from __future__ import annotations

from PIL import Image


def dhash64(im: Image.Image) -> int:
    """Unsigned 64-bit dHash of an (already oriented) image."""
    grey = im.convert("L").resize((9, 8), Image.Resampling.LANCZOS).tobytes()
    value = 0
    for row in range(8):
        line = grey[row * 9 : (row + 1) * 9]
        for col in range(8):
            value = (value << 1) | (line[col + 1] > line[col])
    return value


def to_signed(value: int) -> int:
    """Store an unsigned 64-bit hash in a signed BIGINT column."""
    return value - (1 << 64) if value >= (1 << 63) else value


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()
