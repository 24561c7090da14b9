"""After a crash: recording segments left in a working folder (Matroska stays readable up to
its last written cluster) become evidence, marked as recovered."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Container
from pathlib import Path

from zerotrip.live.recordings import RecordingArchive

log = logging.getLogger("zerotrip.live")


async def recover_orphans(root: Path, archive: RecordingArchive, running: Container[int]) -> int:
    """Take the segments under ``root/<session id>/`` of sessions no room of ours is running;
    returns how many became evidence."""
    found = sorted(await asyncio.to_thread(lambda: list(root.glob("*/segment-*.mkv"))))
    recovered = 0
    for path in found:
        if not path.parent.name.isdigit() or int(path.parent.name) in running:
            continue
        try:
            await archive.recover(int(path.parent.name), path, path.name)
            recovered += 1
        except Exception:
            log.exception("live: could not recover %s", path)
    return recovered
