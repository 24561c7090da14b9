"""Queueing messages in the step's transaction and sending them from the outbox.

A trigger (:mod:`zerotrip.notify.triggers`) writes the :class:`Notification` (rendered text,
no credential) and an outbox message in the same transaction as the step, so the step never
waits on a mail server and a message is never lost or sent for a step that rolled back. The
outbox handler issues the message's link (once), sends through the configured
:class:`Notifier`, and records the outcome in the case's audit chain. Failures retry with
backoff; a message that keeps failing is marked failed and lands on the staff task list (the
outbox's dead letter).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.models import Case
from zerotrip.cases.store import get_case, lock_case
from zerotrip.config import Settings
from zerotrip.db import Database, retry_on_conflict
from zerotrip.kit.actor import SYSTEM_NOTIFICATIONS, SYSTEM_SMS_GATEWAY
from zerotrip.kit.clock import Clock
from zerotrip.notify.interfaces import Notifier, OutgoingMessage
from zerotrip.notify.links import case_url, issue_message_link
from zerotrip.notify.messages import render
from zerotrip.notify.models import Notification
from zerotrip.notify.record import RecordNotifier
from zerotrip.outbox.errors import Permanent
from zerotrip.outbox.models import OutboxMessage
from zerotrip.outbox.service import enqueue
from zerotrip.problems import NotFound
from zerotrip.reads import Reads

TOPIC = "notify.send"


async def queue_notification(
    session: AsyncSession,
    case: Case,
    topic: str,
    params: dict[str, Any],
    *,
    dedupe_key: str,
    channel: str,
    now: datetime,
    not_before: datetime | None = None,
) -> Notification:
    """Queue one message about ``case`` inside the caller's transaction.

    ``channel`` is the service's notifier's: on ``record`` (offline) the row is the message and
    nothing is put in the outbox.
    """
    assert case.id is not None
    existing = (
        await session.exec(select(Notification).where(Notification.dedupe_key == dedupe_key))
    ).first()
    if existing is not None:
        return existing
    texts = render(topic, {"reference": case.reference, **params})
    language = case.language if case.language in texts else "zh"
    offline = channel == "record"
    note = Notification(
        case_id=case.id,
        topic=topic,
        dedupe_key=dedupe_key,
        channel="record" if offline else "pending",
        status="recorded" if offline else "queued",
        language=language,
        subject=texts[language]["subject"],
        body=texts[language]["body"],
        texts=texts,
        created_at=now,
        not_before=not_before,
        sent_at=now if offline else None,
    )
    session.add(note)
    await session.flush()
    if offline:  # nothing leaves the office: the row in the case is the message
        return note
    await enqueue(
        session,
        TOPIC,
        {"notification": note.id},
        dedupe_key=f"notify:{note.id}",
        case_id=case.id,
        not_before=not_before,
    )
    return note


async def withdraw_notification(session: AsyncSession, dedupe_key: str, now: datetime) -> bool:
    """Stop a message that no longer holds (a cancelled inspection's reminder): one still queued,
    or one only recorded (the offline channel) that was not due yet. A message already sent, or
    recorded and due, stays as it is. True when one was withdrawn."""
    if not await _has_notification(session, dedupe_key):
        return False  # most steps: nothing to withdraw, known without building an ORM query
    note = (
        await session.exec(select(Notification).where(Notification.dedupe_key == dedupe_key))
    ).first()
    if note is None:
        return False
    due = note.not_before
    if due is not None and due.tzinfo is None:  # SQLite returns naive UTC
        due = due.replace(tzinfo=UTC)
    not_due_yet = due is not None and due > now
    if not (note.status == "queued" or (note.status == "recorded" and not_due_yet)):
        return False
    note.status = "withdrawn"
    session.add(note)
    return True


_BY_KEY = sa.select(Notification.__table__.c.id).where(  # type: ignore[attr-defined]
    Notification.__table__.c.dedupe_key == sa.bindparam("key")  # type: ignore[attr-defined]
)


async def _has_notification(session: AsyncSession, dedupe_key: str) -> bool:
    """Whether a message with ``dedupe_key`` exists (after the session's pending writes), read
    with a compiled statement on the transaction's connection (see :mod:`zerotrip.reads`)."""
    reads = session.info.get("reads")
    if not isinstance(reads, Reads):
        return True  # a session of no Database: let the ORM look
    (rows,) = await reads.fetch_in(session, (_BY_KEY, {"key": dedupe_key}))
    return bool(rows)


def recipient(case: Case, channel: str) -> str:
    return {"email": case.applicant_email, "sms": case.applicant_phone}.get(channel, "")


class NotificationSender:
    """The outbox handler for ``notify.send``: one service's database, settings and notifier."""

    def __init__(self, db: Database, settings: Settings, notifier: Notifier, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.notifier = notifier
        self.clock = clock

    async def _prepare(self, notification_id: int) -> tuple[Notification, str] | None:
        """Fix channel, recipient and link once (first attempt); None when already sent."""

        async def attempt() -> tuple[Notification, str] | None:
            async with self.db.transaction() as session:
                note = await session.get(Notification, notification_id)
                if note is None:
                    raise Permanent(f"Notification {notification_id} does not exist.")
                if note.status in ("sent", "recorded", "withdrawn"):
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
            now=self.clock.now(),
            days=self.settings.applicant_link_days,
        )
        note.link_id = link.id
        append_event(
            session,
            case,
            SYSTEM_NOTIFICATIONS,
            "link.issued",
            {"link": link.id, "notification": note.id},
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
                    note.sent_at = self.clock.now()
                    note.provider_ref = ref[:128]
                session.add(note)
                if status == "recorded":
                    return  # nothing left the office: the row is the record, the chain unchanged
                append_event(
                    session,
                    case,
                    SYSTEM_NOTIFICATIONS,
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
                SYSTEM_NOTIFICATIONS,
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
    note = (
        await session.exec(select(Notification).where(Notification.provider_ref == provider_ref))
    ).first()
    if note is None or not provider_ref:
        raise NotFound(
            f"No message with reference {provider_ref!r}.",
            zh=f"没有参考号为 {provider_ref} 的消息。",
        )
    case = await lock_case(session, note.case_id)
    note.delivery_status = status[:32]
    session.add(note)
    append_event(
        session,
        case,
        SYSTEM_SMS_GATEWAY,
        "notification.delivery_report",
        {"notification": note.id, "status": note.delivery_status},
    )
    return note


async def case_notifications(db: Database, case_id: int) -> list[Notification]:
    async with db.session() as session:
        await get_case(session, case_id)
        return await notifications_of(session, case_id)


async def delivery_reported(db: Database, provider_ref: str, status: str) -> Notification:
    """Record a verified delivery report in its own transaction."""

    async def work(session: AsyncSession) -> Notification:
        return await record_delivery_report(session, provider_ref, status)

    return await db.run_in_transaction(work)
