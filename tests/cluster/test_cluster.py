"""The cluster as deployed: PostgreSQL, SeaweedFS S3 and nginx (the shipped ``deploy/nginx``
configuration, its ports templated) in front of two ``web``, two ``live`` and two ``worker``
processes, all on loopback. Through nginx a case goes from application to delivered with its
evidence in the bucket; requests spread over both web processes; the courier reconciler runs in
exactly one process.

Runs with ``--db=postgresql`` (``make test-postgresql``); bounded: every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import select

from tests.factories import applicant_headers, apply, make_staff, walk
from tests.harness.databases import PG_ADMIN_URL
from tests.live.live_helpers import clip as _clip
from tests.media import samples
from tests.seaweedfs import S3Server
from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.jobs.models import Job
from zerotrip.live.models import LiveSession
from zerotrip.live.synthetic import SyntheticClient
from zerotrip.media.keys import original_key
from zerotrip.media.models import Evidence
from zerotrip.media.storage_s3 import S3Storage

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
START_TIMEOUT_S = 300
ROLES = {"web": 2, "live": 2, "worker": 2}
T = TypeVar("T")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Process:
    role: str
    port: int
    log: Path
    popen: subprocess.Popen[bytes]

    def lines(self) -> list[dict]:
        out = []
        for raw in self.log.read_text(errors="replace").splitlines():
            if raw.startswith("{"):
                try:
                    out.append(json.loads(raw))
                except json.JSONDecodeError:
                    pass
        return out


@dataclass
class Cluster:
    url: str
    settings: Settings
    workdir: Path
    processes: list[Process] = field(default_factory=list)

    @property
    def live_data_dir(self) -> Path:
        """The data dir the live processes share (each records in its own folder there)."""
        return self.workdir / "live-shared"

    @property
    def access_log(self) -> Path:
        return self.workdir / "access.log"

    def of(self, role: str) -> list[Process]:
        return [p for p in self.processes if p.role == role]


async def _admin(sql: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(sql))
    await engine.dispose()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:
                if resp.status == 200:
                    return
        except (OSError, urllib.error.HTTPError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} not ready in {START_TIMEOUT_S}s:\n{log.read_text()[-3000:]}")


def _nginx_config(workdir: Path, cluster_ports: dict[str, list[int]], https_port: int) -> Path:
    """The shipped configuration with this run's ports, certificate, paths."""
    conf = (ROOT / "deploy" / "nginx" / "zerotrip.conf").read_text()
    for shipped, ours in zip((8081, 8082), cluster_ports["web"], strict=True):
        conf = conf.replace(f"127.0.0.1:{shipped}", f"127.0.0.1:{ours}")
    for shipped, ours in zip((8091, 8092), cluster_ports["live"], strict=True):
        conf = conf.replace(f"127.0.0.1:{shipped}", f"127.0.0.1:{ours}")
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    static = ROOT / "zerotrip" / "api" / "static"
    conf = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", conf)
    conf = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", conf)
    conf = conf.replace("listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl")
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{_free_port()};")
    conf = conf.replace("/opt/zerotrip/static/", f"{static}/")
    conf = conf.replace("/var/log/nginx/zerotrip.access.log", str(workdir / "access.log"))
    (workdir / "zerotrip.conf").write_text(conf)
    for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (workdir / temp).mkdir(exist_ok=True)
    main = workdir / "nginx.conf"
    main.write_text(
        f"""
worker_processes 1;
daemon off;
user root;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    include {workdir}/zerotrip.conf;
}}
"""
    )
    return main


def _stop(popen: subprocess.Popen[bytes]) -> None:
    if popen.poll() is None:
        popen.terminate()
        try:
            popen.wait(20)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


@pytest.fixture(scope="module")
def cluster(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    s3_server: S3Server,
) -> Iterator[Cluster]:
    if request.config.getoption("--db") != "postgresql":
        pytest.skip("the cluster runs on PostgreSQL (make test-postgresql)")
    if NGINX is None:
        pytest.fail("nginx is not installed: scripts/install-system-deps installs it")
    workdir = tmp_path_factory.mktemp("cluster")
    name = f"zt_cluster_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    https_port = _free_port()
    base = {
        "ZEROTRIP_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
        "ZEROTRIP_SECRET_KEY": "cluster-test-shared-secret",
        "ZEROTRIP_PUBLIC_URL": f"https://127.0.0.1:{https_port}",
        "ZEROTRIP_STORAGE": "s3",
        "ZEROTRIP_S3_ENDPOINT_URL": s3_server.endpoint_url,
        "ZEROTRIP_S3_BUCKET": s3_server.bucket,
        "ZEROTRIP_S3_ACCESS_KEY_ID": s3_server.access_key_id,
        "ZEROTRIP_S3_SECRET_ACCESS_KEY": s3_server.secret_access_key,
        "ZEROTRIP_S3_PREFIX": f"{name}/",
        "ZEROTRIP_LOG_FORMAT": "json",
        "ZEROTRIP_TRUSTED_PROXIES": "127.0.0.1",
        "ZEROTRIP_DB_POOL_SIZE": "3",
        "ZEROTRIP_DB_MAX_OVERFLOW": "3",
        "ZEROTRIP_EVIDENCE_WORKERS": "1",
        "ZEROTRIP_RECONCILE_INTERVAL_S": "1",
        # A killed live process is presumed dead within seconds (the test waits for that).
        "ZEROTRIP_LIVE_HEARTBEAT_SECONDS": "1",
        "ZEROTRIP_LIVE_OWNER_EXPIRY_SECONDS": "6",
        "ZEROTRIP_JOB_POLL_S": "0.5",
        "ZEROTRIP_JOB_LEASE_S": "6",  # a killed worker's job is taken over within seconds
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
    }
    migrate = subprocess.run(
        [sys.executable, "-m", "zerotrip", "migrate"],
        env={**base, "ZEROTRIP_DATA_DIR": str(workdir / "migrate")},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    settings = Settings.from_env({k: v for k, v in base.items() if k.startswith("ZEROTRIP_")})
    result = Cluster(f"https://127.0.0.1:{https_port}", settings, workdir)
    ports: dict[str, list[int]] = {"web": [], "live": []}
    nginx: subprocess.Popen[bytes] | None = None
    try:
        for role, count in ROLES.items():
            for n in range(count):
                port = _free_port()
                log = workdir / f"{role}-{n}.log"
                env = {
                    **base,
                    "ZEROTRIP_PORT": str(port),
                    # As deploy/systemd: the live processes share one data dir.
                    "ZEROTRIP_DATA_DIR": str(
                        result.live_data_dir if role == "live" else workdir / f"{role}-{n}"
                    ),
                    "ZEROTRIP_LIVE_ADVERTISE_ADDRESS": f"127.0.0.1:{port}",
                }
                popen = subprocess.Popen(
                    [sys.executable, "-m", "zerotrip", "serve", "--role", role, "--no-migrate"],
                    env=env,
                    stdout=log.open("wb"),
                    stderr=subprocess.STDOUT,
                )
                result.processes.append(Process(role, port, log, popen))
                if role in ports:
                    ports[role].append(port)
        for proc in result.processes:
            if proc.role != "worker":
                _wait_ready(f"http://127.0.0.1:{proc.port}/api/ready", proc.popen, proc.log)
        main = _nginx_config(workdir, ports, https_port)
        nginx = subprocess.Popen(
            [NGINX, "-p", str(workdir), "-c", str(main), "-e", str(workdir / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "nginx.out").open("wb"),
        )
        deadline = time.monotonic() + 30
        while not _answers(https_port):
            assert nginx.poll() is None, (workdir / "nginx.out").read_text()
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.2)
        yield result
    finally:
        if nginx is not None:
            _stop(nginx)
        for proc in result.processes:  # all asked at once: each finishes its work meanwhile
            if proc.popen.poll() is None:
                proc.popen.terminate()
        for proc in result.processes:
            _stop(proc.popen)
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _session(cluster: Cluster) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        base_url=cluster.url,
        connector=aiohttp.TCPConnector(ssl=False),
        timeout=aiohttp.ClientTimeout(total=120),
    )


async def test_a_case_goes_from_application_to_delivered_through_nginx(cluster: Cluster):
    db = Database(cluster.settings)
    store = S3Storage(cluster.settings)
    try:
        clerk = await make_staff(db, "clerk")
        inspector = await make_staff(db, "inspector")
        async with _session(cluster) as http:
            # Evidence through nginx lands in the bucket, whichever web process took it.
            case, token = await apply(http)
            checkpoint = case["checkpoints"][0]["id"]
            photo = samples.jpeg_bytes((1600, 1200), exif=samples.exif_for(), seed=21)
            upload = await http.post(
                f"/api/cases/{case['id']}/checkpoints/{checkpoint}/evidence",
                data=photo,
                headers={**applicant_headers(token), "Content-Type": "application/octet-stream"},
            )
            assert upload.status == 201, await upload.text()
            assert await store.read_bytes(original_key(hashlib.sha256(photo).hexdigest())) == photo
            # The static files come from nginx, the pages from the app.
            page = await http.get("/apply")
            assert page.status == 200
            walked = await walk(http, clerk, inspector, until="delivered")
            assert walked.view["state"] == "delivered"
            # The applicant link issued by one process opens on every process (shared secret).
            for _ in range(4):
                mine = await http.get(f"/api/cases/{case['id']}", headers=applicant_headers(token))
                assert mine.status == 200
    finally:
        await store.aclose()
        await db.dispose()


async def test_uploads_from_one_address_are_capped_across_both_web_processes(cluster: Cluster):
    """Each web process caps concurrent uploads per address (8); two processes would let 16
    through. nginx holds the cap for the cluster: with 8 uploads streaming (spread over both
    processes, none of which reached its own cap) the 9th is refused by nginx with the app's
    problem document in the caller's language, and once they end uploads are taken again."""
    async with _session(cluster) as http:
        links = [await apply(http) for _ in range(9)]  # one link each: the per-link cap is 3
        release, all_started = asyncio.Event(), asyncio.Event()
        started = 0

        async def held_body() -> AsyncIterator[bytes]:
            nonlocal started
            started += 1
            if started == 8:
                all_started.set()
            yield b"\xff\xd8\xff"
            await release.wait()

        def post(case: dict, token: str, body: object, **headers: str) -> Awaitable:
            checkpoint = case["checkpoints"][0]["id"]
            return http.post(
                f"/api/cases/{case['id']}/checkpoints/{checkpoint}/evidence",
                data=body,
                headers={**applicant_headers(token), "Content-Type": "application/octet-stream",
                         **headers},
            )  # fmt: skip

        held = [asyncio.ensure_future(post(case, token, held_body())) for case, token in links[:8]]
        await asyncio.wait_for(all_started.wait(), 30)
        await asyncio.sleep(1.0)  # the bodies' first bytes have reached the web processes
        assert not any(task.done() for task in held), [t.result().status for t in held if t.done()]
        case, token = links[8]
        photo = samples.jpeg_bytes((800, 600), exif=samples.exif_for(), seed=33)
        refused = await post(case, token, photo)
        assert refused.status == 429, await refused.text()
        assert refused.content_type == "application/problem+json"
        assert refused.headers["Retry-After"] == "5"
        body = await refused.json()
        assert body["limit"] == "uploads_per_ip" and "同时上传" in body["detail"], body
        english = await post(case, token, photo, **{"Accept-Language": "en-GB,en;q=0.9"})
        assert english.status == 429 and "uploads at a time" in (await english.json())["detail"]
        for task in held:
            task.cancel()
        await asyncio.gather(*held, return_exceptions=True)
        deadline = time.monotonic() + 20
        while True:
            again = await post(case, token, photo)
            if again.status != 429 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        assert again.status == 201, await again.text()
    refusals = [
        line for line in cluster.access_log.read_text().splitlines()
        if "/evidence" in line and '" 429 ' in line
    ]  # fmt: skip
    assert refusals and all("up=-" in line for line in refusals), refusals


async def test_report_signing_is_queued_by_web_and_run_by_one_worker(cluster: Cluster):
    db = Database(cluster.settings)
    store = S3Storage(cluster.settings)
    try:
        clerk = await make_staff(db, "clerk", "jobs-clerk")
        inspector = await make_staff(db, "inspector", "jobs-inspector")
        async with _session(cluster) as http:
            case, _ = await walk(http, clerk, inspector, until="inspected")
            sign = f"/api/cases/{case['id']}/report"
            queued = await http.post(sign, headers={**inspector.headers, "Prefer": "respond-async"})
            assert queued.status == 202, await queued.text()
            job_url = queued.headers["Location"]
            deadline = time.monotonic() + 120
            while True:
                view = await (await http.get(job_url, headers=inspector.headers)).json()
                if view["state"] in ("done", "failed") or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.3)
            assert view["state"] == "done" and view["progress"] == 100, view
            # Without "Prefer: respond-async" the web process waits for the worker: 201 as ever.
            again = await http.post(sign, headers=inspector.headers)
            assert again.status == 201, await again.text()
            assert (await again.json())["version"] == 2
            pdf = await http.get(sign, headers=inspector.headers)
            assert pdf.status == 200 and (await pdf.read()).startswith(b"%PDF")
            docs = await (await http.get(f"/api/cases/{case['id']}/documents",
                                         headers=inspector.headers)).json()  # fmt: skip
            assert [r["version"] for r in docs["reports"]] == [1, 2]
        started = f"job {view['id']} (report.sign) attempt 1 started"
        runners = [p for p in cluster.processes for line in p.lines()
                   if line.get("message") == started]  # fmt: skip
        assert len(runners) == 1 and runners[0].role == "worker", [p.role for p in runners]
        keys = [key async for key in store.keys(f"reports/{case['id']}/")]
        assert len(keys) == 4  # two signatures, each a full and a shared copy
    finally:
        await store.aclose()
        await db.dispose()


async def test_requests_spread_over_both_web_processes(cluster: Cluster):
    async with _session(cluster) as http:
        ids = set()
        for _ in range(20):
            resp = await http.get("/api/health")
            assert resp.status == 200
            ids.add(resp.headers["X-Request-Id"])
        assert len(ids) == 20
    async with aiohttp.ClientSession() as direct:
        served = []
        for proc in cluster.of("web"):
            text = await (await direct.get(f"http://127.0.0.1:{proc.port}/metrics")).text()
            match = re.search(r'route="/api/health",status="200"\} (\d+)', text)
            served.append(int(match.group(1)) if match else 0)
    assert all(n > 0 for n in served), served
    async with _session(cluster) as http:
        assert (await http.get("/metrics")).status == 404  # not for the public


async def test_the_reconciler_runs_in_exactly_one_process(cluster: Cluster):
    deadline = time.monotonic() + 30
    while True:
        takers = [
            p
            for p in cluster.processes
            for line in p.lines()
            if line.get("message") == "lease courier reconciler taken: running it here"
        ]
        if takers or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(6)  # longer than a waiting worker's retry period
    takers = [
        p
        for p in cluster.processes
        for line in p.lines()
        if line.get("message") == "lease courier reconciler taken: running it here"
    ]
    assert len(takers) == 1 and takers[0].role == "worker", [p.role for p in takers]
    # Web and live processes of a cluster never run background work at all.
    for proc in cluster.of("web") + cluster.of("live"):
        assert not any("lease" in (line.get("message") or "") for line in proc.lines())


async def test_a_job_whose_worker_is_killed_is_finished_by_the_other_worker(cluster: Cluster):
    """Runs after the reconciler test: it kills one of the two workers."""
    db = Database(cluster.settings)
    try:
        clerk = await make_staff(db, "clerk", "kill-clerk")
        inspector = await make_staff(db, "inspector", "kill-inspector")
        async with _session(cluster) as http:
            case, _ = await walk(http, clerk, inspector, until="inspected")
            queued = await http.post(
                f"/api/cases/{case['id']}/report",
                headers={**inspector.headers, "Prefer": "respond-async"},
            )
            assert queued.status == 202, await queued.text()
            job_id = (await queued.json())["id"]

            async def job() -> Job:
                async with db.session() as session:
                    found = await session.get(Job, job_id)
                    assert found is not None
                    return found

            running = await _eventually(job, lambda j: j.state != "queued", within=60)
            assert running.state == "running" and running.lease_owner, running
            holder_pid = int(running.lease_owner.split("-")[1])
            holder = next(p for p in cluster.of("worker") if p.popen.pid == holder_pid)
            holder.popen.send_signal(signal.SIGKILL)
            holder.popen.wait(10)
            done = await _eventually(job, lambda j: j.state in ("done", "failed"), within=120)
            assert done.state == "done" and done.attempts == 2, done
            survivor = next(p for p in cluster.of("worker") if p is not holder)
            retaken = f"job {job_id} (report.sign) attempt 2 started"
            assert any(line.get("message") == retaken for line in survivor.lines())
            pdf = await http.get(f"/api/cases/{case['id']}/report", headers=inspector.headers)
            assert pdf.status == 200 and (await pdf.read()).startswith(b"%PDF")
            docs = await (await http.get(f"/api/cases/{case['id']}/documents",
                                         headers=inspector.headers)).json()  # fmt: skip
            assert [r["version"] for r in docs["reports"]] == [1]  # signed once, not twice
    finally:
        await db.dispose()


# --- live sessions across the live processes (last: it kills one of them) --------------------


def _upstreams(cluster: Cluster) -> dict[int, int]:
    """Session id -> the port of the live process nginx sent its requests to."""
    found: dict[int, int] = {}
    pattern = re.compile(r'"GET /api/live/sessions/(\d+)" 200 .* up=127\.0\.0\.1:(\d+)')
    for line in cluster.access_log.read_text().splitlines():
        if match := pattern.search(line):
            found[int(match.group(1))] = int(match.group(2))
    return found


@contextlib.asynccontextmanager
async def _peer(cluster: Cluster, sid: int, token: str) -> AsyncIterator[SyntheticClient]:
    """A participant on its own HTTP session: its own connection to nginx, and so its own
    upstream connection to whichever live process the hash picks."""
    ws_url = cluster.url.replace("https://", "wss://") + f"/api/live/sessions/{sid}/ws"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as http:
        peer = SyntheticClient(http, ws_url, token)
        try:
            yield peer
        finally:
            await peer.close()


async def _owner(db: Database, sid: int) -> str | None:
    async with db.session() as session:
        live = await session.get(LiveSession, sid)
        return live.owner_process if live else None


async def _recordings(db: Database, sid: int) -> list[Evidence]:
    async with db.session() as session:
        rows = await session.exec(
            select(Evidence).where(Evidence.live_session_id == sid, Evidence.kind == "recording")
        )
        return list(rows.all())


async def _eventually(
    probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool], within: float
) -> T:
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if ok(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.3)


def _recovered(evidence: list[Evidence]) -> set[str]:
    return {e.capture["file"] for e in evidence if (e.capture or {}).get("recovered_after_crash")}


async def test_live_sessions_reach_their_owner_and_survive_a_killed_live_process(
    cluster: Cluster,
):
    db = Database(cluster.settings)
    store = S3Storage(cluster.settings)
    live = {p.port: p for p in cluster.of("live")}
    try:
        clerk = await make_staff(db, "clerk", "live-clerk")
        inspector = await make_staff(db, "inspector", "live-inspector")
        async with _session(cluster) as http:
            case, token = await walk(http, clerk, inspector, until="inspecting")
            checkpoint = case["checkpoints"][0]["id"]
            start = datetime.now(UTC)
            sids = []
            for _ in range(12):  # enough that both live processes get one (2^-11 otherwise)
                booked = await http.post(
                    f"/api/cases/{case['id']}/live-sessions",
                    json={
                        "slot_start": start.isoformat(),
                        "slot_end": (start + timedelta(hours=1)).isoformat(),
                    },
                    headers=clerk.headers,
                )
                assert booked.status == 201, await booked.text()
                sids.append((await booked.json())["id"])
                seen = await http.get(f"/api/live/sessions/{sids[-1]}", headers=clerk.headers)
                assert seen.status == 200, await seen.text()
        first_on: dict[int, int] = {}
        for sid, port in _upstreams(cluster).items():
            if sid in sids:
                first_on.setdefault(port, sid)
        assert set(first_on) == set(live), first_on  # the hash spreads sessions over both
        (port_a, s_a), (port_b, s_b) = sorted(first_on.items())
        proc_a, proc_b = live[port_a], live[port_b]

        async with contextlib.AsyncExitStack() as stack:
            calls = {}
            for sid in (s_a, s_b):
                applicant = await stack.enter_async_context(_peer(cluster, sid, token))
                watcher = await stack.enter_async_context(_peer(cluster, sid, inspector.token))
                assert (await applicant.connect())["type"] == "welcome"
                assert (await applicant.publish(_clip()))["type"] == "answer"
                welcome = await watcher.connect()
                # Two connections through nginx, one room: the inspector finds the applicant.
                assert welcome["type"] == "welcome" and welcome["peer_present"], welcome
                await watcher.subscribe(decode=False)
                calls[sid] = (applicant, watcher)
            for _, watcher in calls.values():
                await watcher.wait_received("video", 30, within=60)
            owners = {sid: await _owner(db, sid) for sid in calls}
            assert f"-{proc_a.popen.pid}-" in (owners[s_a] or ""), owners
            assert f"-{proc_b.popen.pid}-" in (owners[s_b] or ""), owners

            # A still captured on the owner lands in the bucket.
            still = await calls[s_a][1].request(
                {"type": "capture", "checkpoint_id": checkpoint}, within=30
            )
            assert still["type"] == "still", still
            async with db.session() as session:
                shot = await session.get(Evidence, still["evidence_id"])
            assert shot is not None and await store.exists(shot.blob_key)

            # A cancel sent to the other live process ends the room on its owner.
            async with aiohttp.ClientSession() as direct:
                cancel = await direct.post(
                    f"http://127.0.0.1:{proc_b.port}/api/live/sessions/{s_a}/cancel",
                    headers=clerk.headers,
                )
                assert cancel.status == 200, await cancel.text()
            for peer in calls[s_a]:
                assert (await peer.expect("ended", within=20))["reason"]
            recorded = await _eventually(lambda: _recordings(db, s_a), bool, within=60)
            assert recorded and not _recovered(recorded)  # finalized by its owner, not taken
            for evidence in recorded:
                assert await store.exists(evidence.blob_key)

            # kill -9 the owner of the other session while it records.
            await calls[s_b][1].wait_received("video", 90, within=60)
            dead_id = owners[s_b]
            assert dead_id is not None
            folder = cluster.live_data_dir / "live" / dead_id
            open_segments = {p.name for p in folder.rglob("segment-*.mkv")}
            assert open_segments, list(folder.rglob("*"))
            proc_b.popen.send_signal(signal.SIGKILL)
            proc_b.popen.wait(10)

        # The survivor takes the dead process's segments once its heartbeat expired: all of them.
        taken = await _eventually(
            lambda: _recordings(db, s_b), lambda r: _recovered(r) >= open_segments, within=60
        )
        assert _recovered(taken) == open_segments, (taken, open_segments)
        for evidence in taken:
            assert await store.exists(evidence.blob_key)
            assert await store.size(evidence.blob_key) > 0
        assert not folder.exists()
        await asyncio.sleep(3)  # several more heartbeats, each with a sweep
        assert len(await _recordings(db, s_b)) == len(taken)  # taken once, not twice
        recorded_a = await _recordings(db, s_a)
        assert not _recovered(recorded_a)  # the survivor's own recordings were never "recovered"

        # The session's routes now reach the survivor (nginx moves the hash off the dead one).
        async def view() -> int:
            async with _session(cluster) as http:
                resp = await http.get(f"/api/live/sessions/{s_b}", headers=clerk.headers)
                return resp.status

        assert await _eventually(view, lambda status: status == 200, within=30) == 200
    finally:
        await store.aclose()
        await db.dispose()
