"""Trust verdicts as stored data: the digest of findings, the analysis kept on an Evidence row,
and the audit payload of a verdict. Pure functions; the lookups and writes that use them live in
:mod:`zerotrip.evidence.judging`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from zerotrip.media.models import Evidence


def findings_digest(findings: list[dict[str, Any]]) -> str:
    canonical = json.dumps(findings, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def stored_analysis(evidence: Evidence) -> dict[str, Any]:
    """The analysis result as ingest kept it in ``Evidence.meta``."""
    meta = evidence.meta or {}
    analysis: dict[str, Any] = {k: meta.get(k) for k in (
        "format", "facts", "xmp_tools", "embedded_thumb_dhash", "dhash_unoriented"
    )}  # fmt: skip
    error = meta.get("analysis_error")
    analysis["ok"] = not error
    if error:
        analysis["code"] = error.get("code")
    if evidence.dhash is not None:
        analysis["dhash"] = evidence.dhash % (1 << 64)
    return analysis


def verdict_payload(evidence_id: int, judged: dict[str, Any]) -> dict[str, Any]:
    findings = judged["findings"]
    return {
        "evidence": evidence_id,
        "policy_version": judged["policy_version"],
        "verdict": judged["verdict"],
        "codes": [f["code"] for f in findings],
        "findings_sha256": findings_digest(findings),
    }
