"""A small pool of analysis processes with a memory cap and a hard wall-clock limit per file.

A crafted file can make a decoder loop or balloon; it must not block the server or other
uploads. Each worker process caps its address space (``RLIMIT_AS``); each job has a deadline,
and a worker that misses it is killed and replaced. Workers are forked from a forkserver that
has already imported Pillow, pillow-heif and exifread, so a replacement starts in milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import queue
import resource
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

_PRELOAD = ["zerotrip.media.analyse", "pillow_heif"]  # PyAV is imported for videos only
# Pillow frees image memory back to the OS after every image by default, so each photo paid
# ~7,000 fresh page faults (28 MB) in a worker. Keeping a few 16 MB blocks makes them reusable.
_KEPT_IMAGE_BLOCKS = 4


@dataclass(frozen=True)
class Limits:
    timeout_s: float
    memory_bytes: int
    max_pixels: int


def _serve(conn: Connection, memory_bytes: int) -> None:
    """Worker main loop: one job at a time, results back over the pipe."""
    from PIL import Image

    from zerotrip.media.analyse import analyse_file

    Image.core.set_blocks_max(_KEPT_IMAGE_BLOCKS)
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        path, kind, fmt, workdir, max_pixels = job
        conn.send(analyse_file(Path(path), kind, fmt, Path(workdir), max_pixels))


class _Worker:
    def __init__(self, ctx: Any, memory_bytes: int) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, memory_bytes), daemon=True)
        self.process.start()
        child.close()

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
            self.process.join(2)
        self.conn.close()


class AnalysisPool:
    """Run :func:`zerotrip.media.analyse.analyse_file` in bounded worker processes."""

    def __init__(self, size: int, limits: Limits) -> None:
        self.size = max(1, size)
        self.limits = limits
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(_PRELOAD)
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(self.size):
            self._idle.put(None)  # started lazily on first use
        # One waiting thread per worker: queued jobs wait in the event loop, not in threads taken
        # from the default executor that hashing and storage writes also need.
        self._threads = ThreadPoolExecutor(self.size, thread_name_prefix="evidence-analysis")
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()

    def _spawn(self) -> _Worker:
        worker = _Worker(self._ctx, self.limits.memory_bytes)
        with self._lock:
            self._all.add(worker)
        return worker

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)

    def _running(self, worker: _Worker | None) -> _Worker:
        """``worker`` if it is alive, else a fresh one in its place."""
        if worker is not None and worker.process.is_alive():
            return worker
        if worker is not None:
            self._discard(worker)
        return self._spawn()

    def warm(self) -> None:
        """Start the workers that are not running yet, in the background.

        Called when analysis is about to be needed (a live session opens, a capture nonce is
        issued), so the first still or photo does not pay the start-up of a worker.
        """
        self._threads.submit(self._start_idle)

    def _start_idle(self) -> None:
        taken: list[_Worker | None] = []
        while True:
            try:
                taken.append(self._idle.get_nowait())
            except queue.Empty:
                break
        try:
            taken = [self._running(worker) for worker in taken]
        finally:
            for worker in taken:
                self._idle.put(worker)

    def run_blocking(self, path: Path, kind: str, fmt: str | None, workdir: Path) -> dict[str, Any]:
        worker = self._idle.get()
        try:
            worker = self._running(worker)
            job = (str(path), kind, fmt, str(workdir), self.limits.max_pixels)
            try:
                worker.conn.send(job)
                if worker.conn.poll(self.limits.timeout_s):
                    return worker.conn.recv()
                outcome = {
                    "ok": False,
                    "code": "timeout",
                    "detail": f"Analysis took longer than {self.limits.timeout_s:g} s.",
                }
            except (EOFError, OSError, BrokenPipeError):
                outcome = {
                    "ok": False,
                    "code": "crashed",
                    "detail": "The analysis process stopped (memory limit or decoder crash).",
                }
            self._discard(worker)
            worker = None
            return outcome
        finally:
            self._idle.put(worker)

    async def run(self, path: Path, kind: str, fmt: str | None, workdir: Path) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._threads, self.run_blocking, path, kind, fmt, workdir
        )

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            with contextlib.suppress(Exception):
                worker.conn.send(None)
            worker.kill()


class AnalysisPools:
    """The analysis pools of one running service, one per lane; closed with that service only.

    Lanes keep work someone is waiting for (photos, stills) from queueing behind background work
    (a minute of recorded video from every live session, all closing around the same time), so
    recordings get a lane of their own with one worker.
    """

    def __init__(self, workers: int, limits: Limits) -> None:
        self.limits = limits
        self.interactive = AnalysisPool(workers, limits)
        self.recordings = AnalysisPool(1, limits)

    def lane(self, origin: str) -> AnalysisPool:
        return self.recordings if origin == "recording" else self.interactive

    def warm(self, *origins: str) -> None:
        """Start the workers of these origins' lanes before the first file arrives."""
        for origin in origins or ("capture",):
            self.lane(origin).warm()

    def close(self) -> None:
        self.interactive.close()
        self.recordings.close()
