"""Database engines, sessions and the migration runner.

SQLite and PostgreSQL get the same models and migrations. Two things differ and are handled
here, once:

* SQLite allows one writer. A write transaction that starts as a reader and upgrades later can
  fail at once with "database is locked" (no busy wait applies to a lock upgrade), so writes use a
  separate engine whose transactions begin with ``BEGIN IMMEDIATE``; reads stay deferred and, with
  WAL, never block the writer. Writers of one process take turns in the event loop
  (:class:`WriteGate`) before they begin: fifty clients stepping cases at once used to queue in
  SQLite's busy handler (sleeps of growing length, a 15 s timeout), which served them in no
  order and let some time out; now they wait in line and each finds the lock free.
* PostgreSQL serialises writers to one case with ``SELECT ... FOR UPDATE`` on the case row
  (see :func:`zerotrip.cases.store.lock_case`).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import object_session
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip import sqlite_inloop
from zerotrip.config import Settings
from zerotrip.kit.clock import Clock, utcnow
from zerotrip.reads import Reads
from zerotrip.writes import Writes

T = TypeVar("T")

# Write transactions between two passive checkpoints of the SQLite WAL (about 1000 pages, the
# automatic checkpoint's own size, at a few pages a step).
CHECKPOINT_EVERY = 300
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# PostgreSQL advisory lock key held while migrating ("ztmigrat" as 8 ASCII bytes): several
# machines starting at once migrate one after the other, and the later ones find nothing to do.
MIGRATION_LOCK_KEY = int.from_bytes(b"ztmigrat", "big") & 0x7FFF_FFFF_FFFF_FFFF


class NestedWriteTransaction(RuntimeError):
    """A task opened a write transaction while holding one: on SQLite that waits for itself."""


class WriteGate:
    """One write transaction at a time per process (SQLite), waiting in the event loop, first
    come first served.

    A task that opens a second write transaction inside its first would wait for itself for
    ever (before the gate: for SQLite's 15 s busy timeout, then fail), so that is refused at
    once with :class:`NestedWriteTransaction`, naming the mistake. A gate serves any event loop
    (tests run apps in threads of their own): each loop gets its own lock.
    """

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._owners: dict[asyncio.AbstractEventLoop, asyncio.Task[Any] | None] = {}

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        task = asyncio.current_task()
        if task is not None and self._owners.get(loop) is task:
            raise NestedWriteTransaction(
                "a write transaction was opened inside another one in the same task"
            )
        async with lock:
            self._owners[loop] = task
            try:
                yield
            finally:
                self._owners.pop(loop, None)


class Database:
    """The engines and session factories of one running service."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        # Every write of a case keeps its search rows in step (in the same flush); imported
        # here so that any process that writes cases has the hooks, not only the web app.
        from zerotrip.cases import search

        search.install()
        # The service's one clock rides on every session this database opens, so code that
        # is handed a session (not a Clock) stamps records with the same time (see session_now).
        self.clock = clock or Clock(settings.timezone)
        url = settings.database_url
        if settings.is_sqlite:
            Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
            self.engine = _sqlite_engine(url, immediate=False)
            self.write_engine = _sqlite_engine(url, immediate=True)
            self.write_gate: WriteGate | None = WriteGate()
        else:
            cache = settings.db_statement_cache_size
            self.engine = create_async_engine(
                url,
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_max_overflow,
                pool_timeout=settings.db_pool_timeout_s,
                pool_pre_ping=True,
                # Both asyncpg's cache and SQLAlchemy's own: behind PgBouncer in transaction
                # mode a prepared statement may meet another server connection, so 0 turns
                # both off.
                connect_args={
                    "statement_cache_size": cache,
                    "prepared_statement_cache_size": cache,
                },
            )
            self.write_engine = self.engine
            self.write_gate = None
            # At most as many write transactions at once as the pool holds connections: more
            # would only interleave on the event loop, each holding its case's row lock
            # (and a connection "idle in transaction") while it waits for the loop.
            self._write_slots = asyncio.Semaphore(settings.db_pool_size)
        # A write transaction's simple rows (a step's) go through compiled statements; the
        # session carries them so code handed a session can use them (see zerotrip.writes).
        self.writes = Writes(self.engine.dialect)
        # The hot read paths: compiled statements on a plain driver connection, one hop a view.
        self.reads = Reads(settings, self.engine.dialect)
        info = {"clock": self.clock, "writes": self.writes, "reads": self.reads}
        self._reader = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False, info=info
        )
        self._writer = async_sessionmaker(
            self.write_engine, class_=AsyncSession, expire_on_commit=False, info=info
        )
        self._written = 0
        self._checkpointing: asyncio.Future[None] | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A read session; nothing it does is committed."""
        async with self._reader() as session:
            yield session

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncSession]:
        """A read session whose statements all see the database at one moment.

        SQLite's read transaction already does; PostgreSQL's READ COMMITTED gives each
        statement a fresh view, so a case's chain head read before its events could miss an
        event committed in between (and an export or a verification would then report a
        broken chain that is intact): REPEATABLE READ READ ONLY there.
        """
        async with self._reader() as session:
            if self.dialect == "postgresql":
                await session.connection(
                    execution_options={
                        "isolation_level": "REPEATABLE READ",
                        "postgresql_readonly": True,
                    }
                )
            yield session

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed when the block ends, rolled back on any error."""
        if self.write_gate is None:
            async with self._write_slots, self._writer() as session, session.begin():
                yield session
            return
        async with self.write_gate.turn(), self._writer() as session, session.begin():
            yield session
        self._written += 1
        if self._written % CHECKPOINT_EVERY == 0:
            self._start_checkpoint()

    def _start_checkpoint(self) -> None:
        """A passive checkpoint in a thread (the in-loop writer does none of its own)."""
        if self._checkpointing is not None and not self._checkpointing.done():
            return
        path = self.settings.database_url.split("///", 1)[1]
        self._checkpointing = asyncio.ensure_future(asyncio.to_thread(_checkpoint, path))

    async def run_in_transaction(
        self, work: Callable[[AsyncSession], Awaitable[T]], *, tries: int = 8
    ) -> T:
        """Run ``work(session)`` in one write transaction, again from the start on a write
        conflict: the one place a domain service gets its transaction and its retry."""

        async def attempt() -> T:
            async with self.transaction() as session:
                return await work(session)

        return await retry_on_conflict(attempt, tries=tries)

    async def dispose(self) -> None:
        if self._checkpointing is not None and not self._checkpointing.done():
            with contextlib.suppress(Exception):
                await self._checkpointing
        await self.reads.close()
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()


def session_now(session: AsyncSession) -> datetime:
    """Now, by the clock of the service whose :class:`Database` opened ``session``."""
    clock = session.info.get("clock")
    return clock.now() if isinstance(clock, Clock) else utcnow()


def object_now(record: object) -> datetime:
    """Now, by the clock of the session ``record`` belongs to (see :func:`session_now`)."""
    session = object_session(record)
    clock = session.info.get("clock") if session is not None else None
    return clock.now() if isinstance(clock, Clock) else utcnow()


async def retry_on_conflict(
    attempt: Callable[[], Awaitable[T]], *, tries: int = 8, base_delay: float = 0.005
) -> T:
    """Run ``attempt()`` (a coroutine function holding one transaction) again on write conflicts.

    Conflicts are a unique-key race (two writers appending the same audit sequence number), a
    PostgreSQL serialisation failure or deadlock, or SQLite's busy timeout running out.
    """
    for n in range(tries):
        try:
            return await attempt()
        except (IntegrityError, OperationalError, DBAPIError) as exc:
            if n == tries - 1 or not _is_conflict(exc):
                raise
            await asyncio.sleep(base_delay * (2**n))
    raise AssertionError("unreachable")


def _is_conflict(exc: Exception) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    markers = ("unique", "duplicate key", "database is locked", "deadlock", "could not serialize")
    return any(m in text for m in markers)


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    # Every statement on aiosqlite is a hop to the connection's thread. A read session always
    # rolls its transaction back when it closes, so the pool's own rollback on return is a
    # second, useless hop; writers keep it as a safety net. The writer runs in the loop's own
    # thread (zerotrip.sqlite_inloop): one connection is all one writer at a time needs, a few
    # more for code that opens the write engine directly.
    if immediate:
        path = url.split("///", 1)[1]
        engine = create_async_engine(
            url,
            async_creator=sqlite_inloop.connector(path),
            pool_size=1,
            max_overflow=4,
            pool_reset_on_return="rollback",
        )
    else:
        engine = create_async_engine(url, connect_args={"timeout": 15}, pool_reset_on_return=None)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        # The in-loop writer waits for another process's lock in the loop, not in SQLite.
        cur.execute("PRAGMA busy_timeout=0" if immediate else "PRAGMA busy_timeout=15000")
        # WAL is a property of the file: switching needs a brief exclusive lock, which a second
        # connection opening while another writes would fail to get, so only switch once.
        cur.execute("PRAGMA journal_mode")
        if str(cur.fetchone()[0]).lower() != "wal":
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _checkpoint(path: str) -> None:
    """Copy the WAL into the database file (passive: never waits for readers or the writer)."""
    with contextlib.closing(sqlite3.connect(path, timeout=15)) as conn:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")


def alembic_config(settings: Settings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", settings.database_url)
    cfg.attributes["settings"] = settings
    return cfg


def migrate(settings: Settings, revision: str = "heads") -> None:
    """Bring the schema to ``revision``. Blocking: call it before the loop starts or in a thread.

    On PostgreSQL the whole upgrade runs in one transaction that first takes an advisory lock
    (see ``migrations/env.py``), so concurrent ``zerotrip migrate`` runs never interleave.
    """
    if settings.is_sqlite:
        path = Path(settings.database_url.split("///", 1)[1])
        path.parent.mkdir(parents=True, exist_ok=True)
        # WAL lets readers run beside the one writer; it is kept in the file, so set it here,
        # before any of the service's connections open.
        with contextlib.closing(sqlite3.connect(path, timeout=15)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
    command.upgrade(alembic_config(settings), revision)


async def schema_is_current(db: Database) -> bool:
    """True when the database is at the migrations' head (commands that do not migrate ask)."""
    script = ScriptDirectory.from_config(alembic_config(db.settings))

    def current(conn: Any) -> set[str]:
        return set(MigrationContext.configure(conn).get_current_heads())

    async with db.engine.connect() as conn:
        heads = await conn.run_sync(current)
    return heads == set(script.get_heads())
