"""The bundle's README: what an auditor opening the zip reads first, in Chinese and English.

The JSON files keep UTC (the audit chain hashes UTC times, and a machine compares them); the
README is for people, so its times are the office's, with the zone named, and it says which
convention each file uses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from zerotrip.cases.models import AuditEvent, Case, state_name
from zerotrip.kit.clock import as_utc

README = "README.txt"
TIMES = "UTC, ISO 8601 (ending in Z or +00:00); README.txt and the PDFs use office_time_zone"
_BEIJING = frozenset({"Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "Asia/Urumqi", "PRC"})
_FOLDERS = (
    ("originals", "照片与截图原件（按收到时原样保存，文件名即其 SHA-256）",
     "photos and stills exactly as received (named by their SHA-256)"),
    ("recordings", "视频与录像原件", "videos and recordings exactly as received"),
    ("derived", "审查时查看的显示副本", "the display copies inspectors looked at"),
    ("annotated", "带标注的图片（最新版本）", "annotated pictures (latest version)"),
    ("annotations", "每个标注版本（规范化 JSON）", "every annotation version (canonical JSON)"),
    ("report", "已签署的踏勘报告", "the signed inspection report"),
    ("certificates", "已核发的证书", "issued certificates"),
    ("audit", "办件轨迹（防篡改哈希链）", "the tamper-evident audit chain"),
)  # fmt: skip


def office_time(at: datetime, zone: ZoneInfo) -> tuple[str, str]:
    """(zh, en) of a moment in the office's zone, the zone named."""
    local = as_utc(at).astimezone(zone)
    offset = local.strftime("%z")
    utc_offset = f"UTC{offset[:3]}:{offset[3:]}"
    zh_zone = f"北京时间，{utc_offset}" if zone.key in _BEIJING else f"{zone.key}，{utc_offset}"
    en_zone = f"China Standard Time, {utc_offset}" if zone.key in _BEIJING else utc_offset
    return (
        f"{local.year}年{local.month}月{local.day}日 {local:%H:%M:%S}（{zh_zone}）",
        f"{local:%Y-%m-%d %H:%M:%S} ({en_zone})",
    )


def readme(
    case: Case,
    manifest: dict[str, Any],
    events: Sequence[AuditEvent],
    evidence: Sequence[dict[str, Any]],
    zone: ZoneInfo,
) -> str:
    """The README's text; ``manifest`` is the bundle's (its times are UTC)."""
    created = datetime.fromisoformat(str(manifest["created_at"]).replace("Z", "+00:00"))
    made_zh, made_en = office_time(created, zone)
    counts = Counter(str(f["path"]).split("/", 1)[0] for f in manifest["files"])
    lines = [
        f"办件证据包 {case.reference}",
        f"Evidence bundle of case {case.reference}",
        "",
        f"导出时间：{made_zh}",
        f"Exported: {made_en}",
        f"办件状态：{state_name(case.state, 'zh')} / State: {state_name(case.state, 'en')}",
        f"证据 {len(evidence)} 件 / {len(evidence)} pieces of evidence",
        "仅含可对外提供的内容 / Shared copy (restricted items left out)"
        if manifest.get("shared")
        else "完整内容 / Full copy",
    ]
    if events:
        first_zh, first_en = office_time(events[0].at, zone)
        last_zh, last_en = office_time(events[-1].at, zone)
        lines += [
            f"办件轨迹 {len(events)} 条：{first_zh} 至 {last_zh}",
            f"Audit trail of {len(events)} events: {first_en} to {last_en}",
        ]
    lines += [
        f"轨迹末端哈希 / Audit chain head: {manifest['audit_head']}",
        "（与签署报告上打印的哈希或办件窗口保存的哈希比对 / compare with the head printed on "
        "the signed report or kept by the office）",
        "",
        "时间说明 / Times",
        f"本文件的时间为办公地时间（{zone.key}）。manifest.json、case.json、evidence.json、"
        "annotations/ 与 audit/events.jsonl 中的所有时间均为 UTC（ISO 8601，以 Z 或 +00:00 "
        "结尾），这是哈希链计算所用的时间"
        + ("；换算为北京时间需加 8 小时。" if zone.key in _BEIJING else "。"),
        f"Times in this file are the office's ({zone.key}). Every time in manifest.json, "
        "case.json, evidence.json, annotations/ and audit/events.jsonl is UTC (ISO 8601, "
        "ending in Z or +00:00), as the audit chain hashes it; the manifest says so in its "
        '"times" field and names the office\'s zone in "office_time_zone".',
        "",
        "内容 / Contents",
        "manifest.json  每个文件的 SHA-256 与大小 / every file's SHA-256 and size "
        "(manifest.json.sha256 holds the manifest's own)",
        "case.json      办件与检查项 / the case and its checklist",
        "evidence.json  证据清单与可信度检查 / the evidence and its trust checks",
    ]
    for folder, zh, en in _FOLDERS:
        if counts.get(folder):
            lines.append(f"{folder + '/':<14} {zh} / {en}（{counts[folder]}）")
    lines += [
        "",
        "核验 / Verify",
        "python -m zerotrip bundle verify <本 zip 文件 / this zip>",
        "离线核验：哈希链、每个文件的哈希、清单完整性。/ Offline: the chain, every file's hash, "
        "and that the manifest lists every member.",
        "",
    ]
    return "\n".join(lines)
