"""Settings: the one place the service's configuration comes from.

Everything is read once from ``ZEROTRIP_*`` environment variables (or given directly in tests);
no other module reads the environment. Embedded defaults make ``zerotrip serve`` work with no
configuration at all: an SQLite file and a media folder under ``./var``, the local courier, and
a secret key generated on first run and kept beside the database.

A cluster is stricter. A ``ZEROTRIP_*`` variable that names no setting is an error (a typo such
as ``ZEROTRIP_COOKIE_SECRUE`` would otherwise be silently ignored), and a deployment on a shared
database refuses to generate its own secret key: every machine must sign links with the same one.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_type_hints

PREFIX = "ZEROTRIP_"
ROLES = ("all", "web", "live", "worker")
STORAGES = ("local", "s3")


class SettingsError(ValueError):
    """The configuration cannot run; the message names the variable to fix."""


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
    api_token_hours: int = 24 * 90  # an API token's life when its creator names none
    api_token_max_hours: int = 24 * 366
    # Addresses of reverse proxies whose X-Forwarded-For names the real client (e.g. nginx's).
    trusted_proxies: tuple[str, ...] = ()

    # Throttling (see zerotrip/accounts/throttle.py): failures within a window, then a lockout
    # that doubles with each repeat up to the cap. State is in the database, shared by processes.
    login_failures_per_account: int = 5
    login_failures_per_ip: int = 20
    login_window_s: float = 900.0
    token_failures_per_ip: int = 20  # wrong bearer tokens / applicant links from one address
    token_window_s: float = 600.0
    applications_per_ip: int = 30  # new applications from one address
    applications_window_s: float = 3600.0
    lockout_base_s: float = 60.0
    lockout_cap_s: float = 3600.0
    throttle_prune_s: float = 3600.0  # how often counters that no longer matter are deleted

    # Request limits.
    max_json_bytes: int = 64 * 1024
    # Slow bodies: a read that waits longer than this for the next bytes, or a body that arrives
    # slower than the minimum rate once the grace period is over, is cut with a 408.
    body_idle_timeout_s: float = 20.0
    body_min_bytes_per_s: int = 2048
    body_rate_grace_s: float = 10.0
    uploads_per_link: int = 3  # concurrent evidence uploads through one applicant link / staff user
    uploads_per_ip: int = 8  # concurrent evidence uploads from one address

    # Working-day deadlines: ISO dates, comma-separated, that are holidays / extra workdays.
    holidays: tuple[str, ...] = ()
    extra_workdays: tuple[str, ...] = ()
    due_soon_working_days: int = 2
    timezone: str = "Asia/Shanghai"  # the office's local time, for dates and deadlines

    # Which part of the service this process runs (see ``zerotrip serve --role``).
    role: str = "all"  # all | web | live | worker

    # Database connections per process (PostgreSQL); SQLite ignores them.
    db_pool_size: int = 10
    db_max_overflow: int = 20
    db_pool_timeout_s: float = 30.0
    # asyncpg's prepared-statement cache per connection; 0 behind PgBouncer (transaction mode).
    db_statement_cache_size: int = 100

    # Backends, chosen by name.
    storage: str = "local"  # local | s3
    courier: str = "local"

    # S3-compatible object storage (storage = "s3").
    s3_endpoint_url: str = ""  # empty: AWS's own endpoint for the region
    s3_region: str = "us-east-1"
    s3_bucket: str = ""
    s3_prefix: str = ""  # keys are stored under this prefix (e.g. "zerotrip/")
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_addressing_style: str = "path"  # path | virtual (SeaweedFS, MinIO: path)
    s3_part_size_mb: int = 16  # multipart upload part size; larger files go in parts
    s3_presign_seconds: int = 300  # lifetime of a presigned download URL
    s3_max_connections: int = 32

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
    # --- jobs (zerotrip/jobs): CPU-heavy work (report signing, bundle export) run by workers ---
    job_lease_s: float = 60.0  # renewed while a worker works; a killed worker's job is retaken
    job_poll_s: float = 1.0  # how often an idle worker looks (PostgreSQL also wakes it at once)
    job_max_attempts: int = 3  # claims before a job whose workers keep dying is failed
    job_retry_s: float = 5.0  # pause before an unexpected failure is tried again (doubling)
    job_keep_s: float = 7 * 86400.0  # a finished job and its export stay this long, then go
    job_prune_s: float = 3600.0  # how often one process looks for finished jobs to forget
    job_wait_s: float = 60.0  # a request without "Prefer: respond-async" waits this long
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
    # TURN with time-limited credentials (coturn's use-auth-secret): the URLs browsers and the
    # server peer relay through, the secret shared with coturn (static-auth-secret), and how long
    # each handed-out credential stays valid. Preferred over long-term passwords in the list above.
    live_turn_urls: tuple[str, ...] = ()  # e.g. turn:turn.example.gov.cn:3478?transport=udp
    live_turn_secret: str = ""
    live_turn_ttl_s: int = 3600
    live_ice_relay_only: bool = False  # force media through TURN (iceTransportPolicy=relay)
    live_segment_seconds: int = 60  # a recording segment is closed and stored this often
    live_queue_packets: int = 90  # per subscriber; on overflow drop to the next keyframe
    live_invitation_minutes: int = 120  # an expert's invitation link lapses after this
    live_rejoin_seconds: int = 180  # a dropped participant may rejoin this long
    live_join_early_minutes: int = 30  # the session opens this long before its slot
    live_still_timeout_ms: int = 1500  # wait this long for a requested keyframe
    live_max_sdp_bytes: int = 16 * 1024
    # Step-down to audio plus photos when the phone's uplink cannot carry usable video: video
    # below this bitrate while the phone's encoder says it is short of bandwidth, or this much
    # packet loss, held this long; back to video once the uplink measures at least the up
    # bitrate for the up time (hysteresis: the two thresholds are far apart).
    live_stepdown_kbps: int = 150
    live_stepdown_loss: float = 0.10
    live_stepdown_seconds: float = 2.0
    live_stepup_kbps: int = 1000
    live_stepup_seconds: float = 6.0
    live_max_sessions: int = 40  # concurrent rooms in this process
    # Across processes: each session's room has one owner process, alive while it beats.
    live_advertise_address: str = ""  # host:port other processes and the proxy reach this one at
    live_heartbeat_seconds: float = 5.0
    live_owner_expiry_seconds: float = 20.0  # an owner silent this long is presumed dead

    log_level: str = "INFO"
    log_format: str = "text"  # text | json (one JSON object a line, with the request id)
    # /api/ready answers 503 when the oldest due outbox message has waited longer than this.
    ready_max_outbox_lag_s: float = 300.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``ZEROTRIP_*`` variables; a variable that names no setting, or a
        value that does not parse, is a :class:`SettingsError` naming the variable."""
        env = os.environ if environ is None else environ
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for key, raw in env.items():
            if not key.startswith(PREFIX):
                continue
            name = key[len(PREFIX) :].lower()
            if name not in hints:
                raise SettingsError(f"{key} is not a zerotrip setting{_close_match(name, hints)}")
            try:
                values[name] = _coerce(hints[name], raw)
            except ValueError as exc:
                raise SettingsError(f"{key}={raw!r}: {exc}") from None
        values.update(overrides)
        return cls(**values).resolved()

    def resolved(self) -> Settings:
        """Fill derived defaults (paths, URLs, the persisted secret key) and check the whole.

        A shared (non-SQLite) database means more than one machine may serve: a secret key
        generated here would differ from the others', and links signed on one would open nothing
        on another, so it must be given.
        """
        if self.role not in ROLES:
            raise SettingsError(f"ZEROTRIP_ROLE={self.role!r}: one of {', '.join(ROLES)}")
        if self.storage not in STORAGES:
            raise SettingsError(f"ZEROTRIP_STORAGE={self.storage!r}: one of {', '.join(STORAGES)}")
        if self.storage == "s3" and not self.s3_bucket:
            raise SettingsError("ZEROTRIP_S3_BUCKET must be set when ZEROTRIP_STORAGE=s3")
        if self.log_format not in ("text", "json"):
            raise SettingsError(f"ZEROTRIP_LOG_FORMAT={self.log_format!r}: text or json")
        if self.database_url and not self.is_sqlite and not self.secret_key:
            raise SettingsError(
                "ZEROTRIP_SECRET_KEY must be set with a shared database "
                "(every process must sign with the same key; none is generated)"
            )
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


def _close_match(name: str, known: Mapping[str, Any]) -> str:
    match = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {PREFIX}{match[0].upper()}?)" if match else ""


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


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def _coerce(hint: Any, raw: str) -> Any:
    text = str(hint)
    if hint is bool or text == "bool":
        word = raw.strip().lower()
        if word not in _TRUE | _FALSE:
            raise ValueError("not a yes/no value (true/false, 1/0, yes/no, on/off)")
        return word in _TRUE
    if hint is int or text == "int":
        return int(raw)
    if hint is float or text == "float":
        return float(raw)
    if "tuple" in text:
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if "Path" in text:
        return Path(raw)
    return raw
