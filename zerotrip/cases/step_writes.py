"""Writing a lifecycle step's own rows: the case, what it touched of its file, the audit event.

A step changes the locked case, maybe some of its materials or checkpoints, and appends one
event to the case's audit chain. Flushed through the ORM that was about half of a step's CPU;
these rows are simple (UPDATE by primary key, one INSERT), so they go through compiled
statements on the transaction's own connection (:mod:`zerotrip.writes`) before the step's
reactions run. The event's hash is computed as always (:func:`~zerotrip.cases.audit.next_event`).

Anything else pending in the session (a new object, a deletion, a record of another kind, a
change to the case's searched text, whose index rows the ORM hooks keep) is left to the ORM,
with the event added to the session as before: the same rows either way, which
tests/cases/test_step_writes.py checks on the same fixtures.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.models import AuditEvent, Case, CaseMaterial, Checkpoint
from zerotrip.cases.search import SEARCHED
from zerotrip.writes import Writes

# The records a step may change with compiled UPDATEs (by primary key, no ORM hooks).
COMPILED = (Case, CaseMaterial, Checkpoint)


def _changes(obj: Any) -> dict[str, Any] | None:
    """The changed column values of ``obj``; None when one is not a plain column."""
    state = sa.inspect(obj)
    table = type(obj).__table__
    changed: dict[str, Any] = {}
    for key in list(state.committed_state):
        added = state.attrs[key].history.added
        if not added:
            continue
        if key not in table.c:
            return None
        changed[key] = added[0]
    return changed


async def write_step(
    session: AsyncSession, case: Case, event: dict[str, Any], *, compiled: bool = True
) -> None:
    """Write ``case``'s pending changes, those of its materials and checkpoints, and the audit
    ``event`` (from :func:`~zerotrip.cases.audit.next_event`) in the caller's transaction."""
    writes = session.info.get("writes")
    dirty = list(session.dirty)
    if (
        not compiled
        or not isinstance(writes, Writes)
        or session.new
        or session.deleted
        or any(not isinstance(obj, COMPILED) for obj in dirty)
    ):
        session.add(AuditEvent(**event))
        session.add(case)
        return
    if not any(obj is case for obj in dirty):
        dirty.insert(0, case)
    updates = []
    for obj in dirty:
        changed = _changes(obj)
        if changed is None or (obj is case and any(k in changed for k in SEARCHED)):
            session.add(AuditEvent(**event))
            return
        if changed:
            updates.append((obj, changed))
    # the case first, as the ORM orders them (the event's foreign key names it)
    updates.sort(key=lambda item: item[0] is not case)
    work = [writes.update(type(obj).__table__, obj.id, changed) for obj, changed in updates]
    work.append(writes.insert(AuditEvent.__table__, event))  # type: ignore[attr-defined]
    await writes.execute_in(session, work)
    identity = session.sync_session.identity_map
    for obj in dirty:
        # As a flush leaves them: nothing pending, so no later flush writes them again.
        state = sa.inspect(obj)
        state._commit_all(state.dict, identity)
