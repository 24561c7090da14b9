"""Inbound courier news: stored first (deduplicated), then applied to orders.

Every push (Shippo webhook, the webhook courier's signed callback, a local courier step) and
every poll result becomes an :class:`InboundMessage` committed on its own, so nothing received is
lost if applying it fails; :func:`apply_inbound` then maps it to orders, keeps every scan in the
order's history (applied or not, and why not), moves the order forward only (see
:mod:`zerotrip.mailing.statuses`), writes an audit event per applied change, and lets the case
react: materials received when a pickup reaches the office, the case delivered when the
certificate reaches the applicant.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.lifecycle import ACTIONS, perform
from zerotrip.cases.models import CaseState, MaterialStatus
from zerotrip.cases.store import lock_case, materials_of
from zerotrip.db import retry_on_conflict
from zerotrip.kit.actor import SYSTEM_MAILING, Actor
from zerotrip.mailing.booking import CONFIRMED, confirm_booking
from zerotrip.mailing.context import Mailing
from zerotrip.mailing.interfaces import Booking, TrackingUpdate
from zerotrip.mailing.models import CourierOrder, InboundMessage, OrderEvent
from zerotrip.mailing.orders import add_history, lock_order, parse_reference, set_status
from zerotrip.mailing.statuses import SCANNABLE, OrderKind, OrderStatus, decide

Parser = Callable[[str], list[TrackingUpdate]]


def updates_to_json(updates: list[TrackingUpdate]) -> str:
    """The normalised form the office's own sources (local courier, polls) store."""
    return json.dumps(
        [
            {
                "status": u.status.value,
                "occurred_at": u.occurred_at.isoformat(),
                "event_id": u.event_id,
                "reference": u.reference,
                "waybill": u.waybill,
                "description": u.description,
                "location": u.location,
                "remote_id": u.remote_id,
            }
            for u in updates
        ],
        ensure_ascii=False,
    )


def updates_from_json(body: str) -> list[TrackingUpdate]:
    out = []
    for item in json.loads(body):
        at = datetime.fromisoformat(item["occurred_at"])
        out.append(
            TrackingUpdate(
                status=OrderStatus(item["status"]),
                occurred_at=at if at.tzinfo else at.replace(tzinfo=UTC),
                event_id=item["event_id"],
                reference=item.get("reference", ""),
                waybill=item.get("waybill", ""),
                description=item.get("description", ""),
                location=item.get("location", ""),
                remote_id=item.get("remote_id", ""),
            )
        )
    return out


def _shippo(body: str) -> list[TrackingUpdate]:
    from zerotrip.mailing.shippo.mapping import webhook_updates

    return webhook_updates(body)


def _webhook(body: str) -> list[TrackingUpdate]:
    from zerotrip.mailing.webhook.callbacks import parse_events

    return parse_events(body)


PARSERS: dict[str, Parser] = {
    "local": updates_from_json,
    "poll": updates_from_json,
    "staff": updates_from_json,
    "shippo": _shippo,
    "webhook": _webhook,
}


@dataclass
class Applied:
    inbound_id: int | None
    duplicate: bool = False
    applied: int = 0
    ignored: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        if self.duplicate:
            return "duplicate"
        return f"applied {self.applied}" + (
            f"; ignored: {', '.join(self.ignored)}" if self.ignored else ""
        )


async def store_inbound(
    mailing: Mailing, source: str, dedupe_key: str, body: str, signature: str = ""
) -> tuple[InboundMessage | None, InboundMessage | None]:
    """Commit the raw message; return ``(new, None)`` or ``(None, the earlier copy)``."""

    async def attempt() -> tuple[InboundMessage | None, InboundMessage | None]:
        async with mailing.db.session() as session:
            earlier = (
                await session.exec(
                    select(InboundMessage).where(InboundMessage.dedupe_key == dedupe_key)
                )
            ).first()
        if earlier is not None:
            return None, earlier
        try:
            async with mailing.db.transaction() as session:
                msg = InboundMessage(
                    source=source,
                    dedupe_key=dedupe_key[:200],
                    signature=signature[:128],
                    received_at=mailing.clock.now(),
                    body=body,
                )
                session.add(msg)
                await session.flush()
                return msg, None
        except IntegrityError:
            async with mailing.db.session() as session:
                earlier = (
                    await session.exec(
                        select(InboundMessage).where(InboundMessage.dedupe_key == dedupe_key)
                    )
                ).one()
            return None, earlier

    return await retry_on_conflict(attempt)


async def ingest(
    mailing: Mailing, source: str, dedupe_key: str, body: str, signature: str = ""
) -> Applied:
    new, earlier = await store_inbound(mailing, source, dedupe_key, body, signature)
    if new is None:
        if signature:  # keep a record of the duplicate, so its exact replay is recognised too
            await _record_duplicate(mailing, source, signature, earlier)
        return Applied(earlier.id if earlier else None, duplicate=True)
    return await apply_inbound(mailing, new.id or 0)


async def _record_duplicate(
    mailing: Mailing, source: str, signature: str, earlier: InboundMessage | None
) -> None:
    key = "dup:" + hashlib.sha256(signature.encode()).hexdigest()
    try:
        async with mailing.db.transaction() as session:
            now = mailing.clock.now()
            session.add(
                InboundMessage(
                    source=source,
                    dedupe_key=key,
                    signature=signature[:128],
                    received_at=now,
                    body="",
                    processed_at=now,
                    outcome=f"duplicate of #{earlier.id if earlier else '?'}",
                )
            )
    except IntegrityError:
        pass  # already recorded


async def apply_inbound(mailing: Mailing, inbound_id: int) -> Applied:
    """Apply one stored message in one transaction (again safely: scans are deduplicated)."""

    async def attempt() -> Applied:
        async with mailing.db.transaction() as session:
            msg = await session.get(InboundMessage, inbound_id)
            assert msg is not None
            result = Applied(inbound_id)
            if msg.processed_at is not None:
                result.duplicate = True
                return result
            try:
                updates = PARSERS[msg.source](msg.body)
            except Exception as exc:  # stored, but unreadable: record why and stop
                result.ignored.append(f"unreadable: {type(exc).__name__}")
                updates = []
            for update in updates:
                reason = await apply_update(session, mailing, msg.source, update)
                if reason:
                    result.ignored.append(reason)
                else:
                    result.applied += 1
            msg.processed_at = mailing.clock.now()
            msg.outcome = result.outcome[:500]
            session.add(msg)
            return result

    return await retry_on_conflict(attempt)


async def find_order(session: AsyncSession, source: str, update: TrackingUpdate) -> int | None:
    parsed = parse_reference(update.reference)
    if parsed is not None:
        order = await session.get(CourierOrder, parsed[0])
        if order is not None and order.attempt == parsed[1]:
            return order.id
    if update.waybill:
        stmt = select(CourierOrder.id).where(CourierOrder.waybill == update.waybill)
        if source not in ("poll", "local"):
            stmt = stmt.where(CourierOrder.courier == source)
        return (await session.exec(stmt.order_by(col(CourierOrder.id).desc()))).first()
    return None


async def apply_update(
    session: AsyncSession, mailing: Mailing, source: str, update: TrackingUpdate
) -> str:
    """Apply one scan; return "" if it changed the order, else why not."""
    order_id = await find_order(session, source, update)
    if order_id is None:
        return f"unknown order {update.reference or update.waybill}"
    peek = await session.get(CourierOrder, order_id)
    assert peek is not None
    case = await lock_case(session, peek.case_id)  # case first, then order: one lock order
    order = await lock_order(session, order_id)
    seen = (
        await session.exec(
            select(OrderEvent.id).where(
                OrderEvent.order_id == order_id, OrderEvent.dedupe_key == update.event_id[:200]
            )
        )
    ).first()
    if seen is not None:
        return "duplicate scan"
    order.courier_status = update.status.value
    if update.status in SCANNABLE and order.booking != CONFIRMED and update.waybill:
        # The courier's news can overtake its answer to our booking call: it proves the booking.
        if source == "shippo" and update.remote_id:
            order.remote = {**order.remote, "transaction_id": update.remote_id}
        proof = Booking(
            remote_id=update.remote_id or order.remote_id or update.waybill,
            waybill=update.waybill,
        )
        await confirm_booking(session, mailing, case, order, proof, source=source)
    decision = decide(
        OrderStatus(order.status),
        order.resume_rank,
        order.last_scan_at,
        update.status,
        update.occurred_at,
    )
    add_history(
        session,
        order,
        update.status,
        source=source,
        dedupe_key=update.event_id,
        occurred_at=update.occurred_at,
        description=update.description,
        location=update.location,
        applied=decision.apply,
        ignored_reason=decision.reason,
    )
    order.resume_rank = decision.resume_rank
    if not decision.apply:
        session.add(order)
        return decision.reason
    before = set_status(order, decision.status)
    order.resume_rank = decision.resume_rank
    order.last_scan_at = max(order.last_scan_at or update.occurred_at, update.occurred_at)
    session.add(order)
    append_event(
        session,
        case,
        Actor("courier", source, order.courier),
        "mailing.status",
        {
            "order": order.id,
            "kind": order.kind,
            "from": before,
            "to": decision.status.value,
            "waybill": order.waybill,
            "scanned_at": update.occurred_at.isoformat(),
            "description": update.description,
        },
    )
    if decision.status == OrderStatus.delivered:
        await _case_reacts(session, mailing, order, case.state)
    return ""


async def _case_reacts(
    session: AsyncSession, mailing: Mailing, order: CourierOrder, state: str
) -> None:
    """The case's own step when a parcel arrives, in the same transaction, as the system."""
    common: dict[str, Any] = {
        "actor": SYSTEM_MAILING,
        "role": "system",
        "lifecycle": mailing.lifecycle,
    }
    if order.kind == OrderKind.pickup:
        if state not in ACTIONS["receive_materials"].sources:
            return
        codes = [
            m.code
            for m in await materials_of(session, order.case_id)
            if m.paper_original and m.status != MaterialStatus.received
        ]
        if codes:
            params = ACTIONS["receive_materials"].params(
                codes=codes, channel="courier", note=f"Courier order {order.id} ({order.waybill})"
            )
            await perform(session, order.case_id, "receive_materials", params, **common)
    elif state == CaseState.certificate_issued:
        params = ACTIONS["mark_delivered"].params(
            method="courier", note=f"Courier order {order.id} ({order.waybill})"
        )
        await perform(session, order.case_id, "mark_delivered", params, **common)
