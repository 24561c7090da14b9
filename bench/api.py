"""API throughput and latency under load, against a bare aiohttp handler as the ceiling.

Starts the service on SQLite in a temporary folder (or on a throwaway PostgreSQL database with
``--database-url``) with 10,000 cases (bulk-inserted with valid materials, checklists and audit
chains; a few taken through the real lifecycle), serves it from its own process on 127.0.0.1
(ephemeral port), and drives it with ``wrk`` over loopback: 50 connections for 20 s each on the
case list, case detail (random cases), and a transition (``receive_materials`` on random accepted
cases, bearer auth). Then the same load on a hello-world aiohttp handler in another process,
measured in the same run. With ``--processes N`` (PostgreSQL), N app processes behind nginx take
the case-detail load too.

The load average is printed before and after; the last lines read

    api: detail <N> req/s p99 <M> ms (<P>% of hello world), list …, transition … timeouts 0
    api: <N> processes, <X> req/s, p99 <M> ms, <S>x one process        (with --processes)

    .venv/bin/python bench/api.py [--cases 10000] [--duration 20] [--connections 50]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres] [--processes 2]

``--database-url`` names a server and a database to connect to; the bench creates its own
database there (``zt_bench_<pid>``) and drops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from header import loaded, ratio_text

SECRET = "bench-secret-key"


def settings_for(data_dir: Path, database_url: str = "") -> Any:
    from zerotrip.config import Settings

    extra = {"database_url": database_url} if database_url else {}
    return Settings(data_dir=data_dir, secret_key=SECRET, log_level="WARNING", **extra).resolved()


async def _pg_admin(url: str, sql: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(sql))
    await engine.dispose()


def bench_database(server_url: str) -> tuple[str, str]:
    """A fresh database on the server of ``server_url``: its URL and its name."""
    name = f"zt_bench_{os.getpid()}"
    asyncio.run(_pg_admin(server_url, f'CREATE DATABASE "{name}"'))
    return server_url.rsplit("/", 1)[0] + f"/{name}", name


# --- seeding --------------------------------------------------------------------------------


async def seed(data_dir: Path, n_cases: int, database_url: str = "") -> dict[str, Any]:
    """Bulk-insert ``n_cases`` valid cases; return a staff token and ids to aim at."""
    from zerotrip.accounts.service import create_staff, issue_applicant_link, issue_staff_token
    from zerotrip.cases.audit import GENESIS, chain_hash, event_body
    from zerotrip.cases.catalogue import load_catalogue
    from zerotrip.cases.deadlines import WorkingCalendar
    from zerotrip.cases.lifecycle import perform
    from zerotrip.cases.models import AuditEvent, Case, CaseMaterial, CaseState, Checkpoint
    from zerotrip.cases.search import write_index
    from zerotrip.cases.step_params import PrereviewParams
    from zerotrip.cases.store import Application, create_case
    from zerotrip.kit.actor import Actor
    from zerotrip.kit.canonical import canonical_json
    from zerotrip.kit.clock import utcnow
    from zerotrip.services import build_services

    settings = settings_for(data_dir, database_url)
    services = build_services(settings, role="cli")  # the steps react as through the API
    db, lifecycle = services.db, services.lifecycle
    catalogue = load_catalogue()
    calendar = WorkingCalendar()
    rng = random.Random(7)
    now = utcnow()
    today = now.date()
    actor = Actor("staff", "1", "Bench Clerk (clerk)")

    async with db.transaction() as session:
        user = await create_staff(session, "bench", "Bench Clerk", "admin", "bench-password")
        token = (await issue_staff_token(session, user, "api", hours=None)).token

    # A few cases through the real lifecycle, as a check that the bulk rows look the same.
    for _ in range(5):
        async with db.transaction() as session:
            case = await create_case(
                session,
                catalogue,
                Application(
                    matter_code="food-business", applicant_name="李娜", premises_address="x"
                ),
                actor,
            )
            await issue_applicant_link(session, case.id, days=30)
            await perform(
                session,
                case.id,
                "prereview",
                PrereviewParams(outcome="accept"),
                actor=actor,
                role="admin",
                lifecycle=lifecycle,
            )

    states = [CaseState.submitted, CaseState.accepted, CaseState.inspecting, CaseState.closed]
    cases, materials, checkpoints, events = [], [], [], []
    async with db.session() as session:
        first_id = 1 + (await session.execute(sa.select(sa.func.max(Case.id)))).scalar_one()
    for n in range(n_cases):
        case_id = first_id + n
        matter = catalogue.matters[n % len(catalogue.matters)]
        state = states[n % len(states)]
        at = now - timedelta(minutes=n_cases - n)
        deadline = None
        if state != CaseState.submitted:
            deadline = calendar.add_working_days(today - timedelta(days=rng.randint(0, 40)), 20)
        payload = {"reference": f"ZB{case_id:08d}", "matter": matter.code, "via": "clerk"}
        body = event_body(case_id, 1, at, actor, "case.submitted", payload)
        head = chain_hash(GENESIS, body)
        cases.append(
            {
                "id": case_id,
                "reference": f"ZB{case_id:08d}",
                "matter_code": matter.code,
                "state": state.value,
                "applicant_name": f"申请人{n}",
                "applicant_phone": "",
                "applicant_email": "",
                "organisation": f"Business {n}",
                "premises_address": f"文三路 {n} 号",
                "submitted_via": "clerk",
                "submitted_at": at,
                "accepted_at": at if deadline else None,
                "deadline": deadline,
                "updated_at": at,
                "audit_seq": 1,
                "audit_head": head,
            }
        )
        for item in matter.materials:
            materials.append({"case_id": case_id, **item.model_dump(), "status": "expected"})
        for position, cp in enumerate(matter.checklist):
            checkpoints.append(
                {"case_id": case_id, "position": position, "round": 1, **cp.model_dump()}
            )
        events.append(
            {
                "case_id": case_id,
                "seq": 1,
                "at": at,
                "actor_kind": actor.kind,
                "actor_id": actor.id,
                "actor_label": actor.label,
                "kind": "case.submitted",
                "payload": canonical_json(payload),
                "prev_hash": GENESIS,
                "hash": head,
            }
        )
    async with db.transaction() as session:
        for table, rows in (
            (Case, cases),
            (CaseMaterial, materials),
            (Checkpoint, checkpoints),
            (AuditEvent, events),
        ):
            for start in range(0, len(rows), 5000):
                await session.execute(sa.insert(table), rows[start : start + 5000])
        # the list's search rows, as the ORM hooks write them for cases made one by one
        for start in range(0, len(cases), 2000):
            part = cases[start : start + 2000]
            await (await session.connection()).run_sync(write_index, part)
    await services.close()
    accepted = [c["id"] for c in cases if c["state"] == CaseState.accepted.value]
    return {
        "token": token,
        "first_id": first_id,
        "last_id": first_id + n_cases - 1,
        "accepted": accepted,
    }


# --- the servers, each in its own process ------------------------------------------------------


def serve(kind: str, data_dir: Path, sock_fd: int, database_url: str) -> None:
    from aiohttp import web

    sock = socket.socket(fileno=sock_fd)
    if kind == "hello":
        app = web.Application()

        async def hello(request: web.Request) -> web.Response:
            return web.json_response({"hello": "world"})

        app.router.add_get("/", hello)
    else:
        from zerotrip.api.app import create_app

        app = create_app(settings_for(data_dir, database_url))
    web.run_app(app, sock=sock, print=None, access_log=None, handle_signals=True)


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    port: int

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_server(kind: str, data_dir: Path, database_url: str = "") -> Server:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            kind,
            "--data-dir",
            str(data_dir),
            "--fd",
            str(sock.fileno()),
            "--database-url",
            database_url,
        ],
        pass_fds=[sock.fileno()],
    )
    sock.close()
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url + ("/" if kind == "hello" else "/api/health"), process, kind)
    return Server(process, url, port)


def wait_until_up(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    import urllib.request

    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.1)


NGINX_CONF = """
worker_processes 1;
error_log {folder}/nginx.err warn;
pid {folder}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {folder}/nginx-body;
    proxy_temp_path {folder}/nginx-proxy;
    upstream zerotrip_web {{
        least_conn;
{servers}
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header Connection "";
        location / {{ proxy_pass http://zerotrip_web; }}
    }}
}}
"""


def start_nginx(folder: Path, ports: list[int]) -> tuple[subprocess.Popen[bytes], str]:
    """nginx in front of the app processes: the ``location /`` of ``deploy/nginx`` without TLS
    (wrk and nginx share the 2 cores; TLS would measure the handshake, not the app)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    servers = "\n".join(f"        server 127.0.0.1:{p};" for p in ports)
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_CONF.format(folder=folder, servers=servers, port=port))
    process = subprocess.Popen(
        [nginx, "-c", str(conf), "-p", str(folder), "-g", "daemon off;"],
        stderr=(folder / "nginx.out").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url + "/api/health", process, "nginx")
    return process, url


# --- wrk --------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    rps: float
    p99_ms: float
    errors: int
    timeouts: int  # requests wrk gave up on after 2 s: not in the percentiles, so reported here

    @property
    def failed(self) -> str | None:
        if self.rps <= 0:
            return f"{self.name} measured nothing"
        if self.errors:
            return f"{self.name} had {self.errors} non-2xx answers"
        return None  # timeouts are listed beside the figures, not a failed measurement


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def run_wrk(name: str, url: str, script: str, args: argparse.Namespace, folder: Path) -> Result:
    lua = folder / f"{name.replace(' ', '_')}.lua"
    lua.write_text(script)
    cmd = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--latency",
        "-s",
        str(lua),
        url,
    ]
    out = subprocess.run(
        cmd, capture_output=True, text=True, check=True, timeout=args.duration + 60
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", out)
    non_ok = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    timeouts = re.search(r"Socket errors:.*timeout (\d+)", out)
    errors = int(non_ok[1]) if non_ok else 0
    return Result(name, rps, _ms(p99[1], p99[2]), errors, int(timeouts[1]) if timeouts else 0)


def lua_get(path_expr: str, token: str | None) -> str:
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"\n' if token else ""
    return (
        f"{auth}math.randomseed(42)\n"
        f'request = function()\n  return wrk.format("GET", {path_expr})\nend\n'
    )


def lua_post(ids: list[int], body: str, token: str) -> str:
    listed = ", ".join(str(i) for i in ids)
    return (
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"ids = {{{listed}}}\nmath.randomseed(42)\n"
        "request = function()\n"
        "  local id = ids[math.random(1, #ids)]\n"
        '  local path = "/api/cases/" .. id .. "/actions/receive_materials"\n'
        f"  return wrk.format(\"POST\", path, nil, '{body}')\n"
        "end\n"
    )


def summary_line(results: list[Result], ceiling: Result) -> str:
    """``api: detail <N> req/s p99 <M> ms (<P>% of hello world), list …, transition …``."""
    parts = []
    for key, name in (
        ("detail", "case detail"),
        ("list", "case list"),
        ("transition", "transition"),
    ):
        r = next(x for x in results if x.name == name)
        share = ratio_text(r.rps, ceiling.rps, "{:.1%} of hello world", failed=ceiling.failed)
        part = f"{key} {r.rps:.0f} req/s p99 {r.p99_ms:.1f} ms ({share})"
        if key == "transition":
            part += f" errors {r.errors} timeouts {r.timeouts}"
        parts.append(part)
    return "api: " + ", ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--database-url", default="", help="a PostgreSQL server (default SQLite)")
    parser.add_argument("--processes", type=int, default=0, help="N app processes behind nginx")
    parser.add_argument("--serve", choices=["api", "hello"], help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--fd", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.data_dir, args.fd, args.database_url)
        return 0
    if shutil.which("wrk") is None:
        print("wrk is not installed: run `make system-deps`", file=sys.stderr)
        return 2
    if args.processes and not args.database_url:
        print("--processes needs --database-url (one SQLite file has one writer)", file=sys.stderr)
        return 2
    with loaded():
        return run(args)


def run(args: argparse.Namespace) -> int:
    from zerotrip.db import migrate

    folder = Path(tempfile.mkdtemp(prefix="zerotrip-bench-"))
    url, dbname = ("", "")
    if args.database_url:
        url, dbname = bench_database(args.database_url)
    try:
        migrate(settings_for(folder, url))
        started = time.perf_counter()
        world = asyncio.run(seed(folder, args.cases, url))
        where = f"PostgreSQL, {dbname}" if url else f"SQLite, {folder}"
        print(f"seeded {args.cases} cases in {time.perf_counter() - started:.1f} s ({where})")
        token = world["token"]
        first, last = world["first_id"], world["last_id"]
        detail_script = lua_get(f'"/api/cases/" .. math.random({first}, {last})', token)
        results: list[Result] = []
        api = start_server("api", folder, url)
        try:
            loads = [
                ("case list", lua_get('"/api/cases?limit=50"', token)),
                ("case detail", detail_script),
                (
                    "transition",
                    lua_post(
                        world["accepted"][:200],
                        '{"codes": ["layout-plan"], "channel": "courier"}',
                        token,
                    ),
                ),
            ]
            for name, script in loads:
                results.append(run_wrk(name, api.url, script, args, folder))
        finally:
            api.stop()
        cluster: Result | None = None
        if args.processes:
            cluster = run_cluster(args, folder, url, detail_script)
        hello = start_server("hello", folder)
        try:
            ceiling = run_wrk("hello world", hello.url, lua_get('"/"', None), args, folder)
        finally:
            hello.stop()
        print(
            f"load: wrk, {args.threads} threads, {args.connections} connections, {args.duration} s"
            f" on {'PostgreSQL' if url else 'SQLite'}"
        )
        for r in [*results, *([cluster] if cluster else []), ceiling]:
            share = (
                ratio_text(r.rps, ceiling.rps, "{:6.1%} of hello world", failed=ceiling.failed)
                if r is not ceiling
                else "ceiling"
            )
            line = f"{r.name:>12}: {r.rps:7.0f} req/s  p99 {r.p99_ms:7.1f} ms  errors {r.errors}"
            line += f"  timeouts {r.timeouts}"
            print(f"{line}  ({share})")
        failed = [r.name for r in results if r.errors]
        if failed:
            print(f"non-2xx responses on: {', '.join(failed)}")
        print(summary_line(results, ceiling))
        if cluster is not None:
            detail = next(r for r in results if r.name == "case detail")
            times = ratio_text(cluster.rps, detail.rps, "{:.2f}x one process", failed=detail.failed)
            print(
                f"api: {args.processes} processes, {cluster.rps:.0f} req/s, "
                f"p99 {cluster.p99_ms:.1f} ms, {times}"
            )
        return 1 if failed else 0
    finally:
        if dbname:
            asyncio.run(
                _pg_admin(args.database_url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            )
        shutil.rmtree(folder, ignore_errors=True)


def run_cluster(args: argparse.Namespace, folder: Path, url: str, script: str) -> Result:
    """Case detail through nginx in front of ``--processes`` app processes."""
    servers = [start_server("api", folder, url) for _ in range(args.processes)]
    nginx: subprocess.Popen[bytes] | None = None
    try:
        nginx, front = start_nginx(folder, [s.port for s in servers])
        result = run_wrk("case detail", front, script, args, folder)
        result.name = f"detail x{args.processes}"
        return result
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        for s in servers:
            s.stop()


if __name__ == "__main__":
    sys.exit(main())
