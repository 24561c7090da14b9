"""Reading a request body with a cap, so a client cannot make the server buffer without bound."""

from __future__ import annotations

from collections.abc import AsyncIterable

from zerotrip.problems import TooLarge


async def read_capped(
    chunks: AsyncIterable[bytes], limit: int, *, declared: int | None = None
) -> bytes:
    """All of ``chunks`` (a body stream), or 413 as soon as more than ``limit`` bytes are
    declared (``Content-Length``) or have arrived."""
    if declared is not None and declared > limit:
        raise TooLarge(
            f"The body may be at most {limit} bytes.",
            zh=f"提交的内容不能超过 {limit} 字节。",
            max_bytes=limit,
        )
    raw = bytearray()
    async for chunk in chunks:
        raw += chunk
        if len(raw) > limit:
            raise TooLarge(
                f"The body may be at most {limit} bytes.",
                zh=f"提交的内容不能超过 {limit} 字节。",
                max_bytes=limit,
            )
    return bytes(raw)
