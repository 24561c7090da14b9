"""The storage service every evidence original and derived file goes through.

Implementations sit beside this module (``storage_local.py`` is the default) and all pass the one
contract suite in ``tests/media/test_storage_contract.py``.

A file given to ``put_file`` or ``replace_file`` is the caller's: it may delete or even rewrite
it afterwards, and the stored object must not change (a backend links only files it staged
itself, otherwise it copies). Stored objects are read-only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class Storage(Protocol):
    async def put_file(self, key: str, source: Path) -> bool:
        """Store ``source`` under ``key`` atomically; False (and no write) if ``key`` exists.

        Originals are write-once: a key that exists is never overwritten.
        """

    async def replace_file(self, key: str, source: Path) -> None:
        """Atomically store or replace a derived, regenerable file."""

    async def discard(self, key: str) -> None:
        """Delete an export (see :func:`zerotrip.media.keys.discardable`; anything else is a
        ``ValueError``). Deleting what is not there is not an error."""

    async def exists(self, key: str) -> bool: ...

    async def size(self, key: str) -> int: ...

    def read(self, key: str, chunk_size: int = 256 * 1024) -> AsyncIterator[bytes]:
        """Stream the stored bytes; raises ``KeyError`` when absent."""

    async def read_bytes(self, key: str) -> bytes: ...

    def keys(self, prefix: str) -> AsyncIterator[str]:
        """Every stored key under ``prefix`` (``originals/``, ``derived/``), in no order."""

    def local_path(self, key: str) -> Path | None:
        """A filesystem path for the key when the backend has one (for zero-copy serving)."""
