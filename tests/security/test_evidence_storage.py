"""Evidence storage an auditor can rely on: no orphans, write-once for real, hashes checked.

* six concurrent uploads with one nonce leave one original and one derived folder; the losers
  are refused before storing and leave nothing on disk; ``zerotrip storage check`` agrees;
* the store links only files it staged itself, copies anything else, keeps objects read-only;
* an original whose bytes changed under the store is never downloaded.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import stat
import subprocess
import sys
import time

import pytest
from sqlmodel import select

from tests.factories import applicant_headers, apply, make_staff
from tests.media import samples
from zerotrip.api.keys import STORAGE
from zerotrip.evidence.storage_check import check_storage
from zerotrip.media.keys import original_key
from zerotrip.media.models import Evidence
from zerotrip.media.storage_local import LocalStorage


@pytest.fixture
async def settings(settings):
    """Room for the races under test: more concurrent uploads through one link than the
    per-link cap allows (that cap is tested in tests/security/test_slow_bodies.py)."""
    return dataclasses.replace(settings, uploads_per_link=8, uploads_per_ip=8)


def _capture(nonce: str) -> dict[str, str]:
    claims = {"origin": "capture", "nonce": nonce, "taken_at": int(time.time() * 1000),
              "lat": samples.PREMISES[0], "lon": samples.PREMISES[1], "accuracy": 10}  # fmt: skip
    return {"X-Capture": json.dumps(claims), "Content-Type": "image/jpeg"}


def _files(root, pattern: str = "*") -> list:
    return sorted(p for p in root.glob(pattern) if p.exists()) if root.exists() else []


def _derived_folders(settings) -> list:
    return _files(settings.media_dir / "derived")


def _incoming_leftovers(settings) -> list:
    return [p for p in _files(settings.media_dir / "incoming", "**/*") if p.is_file()]


def _cli(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "ZEROTRIP_DATABASE_URL": settings.database_url,
        "ZEROTRIP_SECRET_KEY": "x",
        "ZEROTRIP_DATA_DIR": str(settings.data_dir),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    return subprocess.run(
        [sys.executable, "-m", "zerotrip", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _rewrite_in_place(path, offset: int, data: bytes) -> None:
    """Write into the existing file (same inode), as a careless caller or a bad disk would."""
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)


async def _race(client, url, headers, bodies, nonce):
    return await asyncio.gather(
        *(client.post(url, data=body, headers={**headers, **_capture(nonce)}) for body in bodies)
    )


@pytest.mark.parametrize("same_bytes", [False, True])
async def test_six_concurrent_uploads_with_one_nonce_leave_one_original(
    client, db, settings, same_bytes
):
    case, token = await apply(client)
    headers = applicant_headers(token)
    cp = case["checkpoints"][0]["id"]
    resp = await client.post(f"/api/cases/{case['id']}/checkpoints/{cp}/nonce", headers=headers)
    nonce = (await resp.json())["nonce"]
    bodies = [samples.jpeg_bytes(seed=1 if same_bytes else 70 + n) for n in range(6)]
    url = f"/api/cases/{case['id']}/checkpoints/{cp}/evidence"
    answers = await _race(client, url, headers, bodies, nonce)
    statuses = sorted(r.status for r in answers)
    if same_bytes:  # retries of one photo: all answered with the one evidence
        assert set(statuses) <= {200, 201}, statuses
        ids = {(await r.json())["id"] for r in answers}
        assert len(ids) == 1
    else:  # one photo wins the nonce, the others are refused before anything is stored
        assert statuses == [201, 409, 409, 409, 409, 409], statuses
        for r in answers:
            if r.status == 409:
                assert r.content_type == "application/problem+json"
                assert (await r.json())["code"] == "nonce_used"
    originals = _files(settings.media_dir / "originals", "*/*")
    assert len(originals) == 1 and len(_derived_folders(settings)) == 1
    assert _incoming_leftovers(settings) == []
    report = await check_storage(db, client.app[STORAGE])
    assert report.clean, report.lines()
    assert (report.originals, report.rows) == (1, 1)


async def test_storage_check_names_objects_without_rows_and_rows_without_objects(
    client, db, settings, tmp_path
):
    case, token = await apply(client)
    headers = applicant_headers(token)
    cp = case["checkpoints"][0]["id"]
    resp = await client.post(
        f"/api/cases/{case['id']}/checkpoints/{cp}/evidence",
        data=samples.jpeg_bytes(seed=5),
        headers={**headers, "Content-Type": "image/jpeg", "X-Capture": '{"origin":"gallery"}'},
    )
    assert resp.status == 201
    refused = await client.post(  # a refused file's original is accounted for by its event
        f"/api/cases/{case['id']}/checkpoints/{cp}/evidence",
        data=samples.jpeg_bytes(seed=6)[:300],
        headers={**headers, "Content-Type": "image/jpeg"},
    )
    assert refused.status == 422
    result = _cli(settings, "storage", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "agree" in result.stdout

    storage = client.app[STORAGE]
    stray = samples.jpeg_bytes(seed=7)  # an upload that died between storing and recording
    stray_sha = hashlib.sha256(stray).hexdigest()
    (tmp_path / "stray").write_bytes(stray)
    await storage.put_file(original_key(stray_sha), tmp_path / "stray")
    async with db.session() as session:
        recorded = (await session.exec(select(Evidence))).one()
    (settings.media_dir / recorded.blob_key).unlink()  # lost bytes
    result = _cli(settings, "storage", "check")
    assert result.returncode == 1
    assert f"object without row: {original_key(stray_sha)}" in result.stdout
    assert f"row without object: evidence {recorded.id}: {recorded.blob_key}" in result.stdout


async def test_the_store_links_only_what_it_staged_and_keeps_objects_read_only(tmp_path):
    storage = LocalStorage(tmp_path / "media")
    mine = tmp_path / "caller-file"
    mine.write_bytes(b"original bytes")
    assert await storage.put_file("originals/aa/one", mine)
    stored = tmp_path / "media" / "originals/aa/one"
    assert os.stat(stored).st_ino != os.stat(mine).st_ino  # copied, not linked
    _rewrite_in_place(mine, 0, b"CHANGED")  # the caller rewrites its own path
    assert stored.read_bytes() == b"original bytes"
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o444

    storage.staging.mkdir(parents=True, exist_ok=True)
    staged = storage.staging / "upload-1"
    staged.write_bytes(b"received upload")
    assert await storage.put_file("originals/bb/two", staged)
    linked = tmp_path / "media" / "originals/bb/two"
    assert os.stat(linked).st_ino == os.stat(staged).st_ino  # staged by the store: no copy
    assert stat.S_IMODE(os.stat(linked).st_mode) == 0o444
    await storage.replace_file("derived/bb/display.jpg", mine)
    assert stat.S_IMODE(os.stat(tmp_path / "media/derived/bb/display.jpg").st_mode) == 0o444
    with pytest.raises(ValueError):
        await storage.put_file("incoming/x", mine)  # the staging folder holds no objects


async def test_an_original_changed_under_the_store_is_not_downloaded(client, db, settings):
    case, token = await apply(client)
    cp = case["checkpoints"][0]["id"]
    resp = await client.post(
        f"/api/cases/{case['id']}/checkpoints/{cp}/evidence",
        data=samples.jpeg_bytes(seed=8),
        headers={**applicant_headers(token), "Content-Type": "image/jpeg"},
    )
    evidence_id = (await resp.json())["id"]
    staff = await make_staff(db, "inspector")
    url = f"/api/evidence/{evidence_id}/original"
    good = await client.get(url, headers=staff.headers)
    assert good.status == 200
    data = await good.read()
    stored = settings.media_dir / original_key(hashlib.sha256(data).hexdigest())
    os.chmod(stored, 0o644)  # someone with the disk in hand
    _rewrite_in_place(stored, len(data) // 2, b"\x00" * 16)
    bad = await client.get(url, headers=staff.headers)
    assert bad.status == 500
    assert bad.content_type == "application/problem+json"
    assert (await bad.json())["type"].endswith("/problems/integrity-failure")
