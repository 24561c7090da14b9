"""Deriving a finished case's measured facts from its audit chain.

Runs inside the transaction that closes (or withdraws) the case (registered by
:func:`zerotrip.dashboard.wiring.setup`), so the facts row and the event
that ends the chain are written together. Everything is read from events, including those other
domains append (live sessions, evidence, courier orders): the chain is the one record every
domain writes to, so no domain's tables are read here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.catalogue import Catalogue
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.cases.models import AuditEvent, Case
from zerotrip.dashboard import rollup
from zerotrip.dashboard.models import CaseMetrics
from zerotrip.db import Database

# Event kinds written by the other domains that the facts depend on. Kept together so a renamed
# event is one edit here (and a failing test in tests/dashboard).
LIVE_JOINED, LIVE_ENDED = "live.joined", "live.ended"  # payload: session, state
PHOTO_RECEIVED = "evidence.received"  # payload origin: capture | gallery (not a live still)
COURIER_ORDER_CREATED = "mailing.order_created"
COURIER_STATUS = "mailing.status"  # payload: order, kind (pickup | delivery), to


@dataclass(frozen=True)
class Event:
    kind: str
    at: datetime
    payload: Mapping[str, Any]


class _LiveSessions:
    """Live minutes per session: from both parties first being in (state ``live``) to its end."""

    def __init__(self) -> None:
        self.started: dict[Any, datetime] = {}
        self.seconds: dict[Any, float] = {}

    def see(self, ev: Event) -> None:
        session = ev.payload.get("session")
        if ev.kind == LIVE_JOINED and ev.payload.get("state") == "live":
            self.started.setdefault(session, ev.at)
        elif ev.kind == LIVE_ENDED and ev.payload.get("state") == "ended":
            start = self.started.get(session)
            if start is not None and session not in self.seconds:
                self.seconds[session] = max(0.0, (ev.at - start).total_seconds())


def derive(
    case: Case,
    events: Iterable[Event],
    *,
    limit_days: int,
    calendar: WorkingCalendar,
    zone: ZoneInfo,
) -> CaseMetrics:
    """The facts of one finished case from its events (oldest first)."""

    def day(at: datetime) -> date:
        return at.astimezone(zone).date()

    accepted_on: date | None = None
    decided_on: date | None = None
    outcome = "withdrawn" if case.state == "withdrawn" else "returned"
    paused = 0
    visit = False
    live = _LiveSessions()
    photos = False
    courier_orders = 0
    certificate_at: datetime | None = None
    delivery_days: float | None = None
    door_from: datetime | None = None  # the courier's own scans, when a courier carried it
    door_to: datetime | None = None
    for ev in events:
        kind, p = ev.kind, ev.payload
        if kind == "case.prereview" and p.get("to") == "accepted":
            accepted_on = day(ev.at)
        elif kind == "case.resume_inspection":
            paused += int(p.get("paused_working_days") or 0)
        elif kind in ("case.approve", "case.reject"):
            decided_on = day(ev.at)
            if case.state != "withdrawn":
                outcome = "approved" if kind == "case.approve" else "rejected"
        elif kind == "case.receive_materials" and p.get("channel") == "in_person":
            visit = True
        elif kind == "case.issue_certificate":
            certificate_at = ev.at
        elif kind == "case.mark_delivered":
            if p.get("method") == "self_collect":
                visit = True
            elif p.get("method") == "courier" and certificate_at is not None:
                delivery_days = (ev.at - certificate_at).total_seconds() / 86400
        elif kind in (LIVE_JOINED, LIVE_ENDED):
            live.see(ev)
        elif kind == COURIER_ORDER_CREATED:
            courier_orders += 1
        elif kind == COURIER_STATUS and p.get("kind") == "delivery":
            if p.get("to") == "picked_up":
                door_from = door_from or ev.at
            elif p.get("to") == "delivered":
                door_to = ev.at
        elif kind == PHOTO_RECEIVED and p.get("origin") in ("capture", "gallery"):
            photos = True
    if door_from is not None and door_to is not None:
        delivery_days = (door_to - door_from).total_seconds() / 86400
    live_sessions, live_seconds = len(live.seconds), sum(live.seconds.values())
    handling = None
    if accepted_on is not None and decided_on is not None:
        handling = max(0, calendar.working_days_between(accepted_on, decided_on) - paused)
    assert case.id is not None and case.closed_at is not None
    return CaseMetrics(
        case_id=case.id,
        matter_code=case.matter_code,
        outcome=outcome,
        submitted_at=case.submitted_at,
        closed_at=case.closed_at,
        closed_month=f"{case.closed_at.astimezone(zone):%Y-%m}",
        accepted_on=accepted_on,
        decided_on=decided_on,
        limit_days=limit_days,
        handling_days=handling,
        within_limit=None if handling is None else handling <= limit_days,
        visit=visit,
        inspection_mode="live" if live_sessions else "photo" if photos else "none",
        live_sessions=live_sessions,
        live_minutes=round(live_seconds / 60, 2),
        courier_orders=courier_orders,
        delivery_days=None if delivery_days is None else round(delivery_days, 3),
        derived_seq=case.audit_seq,
    )


async def record_facts(
    session: AsyncSession,
    case: Case,
    *,
    catalogue: Catalogue,
    calendar: WorkingCalendar,
    zone: ZoneInfo,
) -> CaseMetrics:
    """Derive and store (or replace) the facts row of a finished case."""
    rows = await session.exec(
        select(AuditEvent.kind, AuditEvent.at, AuditEvent.payload)
        .where(AuditEvent.case_id == case.id)
        .order_by(col(AuditEvent.seq))
    )
    events = [Event(k, at, json.loads(p)) for k, at, p in rows.all()]
    matter = catalogue.get(case.matter_code)
    limit = matter.time_limit_working_days if matter else 0
    facts = derive(case, events, limit_days=limit, calendar=calendar, zone=zone)
    return await store_facts(session, facts)


async def store_facts(session: AsyncSession, facts: CaseMetrics) -> CaseMetrics:
    """Store (or replace) a facts row and move its month rollup along in the same transaction."""
    old = await session.get(CaseMetrics, facts.case_id)
    await rollup.replace(session, old, facts)
    return await session.merge(facts)


async def remove_facts(session: AsyncSession, case_id: int) -> None:
    """Drop a case's facts row (the case is no longer finished) and its rollup contribution."""
    old = await session.get(CaseMetrics, case_id)
    if old is not None:
        await rollup.replace(session, old, None)
        await session.delete(old)


async def rebuild_all(
    db: Database, *, catalogue: Catalogue, calendar: WorkingCalendar, zone: ZoneInfo
) -> int:
    """Derive the facts of every finished case again from its chain (after an upgrade, or to
    check the stored rows), then the month rollup from the facts; returns how many cases were
    done."""
    done, last = 0, 0
    while True:
        async with db.transaction() as session:
            batch = list(
                (
                    await session.exec(
                        select(Case)
                        .where(col(Case.closed_at).is_not(None), col(Case.id) > last)
                        .order_by(col(Case.id))
                        .limit(500)
                    )
                ).all()
            )
            for case in batch:
                await record_facts(session, case, catalogue=catalogue, calendar=calendar, zone=zone)
        if not batch:
            async with db.transaction() as session:
                await rollup.rebuild(session)
            return done
        done += len(batch)
        last = batch[-1].id or last
