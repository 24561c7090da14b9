"""The per-case audit chain: append-only events, each hashing its predecessor.

``hash = sha256(prev_hash || canonical_json(event))`` where the canonical JSON covers the case,
sequence number, time, actor, kind and payload. Rewriting any stored event (or deleting one)
breaks every hash after it, and :func:`verify_chain` names the first event that no longer
matches.

Appending takes the case row's ``audit_seq``/``audit_head`` under the write lock of the same
transaction that changes the case, and ``(case_id, seq)`` is unique, so two concurrent writers
can never both extend the chain from the same head: one of them fails and is retried.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.models import AuditEvent, Case
from zerotrip.db import session_now
from zerotrip.kit.actor import Actor
from zerotrip.kit.canonical import canonical_json

GENESIS = "0" * 64


def format_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_body(
    case_id: int, seq: int, at: datetime, actor: Actor, kind: str, payload: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "case": case_id,
        "seq": seq,
        "at": format_time(at),
        "actor": {"kind": actor.kind, "id": actor.id, "label": actor.label},
        "kind": kind,
        "payload": payload,
    }


def chain_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(body)).encode("utf-8")).hexdigest()


def next_event(
    case: Case,
    actor: Actor,
    kind: str,
    payload: Mapping[str, Any] | None,
    at: datetime,
) -> dict[str, Any]:
    """The columns of the next event of ``case``'s chain (:func:`next_link`); ``case``'s
    ``audit_seq``/``audit_head`` move on to it (the caller writes both in one transaction)."""
    assert case.id is not None
    row = next_link(case.id, case.audit_seq, case.audit_head, at, actor, kind, payload)
    case.audit_seq = row["seq"]
    case.audit_head = row["hash"]
    return row


def append_event(
    session: AsyncSession,
    case: Case,
    actor: Actor,
    kind: str,
    payload: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add the next event of ``case``'s chain to the session (the caller's transaction)."""
    event = AuditEvent(**next_event(case, actor, kind, payload, at or session_now(session)))
    session.add(event)
    session.add(case)
    return event


def next_link(
    case_id: int,
    audit_seq: int,
    audit_head: str,
    at: datetime,
    actor: Actor,
    kind: str,
    payload: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The columns of the event that follows a case's chain head (``audit_seq``,
    ``audit_head``): what :func:`append_event` stores, for writers that insert it with a Core
    statement and set the case's ``audit_seq``/``audit_head`` to its ``seq``/``hash``. One
    function computes the hash for both, so both chains verify alike."""
    payload = json.loads(canonical_json(payload or {}))
    seq = audit_seq + 1
    body = event_body(case_id, seq, at, actor, kind, payload)
    return {
        "case_id": case_id,
        "seq": seq,
        "at": at,
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "actor_label": actor.label,
        "kind": kind,
        "payload": canonical_json(payload),
        "prev_hash": audit_head,
        "hash": chain_hash(audit_head, body),
    }


def stored_body(event: AuditEvent) -> dict[str, Any]:
    actor = Actor(event.actor_kind, event.actor_id, event.actor_label)
    return event_body(
        event.case_id, event.seq, event.at, actor, event.kind, json.loads(event.payload)
    )


@dataclass(frozen=True)
class ChainReport:
    case_id: int
    events: int
    head: str
    ok: bool
    first_bad_seq: int | None = None
    first_bad_id: int | None = None
    reason: str = ""


def verify_events(case_id: int, events: Iterable[AuditEvent], head: str | None) -> ChainReport:
    """Recompute a chain; report the first event whose link or hash does not match."""
    prev = GENESIS
    count = 0
    for expected_seq, event in enumerate(events, start=1):
        count += 1
        reason = ""
        if event.seq != expected_seq:
            reason = f"sequence {event.seq} where {expected_seq} was expected (event missing)"
        elif event.prev_hash != prev:
            reason = "prev_hash does not match the hash of the event before it"
        else:
            try:
                recomputed = chain_hash(prev, stored_body(event))
            except (ValueError, TypeError) as exc:
                recomputed = ""
                reason = f"payload is not valid JSON ({exc})"
            if not reason and recomputed != event.hash:
                reason = "content does not match its hash (the event was altered)"
        if reason:
            return ChainReport(case_id, count, prev, False, event.seq, event.id, reason)
        prev = event.hash
    if head is not None and head != prev:
        return ChainReport(
            case_id,
            count,
            prev,
            False,
            count + 1,
            None,
            "the case's recorded head differs from the last event (events removed at the end)",
        )
    return ChainReport(case_id, count, prev, True)


async def case_events(session: AsyncSession, case_id: int) -> list[AuditEvent]:
    rows = await session.exec(
        select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.seq)
    )
    return list(rows.all())


async def verify_case(session: AsyncSession, case_id: int) -> ChainReport:
    case = await session.get(Case, case_id)
    events = await case_events(session, case_id)
    return verify_events(case_id, events, case.audit_head if case else None)
