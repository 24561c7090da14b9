"""Local filesystem storage: the embedded default.

Writes go to a temporary file in the same directory, are fsynced, then linked or renamed into
place, and the directory is fsynced, so a crash leaves either the whole file or nothing visible.

The store owns what it keeps. A source is hard-linked (no copy) only when the store staged it
itself: it lies in the store's ``incoming/`` folder, where uploads are received, and has no other
name. Anything else is copied, so a caller that later rewrites its own path cannot change a
stored object. Stored objects are read-only (0444); the hash is checked where an original
leaves the store (``zerotrip.media.originals``).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import aiofiles  # type: ignore[import-untyped]

from zerotrip.media.keys import discardable

READ_ONLY = 0o444
STAGING = "incoming"


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.staging = self.root / STAGING

    def _path(self, key: str) -> Path:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"invalid storage key {key!r}")
        if key.split("/")[0] == STAGING:
            raise ValueError(f"storage key {key!r} is inside the staging folder")
        return self.root / key

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    async def put_file(self, key: str, source: Path) -> bool:
        return await asyncio.to_thread(self._install, key, source, False)

    async def replace_file(self, key: str, source: Path) -> None:
        await asyncio.to_thread(self._install, key, source, True)

    def _install(self, key: str, source: Path, replace: bool) -> bool:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists() and not replace:
            return False
        tmp_name = _staged(source, dest.parent, linkable=self._staged_here(source))
        try:
            os.chmod(tmp_name, READ_ONLY)
            if replace:
                os.replace(tmp_name, dest)
            else:
                try:
                    os.link(tmp_name, dest)  # fails if dest appeared meanwhile: write-once
                except FileExistsError:
                    return False
                finally:
                    os.unlink(tmp_name)
            dir_fd = os.open(dest.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
            return True
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise

    def _staged_here(self, source: Path) -> bool:
        """Whether ``source`` is a file the store staged: in its staging folder, one name only."""
        try:
            info = os.lstat(source)
        except OSError:
            return False
        inside = Path(os.path.abspath(source)).parent == Path(os.path.abspath(self.staging))
        return inside and info.st_nlink == 1 and os.path.isfile(source)

    async def discard(self, key: str) -> None:
        path = self._path(discardable(key))
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    async def size(self, key: str) -> int:
        path = self._path(key)
        if not path.is_file():
            raise KeyError(key)
        return path.stat().st_size

    async def read(self, key: str, chunk_size: int = 256 * 1024) -> AsyncIterator[bytes]:
        path = self._path(key)
        if not path.is_file():
            raise KeyError(key)
        async with aiofiles.open(path, "rb") as fh:
            while chunk := await fh.read(chunk_size):
                yield chunk

    async def read_bytes(self, key: str) -> bytes:
        path = self._path(key)
        if not path.is_file():
            raise KeyError(key)
        return await asyncio.to_thread(path.read_bytes)

    async def keys(self, prefix: str) -> AsyncIterator[str]:
        """Every stored key under ``prefix`` (a folder such as ``originals/``), in no order."""
        top = self._path(prefix.rstrip("/"))
        found = await asyncio.to_thread(
            lambda: [p for p in top.rglob("*") if p.is_file()] if top.is_dir() else []
        )
        for path in found:
            if not path.name.startswith(".incoming-"):  # a write in progress
                yield path.relative_to(self.root).as_posix()


def _staged(source: Path, directory: Path, *, linkable: bool) -> str:
    """A durable temporary file in ``directory`` with the bytes of ``source``.

    Uploads are received in the store's staging folder on its own filesystem, so a hard link
    hands such a file over without copying it (the fsync is then nearly free, the upload was
    synced as it arrived). Any other source is copied.
    """
    if linkable:
        tmp_name = os.path.join(directory, f".incoming-{secrets.token_hex(8)}")
        try:
            os.link(source, tmp_name)
        except OSError:  # links not allowed here after all: copy
            pass
        else:
            fd = os.open(tmp_name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            return tmp_name
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out, 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        os.unlink(tmp_name)
        raise
    return tmp_name
