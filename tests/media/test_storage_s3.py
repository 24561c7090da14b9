"""S3 as the service's store, end to end on a real SeaweedFS: an upload through the API lands in
the bucket (nothing on local disk), comes back through the API byte for byte, and the auditor's
``zerotrip bundle export`` reads it from the bucket into a bundle that verifies offline."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient

from tests.factories import applicant_headers, apply, make_staff
from tests.harness.apps import AppFactory
from tests.media import samples
from tests.seaweedfs import S3Server, s3_settings_for
from zerotrip.api.keys import STORAGE
from zerotrip.config import Settings
from zerotrip.media.keys import original_key
from zerotrip.media.storage_s3 import S3Storage
from zerotrip.review.bundle_verify import verify_bundle


@pytest.fixture
def s3(settings: Settings, s3_server: S3Server) -> Settings:
    return s3_settings_for(settings, s3_server)


@pytest.fixture
async def s3_client(apps: AppFactory, s3: Settings) -> AsyncIterator[TestClient]:
    async with apps.client(s3) as client:
        yield client


def _cli_env(settings: Settings) -> dict[str, str]:
    s3_names = [f.name for f in dataclasses.fields(Settings) if f.name.startswith("s3_")]
    names = ["database_url", "secret_key", "data_dir", "storage", *s3_names]
    env = {f"ZEROTRIP_{n.upper()}": str(getattr(settings, n)) for n in names}
    env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    return env


async def test_upload_is_stored_in_the_bucket_and_bundled_from_it(s3_client, s3, db, tmp_path):
    assert isinstance(s3_client.server.app[STORAGE], S3Storage)
    case, token = await apply(s3_client)
    checkpoint = case["checkpoints"][0]["id"]
    data = samples.jpeg_bytes((1800, 1200), exif=samples.exif_for(), seed=5)
    resp = await s3_client.post(
        f"/api/cases/{case['id']}/checkpoints/{checkpoint}/evidence",
        data=data,
        headers={**applicant_headers(token), "Content-Type": "application/octet-stream"},
    )
    assert resp.status == 201, await resp.text()
    evidence_id = (await resp.json())["id"]
    sha = hashlib.sha256(data).hexdigest()

    # In the bucket, under this deployment's prefix; not on the local disk.
    direct = S3Storage(s3)
    try:
        assert await direct.read_bytes(original_key(sha)) == data
        presigned = await direct.presigned_url(original_key(sha))
    finally:
        await direct.aclose()
    local = s3.media_dir / "originals"
    assert not local.exists() or not [p for p in local.rglob("*") if p.is_file()]

    # Served back through the API (streamed from the bucket).
    staff = await make_staff(db, "inspector")
    original = await s3_client.get(f"/api/evidence/{evidence_id}/original", headers=staff.headers)
    assert original.status == 200 and await original.read() == data
    display = await s3_client.get(f"/api/evidence/{evidence_id}/display", headers=staff.headers)
    assert display.status == 200 and (await display.read())[:2] == b"\xff\xd8"
    # A presigned URL needs no credentials and expires (its signature says for how long).
    session = s3_client.session
    async with session.get(presigned) as fetched:
        assert fetched.status == 200 and await fetched.read() == data
    assert f"X-Amz-Expires={s3.s3_presign_seconds}" in presigned

    # The auditor's export reads the originals from the bucket.
    out = tmp_path / "bundle.zip"
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "zerotrip", "bundle", "export", str(case["id"]), "-o", str(out)],
        env=_cli_env(s3),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = verify_bundle(out)
    assert report.ok, report.problems
    with zipfile.ZipFile(out) as zf:
        assert zf.read(f"originals/{sha}.jpg") == data


async def test_a_stopped_store_is_an_error_not_a_lost_file(s3, tmp_path):
    """Pointed at nothing, writes fail loudly; nothing claims to be stored."""
    nowhere = dataclasses.replace(s3, s3_endpoint_url="http://127.0.0.1:9")
    store = S3Storage(nowhere)
    source = tmp_path / "f"
    source.write_bytes(b"x")
    try:
        with pytest.raises(OSError):
            await store.put_file(original_key("ef" * 32), source)
    finally:
        await store.aclose()


async def test_a_dead_writers_claim_delays_but_never_blocks_a_large_original(s3, tmp_path):
    """A writer that claimed a multipart original and died leaves a claim; the next writer waits
    for it to go stale, takes it over and stores the file (write-once still holds after)."""
    store = S3Storage(s3)
    store.claim_stale_s = 1.0
    key = original_key("12" * 32)
    big = tmp_path / "big"
    big.write_bytes(os.urandom(6 * 1024 * 1024))
    try:
        s3_client = await store._s3()
        claim = f"{s3.s3_prefix}.claims/{key}"
        await s3_client.put_object(Bucket=s3.s3_bucket, Key=claim, Body=b"")
        assert await asyncio.wait_for(store.put_file(key, big), 30)
        assert await store.read_bytes(key) == big.read_bytes()
        assert not await store.put_file(key, big)
        assert not await store.exists(f".claims/{key}")  # released
    finally:
        await store.aclose()
