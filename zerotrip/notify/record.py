"""The default notifier: nothing leaves the office; the message stays in the case for staff.

For offices without mail or SMS (or offline): staff see what the applicant would have been told
on the case page and pass it on by phone.
"""

from __future__ import annotations

from zerotrip.notify.interfaces import OutgoingMessage, Sent


class RecordNotifier:
    channel = "record"

    async def send(self, message: OutgoingMessage) -> Sent:
        return Sent("recorded")
