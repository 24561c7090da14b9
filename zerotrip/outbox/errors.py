"""What an outbox handler raises to tell the worker how its attempt ended.

Returning normally means done. ``RetryLater`` asks for another attempt (after ``retry_after``
seconds if given, else the worker's backoff); ``Permanent`` dead-letters the message at once.
Any other exception counts as ``RetryLater``: handlers must be idempotent, because a message
whose worker died is delivered again.
"""

from __future__ import annotations


class RetryLater(Exception):
    def __init__(self, message: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Permanent(Exception):
    pass
