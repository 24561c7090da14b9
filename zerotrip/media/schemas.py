"""How evidence is shown: to staff with every finding and fact, to the applicant as a receipt."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, JsonValue

from zerotrip.media.models import Evidence, TrustVerdict


class EvidenceUrls(BaseModel):
    display: str
    thumb: str
    original: str | None = None  # staff only: it may hold GPS and device data


class Finding(BaseModel):
    model_config = ConfigDict(extra="allow")  # a later policy may say more; none of it is lost

    code: str
    severity: Literal["info", "warn", "high"]
    params: dict[str, JsonValue] | None = None
    en: str
    zh: str


class LatestVerdict(BaseModel):
    verdict: Literal["consistent", "needs_review", "inconsistent"]
    policy_version: str
    created_at: datetime
    findings: list[Finding]


class EarlierVerdict(BaseModel):
    verdict: str
    policy_version: str


class EvidenceActor(BaseModel):
    kind: str
    id: str


class DeviceFacts(BaseModel):
    make: str | None = None
    model: str | None = None
    software: str | None = None


class EvidenceView(BaseModel):
    """Staff get the latest verdict (and the earlier ones); applicants a receipt without
    findings, device facts or location."""

    id: int
    checkpoint_id: int | None
    kind: Literal["photo", "video", "still", "recording"]
    source: str
    sha256: str
    media_type: str
    size: int
    width: int | None
    height: int | None
    duration_s: float | None
    received_at: datetime
    captured_at: datetime | None
    urls: EvidenceUrls
    has_display: bool
    # staff only
    restricted: bool | None = None
    actor: EvidenceActor | None = None
    live_session_id: int | None = None
    video_offset_ms: int | None = None
    distance_m: float | None = None
    time_source: str | None = None
    capture: dict[str, JsonValue] | None = None
    device: DeviceFacts | None = None
    exif_gps: dict[str, JsonValue] | None = None
    verdict: LatestVerdict | None = None
    earlier_verdicts: list[EarlierVerdict] | None = None

    @classmethod
    def of(cls, ev: Evidence, verdicts: list[TrustVerdict], *, staff: bool) -> EvidenceView:
        base = f"/api/evidence/{ev.id}"
        urls = EvidenceUrls(display=f"{base}/display", thumb=f"{base}/thumb")
        if staff:
            urls.original = f"{base}/original"
        meta = ev.meta or {}
        view = cls(
            id=ev.id or 0,
            checkpoint_id=ev.checkpoint_id,
            kind=ev.kind,  # type: ignore[arg-type]
            source=ev.source,
            sha256=ev.sha256,
            media_type=ev.media_type,
            size=ev.size,
            width=ev.width,
            height=ev.height,
            duration_s=ev.duration_s,
            received_at=ev.received_at,
            captured_at=ev.captured_at,
            urls=urls,
            has_display=bool(meta.get("derived")),
        )
        if not staff:
            return view
        facts = meta.get("facts") or {}
        ordered = sorted(verdicts, key=lambda v: (v.created_at, v.id or 0))
        latest = ordered[-1] if ordered else None
        view.restricted = ev.restricted
        view.actor = EvidenceActor(kind=ev.actor_kind, id=ev.actor_id)
        view.live_session_id = ev.live_session_id
        view.video_offset_ms = ev.video_offset_ms
        view.distance_m = meta.get("distance_m")
        view.time_source = meta.get("time_source")
        view.capture = ev.capture
        view.device = DeviceFacts(
            **{k: facts.get(k) for k in ("make", "model", "software") if facts.get(k)}
        )
        view.exif_gps = facts.get("gps")
        view.verdict = (
            None
            if latest is None
            else LatestVerdict(
                verdict=latest.verdict,  # type: ignore[arg-type]
                policy_version=latest.policy_version,
                created_at=latest.created_at,
                findings=[Finding.model_validate(f) for f in latest.findings],
            )
        )
        view.earlier_verdicts = [
            EarlierVerdict(verdict=v.verdict, policy_version=v.policy_version) for v in ordered[:-1]
        ]
        return view


class EvidenceList(BaseModel):
    items: list[EvidenceView]
