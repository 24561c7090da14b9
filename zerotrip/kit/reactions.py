"""What other domains do, inside the same transaction, when something happens in one domain.

Each domain's ``setup()`` registers its reactions on the one :class:`Reactions` object the
composition root builds for the process; the domain where something happens emits a typed event
(a dataclass carrying the open session) and never imports the domains that react. Nothing is
registered on a module, so two services in one process react independently, and a CLI command
or a worker built by the same root reacts exactly as the web app does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

E = TypeVar("E")
Reaction = Callable[[E], Awaitable[None]]


class Reactions:
    def __init__(self) -> None:
        self._by_event: dict[tuple[type, str], list[Reaction[Any]]] = {}

    def on(self, event: type[E], reaction: Reaction[E], *, topic: str = "") -> None:
        """Run ``reaction`` for every ``event`` (of ``topic``, when the event has several)."""
        self._by_event.setdefault((event, topic), []).append(reaction)

    def registered(self, event: type, topic: str = "") -> tuple[Reaction[Any], ...]:
        return tuple(self._by_event.get((event, topic), ()))

    async def emit(self, event: object, topic: str = "") -> None:
        """Run the reactions in registration order; an exception aborts the caller's
        transaction, so the event and its reactions happen together or not at all."""
        for reaction in self._by_event.get((type(event), topic), ()):
            await reaction(event)
