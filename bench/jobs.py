"""Report signing as a job: what the web process's other requests feel while reports are signed.

Naive (the way before jobs): one ``all`` process signs each report inside the request, on the
process that also answers everyone else. Ours: a ``web`` process queues the signing
(``Prefer: respond-async``) and a ``worker`` process runs it. In both, a prober asks the web
process for ``/api/health`` every 20 ms while K reports are signed one after another, and the
bench prints the prober's latency (p50, p99, max) and the time the K signatures took.

    python bench/jobs.py [--reports 4] [--database-url postgresql+asyncpg://...]

Last line: ``jobs: <K> reports in <A> s on a worker; web p99 <B> ms vs <C> ms signing in-process
(<R>x)``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.factories import Staff, make_staff, walk  # noqa: E402
from zerotrip.config import Settings  # noqa: E402
from zerotrip.db import Database, migrate  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(data_dir: Path, database_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZEROTRIP_")}
    env.update(
        ZEROTRIP_DATA_DIR=str(data_dir),
        ZEROTRIP_DATABASE_URL=database_url,
        ZEROTRIP_SECRET_KEY="bench-jobs",
        ZEROTRIP_PORT=str(port),
        ZEROTRIP_JOB_POLL_S="0.2",
        ZEROTRIP_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return env


@contextlib.asynccontextmanager
async def processes(env: dict[str, str], *roles: str) -> AsyncIterator[None]:
    """``zerotrip serve --role R`` for each role (the first answers HTTP), until the block ends."""
    started = []
    for role in roles:
        started.append(
            subprocess.Popen(  # noqa: ASYNC220 - started once, not per request
                [sys.executable, "-m", "zerotrip", "serve", "--role", role, "--no-migrate"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    url = f"http://127.0.0.1:{env['ZEROTRIP_PORT']}/api/health"
    try:
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 120
            while True:
                assert time.monotonic() < deadline, "the server did not start"
                with contextlib.suppress(aiohttp.ClientError):
                    if (await http.get(url)).status == 200:
                        break
                await asyncio.sleep(0.3)
        await asyncio.sleep(1.0)  # the worker's first poll
        yield
    finally:
        for proc in started:
            proc.terminate()
        for proc in started:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


async def probe(http: aiohttp.ClientSession, stop: asyncio.Event, out: list[float]) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        async with http.get("/api/health") as resp:
            await resp.read()
        out.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(0.02)


async def sign_all(
    http: aiohttp.ClientSession, cases: list[int], inspector: Staff, queued: bool
) -> float:
    start = time.perf_counter()
    for case_id in cases:
        headers = {**inspector.headers, **({"Prefer": "respond-async"} if queued else {})}
        resp = await http.post(f"/api/cases/{case_id}/report", headers=headers)
        assert resp.status in (201, 202), await resp.text()
        if resp.status == 202:
            url = resp.headers["Location"]
            while True:
                view = await (await http.get(url, headers=inspector.headers)).json()
                if view["state"] in ("done", "failed"):
                    break
                await asyncio.sleep(0.1)  # polling as the staff page does
            assert view["state"] == "done", view
    return time.perf_counter() - start


def figures(latencies: list[float]) -> tuple[float, float, float]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99, ordered[-1]


async def phase(
    env: dict[str, str], roles: tuple[str, ...], cases: list[int], inspector: Staff, queued: bool
) -> tuple[float, tuple[float, float, float]]:
    async with processes(env, *roles):
        base = f"http://127.0.0.1:{env['ZEROTRIP_PORT']}"
        async with aiohttp.ClientSession(base_url=base) as http:
            stop, latencies = asyncio.Event(), []
            prober = asyncio.create_task(probe(http, stop, latencies))
            seconds = await sign_all(http, cases, inspector, queued)
            stop.set()
            await prober
    return seconds, figures(latencies)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=4)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="zt-bench-jobs-") as tmp:
        data = Path(tmp)
        url = args.database_url or f"sqlite+aiosqlite:///{data / 'bench.db'}"
        settings = Settings.from_env({}, data_dir=data, database_url=url, secret_key="bench-jobs")
        await asyncio.to_thread(migrate, settings)  # Alembic runs its own event loop
        db = Database(settings)
        clerk = await make_staff(db, "clerk", "bench-clerk")
        inspector = await make_staff(db, "inspector", "bench-inspector")
        await db.dispose()
        env = environment(data, url, free_port())
        async with processes(env, "all"):
            base = f"http://127.0.0.1:{env['ZEROTRIP_PORT']}"
            async with aiohttp.ClientSession(base_url=base) as http:
                cases = [
                    (await walk(http, clerk, inspector, until="inspected")).id
                    for _ in range(args.reports)
                ]
        naive_s, naive = await phase(env, ("all",), cases, inspector, queued=False)
        ours_s, ours = await phase(env, ("web", "worker"), cases, inspector, queued=True)
    print(
        f"naive (signing in the web process): {args.reports} reports in {naive_s:.1f} s; "
        f"/api/health p50 {naive[0]:.1f} ms, p99 {naive[1]:.1f} ms, max {naive[2]:.1f} ms"
    )
    print(
        f"ours (web queues, a worker signs): {args.reports} reports in {ours_s:.1f} s; "
        f"/api/health p50 {ours[0]:.1f} ms, p99 {ours[1]:.1f} ms, max {ours[2]:.1f} ms"
    )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"jobs: {args.reports} reports in {ours_s:.1f} s on a worker; web p99 {ours[1]:.1f} ms "
        f"vs {naive[1]:.1f} ms signing in-process ({naive[1] / max(ours[1], 0.001):.1f}x)"
    )


if __name__ == "__main__":
    asyncio.run(main())
