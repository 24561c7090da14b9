"""Originals leaving the store: their bytes are hashed on the way out and must match the name.

Stored objects are read-only and keyed by their SHA-256, but a disk, a backup restore or an
operator can still change them underneath; whatever hands an original to someone else (a
download, the evidence bundle) checks first, and refuses rather than pass on other bytes.
"""

from __future__ import annotations

import hashlib
import logging

from zerotrip.media.interfaces import Storage
from zerotrip.media.keys import original_key
from zerotrip.problems import IntegrityFailure

log = logging.getLogger(__name__)


async def verify_original(storage: Storage, sha256: str) -> int:
    """Hash the stored original of ``sha256``; its size, or ``IntegrityFailure`` if it changed."""
    digest, size = hashlib.sha256(), 0
    async for chunk in storage.read(original_key(sha256)):
        digest.update(chunk)
        size += len(chunk)
    if digest.hexdigest() != sha256:
        log.error("stored original %s no longer matches its hash", sha256)
        raise IntegrityFailure(
            "The stored original no longer matches its recorded SHA-256; it is not served.",
            zh="存档的原件与登记的 SHA-256 不符，不予提供。",
            sha256=sha256,
        )
    return size
