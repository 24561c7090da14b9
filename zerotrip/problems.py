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
    title_zh: str = "请求有误"

    def __init__(self, detail: str, *, zh: str | None = None, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.detail_zh = zh  # the same sentence in Chinese, for callers that prefer it
        self.extensions = extensions

    def headers(self) -> dict[str, str]:
        """HTTP headers the response must carry besides the body (e.g. ``Retry-After``)."""
        return {}

    def as_dict(self, base_url: str = "", language: str = "en") -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"{base_url}/problems/{self.slug}",
            "title": self.title_zh if language == "zh" else self.title,
            "status": self.status,
            "detail": self.detail_zh if language == "zh" and self.detail_zh else self.detail,
        }
        body.update(self.extensions)
        return body


class InvalidInput(Problem):
    status = 422
    slug = "invalid-input"
    title = "The request is not valid"
    title_zh = "填写的内容不符合要求"


class MalformedBody(Problem):
    status = 400
    slug = "malformed-body"
    title = "The request body cannot be read"
    title_zh = "无法读取提交的内容"


class Unauthenticated(Problem):
    status = 401
    slug = "unauthenticated"
    title = "Authentication required"
    title_zh = "请先登录或使用有效链接"


class Forbidden(Problem):
    status = 403
    slug = "forbidden"
    title = "Not allowed"
    title_zh = "无权进行此操作"


class NotFound(Problem):
    status = 404
    slug = "not-found"
    title = "Not found"
    title_zh = "找不到该内容"


class Conflict(Problem):
    status = 409
    slug = "conflict"
    title = "Conflicts with the current state"
    title_zh = "与办件当前状态不符"


class IllegalTransition(Conflict):
    slug = "illegal-transition"
    title = "That step is not possible in the case's current state"
    title_zh = "办件当前状态下不能进行此操作"


class Misdirected(Problem):
    """Served by another process (e.g. a live session's owner); retry, the proxy routes again.
    ``retry_after`` (seconds) goes in the body and the ``Retry-After`` header."""

    status = 421
    slug = "misdirected"
    title = "Served by another server; retry"
    title_zh = "正在转接，请稍后重试"

    def __init__(self, detail: str, *, retry_after: int, **extensions: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extensions)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Gone(Problem):
    status = 410
    slug = "gone"
    title = "No longer available"
    title_zh = "已失效"


class TooLarge(Problem):
    status = 413
    slug = "too-large"
    title = "The request body is too large"
    title_zh = "文件或内容过大"


class UnsupportedMedia(Problem):
    status = 415
    slug = "unsupported-media-type"
    title = "This kind of content is not accepted"
    title_zh = "不支持此类文件"


class PasswordChangeRequired(Forbidden):
    slug = "password-change-required"
    title = "Change your password first"
    title_zh = "请先修改密码"


class RequestTimeout(Problem):
    status = 408
    slug = "request-timeout"
    title = "The request body arrived too slowly"
    title_zh = "上传太慢，已中断"


class ClientDisconnected(Problem):
    """The caller hung up while sending its body: nobody is left to read the answer."""

    status = 400
    slug = "client-disconnected"
    title = "The client closed the connection"
    title_zh = "连接已断开"


class RateLimited(Problem):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"
    title_zh = "操作过于频繁，请稍后再试"

    def __init__(self, detail: str, *, retry_after_s: int | None = None, **extensions: Any) -> None:
        if retry_after_s is not None:
            extensions["retry_after"] = retry_after_s
        super().__init__(detail, **extensions)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {} if self.retry_after_s is None else {"Retry-After": str(self.retry_after_s)}


class IntegrityFailure(Problem):
    """Stored bytes no longer match the hash recorded for them: never served, never exported."""

    status = 500
    slug = "integrity-failure"
    title = "Stored evidence failed its integrity check"
    title_zh = "存档材料未通过完整性校验"
