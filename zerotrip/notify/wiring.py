"""How notifications wire themselves into a service: the triggers and the ``notify.send`` topic."""

from __future__ import annotations

from typing import TYPE_CHECKING

from zerotrip.notify.service import TOPIC, NotificationSender
from zerotrip.notify.triggers import NotificationTriggers

if TYPE_CHECKING:
    from zerotrip.services import Services


def setup(services: Services) -> None:
    settings, notifier = services.settings, services.notifier
    triggers = NotificationTriggers(
        notifier.channel, clock=services.clock, reminder_hours=settings.notify_reminder_hours
    )
    triggers.register(services.lifecycle, services.reactions)
    sender = NotificationSender(services.db, settings, notifier, services.clock)
    services.outbox.register(TOPIC, sender, on_dead=sender.on_dead)
