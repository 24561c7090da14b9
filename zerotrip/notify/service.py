"""Queueing messages in the step's transaction and sending them from the outbox.

A lifecycle listener writes the :class:`Notification` (rendered text, no credential) and an
outbox message in the same transaction as the step, so the step never waits on a mail server
and a message is never lost or sent for a step that rolled back. The outbox handler issues the
message's link (once), sends through the configured :class:`Notifier`, and records the outcome
in the case's audit chain. Failures retry with backoff; a message that keeps failing is marked
failed and lands on the staff task list (the outbox's dead letter).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import Actor, append_event, utcnow
from zerotrip.cases.lifecycle import StepContext, on_step
from zerotrip.cases.models import Case
from zerotrip.cases.store import lock_case, materials_of
from zerotrip.config import Settings
from zerotrip.db import Database, retry_on_conflict
from zerotrip.notify.interfaces import Notifier, OutgoingMessage
from zerotrip.notify.links import case_url, issue_message_link
from zerotrip.notify.messages import outstanding_lines, render
from zerotrip.notify.models import Notification
from zerotrip.notify.record import RecordNotifier
from zerotrip.outbox.errors import Permanent
from zerotrip.outbox.models import OutboxMessage
from zerotrip.outbox.service import enqueue

TOPIC = "notify.send"
SYSTEM = Actor.system("notifications")


async def queue_notification(
    session: AsyncSession,
    case: Case,
    topic: str,
    params: dict[str, Any],
    *,
    dedupe_key: str,
    not_before: datetime | None = None,
) -> Notification:
    """Queue one message about ``case`` inside the caller's transaction (other domains call this
    too: the courier pickup window, an inspection booking and its reminder)."""
    assert case.id is not None
    existing = (
        await session.exec(select(Notification).where(Notification.dedupe_key == dedupe_key))
    ).first()
    if existing is not None:
        return existing
    subject, body = render(topic, {"reference": case.reference, **params})
    note = Notification(
        case_id=case.id,
        topic=topic,
        dedupe_key=dedupe_key,
        channel="pending",
        subject=subject,
        body=body,
        created_at=utcnow(),
        not_before=not_before,
    )
    session.add(note)
    await session.flush()
    await enqueue(
        session,
        TOPIC,
        {"notification": note.id},
        dedupe_key=f"notify:{note.id}",
        case_id=case.id,
        not_before=not_before,
    )
    return note


def _matter_names(ctx: StepContext) -> dict[str, str]:
    matter = ctx.catalogue.get(ctx.case.matter_code)
    zh = matter.name_zh if matter else ctx.case.matter_code
    en = matter.name_en if matter else ctx.case.matter_code
    return {"matter_zh": zh, "matter_en": en}


async def _after_prereview(ctx: StepContext, payload: dict[str, Any]) -> None:
    names = _matter_names(ctx)
    if payload.get("to") == "returned":
        params = {**names, "reasons": "; ".join(payload.get("reasons", []))}
        topic = "prereview.returned"
    else:
        materials = {
            m.code: (m.name_zh, m.name_en) for m in await materials_of(ctx.session, ctx.case.id)
        }
        params = {
            **names,
            "deadline": payload.get("deadline"),
            **outstanding_lines(payload.get("outstanding", []), materials),
        }
        topic = "prereview.accepted"
    await _queue_for_step(ctx, topic, params)


async def _after_inspection(ctx: StepContext, payload: dict[str, Any]) -> None:
    if payload.get("result") == "rectify":
        await _queue_for_step(ctx, "inspection.rectify", {"comment": payload.get("comment") or "—"})


async def _after_certificate(ctx: StepContext, payload: dict[str, Any]) -> None:
    matter = ctx.catalogue.get(ctx.case.matter_code)
    titles = {
        "certificate_zh": matter.certificate_title_zh if matter else "许可证",
        "certificate_en": matter.certificate_title_en if matter else "certificate",
    }
    await _queue_for_step(ctx, "certificate.issued", titles)


_METHODS = {
    "courier": ("快递", "by courier"),
    "self_collect": ("自取", "collected in person"),
    "electronic": ("电子证照", "electronically"),
}


async def _after_delivery(ctx: StepContext, payload: dict[str, Any]) -> None:
    zh, en = _METHODS.get(payload.get("method", ""), ("—", "—"))
    await _queue_for_step(ctx, "delivery.handed_over", {"method_zh": zh, "method_en": en})


async def _queue_for_step(ctx: StepContext, topic: str, params: dict[str, Any]) -> None:
    # The step's own audit sequence number makes the key unique per step and stable on retry.
    await queue_notification(
        ctx.session,
        ctx.case,
        topic,
        params,
        dedupe_key=f"{topic}:{ctx.case.id}:{ctx.case.audit_seq}",
    )


async def queue_inspection_booked(
    session: AsyncSession,
    case: Case,
    live: Any,
    *,
    reminder_hours: int,
    zone: ZoneInfo,
    now: datetime,
) -> None:
    """A booked live inspection: tell the applicant now, and remind them before the slot."""
    start, end = live.slot_start.astimezone(zone), live.slot_end.astimezone(zone)
    params = {"when": f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"}
    await queue_notification(
        session, case, "inspection.booked", params, dedupe_key=f"inspection.booked:{live.id}"
    )
    remind_at = live.slot_start - timedelta(hours=reminder_hours)
    if remind_at > now:
        await queue_notification(
            session,
            case,
            "inspection.reminder",
            params,
            dedupe_key=f"inspection.reminder:{live.id}",
            not_before=remind_at,
        )


async def queue_courier_pickup(
    session: AsyncSession, case: Case, order: Any, *, zone: ZoneInfo
) -> None:
    """A courier booked to collect the paper materials: tell the applicant the window."""
    start, end = getattr(order, "window_start", None), getattr(order, "window_end", None)
    if start is not None and end is not None:
        window = f"{start.astimezone(zone):%Y-%m-%d %H:%M}–{end.astimezone(zone):%H:%M}"
    else:
        window = f"({getattr(order, 'waybill', '') or '—'})"
    await queue_notification(
        session,
        case,
        "courier.pickup",
        {"window": window, "waybill": getattr(order, "waybill", "")},
        dedupe_key=f"courier.pickup:{order.id}",
    )


LISTENERS = {
    "prereview": _after_prereview,
    "record_inspection": _after_inspection,
    "issue_certificate": _after_certificate,
    "mark_delivered": _after_delivery,
}
_installed = False


def install() -> None:
    """Register the lifecycle listeners once per process."""
    global _installed
    if not _installed:
        _installed = True
        for action, listener in LISTENERS.items():
            on_step(action, listener)


def recipient(case: Case, channel: str) -> str:
    return {"email": case.applicant_email, "sms": case.applicant_phone}.get(channel, "")


class NotificationSender:
    """The outbox handler for ``notify.send``: one app's database, settings and notifier."""

    def __init__(self, db: Database, settings: Settings, notifier: Notifier) -> None:
        self.db = db
        self.settings = settings
        self.notifier = notifier

    async def _prepare(self, notification_id: int) -> tuple[Notification, str] | None:
        """Fix channel, recipient and link once (first attempt); None when already sent."""

        async def attempt() -> tuple[Notification, str] | None:
            async with self.db.transaction() as session:
                note = await session.get(Notification, notification_id)
                if note is None:
                    raise Permanent(f"Notification {notification_id} does not exist.")
                if note.status in ("sent", "recorded"):
                    return None
                case = await lock_case(session, note.case_id)
                if note.channel == "pending":
                    await self._first_attempt(session, case, note)
                note.attempts += 1
                session.add(note)
                return note, case.reference

        return await retry_on_conflict(attempt)

    async def _first_attempt(self, session: AsyncSession, case: Case, note: Notification) -> None:
        """Choose channel and recipient; issue the message's link unless it is only recorded."""
        assert note.id is not None and case.id is not None
        channel = self.notifier.channel
        note.recipient = recipient(case, channel)
        note.channel = channel if note.recipient else "record"
        if note.channel == "record":
            return
        link = await issue_message_link(
            session,
            case.id,
            note.id,
            secret_key=self.settings.secret_key,
            now=utcnow(),
            days=self.settings.applicant_link_days,
        )
        note.link_id = link.id
        append_event(
            session, case, SYSTEM, "link.issued", {"link": link.id, "notification": note.id}
        )

    async def _record(
        self, notification_id: int, status: str, *, ref: str = "", error: str = ""
    ) -> None:
        async def attempt() -> None:
            async with self.db.transaction() as session:
                note = await session.get(Notification, notification_id)
                assert note is not None
                case = await lock_case(session, note.case_id)
                note.status = status
                note.last_error = error[:1000]
                if status in ("sent", "recorded"):
                    note.sent_at = utcnow()
                    note.provider_ref = ref[:128]
                session.add(note)
                if status == "recorded":
                    return  # nothing left the office: the row is the record, the chain unchanged
                append_event(
                    session,
                    case,
                    SYSTEM,
                    f"notification.{status}",
                    {
                        "notification": note.id,
                        "topic": note.topic,
                        "channel": note.channel,
                        "recipient": note.recipient,
                        "error": error[:300],
                    },
                )

        await retry_on_conflict(attempt)

    async def __call__(self, msg: OutboxMessage) -> None:
        notification_id = int(msg.payload["notification"])
        prepared = await self._prepare(notification_id)
        if prepared is None:
            return
        note, _reference = prepared
        url = case_url(self.settings.public_url, self.settings.secret_key, notification_id)
        outgoing = OutgoingMessage(
            to=note.recipient,
            subject=note.subject,
            text=note.body.replace("{link}", url),
            reference=f"zt-notification-{notification_id}",
        )
        notifier = self.notifier if note.channel == self.notifier.channel else RecordNotifier()
        try:
            sent = await notifier.send(outgoing)
        except Exception as exc:
            await self._note_error(notification_id, f"{type(exc).__name__}: {exc}")
            raise
        await self._record(notification_id, sent.status, ref=sent.provider_ref)

    async def _note_error(self, notification_id: int, error: str) -> None:
        """Keep the last failure visible to staff while the outbox retries."""

        async def attempt() -> None:
            async with self.db.transaction() as session:
                row = await session.get(Notification, notification_id)
                if row is not None:
                    row.last_error = error[:1000]
                    session.add(row)

        await retry_on_conflict(attempt)

    async def on_dead(self, session: AsyncSession, msg: OutboxMessage, error: str) -> None:
        note = await session.get(Notification, int(msg.payload["notification"]))
        if note is not None:
            case = await lock_case(session, note.case_id)
            note.status = "failed"
            note.last_error = error[:1000]
            session.add(note)
            append_event(
                session,
                case,
                SYSTEM,
                "notification.failed",
                {"notification": note.id, "topic": note.topic, "error": error[:300]},
            )


async def notifications_of(session: AsyncSession, case_id: int) -> list[Notification]:
    rows = await session.exec(
        select(Notification).where(Notification.case_id == case_id).order_by(col(Notification.id))
    )
    return list(rows.all())


async def record_delivery_report(
    session: AsyncSession, provider_ref: str, status: str
) -> Notification:
    """A gateway's (verified) report on an SMS: delivered, failed, …"""
    from zerotrip.problems import NotFound

    note = (
        await session.exec(select(Notification).where(Notification.provider_ref == provider_ref))
    ).first()
    if note is None or not provider_ref:
        raise NotFound(f"No message with reference {provider_ref!r}.")
    case = await lock_case(session, note.case_id)
    note.delivery_status = status[:32]
    session.add(note)
    append_event(
        session,
        case,
        Actor("system", "", "sms-gateway"),
        "notification.delivery_report",
        {"notification": note.id, "status": note.delivery_status},
    )
    return note


def notification_view(note: Notification) -> dict[str, Any]:
    return {
        "id": note.id,
        "topic": note.topic,
        "channel": note.channel,
        "recipient": note.recipient,
        "subject": note.subject,
        "text": note.body.replace("{link}", "/a/…"),
        "status": note.status,
        "attempts": note.attempts,
        "last_error": note.last_error,
        "delivery_status": note.delivery_status,
        "created_at": note.created_at,
        "sent_at": note.sent_at,
    }
