"""Choosing the notifier from settings (``ZEROTRIP_NOTIFIER=record|email|sms``)."""

from __future__ import annotations

from zerotrip.config import Settings
from zerotrip.notify.interfaces import Notifier
from zerotrip.notify.record import RecordNotifier
from zerotrip.notify.sms import SmsWebhookNotifier
from zerotrip.notify.smtp import SmtpNotifier


def make_notifier(settings: Settings) -> Notifier:
    if settings.notifier == "record":
        return RecordNotifier()
    if settings.notifier == "email":
        return SmtpNotifier(settings)
    if settings.notifier == "sms":
        return SmsWebhookNotifier(settings)
    raise ValueError(f"unknown notifier {settings.notifier!r} (record, email or sms)")
