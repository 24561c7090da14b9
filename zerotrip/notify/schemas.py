"""How the messages of a case are shown to staff (the link inside is never shown)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from zerotrip.notify.models import Notification


class NotificationView(BaseModel):
    id: int
    topic: str
    channel: str
    language: str  # the recipient's: what was sent
    recipient: str
    subject: str
    text: str
    status: str
    attempts: int
    last_error: str
    delivery_status: str
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, note: Notification, language: str = "zh") -> NotificationView:
        """``language``: the reader's; the text is shown in it when the message has it."""
        text = (note.texts or {}).get(language) or {"subject": note.subject, "body": note.body}
        return cls(
            id=note.id or 0,
            topic=note.topic,
            channel=note.channel,
            language=note.language,
            recipient=note.recipient,
            subject=text["subject"],
            text=text["body"].replace("{link}", "/a/…"),
            status=note.status,
            attempts=note.attempts,
            last_error=note.last_error,
            delivery_status=note.delivery_status,
            created_at=note.created_at,
            sent_at=note.sent_at,
        )


class NotificationList(BaseModel):
    items: list[NotificationView]
