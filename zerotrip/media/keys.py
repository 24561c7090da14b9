"""Where evidence bytes live in storage: originals by content hash, derived copies beside them.

Keys are the contract between the ingest pipeline, the routes that serve files and any future
storage backend; nothing else builds them by hand.
"""

from __future__ import annotations

import re

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _checked(sha256: str) -> str:
    if not _SHA256.match(sha256):
        raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
    return sha256


def original_key(sha256: str) -> str:
    """The write-once original: ``originals/<sha256[:2]>/<sha256>``."""
    sha = _checked(sha256)
    return f"originals/{sha[:2]}/{sha}"


def display_key(sha256: str) -> str:
    """The display copy (≤1600 px, no metadata): ``derived/<sha256>/display.jpg``."""
    return f"derived/{_checked(sha256)}/display.jpg"


def thumb_key(sha256: str) -> str:
    """The thumbnail (≤320 px, no metadata): ``derived/<sha256>/thumb.jpg``."""
    return f"derived/{_checked(sha256)}/thumb.jpg"


EXPORTS = "bundles/"  # evidence bundles written for someone to download: made again on request


def export_key(case_id: int, job_id: int) -> str:
    """An exported bundle: ``bundles/<case>/<job>.zip``."""
    return f"{EXPORTS}{int(case_id)}/{int(job_id)}.zip"


def discardable(key: str) -> str:
    """``key`` if it may be deleted: only exports are; evidence originals and their derived
    copies are kept for as long as the store exists."""
    if not key.startswith(EXPORTS) or ".." in key.split("/"):
        raise ValueError(f"storage key {key!r} may not be deleted")
    return key
