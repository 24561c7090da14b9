"""Reading EXIF safely: exifread on the raw EXIF block only, ``details=False``, never raising.

exifread hangs on crafted MakerNotes when ``details=True`` and lets several exception types
escape on malformed containers, so it is only ever handed the TIFF block Pillow already cut out
of the file, with details off, inside the bounded analysis worker (see ``analyse.py``).
"""

from __future__ import annotations

import io
import logging
import struct
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

import exifread

MAX_EXIF_BYTES = 256 * 1024
MAX_IFDS = 16
MAX_IFD_VISITS = 4 * MAX_IFDS  # shared offsets are visited once per pointer
_SUB_IFD_TAGS = (0x8769, 0x8825, 0xA005)  # the EXIF, GPS and interoperability IFDs
logging.getLogger("exifread").setLevel(logging.CRITICAL)


def read_exif(raw_exif: bytes | None) -> dict[str, Any]:
    """exifread tags of a raw EXIF block; ``{"_error": name}`` when it cannot be read."""
    if not raw_exif:
        return {}
    blob = raw_exif[6:] if raw_exif.startswith(b"Exif\x00\x00") else raw_exif
    if not blob or len(blob) > MAX_EXIF_BYTES:
        return {}
    if problem := structure_problem(blob):
        return {"_error": problem}
    try:
        return dict(exifread.process_file(io.BytesIO(blob), details=False, extract_thumbnail=True))
    except (
        Exception
    ) as exc:  # exifread raises many kinds on malformed blocks; all mean "unreadable"
        return {"_error": type(exc).__name__}


def structure_problem(blob: bytes) -> str | None:
    """Why a raw EXIF (TIFF) block is malformed, or None: a byte-order mark and magic number,
    every IFD inside the block, none reached again from below itself (a cycle), at most
    ``MAX_IFDS`` of them.

    A cycle is an IFD on its own traversal path: IFD0's EXIF and GPS pointers may share one
    offset (some writers do that, and exifread reads it fine), which is a second visit but no
    loop. Visits are capped too, so shared offsets cannot multiply the walk. exifread passes over
    all of these silently (garbage reads as "no EXIF", a cycle as a few tags), so the structure
    is checked first; only IFD pointers are followed, never values.
    """
    if len(blob) < 8:
        return "shorter than a TIFF header"
    order = {b"II": "<", b"MM": ">"}.get(blob[:2])
    if order is None:
        return "no TIFF byte-order mark"
    magic, first = struct.unpack(order + "HI", blob[2:8])
    if magic != 42:
        return "no TIFF magic number"
    if first < 8:
        return "the first IFD overlaps the header"
    distinct: set[int] = set()
    visits = 0
    pending: list[tuple[int, frozenset[int]]] = [(first, frozenset())]
    while pending:
        offset, path = pending.pop()
        if offset in path:
            return f"the IFD at {offset} points back to itself (a cycle)"
        distinct.add(offset)
        visits += 1
        if len(distinct) > MAX_IFDS or visits > MAX_IFD_VISITS:
            return f"more than {MAX_IFDS} IFDs"
        children = _ifd_pointers(blob, order, offset)
        if isinstance(children, str):
            return children
        below = path | {offset}
        pending.extend((child, below) for child in children)
    return None


def _ifd_pointers(blob: bytes, order: str, offset: int) -> list[int] | str:
    """The sub-IFD and next-IFD offsets of the IFD at ``offset``, or why it is malformed."""
    count_end = offset + 2
    if count_end > len(blob):
        return f"an IFD offset ({offset}) points outside the block"
    (count,) = struct.unpack(order + "H", blob[offset:count_end])
    entries_end = count_end + 12 * count
    if entries_end + 4 > len(blob):
        return f"the IFD at {offset} runs past the end of the block"
    found: list[int] = []
    for entry in range(count_end, entries_end, 12):
        tag, kind = struct.unpack(order + "HH", blob[entry : entry + 4])
        if tag in _SUB_IFD_TAGS and kind in (4, 13):  # LONG or IFD: an offset
            (sub,) = struct.unpack(order + "I", blob[entry + 8 : entry + 12])
            if sub:
                found.append(sub)
    (following,) = struct.unpack(order + "I", blob[entries_end : entries_end + 4])
    if following:
        found.append(following)
    return found


def _text(tags: dict[str, Any], key: str, limit: int = 200) -> str | None:
    tag = tags.get(key)
    if tag is None:
        return None
    try:
        value = str(tag.printable if hasattr(tag, "printable") else tag).strip().strip("\x00")
    except Exception:
        return None
    return value[:limit] or None


def _ratio(value: Any) -> float:
    num, den = getattr(value, "num", None), getattr(value, "den", None)
    if num is None:
        return float(Fraction(value))
    return float(num) / den if den else 0.0


def _ratios(tags: dict[str, Any], key: str) -> list[float] | None:
    tag = tags.get(key)
    values = getattr(tag, "values", None)
    if not values:
        return None
    try:
        return [_ratio(v) for v in values]
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None


def _offset(text: str | None) -> timezone | None:
    if not text or len(text) < 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        hours, minutes = int(text[1:3]), int(text[4:6])
    except ValueError:
        return None
    if hours > 14 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)


def _local_time(text: str | None, subsec: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    if subsec and subsec.isdigit():
        moment = moment.replace(microsecond=int(subsec[:6].ljust(6, "0")))
    return moment


def _gps_coordinate(tags: dict[str, Any], axis: str) -> float | None:
    parts = _ratios(tags, f"GPS GPS{axis}")
    ref = _text(tags, f"GPS GPS{axis}Ref")
    if not parts or len(parts) != 3:
        return None
    degrees = parts[0] + parts[1] / 60 + parts[2] / 3600
    limit = 90 if axis == "Latitude" else 180
    if not -limit <= degrees <= limit:
        return None
    return -degrees if ref in ("S", "W") else degrees


def _gps_time(tags: dict[str, Any]) -> datetime | None:
    date = _text(tags, "GPS GPSDate")
    hms = _ratios(tags, "GPS GPSTimeStamp")
    if not date or not hms or len(hms) != 3:
        return None
    try:
        day = datetime.strptime(date[:10], "%Y:%m:%d").replace(tzinfo=UTC)
        return day + timedelta(hours=hms[0], minutes=hms[1], seconds=hms[2])
    except (ValueError, OverflowError):
        return None


def capture_facts(tags: dict[str, Any]) -> dict[str, Any]:
    """The facts the trust checks use, as JSON-ready values (times as ISO strings)."""
    facts: dict[str, Any] = {}
    if not tags or "_error" in tags:  # analysis refuses an unreadable block before this
        return facts
    facts["exif_present"] = True
    local = _local_time(
        _text(tags, "EXIF DateTimeOriginal"), _text(tags, "EXIF SubSecTimeOriginal")
    )
    offset = _offset(_text(tags, "EXIF OffsetTimeOriginal"))
    if local is not None:
        facts["datetime_original"] = local.isoformat()
        if offset is not None:
            facts["captured_at"] = local.replace(tzinfo=offset).astimezone(UTC).isoformat()
    modified = _local_time(_text(tags, "Image DateTime"), None)
    if modified is not None:
        facts["modified_local"] = modified.isoformat()
    gps_time = _gps_time(tags)
    if gps_time is not None:
        facts["gps_time"] = gps_time.isoformat()
    lat, lon = _gps_coordinate(tags, "Latitude"), _gps_coordinate(tags, "Longitude")
    if lat is not None and lon is not None:
        facts["gps"] = {"lat": lat, "lon": lon}
        accuracy = _ratios(tags, "GPS Tag 0x001F")
        if accuracy:
            facts["gps"]["accuracy"] = accuracy[0]
    for name, key in (
        ("make", "Image Make"),
        ("model", "Image Model"),
        ("software", "Image Software"),
        ("processing_software", "Image Tag 0x000B"),
        ("host_computer", "Image HostComputer"),
        ("unique_id", "EXIF ImageUniqueID"),
    ):
        value = _text(tags, key)
        if value:
            facts[name] = value
    orientation = tags.get("Image Orientation")
    if orientation is not None and getattr(orientation, "values", None):
        try:
            facts["orientation"] = int(orientation.values[0])
        except (TypeError, ValueError):
            pass
    return facts


def embedded_thumbnail(tags: dict[str, Any]) -> bytes | None:
    thumb = tags.get("JPEGThumbnail")
    return thumb if isinstance(thumb, bytes) and thumb.startswith(b"\xff\xd8") else None
