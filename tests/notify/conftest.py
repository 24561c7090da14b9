"""Fixtures of the notification tests: the stand-in SMS gateway."""

from __future__ import annotations

from tests.standins.sms_gateway import gateway

__all__ = ["gateway"]
