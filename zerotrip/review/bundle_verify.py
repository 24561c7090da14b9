"""Checking an evidence bundle offline (see :mod:`zerotrip.review.bundle` for its layout).

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
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from zerotrip.cases.audit import verify_events
from zerotrip.cases.models import AuditEvent

MANIFEST = "manifest.json"
MANIFEST_HASH = "manifest.json.sha256"
CHUNK = 1024 * 1024
T = TypeVar("T")
Progress = Callable[[Sequence[T], str], Iterator[T]]


def _no_progress(items: Sequence[T], label: str) -> Iterator[T]:
    return iter(items)


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
