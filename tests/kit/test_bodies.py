"""Capped body reading: the cap holds whatever the client declares or sends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from zerotrip.kit.bodies import read_capped
from zerotrip.problems import TooLarge


class Stream:
    """Chunks as a client sends them; counts how many were pulled."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = list(chunks)
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.pulled += 1
            yield chunk


async def test_a_body_up_to_the_cap_is_read_whole():
    assert await read_capped(Stream(b"ab", b"cd"), 4, declared=4) == b"abcd"
    assert await read_capped(Stream(), 4) == b""


async def test_a_declared_length_over_the_cap_is_refused_before_reading():
    stream = Stream(b"x")
    with pytest.raises(TooLarge) as refused:
        await read_capped(stream, 4, declared=5)
    assert stream.pulled == 0 and refused.value.extensions["max_bytes"] == 4


async def test_an_undeclared_or_understated_body_stops_at_the_first_chunk_over_the_cap():
    stream = Stream(b"abc", b"de", b"never read")
    with pytest.raises(TooLarge):
        await read_capped(stream.__aiter__(), 4, declared=1)
    assert stream.pulled == 2
