"""What an operator watches: request ids, Prometheus metrics at ``/metrics`` and readiness at
``/api/ready`` (``/api/health`` stays a bare liveness answer).

The counters live on a :class:`Metrics` object held by the app (one per process; Prometheus
scrapes each process and sums). Gauges that describe shared state (outbox depth and lag) are
read from the database when scraped, so every process reports the same cluster-wide figure.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import func, text
from sqlmodel import col, select

from zerotrip.api.keys import LIVE, SERVICES
from zerotrip.logs import REQUEST_ID
from zerotrip.outbox.models import OutboxMessage, OutboxState

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
INGEST_ROUTE = "/api/cases/{case_id}/checkpoints/{checkpoint_id}/evidence"
CHECK_TIMEOUT_S = 3.0
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


class Histogram:
    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.total += value
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
                return
        self.counts[-1] += 1

    def lines(self, name: str, labels: str) -> list[str]:
        sep = "," if labels else ""
        out, running = [], 0
        for bound, count in zip((*self.buckets, math.inf), self.counts, strict=True):
            running += count
            le = "+Inf" if bound == math.inf else repr(bound)
            out.append(f'{name}_bucket{{{labels}{sep}le="{le}"}} {running}')
        out.append(f"{name}_sum{{{labels}}} {self.total:.6f}")
        out.append(f"{name}_count{{{labels}}} {running}")
        return out


class Metrics:
    """This process's request counters and latency histograms."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: dict[tuple[str, str], Histogram] = {}
        self.ingest = Histogram()
        self.started = time.time()

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, status)] += 1
        self.latency.setdefault((method, route), Histogram()).observe(seconds)
        if method == "POST" and route == INGEST_ROUTE and status < 300:
            self.ingest.observe(seconds)


METRICS = web.AppKey("metrics", Metrics)


def _route_of(request: web.Request) -> str:
    """The route's template, never the raw path (ids and tokens would explode the labels and
    leak applicant links into the metrics)."""
    info = request.match_info
    resource = info.route.resource if info.route is not None else None
    if resource is None or info.http_exception is not None:
        return "unmatched"
    return resource.canonical


@web.middleware
async def observe(request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
    """Give the request an id (the proxy's ``X-Request-Id`` when it looks like one), make it
    every log line's, send it back, and count the request."""
    given = request.headers.get("X-Request-Id", "")
    request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
    token = REQUEST_ID.set(request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = request_id
        return response
    except web.HTTPException as exc:
        status = exc.status
        exc.headers["X-Request-Id"] = request_id
        raise
    finally:
        request.app[METRICS].record(
            request.method, _route_of(request), status, time.perf_counter() - started
        )
        REQUEST_ID.reset(token)


async def _timed(name: str, check: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
    except Exception as exc:  # a failed check is an answer, not an error of the probe
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return {name: result}


async def _outbox_figures(request: web.Request) -> tuple[int, float]:
    """Messages waiting (pending or leased) and how long the oldest due one has waited (s)."""
    services = request.app[SERVICES]
    waiting = col(OutboxMessage.state).in_([OutboxState.pending, OutboxState.leased])
    async with services.db.session() as session:
        depth = (await session.exec(select(func.count()).where(waiting))).one()
        oldest = (
            await session.exec(
                select(func.min(OutboxMessage.next_attempt_at)).where(
                    OutboxMessage.state == OutboxState.pending
                )
            )
        ).one()
    lag = 0.0
    if oldest is not None:
        now = services.clock.now().astimezone(UTC)
        oldest_utc = oldest.replace(tzinfo=UTC) if oldest.tzinfo is None else oldest
        lag = max(0.0, (now - oldest_utc).total_seconds())
    return int(depth), lag


async def ready(request: web.Request) -> web.Response:
    """Ready to take traffic: the database answers, the store answers, the outbox is not far
    behind and (on a live process) there is room for another session. 503 names what is not."""
    services = request.app[SERVICES]
    settings = services.settings

    async def database() -> dict[str, Any]:
        async with services.db.session() as session:
            await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        return {"ok": True}

    async def storage() -> dict[str, Any]:
        check = getattr(services.storage, "check", None)
        if check is not None:
            await check()
        else:
            root = services.storage.local_path("probe")
            assert root is not None
            folder: Path = root.parent
            if not await asyncio.to_thread(folder.is_dir):
                return {"ok": False, "error": f"{folder} is not a folder"}
        return {"ok": True}

    async def outbox() -> dict[str, Any]:
        depth, lag = await _outbox_figures(request)
        limit = settings.ready_max_outbox_lag_s
        return {"ok": lag <= limit, "depth": depth, "lag_s": round(lag, 1), "max_lag_s": limit}

    async def live() -> dict[str, Any]:
        rooms = _live_rooms(request.app)
        capacity = settings.live_max_sessions
        serves_live = settings.role in ("all", "live")
        return {"ok": not serves_live or rooms < capacity, "rooms": rooms, "capacity": capacity}

    results: dict[str, Any] = {}
    for part in await asyncio.gather(
        _timed("database", database),
        _timed("storage", storage),
        _timed("outbox", outbox),
        _timed("live", live),
    ):
        results.update(part)
    ok = all(part["ok"] for part in results.values())
    body = {"ready": ok, "role": settings.role, "checks": results}
    return web.json_response(body, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition (version 0.0.4) of this process."""
    m = request.app[METRICS]
    lines = [
        "# HELP zerotrip_http_requests_total HTTP requests by route template and status.",
        "# TYPE zerotrip_http_requests_total counter",
    ]
    for (method, route, status), count in sorted(m.requests.items()):
        labels = f'method="{method}",route="{_escape(route)}",status="{status}"'
        lines.append(f"zerotrip_http_requests_total{{{labels}}} {count}")
    lines += [
        "# HELP zerotrip_http_request_seconds Time to answer, by route template.",
        "# TYPE zerotrip_http_request_seconds histogram",
    ]
    for (method, route), histogram in sorted(m.latency.items()):
        labels = f'method="{method}",route="{_escape(route)}"'
        lines += histogram.lines("zerotrip_http_request_seconds", labels)
    lines += [
        "# HELP zerotrip_ingest_seconds Time from upload received to evidence recorded.",
        "# TYPE zerotrip_ingest_seconds histogram",
        *m.ingest.lines("zerotrip_ingest_seconds", ""),
    ]
    try:
        depth, lag = await asyncio.wait_for(_outbox_figures(request), CHECK_TIMEOUT_S)
        lines += [
            "# HELP zerotrip_outbox_depth Outbox messages waiting (pending or leased).",
            "# TYPE zerotrip_outbox_depth gauge",
            f"zerotrip_outbox_depth {depth}",
            "# HELP zerotrip_outbox_lag_seconds How long the oldest due message has waited.",
            "# TYPE zerotrip_outbox_lag_seconds gauge",
            f"zerotrip_outbox_lag_seconds {lag:.3f}",
        ]
    except Exception:  # the database is down: the request figures are still worth having
        pass
    lines += [
        "# HELP zerotrip_live_rooms Live inspection rooms open in this process.",
        "# TYPE zerotrip_live_rooms gauge",
        f"zerotrip_live_rooms {_live_rooms(request.app)}",
        "# HELP zerotrip_process_start_time_seconds Start of this process (Unix time).",
        "# TYPE zerotrip_process_start_time_seconds gauge",
        f"zerotrip_process_start_time_seconds {m.started:.3f}",
    ]
    return web.Response(
        text="\n".join(lines) + "\n",
        content_type="text/plain",
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )


def _live_rooms(app: web.Application) -> int:
    return len(app[LIVE].rooms) if LIVE in app else 0


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def setup(app: web.Application) -> None:
    """Install the middleware's counters and the two endpoints on ``app``."""
    app[METRICS] = Metrics()
    app.router.add_get("/api/ready", ready)
    app.router.add_get("/metrics", metrics)
