"""The contract every Storage backend must pass (originals write-once, atomic writes, streaming).

Every test runs against each backend in ``BACKENDS``: the local filesystem, and S3 on a real
SeaweedFS server started on loopback for the run (:mod:`tests.seaweedfs`).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.seaweedfs import s3_settings_for
from zerotrip.config import Settings
from zerotrip.media.interfaces import Storage
from zerotrip.media.keys import display_key, export_key, original_key, thumb_key
from zerotrip.media.storage_local import LocalStorage
from zerotrip.media.storage_s3 import S3Storage

BACKENDS = ["local", "s3"]
SHA = "ab" * 32
SHM = Path("/dev/shm")  # tmpfs: another filesystem than the store


@pytest.fixture(params=BACKENDS)
async def storage(request, tmp_path) -> AsyncIterator[Storage]:
    if request.param == "local":
        yield LocalStorage(tmp_path / "store")
        return
    server = request.getfixturevalue("s3_server")
    store = S3Storage(s3_settings_for(Settings(data_dir=tmp_path, secret_key="k"), server))
    yield store
    await store.aclose()


def _file(tmp_path: Path, data: bytes, name: str = "src") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_backend_satisfies_the_protocol(storage):
    assert isinstance(storage, Storage)


async def test_original_is_write_once(storage, tmp_path):
    key = original_key(SHA)
    assert await storage.put_file(key, _file(tmp_path, b"first"))
    assert not await storage.put_file(key, _file(tmp_path, b"second", "other"))
    assert await storage.read_bytes(key) == b"first"
    assert await storage.size(key) == 5


async def test_concurrent_writers_of_one_key_store_it_once(storage, tmp_path):
    key = original_key(SHA)
    sources = [_file(tmp_path, bytes([i]) * 100_000, f"s{i}") for i in range(8)]
    results = await asyncio.gather(*(storage.put_file(key, s) for s in sources))
    assert sum(results) == 1
    stored = await storage.read_bytes(key)
    assert stored == sources[results.index(True)].read_bytes()


async def test_a_stored_object_does_not_change_when_its_source_is_rewritten(storage, tmp_path):
    """The store owns what it keeps: rewriting the handed-over path in place (same inode)
    changes nothing stored."""
    source = _file(tmp_path, b"received bytes")
    assert await storage.put_file(original_key(SHA), source)
    with open(source, "r+b") as fh:  # noqa: ASYNC230 - a careless caller, on purpose
        fh.write(b"REWRITTEN")
    assert await storage.read_bytes(original_key(SHA)) == b"received bytes"


async def test_keys_lists_what_is_stored_under_a_prefix(storage, tmp_path):
    other = "b" * 64
    await storage.put_file(original_key(SHA), _file(tmp_path, b"one"))
    await storage.put_file(original_key(other), _file(tmp_path, b"two", "two"))
    await storage.replace_file(display_key(SHA), _file(tmp_path, b"display", "d"))
    assert sorted([k async for k in storage.keys("originals/")]) == sorted(
        [original_key(SHA), original_key(other)]
    )
    assert [k async for k in storage.keys("derived/")] == [display_key(SHA)]
    assert [k async for k in storage.keys("reports/")] == []


async def test_replace_file_overwrites_derived_copies(storage, tmp_path):
    key = display_key(SHA)
    await storage.replace_file(key, _file(tmp_path, b"v1"))
    await storage.replace_file(key, _file(tmp_path, b"version 2", "b"))
    assert await storage.read_bytes(key) == b"version 2"


@pytest.mark.parametrize(
    "elsewhere",
    [
        pytest.param(False, id="same-fs"),
        pytest.param(True, id="other-fs", marks=pytest.mark.skipif(not SHM.is_dir(), reason="")),
    ],
)
async def test_handed_over_source_may_be_deleted(storage, tmp_path, elsewhere):
    """Sources are handed over: deleting them afterwards never touches what was stored, whether
    the backend linked them (same filesystem) or copied them (tmpfs in /dev/shm)."""
    base = Path(tempfile.mkdtemp(dir=SHM)) if elsewhere else tmp_path
    try:
        original, derived = _file(base, b"original bytes", "o"), _file(base, b"display", "d")
        assert await storage.put_file(original_key(SHA), original)
        await storage.replace_file(display_key(SHA), derived)
        original.unlink()
        derived.unlink()
        assert await storage.read_bytes(original_key(SHA)) == b"original bytes"
        assert await storage.read_bytes(display_key(SHA)) == b"display"
    finally:
        if elsewhere:
            shutil.rmtree(base)


async def test_streaming_read_returns_the_exact_bytes(storage, tmp_path):
    data = bytes(range(256)) * 5000
    key = thumb_key(SHA)
    await storage.replace_file(key, _file(tmp_path, data))
    chunks = [c async for c in storage.read(key, chunk_size=7777)]
    assert b"".join(chunks) == data and max(len(c) for c in chunks) <= 7777


async def test_missing_keys(storage):
    key = original_key("cd" * 32)
    assert not await storage.exists(key)
    with pytest.raises(KeyError):
        await storage.read_bytes(key)
    with pytest.raises(KeyError):
        await storage.size(key)
    with pytest.raises(KeyError):
        async for _ in storage.read(key):
            pass


@pytest.mark.parametrize("key", ["", "/etc/passwd", "originals/../../x", "../x"])
async def test_keys_cannot_escape(storage, tmp_path, key):
    with pytest.raises(ValueError):
        await storage.put_file(key, _file(tmp_path, b"x"))


async def test_failed_write_leaves_nothing_visible(storage, tmp_path):
    key = original_key(SHA)
    with pytest.raises(OSError):
        await storage.put_file(key, tmp_path / "does-not-exist")
    assert not await storage.exists(key)
    root = storage.local_path(key)
    if root is not None:  # no temp file left beside it either
        assert not root.parent.exists() or list(root.parent.iterdir()) == []


async def test_only_exports_can_be_discarded(storage, tmp_path):
    export = export_key(7, 9)
    await storage.replace_file(export, _file(tmp_path, b"zip"))
    await storage.put_file(original_key(SHA), _file(tmp_path, b"evidence", "e"))
    await storage.discard(export)
    assert not await storage.exists(export)
    await storage.discard(export)  # already gone: not an error
    for key in (original_key(SHA), display_key(SHA), "bundles/../originals/x", "bundles"):
        with pytest.raises(ValueError):
            await storage.discard(key)
    assert await storage.read_bytes(original_key(SHA)) == b"evidence"


def test_key_layout():
    assert original_key(SHA) == f"originals/ab/{SHA}"
    assert display_key(SHA) == f"derived/{SHA}/display.jpg"
    assert thumb_key(SHA) == f"derived/{SHA}/thumb.jpg"
    with pytest.raises(ValueError):
        original_key("../../etc")


async def test_large_files_go_in_parts_and_come_back_whole(storage, tmp_path):
    """Above the part size (5 MB in the tests' S3 settings) uploads are multipart; the stored
    object is byte-identical and still write-once."""
    data = (bytes(range(256)) * 4096) * 11 + b"tail"  # 11 MB and a bit: three parts
    key = original_key(SHA)
    assert await storage.put_file(key, _file(tmp_path, data))
    assert await storage.size(key) == len(data)
    assert not await storage.put_file(key, _file(tmp_path, b"late", "late"))
    streamed = [c async for c in storage.read(key, chunk_size=1 << 20)]
    assert b"".join(streamed) == data


async def test_concurrent_large_writers_store_one_whole_file(storage, tmp_path):
    sources = [_file(tmp_path, bytes([i]) * (6 * 1024 * 1024 + i), f"big{i}") for i in range(3)]
    key = original_key(SHA)
    results = await asyncio.gather(*(storage.put_file(key, s) for s in sources))
    assert sum(results) == 1
    assert await storage.read_bytes(key) == sources[results.index(True)].read_bytes()


async def test_an_abandoned_read_does_not_break_the_next(storage, tmp_path):
    key = thumb_key(SHA)
    await storage.replace_file(key, _file(tmp_path, b"x" * 1_000_000))
    for _ in range(3):
        reader = storage.read(key, chunk_size=1000)
        assert await anext(reader) == b"x" * 1000
        await reader.aclose()
    assert await storage.read_bytes(key) == b"x" * 1_000_000
