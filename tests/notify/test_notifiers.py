"""The contract every Notifier passes: it sends a rendered message, and tells the outbox whether
a failure is worth retrying (RetryLater) or never will work (Permanent)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from tests.harness.apps import free_port
from tests.standins.sms_gateway import SECRET
from tests.standins.smtp import Inbox, smtp_server
from zerotrip.notify.interfaces import Notifier, OutgoingMessage
from zerotrip.notify.record import RecordNotifier
from zerotrip.notify.sms import SmsWebhookNotifier
from zerotrip.notify.smtp import SmtpNotifier
from zerotrip.outbox.errors import Permanent, RetryLater

MESSAGE = OutgoingMessage("li.na@example.com", "主题 Subject", "正文 body", "zt-notification-1")


@pytest.fixture(params=["record", "email", "sms"])
async def notifier(request, settings, gateway) -> AsyncIterator[tuple[Notifier, OutgoingMessage]]:
    if request.param == "record":
        yield RecordNotifier(), MESSAGE
    elif request.param == "email":
        server = await smtp_server(Inbox())
        port = server.sockets[0].getsockname()[1]
        yield SmtpNotifier(dataclasses.replace(settings, smtp_port=port)), MESSAGE
        server.close()
        await server.wait_closed()
    else:
        url, _ = gateway
        configured = dataclasses.replace(settings, sms_gateway_url=url, sms_secret=SECRET)
        yield SmsWebhookNotifier(configured), dataclasses.replace(MESSAGE, to="+8613800000000")


async def test_sends_and_names_its_channel(notifier):
    impl, message = notifier
    assert isinstance(impl, Notifier)
    sent = await impl.send(message)
    assert sent.status == ("recorded" if impl.channel == "record" else "sent")


async def test_a_missing_recipient_is_permanent(notifier):
    impl, message = notifier
    if impl.channel == "record":
        pytest.skip("the record notifier has no recipient")
    with pytest.raises(Permanent):
        await impl.send(dataclasses.replace(message, to=""))


async def test_an_unreachable_server_is_retried_later(settings):
    port = free_port()
    down = [
        SmtpNotifier(dataclasses.replace(settings, smtp_port=port, smtp_timeout_s=2)),
        SmsWebhookNotifier(
            dataclasses.replace(
                settings, sms_gateway_url=f"http://127.0.0.1:{port}/send", sms_secret=SECRET
            )
        ),
    ]
    for impl in down:
        with pytest.raises(RetryLater):
            await impl.send(MESSAGE)
