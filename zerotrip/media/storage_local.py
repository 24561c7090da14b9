"""Local filesystem storage: the embedded default.

Writes go to a temporary file in the same directory, are fsynced, then renamed into place, and
the directory is fsynced, so a crash leaves either the whole file or nothing visible. A source
on the same filesystem is hard-linked rather than copied (the caller hands it over).
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


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"invalid storage key {key!r}")
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
        tmp_name = _staged(source, dest.parent)
        try:
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


def _staged(source: Path, directory: Path) -> str:
    """A durable temporary file in ``directory`` with the bytes of ``source``.

    Uploads already sit on the store's filesystem (``incoming/``), so a hard link hands the
    file over without copying it; the fsync is then nearly free when the upload was synced as it
    arrived. Elsewhere (another filesystem) the bytes are copied.
    """
    tmp_name = os.path.join(directory, f".incoming-{secrets.token_hex(8)}")
    try:
        os.link(source, tmp_name)
    except OSError:  # another filesystem, or links not allowed: copy
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
    fd = os.open(tmp_name, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return tmp_name
