"""The reactions registry: what runs, in which order, and what a failing reaction does."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from zerotrip.kit.reactions import Reactions


@dataclass(frozen=True)
class Booked:
    what: str


@dataclass(frozen=True)
class Ended:
    what: str


async def test_reactions_run_in_registration_order_for_their_event_and_topic_only():
    seen: list[str] = []
    reactions = Reactions()

    async def first(event: Booked) -> None:
        seen.append(f"first:{event.what}")

    async def second(event: Booked) -> None:
        seen.append(f"second:{event.what}")

    async def other_topic(event: Booked) -> None:
        seen.append("other topic")

    async def other_event(event: Ended) -> None:
        seen.append("other event")

    reactions.on(Booked, first, topic="a")
    reactions.on(Booked, second, topic="a")
    reactions.on(Booked, other_topic, topic="b")
    reactions.on(Ended, other_event, topic="a")
    await reactions.emit(Booked("x"), topic="a")
    assert seen == ["first:x", "second:x"]
    assert reactions.registered(Booked, "a") == (first, second)


async def test_a_failing_reaction_stops_the_rest_and_reaches_the_caller():
    """The caller's transaction must roll back with it, so nothing after it may run."""
    seen: list[str] = []
    reactions = Reactions()

    async def fails(event: Booked) -> None:
        raise RuntimeError("no")

    async def later(event: Booked) -> None:
        seen.append("later")

    reactions.on(Booked, fails)
    reactions.on(Booked, later)
    with pytest.raises(RuntimeError):
        await reactions.emit(Booked("x"))
    assert seen == []


async def test_two_registries_share_nothing():
    a, b = Reactions(), Reactions()
    seen: list[str] = []

    async def react(event: Booked) -> None:
        seen.append(event.what)

    a.on(Booked, react)
    await b.emit(Booked("only b"))
    await a.emit(Booked("a"))
    assert seen == ["a"] and b.registered(Booked) == ()
