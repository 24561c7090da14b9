"""Hot reads in one hop: compiled statements run on a plain driver connection.

A case detail through the ORM on aiosqlite was 3 statements, 12 thread hand-offs and an ORM
object per row; SQLite's own work was 3% of it. Here a view names its statements (SQLAlchemy
Core, compiled once per process for the dialect) and gets plain rows back:

* SQLite: every statement of a view runs on a ``sqlite3`` connection of the event loop's own
  thread, inside one deferred transaction (one WAL snapshot, so the statements agree with each
  other); a scan (a list page, a search) and a read that met a busy answer (rare in WAL) run
  in ONE hand-off to a reader thread instead;
* PostgreSQL: an asyncpg pool of its own (no pre-ping, no adapter layers); several statements
  share one read-only repeatable-read transaction.

Values come back exactly as the ORM would give them (each column's own result processor runs),
so the views built from these rows are the same as those built from ORM objects; the tests
compare the two on the same fixtures.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Select

from zerotrip.config import Settings
from zerotrip.sqlite_inloop import InLoopConnection

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class Compiled:
    """One statement as the driver takes it: SQL text, parameter order and converters."""

    sql: str
    names: tuple[str, ...]
    binds: tuple[Processor, ...]
    results: tuple[Processor, ...]
    row: type
    defaults: dict[str, Any]
    columns: tuple[Any, ...]

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        given = {**self.defaults, **params} if self.defaults else params
        return [
            given[n] if p is None else p(given[n])
            for n, p in zip(self.names, self.binds, strict=True)
        ]

    def rows(
        self, raw: Sequence[Sequence[Any]], results: tuple[Processor, ...] | None = None
    ) -> list[Any]:
        make, procs = self.row._make, self.results if results is None else results
        if not any(procs):
            return [make(r) for r in raw]
        return [
            make([v if p is None or v is None else p(v) for v, p in zip(r, procs, strict=True)])
            for r in raw
        ]


def compile_for(stmt: Select[Any], dialect: Dialect) -> Compiled:
    # A view's parameters are bound by name; parameters given a value in the statement (a
    # fixed state) keep it as their default. (No expanding IN lists: compile them as ORs.)
    compiled = stmt.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    # (by the names the SQL uses: an anonymous literal such as ``instr(...) > 0`` has one)
    defaults = {n: compiled.binds[n].value for n in names if compiled.binds[n].value is not None}
    binds = tuple(
        compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names
    )
    cols = list(stmt.selected_columns)
    # PostgreSQL's processors depend on the type the server reports (see ``_pg_results``).
    results = (
        tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in cols)
        if dialect.name == "sqlite"
        else ()
    )
    fields = [c.key for c in cols]
    row = collections.namedtuple("Row", fields, rename=True)  # type: ignore[misc]
    return Compiled(str(compiled), names, binds, results, row, defaults, tuple(cols))


Query = tuple[Select[Any], Mapping[str, Any]]


class Reads:
    """Runs a view's statements in one hop; one per :class:`~zerotrip.db.Database`."""

    def __init__(self, settings: Settings, dialect: Dialect) -> None:
        self._settings = settings
        self._dialect = dialect
        self._compiled: dict[int, tuple[Select[Any], Compiled]] = {}
        self._shapes: dict[Hashable, Any] = {}
        self._pg_processors: dict[str, tuple[Processor, ...]] = {}
        self._sqlite = settings.is_sqlite
        self._pool: Any = None
        self._pool_lock = asyncio.Lock()
        # Turns at the pool, first come first served (see ``_acquire``).
        self._slots = asyncio.Semaphore(settings.db_pool_size)
        if self._sqlite:
            self._path = Path(settings.database_url.split("///", 1)[1])
            self._threads = ThreadPoolExecutor(2, thread_name_prefix="zerotrip-read")
            self._local = threading.local()
            self._connections: list[sqlite3.Connection] = []

    @property
    def dialect_name(self) -> str:
        return str(self._dialect.name)

    def compiled(self, stmt: Select[Any]) -> Compiled:
        found = self._compiled.get(id(stmt))
        if found is None or found[0] is not stmt:
            found = (stmt, compile_for(stmt, self._dialect))
            self._compiled[id(stmt)] = found
        return found[1]

    def shaped(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The statement for one shape of a query with bound parameters (a list filter that
        names a state, a matter, a text…), built and compiled once per shape."""
        found = self._shapes.get(key)
        if found is None:
            found = self._shapes[key] = build()
        return found

    async def fetch(self, *queries: Query, scan: bool = False) -> list[list[Any]]:
        """The rows of each statement, read together (one snapshot). ``scan``: the read may
        visit many rows (a page of the case list, a search); on SQLite it then runs in a reader
        thread, so the event loop keeps serving while it does."""
        work = [(self.compiled(stmt), params) for stmt, params in queries]
        if self._sqlite and not scan:
            try:
                return self._run_sqlite(work, self._connection_in_loop())
            except sqlite3.OperationalError as exc:
                if not _busy(exc):
                    raise
        if self._sqlite:  # a scan, or a busy answer (rare in WAL: a recovery, a checkpoint)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._threads, self._run_sqlite, work)
        if len(queries) > 1:
            return await self._run_postgresql_joined(queries)
        return await self._run_postgresql(work)

    async def fetch_in(self, session: Any, *queries: Query) -> list[list[Any]]:
        """The rows of each statement read inside a write transaction (``session``), after its
        pending changes are flushed: the view of what the step just wrote, with no ORM
        objects built. On the in-loop SQLite writer and on asyncpg it runs on the driver
        connection directly."""
        await session.flush()
        conn = await session.connection()
        driver = (await conn.get_raw_connection()).driver_connection
        work = [(self.compiled(stmt), params) for stmt, params in queries]
        if isinstance(driver, InLoopConnection):
            return _execute_sqlite(driver._conn, work)
        if not self._sqlite and hasattr(driver, "fetch"):
            return [
                c.rows(await driver.fetch(c.sql, *c.args(p)), await self._pg_results(driver, c))
                for c, p in work
            ]
        return [list((await conn.execute(stmt, dict(params))).all()) for stmt, params in queries]

    # --- SQLite: in the loop's thread, or one hand-off ----------------------------------------

    def _connection(self) -> sqlite3.Connection:
        """The calling reader thread's connection (waits up to 15 s for a busy database)."""
        return self._thread_connection("conn", busy_ms=15000)

    def _connection_in_loop(self) -> sqlite3.Connection:
        """The calling thread's connection for reads run where they are asked (the event
        loop's thread): a WAL read never waits for a writer, and a view's statements take
        tens of microseconds, less than the hand-off to a thread and back. It never waits in
        SQLite's busy handler either: a busy answer sends the read to a reader thread."""
        return self._thread_connection("in_loop", busy_ms=0)

    def _thread_connection(self, slot: str, busy_ms: int) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, slot, None)
        if conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout={busy_ms}")
            conn.execute("PRAGMA query_only=1")
            setattr(self._local, slot, conn)
            self._connections.append(conn)
        return conn

    def _run_sqlite(
        self, work: list[tuple[Compiled, Mapping[str, Any]]], conn: sqlite3.Connection | None = None
    ) -> list[list[Any]]:
        conn = conn or self._connection()
        if len(work) == 1:
            return _execute_sqlite(conn, work)
        conn.execute("BEGIN")
        try:
            return _execute_sqlite(conn, work)
        finally:
            conn.execute("COMMIT")

    # --- PostgreSQL: its own asyncpg pool ------------------------------------------------------

    async def _asyncpg_pool(self) -> Any:
        if self._pool is None:
            async with self._pool_lock:
                if self._pool is None:
                    import asyncpg

                    url = self._settings.database_url.replace(
                        "postgresql+asyncpg://", "postgresql://", 1
                    )
                    cache = self._settings.db_statement_cache_size
                    self._pool = await asyncpg.create_pool(
                        url,
                        min_size=1,
                        max_size=self._settings.db_pool_size,
                        statement_cache_size=cache,
                        init=_pg_codecs,
                        reset=_keep_session,
                    )
        return self._pool

    @contextlib.asynccontextmanager
    async def _acquire(self) -> AsyncIterator[Any]:
        """A pool connection, in the order the requests asked. asyncpg's pool alone is not
        fair: a returned connection goes to whoever asks next, and a waiter woken for it that
        finds it taken queues again at the back; at 50 clients on 10 connections that was the
        p99 (acquire waits of a second while the median was 30 ms)."""
        pool = await self._asyncpg_pool()
        async with self._slots, pool.acquire() as conn:
            yield conn

    async def _run_postgresql(
        self, work: list[tuple[Compiled, Mapping[str, Any]]]
    ) -> list[list[Any]]:
        async with self._acquire() as conn:
            if len(work) == 1:
                c, params = work[0]
                return [
                    c.rows(
                        await conn.fetch(c.sql, *c.args(params)), await self._pg_results(conn, c)
                    )
                ]
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                return [
                    c.rows(await conn.fetch(c.sql, *c.args(p)), await self._pg_results(conn, c))
                    for c, p in work
                ]

    async def _run_postgresql_joined(self, queries: Sequence[Query]) -> list[list[Any]]:
        """Several statements as ONE (each one's rows as a ``json_agg`` column): one round trip
        instead of a transaction's five. The JSON values are turned back into what the driver
        gives (timestamps, dates) and then through the same result processors."""
        stmts = tuple(stmt for stmt, _ in queries)
        key = ("joined", *(id(s) for s in stmts))
        joined = self.shaped(key, lambda: _joined(stmts))
        params: dict[str, Any] = {}
        for _, p in queries:
            params.update(p)
        c = self.compiled(joined)
        parts = [self.compiled(stmt) for stmt in stmts]
        async with self._acquire() as conn:
            row = await conn.fetchrow(c.sql, *c.args(params))
            procs = [await self._pg_results(conn, part) for part in parts]
        return [
            part.rows([_from_json(part, d) for d in values], results)
            for part, values, results in zip(parts, row, procs, strict=True)
        ]

    async def _pg_results(self, conn: Any, c: Compiled) -> tuple[Processor, ...]:
        """Each column's result processor for the type the server reports (a float column's
        processor depends on it), found once per statement."""
        found = self._pg_processors.get(c.sql)
        if found is None:
            attributes = (await conn.prepare(c.sql)).get_attributes()
            d = self._dialect
            found = tuple(
                col.type.dialect_impl(d).result_processor(d, a.type.oid)
                for col, a in zip(c.columns, attributes, strict=True)
            )
            self._pg_processors[c.sql] = found
        return found

    async def close(self, grace_s: float = 10) -> None:
        """Return every connection; one still held by a read that never ends (its task gone
        with a stopped loop) is cut after ``grace_s``, so shutting down cannot hang on it."""
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), grace_s)
            except TimeoutError:
                self._pool.terminate()
            self._pool = None
        if self._sqlite:
            self._threads.shutdown(wait=True)
            for conn in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()


def _joined(stmts: tuple[Select[Any], ...]) -> Select[Any]:
    columns = []
    for n, stmt in enumerate(stmts):
        rows = stmt.subquery(f"r{n}")
        agg = sa.func.coalesce(sa.func.json_agg(sa.literal_column(f"r{n}")), sa.text("'[]'::json"))
        columns.append(sa.select(agg).select_from(rows).scalar_subquery().label(f"q{n}"))
    return sa.select(*columns)


def _from_json(part: Compiled, values: dict[str, Any]) -> list[Any]:
    """A ``row_to_json`` object as the driver's row: ISO text back to datetime and date."""
    out = []
    for col in part.columns:
        value = values[col.name]
        if isinstance(value, str):
            type_ = col.type.impl if isinstance(col.type, sa.TypeDecorator) else col.type
            if isinstance(type_, sa.DateTime):
                value = datetime.fromisoformat(value)
            elif isinstance(type_, sa.Date):
                value = date.fromisoformat(value)
        out.append(value)
    return out


def _busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # extended codes: BUSY_RECOVERY, …
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _execute_sqlite(
    conn: sqlite3.Connection, work: list[tuple[Compiled, Mapping[str, Any]]]
) -> list[list[Any]]:
    return [c.rows(conn.execute(c.sql, c.args(p)).fetchall()) for c, p in work]


async def _keep_session(conn: Any) -> None:
    """What a connection goes back to the pool with: nothing to undo. These connections only
    read (no session settings, LISTEN, advisory locks or cursors), and asyncpg's default reset
    (``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``) was a second round trip
    on every view; an open transaction is still rolled back by asyncpg before this runs."""


async def _pg_codecs(conn: Any) -> None:
    # As SQLAlchemy's asyncpg dialect does: JSON columns arrive decoded.
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
