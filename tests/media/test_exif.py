"""The EXIF structure check: well-formed blocks pass, garbage, cycles and stray offsets do not."""

from __future__ import annotations

import struct

import pytest
from PIL import Image

from tests.media import samples
from zerotrip.media.exif import MAX_IFDS, capture_facts, read_exif, structure_problem


def _tiff(order: str, first: int, body: bytes) -> bytes:
    mark = b"II" if order == "<" else b"MM"
    return mark + struct.pack(order + "HI", 42, first) + body


def _ifd(order: str, entries: list[tuple[int, int, int, int]], following: int) -> bytes:
    out = struct.pack(order + "H", len(entries))
    for tag, kind, count, value in entries:
        out += struct.pack(order + "HHII", tag, kind, count, value)
    return out + struct.pack(order + "I", following)


@pytest.mark.parametrize("order", ["<", ">"])
def test_well_formed_blocks_pass(order):
    phone = samples.exif_for().tobytes()  # Pillow writes the APP1 "Exif\0\0" prefix
    assert structure_problem(phone.removeprefix(b"Exif\x00\x00")) is None
    facts = capture_facts(read_exif(phone))
    assert facts["make"] == "Apple" and facts["gps"]
    chained = _tiff(order, 8, _ifd(order, [(0x8769, 4, 1, 26)], 0) + _ifd(order, [], 0))
    assert structure_problem(chained) is None
    assert structure_problem(Image.Exif().tobytes().removeprefix(b"Exif\x00\x00")) is None


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (b"II*\x00", "shorter"),
        (b"XX*\x00\x08\x00\x00\x00" + b"\x00" * 8, "byte-order"),
        (b"II+\x00\x08\x00\x00\x00" + b"\x00" * 8, "magic"),
        (_tiff("<", 4, b"\x00" * 8), "overlaps"),
        (_tiff("<", 8, _ifd("<", [], 8)), "cycle"),  # next-IFD pointer to itself
        (_tiff("<", 8, _ifd("<", [(0x8825, 4, 1, 8)], 0)), "cycle"),  # GPS IFD is itself
        (_tiff("<", 8, _ifd("<", [(0x8769, 4, 1, 9000)], 0)), "outside"),
        (_tiff("<", 8, struct.pack("<H", 500) + b"\x00" * 20), "runs past"),
    ],
)
def test_malformed_blocks_are_named(blob, reason):
    problem = structure_problem(blob)
    assert problem is not None and reason in problem
    assert read_exif(blob) == {"_error": problem}


def test_a_long_chain_of_ifds_is_cut_off():
    count = MAX_IFDS + 4
    body = b"".join(_ifd("<", [], 0 if n == count - 1 else 8 + 6 * (n + 1)) for n in range(count))
    assert "more than" in (structure_problem(_tiff("<", 8, body)) or "")
