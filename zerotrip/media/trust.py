"""Trust findings about one piece of evidence, and the verdict they add up to.

Every finding has a stable ``code`` (clients and reports key on it), a ``severity``
(``info`` < ``warn`` < ``high``), its measured ``params`` and a sentence in Chinese and English.
The verdict says only what the checks show: ``consistent`` (nothing contradicts the claims),
``needs_review`` (something is missing or unusual) or ``inconsistent`` (something contradicts
them). Client-supplied facts can be forged, so "consistent" is never called "verified".

The checks are pure functions of the facts gathered by ingest; ``POLICY_VERSION`` names this
rule set, and a later policy adds a new verdict row instead of rewriting this one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from math import asin, cos, radians, sin, sqrt
from typing import Any
from zoneinfo import ZoneInfo

POLICY_VERSION = "2026-11.2"
SEVERITY_RANK = {"info": 0, "warn": 1, "high": 2}
FUTURE_SKEW = timedelta(minutes=5)
IMPRECISE_M = 200.0
THUMB_MISMATCH = 12
LIVE_ORIGINS = frozenset({"live_still", "live_photo", "recording"})

# code: (severity, en template, zh template)
MESSAGES: dict[str, tuple[str, str, str]] = {
    "time_outside_window": (
        "high",
        "Taken at {captured_at}, {hours} h from receipt; more than the {limit} h allowed.",
        "拍摄时间 {captured_at} 与接收时间相差 {hours} 小时，超出允许的 {limit} 小时。",
    ),
    "time_after_receipt": (
        "high",
        "The capture time {captured_at} is after the server received the file.",
        "拍摄时间 {captured_at} 晚于服务器接收时间。",
    ),
    "time_before_capture_screen": (
        "high",
        "The shutter time {captured_at} is before the capture screen was opened.",
        "拍摄时间 {captured_at} 早于拍摄页面打开时间。",
    ),
    "time_missing": (
        "warn",
        "No capture time is known for this file.",
        "无法确定拍摄时间。",
    ),
    "device_clock_unreliable": (
        "info",
        "The camera clock disagrees with its GPS time by an odd offset ({offset_h} h).",
        "相机时钟与 GPS 时间相差 {offset_h} 小时，设备时间可能不准确。",
    ),
    "location_far": (
        "high",
        "Taken {distance_m} m from the premises; the fix is only ±{accuracy_m} m.",
        "拍摄地点距经营场所 {distance_m} 米，定位精度仅 ±{accuracy_m} 米。",
    ),
    "location_imprecise": (
        "warn",
        "The location fix is imprecise (±{accuracy_m} m).",
        "定位精度不足（±{accuracy_m} 米）。",
    ),
    "location_missing": (
        "warn",
        "No location came with this file.",
        "未附带拍摄位置。",
    ),
    "location_redacted": (
        "warn",
        "The file's GPS position was zeroed (redacted by the device).",
        "文件中的 GPS 位置被清零（设备已隐去位置）。",
    ),
    "location_disagrees": (
        "high",
        "The file's GPS position is {gap_m} m from the browser's location fix.",
        "文件 GPS 位置与浏览器定位相差 {gap_m} 米。",
    ),
    "premises_unlocated": (
        "info",
        "The premises have no coordinates, so distance cannot be checked.",
        "经营场所未登记坐标，无法核对距离。",
    ),
    "editing_software": (
        "high",
        "Editing software left traces: {software}.",
        "文件含有图像编辑软件痕迹：{software}。",
    ),
    "thumbnail_mismatch": (
        "high",
        "The embedded thumbnail shows a different picture (distance {distance}/64).",
        "内嵌缩略图与图像内容不一致（差异 {distance}/64）。",
    ),
    "duplicate_other_case": (
        "high",
        "The same file was submitted for case {reference}.",
        "相同文件已在办件 {reference} 中提交过。",
    ),
    "duplicate_other_checkpoint": (
        "warn",
        "The same file was already submitted for another checklist item of this case.",
        "相同文件已提交给本办件的其他踏勘要点。",
    ),
    "similar_other_case": (
        "warn",
        "Looks like a photo from case {reference} (distance {distance}/64){premises}.",
        "与办件 {reference} 中的照片高度相似（差异 {distance}/64）{premises_zh}。",
    ),
    "gallery_upload": (
        "warn",
        "Chosen from the gallery, not taken in the page: time and place are unverified.",
        "从相册选择而非页面内拍摄，拍摄时间和地点未经核实。",
    ),
    "analysis_failed": (
        "warn",
        "The file could not be analysed ({reason}); an inspector must look at the original.",
        "文件无法完成分析（{reason}），需人工查看原件。",
    ),
}

_EDITORS = re.compile(
    r"photoshop|lightroom|gimp|snapseed|picsart|meitu|美图|pixelmator|affinity|canva|"
    r"paint\.net|facetune|airbrush|fotor|photoscape|polarr|vsco|photodirector|luminar|"
    r"capture one|darktable|acdsee|美颜|醒图|picmonkey",
    re.IGNORECASE,
)


@dataclass
class Facts:
    """Everything the checks look at, gathered by ingest."""

    origin: str
    received_at: datetime
    analysis: dict[str, Any]
    capture: dict[str, Any] | None = None
    premises: tuple[float, float] | None = None
    office_zone: str = "UTC"
    max_age_hours: int = 72
    site_radius_m: float = 150.0
    exact_duplicates: list[dict[str, Any]] = field(default_factory=list)  # other case/checkpoint
    similar: list[dict[str, Any]] = field(default_factory=list)  # other cases, close dHash
    nonce_issued_at: datetime | None = None  # when the capture screen opened (in-page capture)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = radians(lat1), radians(lat2)
    a = sin((p2 - p1) / 2) ** 2 + cos(p1) * cos(p2) * sin(radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * asin(sqrt(min(1.0, a)))


def finding(code: str, **params: Any) -> dict[str, Any]:
    severity, en, zh = MESSAGES[code]
    return {
        "code": code,
        "severity": severity,
        "params": params,
        "en": en.format(**params),
        "zh": zh.format(**params),
    }


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def capture_time(facts: Facts) -> tuple[datetime | None, str]:
    """The best capture instant and where it came from."""
    exif = facts.analysis.get("facts") or {}
    if at := _parse(exif.get("captured_at")):
        return at, "exif"
    if at := _parse(exif.get("gps_time")):
        return at, "exif_gps"
    if exif.get("datetime_original"):
        local = datetime.fromisoformat(exif["datetime_original"])
        return local.replace(tzinfo=ZoneInfo(facts.office_zone)).astimezone(UTC), "exif_local"
    if at := _parse(exif.get("creation_time", "").replace("Z", "+00:00") or None):
        return at, "container"
    taken = (facts.capture or {}).get("taken_at")
    if isinstance(taken, int | float) and facts.origin != "gallery":
        return datetime.fromtimestamp(taken / 1000, UTC), "browser"
    if facts.origin in LIVE_ORIGINS:  # taken by the server from a live session
        return facts.received_at, "server"
    return None, "none"


def _time_findings(facts: Facts, captured: datetime | None) -> list[dict[str, Any]]:
    if captured is None:
        return [finding("time_missing")]
    shown = captured.strftime("%Y-%m-%d %H:%M UTC")
    out: list[dict[str, Any]] = []
    if captured > facts.received_at + FUTURE_SKEW:
        out.append(finding("time_after_receipt", captured_at=shown))
    elif facts.nonce_issued_at is not None and captured < facts.nonce_issued_at - FUTURE_SKEW:
        out.append(finding("time_before_capture_screen", captured_at=shown))
    elif facts.received_at - captured > timedelta(hours=facts.max_age_hours):
        hours = round((facts.received_at - captured).total_seconds() / 3600, 1)
        out.append(
            finding(
                "time_outside_window", captured_at=shown, hours=hours, limit=facts.max_age_hours
            )
        )
    exif = facts.analysis.get("facts") or {}
    gps_time = _parse(exif.get("gps_time"))
    if exif.get("datetime_original") and gps_time is not None:
        local = datetime.fromisoformat(exif["datetime_original"]).replace(tzinfo=UTC)
        offset_min = (local - gps_time).total_seconds() / 60
        if abs(offset_min - 15 * round(offset_min / 15)) > 2 or abs(offset_min) > 14 * 60:
            out.append(finding("device_clock_unreliable", offset_h=round(offset_min / 60, 2)))
    return out


def _location_findings(facts: Facts) -> tuple[list[dict[str, Any]], float | None]:
    """Findings, and the distance from the premises used for them (None if unknown)."""
    out: list[dict[str, Any]] = []
    fix = None
    cap = facts.capture or {}
    if isinstance(cap.get("lat"), int | float) and isinstance(cap.get("lon"), int | float):
        fix = (float(cap["lat"]), float(cap["lon"]), cap.get("accuracy"))
    gps = (facts.analysis.get("facts") or {}).get("gps")
    if gps and gps.get("lat") == 0 and gps.get("lon") == 0:
        out.append(finding("location_redacted"))
        gps = None
    exif_fix = (gps["lat"], gps["lon"], gps.get("accuracy")) if gps else None
    if fix and exif_fix:
        gap = haversine_m(fix[0], fix[1], exif_fix[0], exif_fix[1])
        allowed = float(fix[2] or 50) + float(exif_fix[2] or 50) + 50
        if gap > allowed:
            out.append(finding("location_disagrees", gap_m=round(gap)))
    chosen = fix or exif_fix
    if chosen is None:
        out.append(finding("location_missing"))
        return out, None
    accuracy = float(chosen[2]) if isinstance(chosen[2], int | float) else None
    if accuracy is None or accuracy > IMPRECISE_M:
        out.append(finding("location_imprecise", accuracy_m=round(accuracy or 0)))
    if facts.premises is None:
        out.append(finding("premises_unlocated"))
        return out, None
    distance = haversine_m(chosen[0], chosen[1], *facts.premises)
    if distance - (accuracy or 0) > facts.site_radius_m:
        out.append(
            finding("location_far", distance_m=round(distance), accuracy_m=round(accuracy or 0))
        )
    return out, distance


def _content_findings(facts: Facts) -> list[dict[str, Any]]:
    a = facts.analysis
    exif = a.get("facts") or {}
    out: list[dict[str, Any]] = []
    tools = [exif.get(k) for k in ("software", "processing_software", "host_computer")]
    tools += list(a.get("xmp_tools") or [])
    edited = sorted({t for t in tools if isinstance(t, str) and _EDITORS.search(t)})
    if edited:
        out.append(finding("editing_software", software=", ".join(edited)[:200]))
    thumb, mine = a.get("embedded_thumb_dhash"), a.get("dhash_unoriented")
    if isinstance(thumb, int) and isinstance(mine, int):
        distance = ((thumb ^ mine) & ((1 << 64) - 1)).bit_count()
        if distance > THUMB_MISMATCH:
            out.append(finding("thumbnail_mismatch", distance=distance))
    return out


def _reuse_findings(facts: Facts) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for dup in facts.exact_duplicates[:3]:
        if dup.get("same_case"):
            out.append(finding("duplicate_other_checkpoint", evidence_id=dup["evidence_id"]))
        else:
            out.append(
                finding(
                    "duplicate_other_case",
                    reference=dup["reference"],
                    evidence_id=dup["evidence_id"],
                )
            )
    for sim in facts.similar[:3]:
        same = bool(sim.get("same_premises"))
        out.append(
            finding(
                "similar_other_case",
                reference=sim["reference"],
                evidence_id=sim["evidence_id"],
                distance=sim["distance"],
                premises=", an earlier application for the same premises" if same else "",
                premises_zh="（同一经营场所的此前申请）" if same else "",
            )
        )
    return out


def assess(facts: Facts) -> dict[str, Any]:
    """The findings and the verdict for one piece of evidence under ``POLICY_VERSION``."""
    findings: list[dict[str, Any]] = []
    if not facts.analysis.get("ok", False):
        findings.append(finding("analysis_failed", reason=facts.analysis.get("code", "unknown")))
    if facts.origin == "gallery":
        findings.append(finding("gallery_upload"))
    captured, time_source = capture_time(facts)
    findings += _time_findings(facts, captured)
    location, distance = _location_findings(facts)
    findings += location
    findings += _content_findings(facts)
    findings += _reuse_findings(facts)
    worst = max((SEVERITY_RANK[f["severity"]] for f in findings), default=0)
    verdict = ("consistent", "needs_review", "inconsistent")[worst]
    return {
        "policy_version": POLICY_VERSION,
        "verdict": verdict,
        "findings": findings,
        "captured_at": captured,
        "time_source": time_source,
        "distance_m": None if distance is None else round(distance, 1),
    }
