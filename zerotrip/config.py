"""Settings: the one place the service's configuration comes from.

Everything is read once from ``ZEROTRIP_*`` environment variables (or given directly in tests);
no other module reads the environment. Embedded defaults make ``zerotrip serve`` work with no
configuration at all: an SQLite file and a media folder under ``./var``, the local courier, and
a secret key generated on first run and kept beside the database.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

PREFIX = "ZEROTRIP_"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    database_url: str = ""  # empty: SQLite file in data_dir
    media_dir: Path | None = None  # None: data_dir / "media"
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""  # empty: http://host:port
    secret_key: str = ""  # empty: generated once and kept in data_dir/secret_key

    # Staff sessions and applicant links.
    session_hours: int = 12
    applicant_link_days: int = 30
    cookie_secure: bool = False
    credential_cache_seconds: float = 5.0  # see zerotrip/api/credentials.py; 0 turns it off

    # Request limits.
    max_json_bytes: int = 64 * 1024

    # Working-day deadlines: ISO dates, comma-separated, that are holidays / extra workdays.
    holidays: tuple[str, ...] = ()
    extra_workdays: tuple[str, ...] = ()
    due_soon_working_days: int = 2
    timezone: str = "Asia/Shanghai"  # the office's local time, for dates and deadlines

    # Backends, chosen by name.
    storage: str = "local"
    courier: str = "local"

    # --- review ---
    annotation_max_bytes: int = 1024 * 1024  # one annotation save (freehand lines add up)
    cjk_font: str = ""  # "path" or "path#face-index" of a Chinese font; empty: search the system

    # --- evidence ---
    evidence_max_bytes: int = 40 * 1024 * 1024  # upload size cap (413 beyond it)
    evidence_max_pixels: int = 120_000_000  # decompression-bomb limit (422 beyond it)
    evidence_analysis_timeout_s: float = 10.0  # per file; a worker that misses it is killed
    evidence_analysis_memory_mb: int = 1536  # address-space cap of an analysis worker
    evidence_workers: int = 2  # analysis worker processes
    evidence_nonce_minutes: int = 10  # how long a capture nonce stays valid
    evidence_max_age_hours: int = 72  # oldest acceptable capture time before receipt
    evidence_site_radius_m: float = 150.0  # premises radius for the location check
    evidence_dhash_distance: int = 10  # dHash Hamming distance counted as "the same picture"
    # --- office: ratings, dashboard, notifications, identity check ---
    rating_rectification_working_days: int = 5  # a dissatisfied rating must be answered within
    dashboard_max_days: int = 731  # longest period the dashboard accepts
    notifier: str = (
        "record"  # record | email | sms (record: only kept in the case, for offline use)
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_sender: str = "zerotrip@localhost"
    smtp_timeout_s: float = 15.0
    sms_gateway_url: str = ""  # receives signed JSON {to, text, reference}
    sms_secret: str = ""  # HMAC-SHA256 key shared with the gateway, both directions
    sms_timeout_s: float = 10.0
    notify_reminder_hours: int = 24  # how long before a booked inspection the reminder goes out
    # Roles that see identity (远程核) evidence; others need a personal grant from an admin.
    identity_roles: tuple[str, ...] = ("inspector", "admin")
    # --- mailing ---
    # Outbox worker: runs inside the app unless disabled (tests that drive it by hand).
    outbox_worker: bool = True
    outbox_max_attempts: int = 8
    outbox_backoff_base_s: float = 2.0
    outbox_backoff_cap_s: float = 900.0
    outbox_lease_s: float = 120.0
    outbox_poll_s: float = 0.5
    outbox_batch: int = 16
    # Local courier simulator: 0 = staff advance orders by hand; N = one courier step every
    # (simulated hour / N), i.e. N times faster than a real courier.
    local_courier_speed: float = 0.0
    # How long the applicant has to choose a pickup window before the next day's is booked.
    pickup_choice_hours: float = 24.0
    # Shippo (reference adapter; shippo==3.9.0 SDK).
    shippo_api_key: str = ""
    shippo_api_version: str = "2018-02-08"
    shippo_base_url: str = ""  # empty: the SDK's default (api.goshippo.com)
    shippo_connect_timeout_s: float = 5.0
    shippo_read_timeout_s: float = 30.0
    shippo_service_levels: tuple[
        str, ...
    ] = ()  # allow-list of servicelevel tokens; empty: cheapest
    shippo_label_file_type: str = "PDF_4x6"
    shippo_webhook_token: str = ""  # the ?token= secret of Shippo's webhook URL
    shippo_threads: int = 8
    # Webhook courier (any courier system with its own API, e.g. a postal platform).
    courier_webhook_url: str = ""
    courier_webhook_secret: str = ""
    courier_webhook_max_skew_s: int = 300
    courier_webhook_timeout_s: float = 10.0
    max_courier_callback_bytes: int = 64 * 1024
    # The office: where pickups go and deliveries come from.
    office_name: str = "Permit Office"
    office_street: str = "1 Office Road"
    office_city: str = "Hangzhou"
    office_state: str = "ZJ"
    office_zip: str = "310000"
    office_country: str = "CN"
    office_phone: str = "+86 571 0000 0000"
    # Reconciliation: poll tracking for orders not updated for this long.
    reconcile_interval_s: float = 300.0
    reconcile_stale_s: float = 6 * 3600.0
    # After a courier call with an unknown outcome (a timeout after sending, an unreadable
    # answer), no new purchase until checks over this window (longer than the slowest commit
    # a courier is allowed) found nothing; checks every quarter of it.
    mailing_settle_s: float = 900.0
    # An open order with no progress, no pending work and no staff task for this long gets one.
    mailing_stall_s: float = 3 * 86400.0

    # --- live video ---
    # ICE servers for browsers AND the server peer, as JSON: [{"urls": "turn:host:3478",
    # "username": "...", "credential": "..."}]. Empty: host candidates only, nothing public.
    live_ice_servers: str = "[]"
    live_ice_relay_only: bool = False  # force media through TURN (iceTransportPolicy=relay)
    live_segment_seconds: int = 60  # a recording segment is closed and stored this often
    live_queue_packets: int = 90  # per subscriber; on overflow drop to the next keyframe
    live_rejoin_seconds: int = 180  # a dropped participant may rejoin this long
    live_join_early_minutes: int = 30  # the session opens this long before its slot
    live_still_timeout_ms: int = 1500  # wait this long for a requested keyframe
    live_max_sdp_bytes: int = 16 * 1024
    live_max_sessions: int = 40  # concurrent rooms in this process

    log_level: str = "INFO"

    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``ZEROTRIP_*`` variables; unknown ones land in ``extra``."""
        env = os.environ if environ is None else environ
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        extra: dict[str, str] = {}
        for key, raw in env.items():
            if not key.startswith(PREFIX):
                continue
            name = key[len(PREFIX) :].lower()
            if name in hints and name != "extra":
                values[name] = _coerce(hints[name], raw)
            else:
                extra[name] = raw
        values.update(overrides)
        values.setdefault("extra", extra)
        return cls(**values).resolved()

    def resolved(self) -> Settings:
        """Fill derived defaults (paths, URLs, the persisted secret key)."""
        data_dir = Path(self.data_dir)
        changes: dict[str, Any] = {"data_dir": data_dir}
        if not self.database_url:
            changes["database_url"] = f"sqlite+aiosqlite:///{(data_dir / 'zerotrip.db').resolve()}"
        if self.media_dir is None:
            changes["media_dir"] = data_dir / "media"
        if not self.public_url:
            changes["public_url"] = f"http://{self.host}:{self.port}"
        if not self.secret_key:
            changes["secret_key"] = _persisted_secret(data_dir / "secret_key")
        return dataclasses.replace(self, **changes)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _persisted_secret(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return key


def _coerce(hint: Any, raw: str) -> Any:
    text = str(hint)
    if hint is bool or text == "bool":
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if hint is int or text == "int":
        return int(raw)
    if hint is float or text == "float":
        return float(raw)
    if "tuple" in text:
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if "Path" in text:
        return Path(raw)
    return raw
