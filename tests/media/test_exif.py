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
        # the EXIF IFD's interoperability pointer leads back to IFD0, its parent
        (
            _tiff("<", 8, _ifd("<", [(0x8769, 4, 1, 26)], 0) + _ifd("<", [(0xA005, 4, 1, 8)], 0)),
            "cycle",
        ),
        # IFD1 (IFD0's next) names IFD0 as its own next IFD
        (_tiff("<", 8, _ifd("<", [], 14) + _ifd("<", [], 8)), "cycle"),
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


def _shared_offset_block(order: str) -> bytes:
    """IFD0 (Make, Model, and EXIF and GPS pointers to ONE offset), then that shared IFD holding
    a capture time and a latitude reference: a second visit, no loop."""
    shared_at = 8 + 2 + 4 * 12 + 4
    make, model = b"Canon\x00\x00\x00", b"EOS 5D\x00\x00"
    sub_entries = 2
    sub_size = 2 + sub_entries * 12 + 4
    values_at = shared_at + sub_size
    ifd0 = _ifd(
        order,
        [
            (0x010F, 2, len(make), values_at),
            (0x0110, 2, len(model), values_at + 8),
            (0x8769, 4, 1, shared_at),
            (0x8825, 4, 1, shared_at),
        ],
        0,
    )
    when = b"2026:11:30 10:15:30\x00"
    north = int.from_bytes(b"N\x00\x00\x00", "little" if order == "<" else "big")  # inline value
    shared = _ifd(order, [(0x0001, 2, 2, north), (0x9003, 2, len(when), values_at + 16)], 0)
    return _tiff(order, 8, ifd0 + shared + make + model + when)


@pytest.mark.parametrize("order", ["<", ">"])
def test_exif_and_gps_pointers_sharing_one_offset_are_not_a_cycle(order):
    blob = _shared_offset_block(order)
    assert structure_problem(blob) is None
    tags = read_exif(blob)
    assert "_error" not in tags
    assert str(tags["Image Make"]) == "Canon"
    assert str(tags["EXIF DateTimeOriginal"]) == "2026:11:30 10:15:30"
    assert str(tags["GPS GPSLatitudeRef"]) == "N"  # the shared IFD read a second time, as GPS


def test_shared_offsets_cannot_multiply_the_walk():
    """Each IFD points twice to the next one: 2**n paths through n IFDs, all cut off early."""
    count = MAX_IFDS - 1
    size = 2 + 2 * 12 + 4
    body = b"".join(
        _ifd("<", [(0x8769, 4, 1, 8 + size * (n + 1)), (0x8825, 4, 1, 8 + size * (n + 1))], 0)
        if n < count - 1
        else _ifd("<", [], 0)
        for n in range(count)
    )
    assert "more than" in (structure_problem(_tiff("<", 8, body)) or "")
