"""How evidence is shown: to staff with every finding and fact, to the applicant as a receipt."""

from __future__ import annotations

from typing import Any

from zerotrip.media.models import Evidence, TrustVerdict

EVIDENCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "checkpoint_id", "kind", "source", "sha256", "received_at", "urls"],
    "properties": {
        "id": {"type": "integer"},
        "checkpoint_id": {"type": ["integer", "null"]},
        "kind": {"type": "string", "enum": ["photo", "video", "still", "recording"]},
        "source": {"type": "string"},
        "sha256": {"type": "string"},
        "media_type": {"type": "string"},
        "received_at": {"type": "string", "format": "date-time"},
        "captured_at": {"type": ["string", "null"], "format": "date-time"},
        "urls": {"type": "object"},
        "verdict": {
            "type": ["object", "null"],
            "properties": {
                "verdict": {
                    "type": "string",
                    "enum": ["consistent", "needs_review", "inconsistent"],
                },
                "policy_version": {"type": "string"},
                "findings": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["code", "severity", "en", "zh"],
                        "properties": {
                            "code": {"type": "string"},
                            "severity": {"type": "string", "enum": ["info", "warn", "high"]},
                            "params": {"type": "object"},
                            "en": {"type": "string"},
                            "zh": {"type": "string"},
                        },
                    },
                },
            },
        },
    },
}
EVIDENCE_LIST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["items"],
    "properties": {"items": {"type": "array", "items": EVIDENCE_SCHEMA}},
}


def _urls(ev: Evidence, staff: bool) -> dict[str, str]:
    base = f"/api/evidence/{ev.id}"
    urls = {"display": f"{base}/display", "thumb": f"{base}/thumb"}
    if staff:
        urls["original"] = f"{base}/original"
    return urls


def evidence_view(ev: Evidence, verdicts: list[TrustVerdict], *, staff: bool) -> dict[str, Any]:
    """Staff get the latest verdict (and older ones); applicants get a receipt without findings."""
    view: dict[str, Any] = {
        "id": ev.id,
        "checkpoint_id": ev.checkpoint_id,
        "kind": ev.kind,
        "source": ev.source,
        "sha256": ev.sha256,
        "media_type": ev.media_type,
        "size": ev.size,
        "width": ev.width,
        "height": ev.height,
        "duration_s": ev.duration_s,
        "received_at": ev.received_at,
        "captured_at": ev.captured_at,
        "urls": _urls(ev, staff),
        "has_display": bool((ev.meta or {}).get("derived")),
    }
    if not staff:
        return view
    meta = ev.meta or {}
    facts = meta.get("facts") or {}
    ordered = sorted(verdicts, key=lambda v: (v.created_at, v.id or 0))
    latest = ordered[-1] if ordered else None
    view.update(
        {
            "restricted": ev.restricted,
            "actor": {"kind": ev.actor_kind, "id": ev.actor_id},
            "live_session_id": ev.live_session_id,
            "video_offset_ms": ev.video_offset_ms,
            "distance_m": meta.get("distance_m"),
            "time_source": meta.get("time_source"),
            "capture": ev.capture,
            "device": {k: facts.get(k) for k in ("make", "model", "software") if facts.get(k)},
            "exif_gps": facts.get("gps"),
            "verdict": None
            if latest is None
            else {
                "verdict": latest.verdict,
                "policy_version": latest.policy_version,
                "created_at": latest.created_at,
                "findings": latest.findings,
            },
            "earlier_verdicts": [
                {"verdict": v.verdict, "policy_version": v.policy_version} for v in ordered[:-1]
            ],
        }
    )
    return view
