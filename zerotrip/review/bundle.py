"""Evidence bundles: everything about a case's inspection in one zip an auditor checks offline
(with :func:`zerotrip.review.bundle_verify.verify_bundle`).

Layout (every file listed with its SHA-256 and size in ``manifest.json``)::

    README.txt                        what the bundle is and how to read it (zh and en), with
                                      times in the office's zone, named
    manifest.json  manifest.json.sha256  case.json  evidence.json
    originals/<sha256>.<ext>          photos and stills exactly as received
    recordings/<sha256>.<ext>         videos and recordings exactly as received
    derived/<sha256>/display.jpg      the display copies inspectors looked at
    annotated/<evidence>-v<n>.jpg     flattened annotations (latest version)
    annotations/<evidence>-v<n>.json  every annotation version, canonical JSON
    report/report-v<n>.pdf            the latest signed report
    certificates/<code>.pdf           issued certificates
    audit/events.jsonl                the case's whole audit chain

Every time in the JSON files is UTC (ISO 8601), as the audit chain hashes it; the manifest says
so in ``times`` and names the office's zone in ``office_time_zone``, which the README and the
PDFs use for people.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from zerotrip.cases.audit import case_events, format_time
from zerotrip.cases.models import AuditEvent
from zerotrip.cases.store import checkpoints_of, get_case
from zerotrip.db import Database, session_now
from zerotrip.kit.canonical import canonical_json
from zerotrip.media.interfaces import Storage
from zerotrip.media.keys import display_key
from zerotrip.problems import Conflict
from zerotrip.review.bundle_readme import README, TIMES, readme
from zerotrip.review.bundle_verify import CHUNK, MANIFEST, MANIFEST_HASH
from zerotrip.review.casefile import case_evidence
from zerotrip.review.certificate import certificates_of
from zerotrip.review.flatten import flattened
from zerotrip.review.fonts import FontChoice
from zerotrip.review.signing import latest_report

FORMAT = "zerotrip-bundle/1"
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",
    "video/webm": "webm",
    "video/x-matroska": "mkv",
    "video/mp4": "mp4",
    "audio/ogg": "ogg",
}


class _Writer:
    """Adds members to the zip while hashing them, and remembers them for the manifest."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.files: list[dict[str, Any]] = []

    def add_bytes(self, path: str, data: bytes, kind: str) -> str:
        compress = (
            zipfile.ZIP_DEFLATED if path.endswith((".json", ".jsonl")) else zipfile.ZIP_STORED
        )
        self.zf.writestr(path, data, compress_type=compress)
        digest = hashlib.sha256(data).hexdigest()
        self.files.append({"path": path, "sha256": digest, "size": len(data), "kind": kind})
        return digest

    async def add_stored(self, storage: Storage, key: str, path: str, kind: str) -> str:
        digest, size = hashlib.sha256(), 0
        with self.zf.open(
            zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), "w", force_zip64=True
        ) as out:
            async for chunk in storage.read(key, CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        self.files.append({"path": path, "sha256": digest.hexdigest(), "size": size, "kind": kind})
        return digest.hexdigest()


def event_record(e: AuditEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "case_id": e.case_id,
        "seq": e.seq,
        "at": format_time(e.at),
        "actor_kind": e.actor_kind,
        "actor_id": e.actor_id,
        "actor_label": e.actor_label,
        "kind": e.kind,
        "payload": e.payload,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


def _json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=1, default=str) + "\n").encode("utf-8")


async def export_bundle(
    db: Database,
    storage: Storage,
    case_id: int,
    out: Path,
    *,
    shared: bool = False,
    font: FontChoice | None = None,
    zone: ZoneInfo = ZoneInfo("Asia/Shanghai"),
) -> dict[str, Any]:
    """Write the case's bundle to ``out`` atomically; returns the manifest. ``zone``: the
    office's time zone (``Settings.timezone``), for the README people read."""
    out = Path(out)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".bundle-", suffix=".zip")
    os.close(fd)
    try:
        async with db.snapshot() as session:  # the case's chain head and its events agree
            case = await get_case(session, case_id)
            cps = {c.id: c for c in await checkpoints_of(session, case_id)}
            entries = await case_evidence(session, case_id, shared=shared)
            events = await case_events(session, case_id)
            report = await latest_report(session, case_id, shared=shared)
            certs = await certificates_of(session, case_id)
            now = session_now(session)
        with zipfile.ZipFile(tmp, "w", allowZip64=True) as zf:
            w = _Writer(zf)
            evidence_list = []
            for entry in entries:
                ev = entry.evidence
                ext = EXTENSIONS.get(ev.media_type, "bin")
                folder = "originals" if ev.kind in ("photo", "still") else "recordings"
                got = await w.add_stored(
                    storage, ev.blob_key, f"{folder}/{ev.sha256}.{ext}", folder
                )
                if got != ev.sha256:
                    raise Conflict(
                        f"The stored original of evidence {ev.id} no longer matches "
                        f"its recorded SHA-256 {ev.sha256}; refusing to export it.",
                        zh=f"证据 {ev.id} 的存档原件与登记的 SHA-256 {ev.sha256} 不符，不予导出。",
                    )
                if await storage.exists(display_key(ev.sha256)):
                    await w.add_stored(
                        storage,
                        display_key(ev.sha256),
                        f"derived/{ev.sha256}/display.jpg",
                        "derived",
                    )
                for ann in entry.annotations:
                    w.add_bytes(
                        f"annotations/{ev.id}-v{ann.version}.json",
                        canonical_json(ann.document).encode("utf-8"),
                        "annotation",
                    )
                if entry.annotation is not None:
                    _, image = await flattened(
                        storage,
                        sha256=ev.sha256,
                        blob_key=ev.blob_key,
                        document=entry.annotation.document,
                        document_sha256=entry.annotation.sha256,
                        font=font,
                    )
                    w.add_bytes(
                        f"annotated/{ev.id}-v{entry.annotation.version}.jpg", image, "annotated"
                    )
                cp = cps.get(ev.checkpoint_id) if ev.checkpoint_id else None
                evidence_list.append(
                    {
                        "id": ev.id,
                        "sha256": ev.sha256,
                        "kind": ev.kind,
                        "source": ev.source,
                        "media_type": ev.media_type,
                        "size": ev.size,
                        "checkpoint": cp.code if cp else None,
                        "round": ev.round,
                        "received_at": ev.received_at,
                        "captured_at": ev.captured_at,
                        "capture": ev.capture,
                        "restricted": ev.restricted,
                        "trust": {
                            "verdict": entry.trust.verdict,
                            "policy_version": entry.trust.policy_version,
                            "findings": entry.trust.findings,
                        }
                        if entry.trust
                        else None,
                        "annotation_versions": [a.version for a in entry.annotations],
                    }
                )
            if report is not None:
                await w.add_stored(
                    storage, report.blob_key, f"report/report-v{report.version}.pdf", "report"
                )
            for cert in certs:
                await w.add_stored(
                    storage, cert.blob_key, f"certificates/{cert.code}.pdf", "certificate"
                )
            w.add_bytes("evidence.json", _json(evidence_list), "evidence-index")
            w.add_bytes(
                "case.json",
                _json(
                    {
                        "id": case.id,
                        "reference": case.reference,
                        "matter": case.matter_code,
                        "state": case.state,
                        "organisation": case.organisation,
                        "premises_address": case.premises_address,
                        "inspection_result": case.inspection_result,
                        "checkpoints": [
                            {
                                "code": c.code,
                                "title_zh": c.title_zh,
                                "title_en": c.title_en,
                                "verdict": c.verdict,
                                "round": c.round,
                            }
                            for c in cps.values()
                            if not (shared and c.restricted)
                        ],
                    }
                ),
                "case",
            )
            lines = "".join(canonical_json(event_record(e)) + "\n" for e in events)
            w.add_bytes("audit/events.jsonl", lines.encode("utf-8"), "audit")
            manifest = {
                "format": FORMAT,
                "case": case.id,
                "reference": case.reference,
                "shared": shared,
                "times": TIMES,
                "office_time_zone": zone.key,
                "readme": README,
                "created_at": format_time(now),
                "audit_head": events[-1].hash if events else "0" * 64,
                "audit_seq": len(events),
                "files": w.files,
            }
            text = readme(case, manifest, events, evidence_list, zone)
            w.add_bytes(README, text.encode("utf-8"), "readme")
            raw = _json(manifest)
            zf.writestr(MANIFEST, raw, compress_type=zipfile.ZIP_DEFLATED)
            zf.writestr(MANIFEST_HASH, f"{hashlib.sha256(raw).hexdigest()}  {MANIFEST}\n")
        _install(tmp, out)
        return manifest
    finally:
        _discard(tmp)


def _install(tmp: str, out: Path) -> None:
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, out)


def _discard(tmp: str) -> None:
    if os.path.exists(tmp):
        os.unlink(tmp)
