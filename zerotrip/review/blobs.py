"""Putting bytes the review makes (flattened images, report and certificate PDFs) into storage.

The Storage protocol installs files, so bytes go through a temporary file first; the backend
then writes atomically (temp + fsync + rename) as it does for every file.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from zerotrip.media.interfaces import Storage


def _spill(data: bytes) -> str:
    fd, name = tempfile.mkstemp(prefix="zt-review-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return name


async def put_bytes(storage: Storage, key: str, data: bytes, *, replace: bool = False) -> None:
    """Store ``data`` under ``key``: write-once unless ``replace`` (for regenerable caches)."""
    name = await asyncio.to_thread(_spill, data)
    try:
        if replace:
            await storage.replace_file(key, Path(name))
        else:
            await storage.put_file(key, Path(name))
    finally:
        await asyncio.to_thread(os.unlink, name)
