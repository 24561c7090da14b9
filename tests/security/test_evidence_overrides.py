"""A verdict cannot rest silently on evidence the trust checks did not find consistent.

The reported case: a checkpoint passed relying only on a photo taken 5 km from the premises
(``inconsistent``). Now such a verdict is refused (422 ``override_required``, nothing recorded)
until the inspector writes a reason for that evidence; the reason is kept with the verdict, on
the audit chain, and printed in the signed report next to the evidence.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time

from tests.factories import act, applicant_headers
from tests.media import samples
from tests.review.review_helpers import inspecting_case, verdict

REASON = "现场视频中已核实洗手池 sink seen on the live video"


async def _far_photo(client, ctx, checkpoint_id: int) -> int:
    """An in-page capture whose fix is ~5 km from the premises: judged inconsistent."""
    headers = applicant_headers(ctx["token"])
    url = f"/api/cases/{ctx['id']}/checkpoints/{checkpoint_id}"
    nonce = (await (await client.post(f"{url}/nonce", headers=headers)).json())["nonce"]
    lat, lon = samples.PREMISES[0] + 0.045, samples.PREMISES[1]  # 5 km north
    claims = {"origin": "capture", "nonce": nonce, "taken_at": int(time.time() * 1000),
              "lat": lat, "lon": lon, "accuracy": 10}  # fmt: skip
    resp = await client.post(
        f"{url}/evidence",
        data=samples.jpeg_bytes(seed=90),
        headers={**headers, "X-Capture": json.dumps(claims), "Content-Type": "image/jpeg"},
    )
    assert resp.status == 201, await resp.text()
    return (await resp.json())["id"]


def _pdf_text(pdf: bytes) -> str:
    out = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True, timeout=60
    )
    return "".join(out.stdout.decode().split())


async def test_relying_on_inconsistent_evidence_needs_a_written_override(client, db, settings):
    ctx = await inspecting_case(client, db)
    cid, inspector = ctx["id"], ctx["inspector"]
    cps = ctx["view"]["checkpoints"]
    far = await _far_photo(client, ctx, cps[0]["id"])
    listing = await (
        await client.get(f"/api/cases/{cid}/evidence", headers=inspector.headers)
    ).json()
    assert listing["items"][0]["verdict"]["verdict"] == "inconsistent"

    for body in ({}, {"overrides": [{"evidence_id": far, "reason": ""}]}):
        refused = await verdict(client, inspector, cid, cps[0]["id"], "pass",
                                evidence_ids=[far], **body)  # fmt: skip
        assert refused.status == 422, await refused.text()
        assert refused.content_type == "application/problem+json"
    refused = await verdict(client, inspector, cid, cps[0]["id"], "pass", evidence_ids=[far])
    problem = await refused.json()
    assert problem["code"] == "override_required" and problem["evidence"] == [far]
    review = await (await client.get(f"/api/cases/{cid}/review", headers=inspector.headers)).json()
    assert review["checkpoints"][0]["verdict"] is None and not review["checkpoints"][0]["history"]

    ok = await verdict(client, inspector, cid, cps[0]["id"], "pass", evidence_ids=[far],
                       overrides=[{"evidence_id": far, "reason": REASON}])  # fmt: skip
    assert ok.status == 201, await ok.text()
    kept = (await ok.json())["overrides"]
    assert kept == [{"evidence_id": far, "verdict": "inconsistent", "reason": REASON}]
    audit = await (await client.get(f"/api/cases/{cid}/audit", headers=inspector.headers)).json()
    event = next(e for e in audit["events"] if e["kind"] == "checkpoint.verdict")
    assert event["payload"]["overrides"] == kept

    for cp in cps[1:]:
        assert (await verdict(client, inspector, cid, cp["id"], "pass")).status == 201
    await act(client, cid, "record_inspection", inspector.headers, result="pass")
    signed = await client.post(f"/api/cases/{cid}/report", headers=inspector.headers)
    assert signed.status == 201, await signed.text()
    pdf = await (await client.get(f"/api/cases/{cid}/report", headers=inspector.headers)).read()
    text = await asyncio.to_thread(_pdf_text, pdf)
    assert "".join(f"人工采信Override{REASON}(inconsistent)".split()) in text
