"""Errors every domain raises and the API renders as RFC 9457 ``application/problem+json``.

Each subclass has a stable ``type`` slug (documented at ``/problems/<slug>``) and an HTTP status.
Domains raise these with a human sentence and optional extension members; they never import
the API layer.
"""

from __future__ import annotations

from typing import Any


class Problem(Exception):
    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    def as_dict(self, base_url: str = "") -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"{base_url}/problems/{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        body.update(self.extensions)
        return body


class InvalidInput(Problem):
    status = 422
    slug = "invalid-input"
    title = "The request is not valid"


class MalformedBody(Problem):
    status = 400
    slug = "malformed-body"
    title = "The request body cannot be read"


class Unauthenticated(Problem):
    status = 401
    slug = "unauthenticated"
    title = "Authentication required"


class Forbidden(Problem):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class NotFound(Problem):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(Problem):
    status = 409
    slug = "conflict"
    title = "Conflicts with the current state"


class IllegalTransition(Conflict):
    slug = "illegal-transition"
    title = "That step is not possible in the case's current state"


class Misdirected(Problem):
    """Served by another process (e.g. a live session's owner); retry, the proxy routes again.
    Give ``retry_after`` (seconds): it becomes the ``Retry-After`` header."""

    status = 421
    slug = "misdirected"
    title = "Served by another server; retry"


class Gone(Problem):
    status = 410
    slug = "gone"
    title = "No longer available"


class TooLarge(Problem):
    status = 413
    slug = "too-large"
    title = "The request body is too large"


class UnsupportedMedia(Problem):
    status = 415
    slug = "unsupported-media-type"
    title = "This kind of content is not accepted"


class RateLimited(Problem):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"
