"""Streaming an upload to a temporary file while hashing it, with a hard size cap.

The body never sits in memory: chunks go to a file in the media folder's ``incoming/``
directory (the same filesystem as the store, so handing it on is cheap), and SHA-256 is
computed on the way. Beyond the cap the upload is abandoned with a 413 and the file removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path

from zerotrip.problems import InvalidInput, TooLarge


@dataclass(frozen=True)
class Received:
    path: Path
    sha256: str
    size: int


def incoming_dir(media_dir: Path) -> Path:
    path = Path(media_dir) / "incoming"
    path.mkdir(parents=True, exist_ok=True)
    return path


async def receive_stream(chunks: AsyncIterable[bytes], directory: Path, max_bytes: int) -> Received:
    """Write ``chunks`` to a new temporary file in ``directory``; the caller owns the file."""
    fd, name = tempfile.mkstemp(dir=directory, prefix="upload-")
    path = Path(name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(
                        f"The file may be at most {max_bytes // (1024 * 1024)} MB.",
                        zh=f"文件不能超过 {max_bytes // (1024 * 1024)} MB。",
                        max_bytes=max_bytes,
                    )
                digest.update(chunk)
                out.write(chunk)  # page-cache write of a network-sized chunk
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise InvalidInput("The upload is empty.", zh="上传的文件是空的。", code="empty")
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        raise
    return Received(path, digest.hexdigest(), size)


def hash_file(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file someone else wrote (the live-video recorder, tests)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
