"""Typed dispatch of signalling messages: one handler per message type of
:data:`zerotrip.live.signalling.PROTOCOL`, checked when the table is built (every type has a
handler, and each handler takes that type's shape), so a new message type cannot be forgotten
and a handler cannot receive a shape it does not expect."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from zerotrip.live.participant import Participant
from zerotrip.live.signalling import PROTOCOL, Message

Reply = dict[str, Any]
Handler = Callable[[Participant, Any], Awaitable[Reply | None]]


class MessageTable:
    def __init__(self, handlers: Mapping[str, Handler]) -> None:
        missing = sorted(PROTOCOL.keys() - handlers.keys())
        unknown = sorted(handlers.keys() - PROTOCOL.keys())
        if missing or unknown:
            raise TypeError(f"message handlers: missing {missing}, not in the protocol {unknown}")
        for kind, handler in handlers.items():
            expected = PROTOCOL[kind][1]
            taken = _message_type(handler)
            if taken is not expected:
                raise TypeError(
                    f"the {kind!r} handler takes {taken}, the protocol sends {expected}"
                )
        self.handlers = dict(handlers)

    async def dispatch(self, participant: Participant, message: Message) -> Reply | None:
        """Run the message's handler; its reply echoes the message's ``id``."""
        reply = await self.handlers[message.type](participant, message)
        if reply is not None and message.id is not None:
            reply["reply_to"] = message.id
        return reply


def _message_type(handler: Handler) -> Any:
    """The annotation of the handler's message parameter (its second)."""
    hints = typing.get_type_hints(handler)
    names = list(inspect.signature(handler).parameters)
    return hints.get(names[1]) if len(names) > 1 else None
