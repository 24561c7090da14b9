"""After a crash: recording segments left in a dead process's working folder (Matroska stays
readable up to its last written cluster) become evidence, marked as recovered.

Each live process records under ``<data dir>/live/<process id>/<session id>/``. A sweep takes
only the folders of processes whose heartbeat has expired (and folders of the older layout,
``live/<session id>/``, which no running process writes): a file is first moved into this
process's own ``recovered/`` folder, an atomic rename that only one of several sweeping
processes can win, and then ingested. A living process's recordings are never touched."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

from zerotrip.live.ownership import Ownership
from zerotrip.live.recordings import RecordingArchive

log = logging.getLogger("zerotrip.live")
RECOVERED = "recovered"


@dataclass(frozen=True)
class Orphan:
    live_id: int
    path: Path


class OrphanRecovery:
    def __init__(
        self, root: Path, own_dir: Path, archive: RecordingArchive, ownership: Ownership
    ) -> None:
        self.root = root
        self.own_dir = own_dir
        self.archive = archive
        self.ownership = ownership
        self._sweeping = asyncio.Lock()  # a heartbeat's sweep and an explicit one never overlap

    async def sweep(self) -> int:
        """Take over dead processes' segments, then ingest what was taken; returns how many
        became evidence."""
        async with self._sweeping:
            return await self._sweep()

    async def _sweep(self) -> int:
        alive = await self.ownership.alive()
        dead = await asyncio.to_thread(self._take_from_dead, alive)
        for process_id in dead:
            await self.ownership.forget_dead(process_id)
        recovered = 0
        for orphan in await asyncio.to_thread(self._taken):
            try:
                await self.archive.recover(orphan.live_id, orphan.path, orphan.path.name)
                recovered += 1
            except Exception:
                log.exception("live: could not recover %s", orphan.path)
        return recovered

    def _take_from_dead(self, alive: set[str]) -> list[str]:
        """Move every segment of a dead process into our ``recovered/`` folder (blocking)."""
        if not self.root.is_dir():
            return []
        emptied = []
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir() or folder.name in alive:
                continue
            if folder.name.isdigit():  # the older layout: live/<session id>/segment-*.mkv
                found = [
                    (folder.name, int(folder.name), path) for path in folder.glob("segment-*.mkv")
                ]
            else:
                found = [
                    (folder.name, int(path.parent.name), path)
                    for path in folder.glob("*/segment-*.mkv")
                    if path.parent.name.isdigit()
                ] + [  # what it had itself taken over from another, and died before storing
                    (path.parent.parent.name, int(path.parent.name), path)
                    for path in folder.glob(f"{RECOVERED}/*/*/segment-*.mkv")
                    if path.parent.name.isdigit()
                ]
            for origin, live_id, path in sorted(found):
                target = self.own_dir / RECOVERED / origin / str(live_id) / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(FileNotFoundError):  # another process took it first
                    path.rename(target)
            _remove_empty(folder)
            if not folder.exists():
                emptied.append(folder.name)
        return emptied

    def _taken(self) -> list[Orphan]:
        base = self.own_dir / RECOVERED
        if not base.is_dir():
            return []
        return [
            Orphan(int(path.parent.name), path)
            for path in sorted(base.glob("*/*/segment-*.mkv"))
            if path.parent.name.isdigit()
        ]


def _remove_empty(folder: Path) -> None:
    """Remove the folder's empty subfolders and then itself if empty (leftover stills and
    other files keep it)."""
    for sub in sorted(folder.glob("**/"), key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            sub.rmdir()
