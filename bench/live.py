"""Live video bench: N synthetic applicants (aiortc, pre-encoded VP8) each watched by one
synthetic inspector talking back, recording on, against the real server in its own process; the
naive MediaRelay + MediaRecorder path (decode and re-encode) measured in the same run as reference.

Per step it prints server CPU per session, frames in vs out, event-loop lag, RSS and the
still-capture latency (click to stored JPEG). The last line is the summary:
``live: <N> sessions at <C>% CPU each, <R>x cheaper than transcoding, still p95 <L> ms,
step-down <S> s``: the step-down time is measured at the largest step, on a few sessions whose
link degrades at once.

    python bench/live.py                   # ramp 1,5,10,20 sessions, 640x480@30, ~2-3 minutes
    python bench/live.py --steps 1,10,20,30 --size 1280x720 --seconds 10
    python bench/live.py --soak 300        # then hold the largest step 5 minutes, RSS sampled
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

import psutil
from aiohttp import ClientSession, web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from header import loaded, ratio_text

from zerotrip.live import passthrough
from zerotrip.live.synthetic import (
    ClipTrack,
    SyntheticClient,
    client_configuration,
    make_clip,
)

PASSWORD = "bench password 1"


# --- the server process ------------------------------------------------------------------------


async def serve(data_dir: str, naive: bool, database_url: str = "") -> None:
    """Run the real app (or the naive reference) on 127.0.0.1:0; print port and tokens."""
    lags: deque[float] = deque(maxlen=2000)

    async def lag_probe() -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.02)
            lags.append((time.perf_counter() - start - 0.02) * 1000)

    app = naive_app() if naive else await real_app(data_dir, database_url)
    info: dict[str, Any] = app.get("bench_info", {})

    async def metrics(request: web.Request) -> web.Response:
        values = sorted(lags)
        lags.clear()
        body = {
            "rss_mb": psutil.Process().memory_info().rss / 2**20,
            "lag_p95_ms": values[int(len(values) * 0.95)] if values else 0.0,
            "lag_max_ms": values[-1] if values else 0.0,
            **request.app["bench_counters"](),
        }
        return web.json_response(body)

    app.router.add_get("/bench/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(json.dumps({"port": port, **info}), flush=True)
    probe = asyncio.create_task(lag_probe())
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until parent exits
    probe.cancel()
    await runner.cleanup()


async def real_app(data_dir: str, database_url: str = "") -> web.Application:
    from zerotrip.accounts.service import create_staff, issue_staff_token
    from zerotrip.api.app import create_app
    from zerotrip.api.keys import LIVE
    from zerotrip.config import Settings
    from zerotrip.db import Database, migrate

    settings = Settings(
        data_dir=Path(data_dir),
        database_url=database_url,
        secret_key="bench",
        live_max_sessions=500,
        evidence_workers=1,
    ).resolved()
    await asyncio.to_thread(migrate, settings)
    db = Database(settings)
    tokens = {}
    async with db.transaction() as session:
        for role in ("clerk", "inspector"):
            user = await create_staff(session, role, role.title(), role, PASSWORD)
            tokens[role] = (await issue_staff_token(session, user, "api", hours=None)).token
    await db.dispose()
    app = create_app(settings)
    app["bench_info"] = tokens

    def counters() -> dict[str, Any]:
        rooms = app[LIVE].rooms.values()
        return {
            "sessions": len(rooms),
            "frames_in": sum(r.video.stats.packets_in for r in rooms),
            "frames_out": sum(r.video.stats.packets_out for r in rooms),
            "dropped": sum(r.video.stats.dropped for r in rooms),
            "segments": sum(len(r.recorder.segments) for r in rooms),
            "stills_ms": [ms for r in rooms for ms in r.still_latencies_ms],
        }

    app["bench_counters"] = counters
    return app


def naive_app() -> web.Application:
    """aiortc's own way: decode every frame, MediaRelay to the viewer (re-encoded by its
    sender) and MediaRecorder (re-encoded again) — the reference this design is measured by."""
    from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
    from aiortc.contrib.media import MediaBlackhole, MediaRecorder, MediaRelay

    relay = MediaRelay()
    blackhole = MediaBlackhole()
    starting: list[Any] = []
    published: dict[str, Any] = {}
    peers: list[Any] = []
    recorders: list[Any] = []
    frames = {"in": 0}
    app = web.Application()

    class Counted(MediaStreamTrack):
        """The recorder's input, counted (frames untouched): a recorder that stops taking
        frames, or whose task died, is a failed baseline, not a cheap one."""

        kind = "video"

        def __init__(self, source: Any, counter: dict[str, int]) -> None:
            super().__init__()
            self._source, self._counter = source, counter

        async def recv(self) -> Any:
            frame = await self._source.recv()
            self._counter["in"] += 1
            return frame

    def recorder_error() -> str:
        for recorder in recorders:
            for context in recorder._MediaRecorder__tracks.values():  # aiortc 1.16 internals
                task = context.task
                if task is not None and task.done() and not task.cancelled() and task.exception():
                    return f"MediaRecorder: {task.exception()!r}"
        return ""

    async def publish(request: web.Request) -> web.Response:
        offer = await request.json()
        pc = RTCPeerConnection(client_configuration([]))
        peers.append(pc)
        recorder = MediaRecorder(str(Path(tempfile.mkdtemp()) / "naive.mp4"))
        recorders.append(recorder)

        @pc.on("track")
        def on_track(track: Any) -> None:
            published[track.kind] = track
            if track.kind == "video":  # (with audio too, MediaRecorder trips on its own mux order)
                recorder.addTrack(Counted(relay.subscribe(track), frames))
                starting.append(asyncio.ensure_future(recorder.start()))
            else:
                blackhole.addTrack(relay.subscribe(track))
                starting.append(asyncio.ensure_future(blackhole.start()))

        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return web.json_response({"sdp": pc.localDescription.sdp})

    async def view(request: web.Request) -> web.Response:
        offer = await request.json()
        pc = RTCPeerConnection(client_configuration([]))
        peers.append(pc)
        for kind in ("video", "audio"):
            pc.addTrack(relay.subscribe(published[kind]))
        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return web.json_response({"sdp": pc.localDescription.sdp})

    app.router.add_post("/publish", publish)
    app.router.add_post("/view", view)
    app["bench_counters"] = lambda: {
        "sessions": 1 if published else 0,
        "recorder_error": recorder_error(),
        **frames,
    }
    return app


# --- the load generator --------------------------------------------------------------------------


def full_rate(cpu_percent: float, seconds: float, frames_out: int, fps: int) -> float:
    """CPU work per delivered frame, as % of a core for one stream at the nominal frame rate.

    On a shared machine a starved process delivers fewer frames and so uses less CPU; per-frame
    work is the fair comparison between the two paths.
    """
    cpu_seconds = cpu_percent / 100 * seconds
    return cpu_seconds / max(1, frames_out) * fps * 100


class Server:
    def __init__(self, naive: bool, database_url: str = "") -> None:
        self.dir = tempfile.mkdtemp(prefix="zerotrip-live-bench-")
        args = [sys.executable, __file__, "--serve", self.dir, "--database-url", database_url]
        args += ["--naive"] if naive else []
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.info = json.loads(self.proc.stdout.readline())
        self.base = f"http://127.0.0.1:{self.info['port']}"
        self.ps = psutil.Process(self.proc.pid)
        self.ps.cpu_percent(None)

    def cpu(self) -> float:
        """Average % of one core since the previous call."""
        return self.ps.cpu_percent(None)

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def book(http: ClientSession, server: Server, n: int) -> tuple[int, str, int]:
    """A case ready for inspection with a booked session: (session id, applicant token, cp)."""
    clerk = {"Authorization": f"Bearer {server.info['clerk']}"}
    inspector = {"Authorization": f"Bearer {server.info['inspector']}"}
    application = {
        "matter_code": "food-business", "applicant_name": f"Bench {n}",
        "premises_address": f"Bench street {n}", "premises_lat": 30.27, "premises_lon": 120.15,
    }  # fmt: skip
    async with http.post(f"{server.base}/api/applications", json=application) as resp:
        created = await resp.json()
    cid, token = created["case"]["id"], created["applicant_token"]
    for action, headers, body in (
        ("prereview", clerk, {"outcome": "accept"}),
        ("start_inspection", inspector, {}),
    ):
        url = f"{server.base}/api/cases/{cid}/actions/{action}"
        async with http.post(url, json=body, headers=headers) as resp:
            case = await resp.json()
    now = time.time()
    slot = {
        "slot_start": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now - 60)),
        "slot_end": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now + 3 * 3600)),
    }
    async with http.post(
        f"{server.base}/api/cases/{cid}/live-sessions", json=slot, headers=clerk
    ) as resp:
        session = await resp.json()
    return session["id"], token, case["checkpoints"][0]["id"]


async def open_session(http: ClientSession, server: Server, clip: Any, n: int) -> dict[str, Any]:
    sid, token, checkpoint = await book(http, server, n)
    ws = f"{server.base.replace('http', 'ws')}/api/live/sessions/{sid}/ws"
    applicant = SyntheticClient(http, ws, token)
    inspector = SyntheticClient(http, ws, server.info["inspector"])
    await applicant.connect()
    await applicant.publish(clip)
    await inspector.connect()
    await inspector.subscribe(decode=False, voice=clip)  # the inspector talks back
    return {"applicant": applicant, "inspector": inspector, "checkpoint": checkpoint}


async def metrics(http: ClientSession, server: Server) -> dict[str, Any]:
    async with http.get(f"{server.base}/bench/metrics") as resp:
        return await resp.json()


def sent(sessions: list[dict[str, Any]]) -> int:
    return sum(s["applicant"].video_track.sent for s in sessions)


def received(sessions: list[dict[str, Any]]) -> int:
    return sum(s["inspector"].received["video"] for s in sessions)


async def measure(http, server, sessions, seconds: float, stills: int) -> dict[str, Any]:
    await metrics(http, server)
    server.cpu()
    before = (sent(sessions), received(sessions))
    m0 = await metrics(http, server)
    latencies: list[float] = []
    grabs: list[float] = []
    gap = seconds / max(1, stills)
    start = time.monotonic()
    for i in range(stills):
        target = sessions[i % len(sessions)]
        reply = await target["inspector"].request(
            {"type": "capture", "checkpoint_id": target["checkpoint"]}
        )
        if reply["type"] == "still":
            latencies.append(reply["latency_ms"])
            grabs.append(reply["grab_ms"])
        await asyncio.sleep(max(0.0, start + gap * (i + 1) - time.monotonic()))
    await asyncio.sleep(max(0.0, start + seconds - time.monotonic()))
    cpu = server.cpu()
    m1 = await metrics(http, server)
    return {
        "cpu": cpu,
        "client_in": sent(sessions) - before[0],
        "client_out": received(sessions) - before[1],
        "server_in": m1["frames_in"] - m0["frames_in"],
        "server_out": m1["frames_out"] - m0["frames_out"],
        "dropped": m1["dropped"] - m0["dropped"],
        "lag_p95": m1["lag_p95_ms"],
        "lag_max": m1["lag_max_ms"],
        "rss": m1["rss_mb"],
        "stills": latencies,
        "grabs": grabs,
    }


async def step_down_times(sessions: list[dict[str, Any]], count: int) -> list[float]:
    """Seconds from a link degradation to the session's switch to audio plus photos, on
    ``count`` of the running sessions at once: each synthetic phone reports what a starved
    Chrome reports each second (its encoder limited by bandwidth, a low estimate) and its video
    stops getting through; the clock stops when the phone receives ``link_mode``. (The netns
    test measures the same on a real shaped link: tests/live/test_live_stepdown_netns.py.)"""

    async def one(session: dict[str, Any]) -> float:
        phone = session["applicant"]
        track = phone.video_track
        original = track.recv

        async def starved() -> Any:  # nothing gets through any more
            await asyncio.sleep(3600)
            return await original()

        start = time.monotonic()
        track.recv = starved

        async def report() -> None:
            while True:
                stats = {"kbps": 90, "limited_by": "bandwidth", "estimate_kbps": 120, "loss": 0.0}
                await phone.send({"type": "stats", "stats": stats})
                await asyncio.sleep(1)

        reporter = asyncio.create_task(report())
        try:
            changed = await phone.expect("link_mode", within=60)
        finally:
            reporter.cancel()
        assert changed["mode"] == "audio_photos", changed
        return time.monotonic() - start

    return list(await asyncio.gather(*(one(s) for s in sessions[-count:])))


async def naive_reference(
    http: ClientSession, clip: Any, seconds: float
) -> tuple[float, str | None]:
    """Server CPU (% of a core) of one session relayed and recorded the naive way, and why the
    measurement failed (the recorder died or took no frames, nothing was relayed), if it did."""
    from aiortc import RTCPeerConnection, RTCSessionDescription

    server = Server(naive=True)
    peers = []
    try:
        pub = RTCPeerConnection(client_configuration([]))
        track = ClipTrack(clip, "video")
        pub.addTrack(track)
        pub.addTrack(ClipTrack(clip, "audio"))
        view = RTCPeerConnection(client_configuration([]))
        view.addTransceiver("video", direction="recvonly")
        view.addTransceiver("audio", direction="recvonly")
        counted = {"video": 0}
        consumers = []

        @view.on("track")
        def on_track(t: Any) -> None:
            async def drain() -> None:
                while True:
                    await t.recv()
                    counted[t.kind] = counted.get(t.kind, 0) + 1

            consumers.append(asyncio.ensure_future(drain()))

        peers = [pub, view]
        for pc, path in ((pub, "/publish"), (view, "/view")):
            await pc.setLocalDescription(await pc.createOffer())
            body = {"sdp": pc.localDescription.sdp}
            async with http.post(f"{server.base}{path}", json=body) as resp:
                answer = await resp.json()
            await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
            if pc is view:
                passthrough.mark_encoded(view)  # the bench client itself need not decode
        await asyncio.sleep(3)  # warm up
        server.cpu()
        before = (track.sent, counted["video"])
        m0 = await metrics(http, server)
        await asyncio.sleep(seconds)
        cpu = server.cpu()
        m1 = await metrics(http, server)
        out = counted["video"] - before[1]
        recorded = m1["in"] - m0["in"]
        at_rate = full_rate(cpu, seconds, out, clip.fps)
        print(
            f"naive  N=1: server {cpu:5.1f}% of a core, frames in {track.sent - before[0]}"
            f" out {out} recorded {recorded} -> {at_rate:.1f}% of a core per session at"
            f" {clip.fps} fps (decode + re-encode relay + MediaRecorder)"
        )
        for c in consumers:
            c.cancel()
        failed = m1["recorder_error"] or None
        if not failed and (out == 0 or recorded == 0):
            failed = f"naive path relayed {out} and recorded {recorded} frames"
        if failed:
            print(f"naive baseline failed: {failed}")
        return at_rate, failed
    finally:
        for pc in peers:
            await pc.close()
        server.stop()


async def run(args: argparse.Namespace) -> None:
    passthrough.install()
    width, height = (int(x) for x in args.size.split("x"))
    clip = make_clip(
        width, height, fps=args.fps, seconds=4, gop=args.fps * 2, bitrate=args.kbps * 1000
    )
    steps = [int(s) for s in args.steps.split(",")]
    print(f"clip: {width}x{height}@{args.fps} VP8 ~{args.kbps} kbit/s; cores {os.cpu_count()}")
    async with ClientSession() as http:
        try:
            naive_cpu, naive_failed = await naive_reference(http, clip, args.seconds)
        except Exception as exc:  # a crashed baseline must not stop the bench of ours
            naive_cpu, naive_failed = 0.0, f"{type(exc).__name__}: {exc}"
            print(f"naive baseline failed: {naive_failed}")
        server = Server(naive=False, database_url=args.database_url)
        sessions: list[dict[str, Any]] = []
        results = []
        down_text = "n/a"
        try:
            for n in steps:
                while len(sessions) < n:
                    sessions.append(await open_session(http, server, clip, len(sessions)))
                await asyncio.sleep(3)  # let every inspector sync on a keyframe
                if n == steps[0]:  # the first still also starts the analysis worker: not timed
                    cold = await sessions[0]["inspector"].request(
                        {"type": "capture", "checkpoint_id": sessions[0]["checkpoint"]}
                    )
                    cold_ms = cold.get("latency_ms")
                    print(f"first still (cold start of the evidence pipeline): {cold_ms} ms")
                r = await measure(http, server, sessions, args.seconds, args.stills)
                per = full_rate(r["cpu"], args.seconds, r["server_out"], args.fps)  # per stream
                # The server's criterion: every frame in went out. (A starved client process may
                # produce fewer than fps frames; that shows as the delivered rate.)
                ok = r["server_out"] >= r["server_in"] * 0.99
                rate = r["server_out"] / n / args.seconds
                p95 = (
                    statistics.quantiles(r["stills"], n=20)[-1]
                    if len(r["stills"]) >= 2
                    else (r["stills"] or [0])[0]
                )
                results.append((n, per, ok, r["stills"]))
                print(
                    f"ours   N={n:>3}: server {r['cpu']:5.1f}% "
                    f"({per:4.1f}%/session at {args.fps} fps), "
                    f"frames in {r['server_in']} out {r['server_out']} ({rate:.0f} fps/session) "
                    f"(clients {r['client_in']}->{r['client_out']}), dropped {r['dropped']}, "
                    f"loop lag p95 {r['lag_p95']:.1f} ms max {r['lag_max']:.0f} ms, "
                    f"RSS {r['rss']:.0f} MB, still p95 {p95:.0f} ms ({len(r['stills'])}; "
                    f"keyframe+JPEG+derived max {max(r['grabs'] or [0]):.0f} ms, "
                    "the rest is ingest)"
                )
            downs = await step_down_times(sessions, min(args.step_downs, len(sessions)))
            down_text = f"{max(downs):.1f} s" if downs else "n/a"
            print(
                f"step-down at N={len(sessions)}: degradation to audio+photos in "
                + " ".join(f"{s:.1f}" for s in downs)
                + f" s (max {down_text}; aim <= 5 s)"
            )
            if args.soak:
                rss = []
                end = time.monotonic() + args.soak
                while time.monotonic() < end:
                    await asyncio.sleep(min(30, args.soak))
                    rss.append((await metrics(http, server))["rss_mb"])
                print(
                    f"soak {args.soak}s at N={len(sessions)}: RSS MB "
                    + " ".join(f"{x:.0f}" for x in rss)
                )
        finally:
            for s in sessions:
                await s["inspector"].close()
                await s["applicant"].close()
            server.stop()
    good = [r for r in results if r[2]] or results[:1]
    best = max(good, key=lambda r: r[0])
    stills = [ms for r in results for ms in r[3]]
    p95 = statistics.quantiles(stills, n=20)[-1] if len(stills) >= 2 else (stills or [0])[0]
    # Cheaper = the naive CPU per session over ours; refused when the naive run failed.
    cheaper = ratio_text(
        1.0, best[1] / naive_cpu if naive_cpu > 0 else None, "{:.0f}x", failed=naive_failed
    )
    print(
        f"live: {best[0]} sessions at {best[1]:.1f}% CPU each, "
        f"{cheaper} cheaper than transcoding, still p95 {p95:.0f} ms (aim <= 300), "
        f"step-down {down_text} (aim <= 5 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="1,5,10,20")
    parser.add_argument("--seconds", type=float, default=8.0, help="measurement window per step")
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--kbps", type=int, default=1000)
    parser.add_argument("--stills", type=int, default=6, help="captures per step")
    parser.add_argument(
        "--step-downs", type=int, default=3, help="sessions degraded at the end (step-down time)"
    )
    parser.add_argument("--soak", type=int, default=0, help="hold the last step this many seconds")
    parser.add_argument(
        "--database-url",
        default="",
        help="an EMPTY database for the server, e.g. postgresql+asyncpg://127.0.0.1/zt_bench "
        "(default: SQLite in a temporary folder)",
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--naive", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.naive, args.database_url))
    else:
        with loaded():
            asyncio.run(run(args))


if __name__ == "__main__":
    main()
