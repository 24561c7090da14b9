"""Shippo's part of the service settings, checked once."""

from __future__ import annotations

from dataclasses import dataclass

from zerotrip.config import Settings
from zerotrip.mailing.interfaces import Configuration


@dataclass(frozen=True)
class ShippoSettings:
    api_key: str
    api_version: str
    base_url: str | None
    timeout: tuple[float, float]  # (connect, read) seconds, injected into every request
    service_levels: tuple[str, ...]
    label_file_type: str
    threads: int

    @classmethod
    def from_settings(cls, s: Settings) -> ShippoSettings:
        if not s.shippo_api_key:
            raise Configuration("shippo_api_key is not set")
        return cls(
            api_key=s.shippo_api_key,
            api_version=s.shippo_api_version,
            base_url=s.shippo_base_url or None,
            timeout=(s.shippo_connect_timeout_s, s.shippo_read_timeout_s),
            service_levels=tuple(s.shippo_service_levels),
            label_file_type=s.shippo_label_file_type,
            threads=s.shippo_threads,
        )
