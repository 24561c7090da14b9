"""Evidence bundles: everything about a case's inspection in one zip an auditor checks offline.

Layout (every file listed with its SHA-256 and size in ``manifest.json``)::

    manifest.json  manifest.json.sha256  case.json  evidence.json
    originals/<sha256>.<ext>          photos and stills exactly as received
    recordings/<sha256>.<ext>         videos and recordings exactly as received
    derived/<sha256>/display.jpg      the display copies inspectors looked at
    annotated/<evidence>-v<n>.jpg     flattened annotations (latest version)
    annotations/<evidence>-v<n>.json  every annotation version, canonical JSON
    report/report-v<n>.pdf            the latest signed report
    certificates/<code>.pdf           issued certificates
    audit/events.jsonl                the case's whole audit chain

:func:`verify_bundle` needs nothing but the zip: the chain recomputes with
:func:`zerotrip.cases.audit.verify_events`, every file's hash matches the manifest, the manifest
lists every member and matches its own hash file, originals hash to their names, and the
hashes the chain recorded (annotations, reports, certificates) are the files in the bundle. It
names each member that is wrong. The chain head it prints is the anchor to compare with the
head printed on the signed report or kept by the office.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from zerotrip.cases.audit import case_events, format_time, verify_events
from zerotrip.cases.models import AuditEvent
from zerotrip.cases.store import checkpoints_of, get_case
from zerotrip.db import Database
from zerotrip.kit.canonical import canonical_json
from zerotrip.media.interfaces import Storage
from zerotrip.media.keys import display_key
from zerotrip.problems import Conflict
from zerotrip.review.casefile import case_evidence
from zerotrip.review.certificate import certificates_of
from zerotrip.review.flatten import flattened
from zerotrip.review.fonts import FontChoice
from zerotrip.review.signing import latest_report

FORMAT = "zerotrip-bundle/1"
MANIFEST = "manifest.json"
MANIFEST_HASH = "manifest.json.sha256"
CHUNK = 1024 * 1024
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
T = TypeVar("T")
Progress = Callable[[Sequence[T], str], Iterator[T]]


def _no_progress(items: Sequence[T], label: str) -> Iterator[T]:
    return iter(items)


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
) -> dict[str, Any]:
    """Write the case's bundle to ``out`` atomically; returns the manifest."""
    out = Path(out)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".bundle-", suffix=".zip")
    os.close(fd)
    try:
        async with db.session() as session:
            case = await get_case(session, case_id)
            cps = {c.id: c for c in await checkpoints_of(session, case_id)}
            entries = await case_evidence(session, case_id, shared=shared)
            events = await case_events(session, case_id)
            report = await latest_report(session, case_id, shared=shared)
            certs = await certificates_of(session, case_id)
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
                        f"its recorded SHA-256 {ev.sha256}; refusing to export it."
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
                "created_at": datetime.now().astimezone().isoformat(),
                "audit_head": events[-1].hash if events else "0" * 64,
                "audit_seq": len(events),
                "files": w.files,
            }
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


@dataclass
class BundleReport:
    ok: bool = True
    problems: list[tuple[str, str]] = field(default_factory=list)  # (member, what is wrong)
    files: int = 0
    bytes: int = 0
    audit_head: str = ""
    audit_events: int = 0

    def add(self, member: str, problem: str) -> None:
        self.ok = False
        self.problems.append((member, problem))


def _hash_member(zf: zipfile.ZipFile, name: str, whole: bool = False) -> tuple[str, int]:
    if whole:  # the naive way, kept for the benchmark's comparison
        data = zf.read(name)
        return hashlib.sha256(data).hexdigest(), len(data)
    digest, size = hashlib.sha256(), 0
    with zf.open(name) as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _events(raw: bytes, report: BundleReport) -> list[AuditEvent]:
    events = []
    for n, line in enumerate(raw.decode("utf-8", "replace").splitlines(), start=1):
        try:
            rec = json.loads(line)
            rec["at"] = datetime.fromisoformat(rec["at"].replace("Z", "+00:00"))
            events.append(AuditEvent(**rec))
        except (ValueError, KeyError, TypeError) as exc:
            report.add("audit/events.jsonl", f"line {n} is not a readable event ({exc})")
            return []
    return events


def verify_bundle(
    path: Path, *, progress: Progress = _no_progress, whole: bool = False
) -> BundleReport:
    """Check a bundle offline; every problem names the member it is about."""
    report = BundleReport()
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        report.add(str(path), f"not a readable zip archive ({exc})")
        return report
    with zf:
        names = set(zf.namelist())
        try:
            raw = zf.read(MANIFEST)
            manifest = json.loads(raw)
            files = {f["path"]: f for f in manifest["files"]}
        except KeyError:
            report.add(MANIFEST, "missing or incomplete")
            return report
        except (ValueError, TypeError, zipfile.BadZipFile) as exc:
            report.add(MANIFEST, f"unreadable or damaged ({exc})")
            return report
        try:
            recorded = zf.read(MANIFEST_HASH).decode("ascii", "replace").split()[0]
        except (KeyError, IndexError, zipfile.BadZipFile):
            recorded = ""
        if recorded != hashlib.sha256(raw).hexdigest():
            # Either file may be the altered one; the chain checks below still hold either way.
            report.add(MANIFEST, f"its SHA-256 is not the one in {MANIFEST_HASH}")
            report.add(MANIFEST_HASH, f"does not hold the SHA-256 of {MANIFEST}")
        for name in sorted(names - set(files) - {MANIFEST, MANIFEST_HASH}):
            report.add(name, "is in the archive but not listed in the manifest")
        hashes: dict[str, str] = {}
        for path_in_zip in progress(sorted(files), "verifying"):
            entry = files[path_in_zip]
            if path_in_zip not in names:
                report.add(path_in_zip, "listed in the manifest but missing from the archive")
                continue
            try:
                digest, size = _hash_member(zf, path_in_zip, whole)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                report.add(path_in_zip, f"damaged in the archive ({exc})")
                continue
            report.files += 1
            report.bytes += size
            hashes[path_in_zip] = digest
            if digest != entry.get("sha256") or size != entry.get("size"):
                report.add(
                    path_in_zip,
                    f"SHA-256 {digest} does not match the manifest's {entry.get('sha256')}",
                )
            elif path_in_zip.startswith(("originals/", "recordings/")):
                if Path(path_in_zip).stem != digest:
                    report.add(path_in_zip, "content does not hash to the name it is filed under")
        _check_chain(zf, manifest, hashes, report)
    return report


def _check_chain(
    zf: zipfile.ZipFile, manifest: dict[str, Any], hashes: dict[str, str], report: BundleReport
) -> None:
    name = "audit/events.jsonl"
    if name not in hashes:
        if name not in {p for p, _ in report.problems}:
            report.add(name, "missing")
        return
    events = _events(zf.read(name), report)
    if not events:
        return
    chain = verify_events(
        manifest.get("case", events[0].case_id), events, manifest.get("audit_head")
    )
    report.audit_head, report.audit_events = chain.head, chain.events
    if not chain.ok:
        report.add(name, f"audit chain broken at event seq {chain.first_bad_seq}: {chain.reason}")
    recorded: dict[str, set[str]] = {"annotation": set(), "report": set(), "certificate": set()}
    for e in events:
        payload = json.loads(e.payload)
        if e.kind == "annotation.saved":
            recorded["annotation"].add(payload.get("sha256", ""))
        elif e.kind == "report.signed":
            recorded["report"] |= {payload.get("sha256", ""), payload.get("shared_sha256", "")}
        elif e.kind == "certificate.issued":
            recorded["certificate"].add(payload.get("sha256", ""))
    for path_in_zip, digest in hashes.items():
        kind = path_in_zip.split("/", 1)[0]
        key = {"annotations": "annotation", "report": "report", "certificates": "certificate"}.get(
            kind
        )
        if key and digest not in recorded[key]:
            report.add(
                path_in_zip, f"its SHA-256 is not the one the audit chain recorded for this {key}"
            )
