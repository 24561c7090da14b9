"""A write transaction's simple rows written with compiled statements on its own connection.

A lifecycle step writes few and simple rows: the case's changed columns, the materials or
checkpoints it touched (UPDATE by primary key) and one audit event (INSERT). Through the ORM's
unit of work that was half of a step's CPU: change tracking, dependency sorting, a statement
object and a result per row, the adapter layers. Here each shape of those statements is
compiled once per process for the dialect and run on the transaction's driver connection
directly (the in-loop ``sqlite3`` connection, or asyncpg), with each column's own bind
processor, so the stored values are exactly those the ORM would have written.

After the rows are written the ORM objects are marked clean (as a flush leaves them), so the
session's later flushes do not write them again and reactions that load them see the values
the step set.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from zerotrip.sqlite_inloop import InLoopConnection

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class CompiledWrite:
    """One DML statement as the driver takes it: SQL text, parameter order, converters."""

    sql: str
    names: tuple[str, ...]
    binds: tuple[Processor, ...]

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        return [
            params[n] if p is None else p(params[n])
            for n, p in zip(self.names, self.binds, strict=True)
        ]


def compile_write(stmt: sa.Executable, dialect: Dialect) -> CompiledWrite:
    compiled = stmt.compile(dialect=dialect)  # type: ignore[attr-defined]
    names = tuple(compiled.positiontup or ())
    binds = tuple(
        compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names
    )
    return CompiledWrite(str(compiled), names, binds)


def update_by_id(table: sa.Table, keys: Sequence[str]) -> sa.Update:
    """``UPDATE table SET <keys> WHERE id = :pk`` (parameters ``v_<key>`` and ``pk``)."""
    values = {k: sa.bindparam(f"v_{k}", type_=table.c[k].type) for k in keys}
    return (
        sa.update(table)
        .where(table.c.id == sa.bindparam("pk", type_=table.c.id.type))
        .values(values)
    )


def insert_row(table: sa.Table, keys: Sequence[str]) -> sa.Insert:
    """``INSERT INTO table (<keys>) VALUES (...)`` (parameters ``v_<key>``)."""
    return sa.insert(table).values({k: sa.bindparam(f"v_{k}", type_=table.c[k].type) for k in keys})


Write = tuple[CompiledWrite, Mapping[str, Any]]


class Writes:
    """Compiled DML of one :class:`~zerotrip.db.Database`, run on its write transactions."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._compiled: dict[Hashable, CompiledWrite] = {}

    def compiled(self, key: Hashable, build: Callable[[], sa.Executable]) -> CompiledWrite:
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = compile_write(build(), self._dialect)
        return found

    def update(self, table: sa.Table, pk: int, values: Mapping[str, Any]) -> Write:
        keys = tuple(values)
        c = self.compiled(("update", table.name, keys), lambda: update_by_id(table, keys))
        return c, {"pk": pk, **{f"v_{k}": v for k, v in values.items()}}

    def insert(self, table: sa.Table, values: Mapping[str, Any]) -> Write:
        keys = tuple(values)
        c = self.compiled(("insert", table.name, keys), lambda: insert_row(table, keys))
        return c, {f"v_{k}": v for k, v in values.items()}

    async def execute_in(self, session: Any, work: Iterable[Write]) -> None:
        """Run ``work`` in the write transaction of ``session`` (an ``AsyncSession``), in
        order. A driver's constraint or lock error is raised as SQLAlchemy's, as the ORM would
        (so :func:`zerotrip.db.retry_on_conflict` retries a unique-key race)."""
        conn = await session.connection()
        driver = (await conn.get_raw_connection()).driver_connection
        # Straight to the driver only inside the transaction SQLAlchemy began (asyncpg's
        # adapter begins at its first statement): never as a statement of its own.
        if isinstance(driver, InLoopConnection) and driver._conn.in_transaction:
            raw = driver._conn
            for c, params in work:
                args = c.args(params)
                try:
                    raw.execute(c.sql, args)
                except sqlite3.IntegrityError as exc:
                    raise sa.exc.IntegrityError(c.sql, args, exc) from exc
                except sqlite3.OperationalError as exc:
                    raise sa.exc.OperationalError(c.sql, args, exc) from exc
            return
        if hasattr(driver, "fetch") and driver.is_in_transaction():  # asyncpg
            import asyncpg

            for c, params in work:
                args = c.args(params)
                try:
                    await driver.execute(c.sql, *args)
                except asyncpg.IntegrityConstraintViolationError as exc:
                    raise sa.exc.IntegrityError(c.sql, args, exc) from exc
                except (asyncpg.SerializationError, asyncpg.DeadlockDetectedError) as exc:
                    raise sa.exc.OperationalError(c.sql, args, exc) from exc
            return
        for c, params in work:  # otherwise through SQLAlchemy's own connection
            await conn.exec_driver_sql(c.sql, tuple(c.args(params)))
