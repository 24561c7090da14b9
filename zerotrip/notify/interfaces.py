"""The notifier protocol every channel implements (record only, e-mail over SMTP, SMS webhook).

A notifier sends one already-rendered message. It raises
:class:`zerotrip.outbox.errors.RetryLater` for trouble that may pass (server down, timeout,
4xx SMTP reply) and :class:`zerotrip.outbox.errors.Permanent` for what will never work (address
refused, gateway says the request is invalid); the outbox worker turns those into retries with
backoff or a dead letter with a staff task. All implementations pass the contract tests in
``tests/notify/test_notifiers.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class OutgoingMessage:
    to: str  # e-mail address or phone number; empty for the record-only notifier
    subject: str
    text: str
    reference: str  # stable id of the message, e.g. "zt-notification-42"


@dataclass(frozen=True)
class Sent:
    status: str  # sent | recorded
    provider_ref: str = ""


@runtime_checkable
class Notifier(Protocol):
    channel: str  # record | email | sms

    async def send(self, message: OutgoingMessage) -> Sent:
        """Deliver ``message`` (idempotent on ``message.reference`` where the channel allows)."""
        ...
