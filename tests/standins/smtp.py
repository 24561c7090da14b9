"""A real SMTP server on loopback (aiosmtpd) whose inbox a test reads."""

from __future__ import annotations

import asyncio
import email
import email.header
from email.message import Message
from typing import Any

from aiosmtpd.smtp import SMTP


class Inbox:
    """Every message the server accepted, with its envelope recipients."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        self.envelopes.append(list(envelope.rcpt_tos))
        return "250 OK"


async def smtp_server(inbox: Inbox, port: int = 0) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: SMTP(inbox, hostname="localhost"), "127.0.0.1", port)


def subject(msg: Message) -> str:
    return str(email.header.make_header(email.header.decode_header(msg["Subject"])))


def about(inbox: Inbox, words: str) -> list[Message]:
    """The received messages whose subject has ``words`` (other steps may mail too)."""
    return [m for m in inbox.messages if words in subject(m)]
