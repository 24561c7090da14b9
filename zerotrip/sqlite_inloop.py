"""The SQLite write connection, run in the event loop's own thread.

aiosqlite hands every call (execute, fetch, commit, even a cursor's close) to the connection's
thread and back: a lifecycle step was about 95 hand-offs, each a thread wake-up, and with one
writer at a time those hand-offs, not SQLite, were what steps queued behind (a step's SQL is
tens of microseconds). This connection offers aiosqlite's interface to SQLAlchemy (through
``create_async_engine(async_creator=...)``) but runs each call at once on a plain ``sqlite3``
connection.

Two things would block the loop and are kept out of it:

* waiting for the write lock: ``BEGIN IMMEDIATE`` is tried with no busy wait and, while another
  process holds the lock, retried after an ``asyncio.sleep`` (up to the usual 15 s), so the
  loop keeps serving;
* checkpoints, which copy the WAL into the database file and sync it: automatic checkpoints are
  off on this connection, and :class:`zerotrip.db.Database` runs a passive one in a thread
  every few hundred write transactions.

Only the process's write engine uses it, behind the write gate (one writer at a time).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any

BUSY_TIMEOUT_S = 15.0


class _Cursor:
    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> _Cursor:
        if sql.lstrip()[:5].upper() == "BEGIN":
            await _begin(self._cursor, sql, parameters)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, seq: Iterable[Any]) -> _Cursor:
        self._cursor.executemany(sql, seq)
        return self

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size or self._cursor.arraysize)

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


async def _begin(cursor: sqlite3.Cursor, sql: str, parameters: Any) -> None:
    """Begin, waiting in the loop (not in SQLite's busy handler) while another process writes."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.001
    while True:
        try:
            cursor.execute(sql, parameters)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() + delay > deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)


class _Pending:
    """Stands in for aiosqlite's request queue, which SQLAlchemy uses to set the isolation
    level: the function runs at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # handed to the awaiting caller
            future.set_exception(exc)


class _Opening:
    """What ``cursor()`` returns: awaited or entered, it is the cursor."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: _Cursor) -> None:
        self._cursor = cursor

    def __await__(self) -> Any:
        return self._cursor.__aenter__().__await__()

    async def __aenter__(self) -> _Cursor:
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        await self._cursor.close()


class InLoopConnection:
    """The part of ``aiosqlite.Connection`` SQLAlchemy's aiosqlite dialect uses."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._connection: sqlite3.Connection | None = conn
        self._tx = _Pending()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> _Opening:
        return _Opening(_Cursor(self._conn.cursor()))

    async def execute(self, sql: str, parameters: Any = ()) -> _Cursor:
        return await _Cursor(self._conn.cursor()).execute(sql, parameters)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._conn.create_function(*args, **kw)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()


def connector(path: str) -> Callable[[], Any]:
    """The ``async_creator`` of the write engine for the SQLite file at ``path``."""

    async def connect() -> InLoopConnection:
        conn = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA wal_autocheckpoint=0")
        return InLoopConnection(conn)

    return connect
