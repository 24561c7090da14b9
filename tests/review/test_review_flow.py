"""From evidence to verdicts, rectification, a signed report and a verifiable certificate."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tests.factories import act, applicant_headers, apply
from tests.review.review_helpers import (
    add_evidence,
    inspecting_case,
    passed_case_with_annotations,
    photo,
    verdict,
)
from zerotrip.problems import Conflict
from zerotrip.review.verdicts import require_open_for_evidence


async def test_verdicts_refuse_other_cases_and_wrong_results(client, db, settings):
    ctx = await inspecting_case(client, db)
    second, _ = await apply(client, applicant_name="王五")
    cid, inspector = ctx["id"], ctx["inspector"]
    cps = ctx["view"]["checkpoints"]
    foreign_cp = (
        await (await client.get(f"/api/cases/{second['id']}", headers=inspector.headers)).json()
    )["checkpoints"][0]
    # A checkpoint of another case is not this case's.
    resp = await verdict(client, inspector, cid, foreign_cp["id"], "pass")
    assert resp.status == 404 and resp.content_type == "application/problem+json"
    # Evidence of another case cannot support a verdict here.
    foreign_ev = await add_evidence(db, settings, second["id"], foreign_cp["id"], photo(seed=3))
    resp = await verdict(client, inspector, cid, cps[0]["id"], "pass", evidence_ids=[foreign_ev.id])
    assert resp.status == 422 and str(foreign_ev.id) in (await resp.json())["detail"]
    # A failure needs a reason; a clerk cannot judge.
    resp = await verdict(client, inspector, cid, cps[0]["id"], "fail", comment="")
    assert resp.status == 422
    assert (await verdict(client, ctx["clerk"], cid, cps[0]["id"], "pass")).status == 403
    # Nothing was stored by any of that.
    review = await (await client.get(f"/api/cases/{cid}/review", headers=inspector.headers)).json()
    assert all(c["verdict"] is None and not c["history"] for c in review["checkpoints"])

    ev = await add_evidence(db, settings, cid, cps[0]["id"], photo())
    # It looks like the other case's photo (needs_review): relying on it takes a written reason.
    reason = {"evidence_id": ev.id, "reason": "现场视频已核实 checked on the live video"}
    for cp in cps:
        relied = {"evidence_ids": [ev.id], "overrides": [reason]} if cp is cps[0] else {}
        resp = await verdict(client, inspector, cid, cp["id"], "pass", **relied)
        assert resp.status == 201
    await verdict(client, inspector, cid, cps[1]["id"], "fail", comment="洗手池无热水")
    # The result must be what the verdicts imply.
    resp = await client.post(
        f"/api/cases/{cid}/actions/record_inspection",
        json={"result": "pass"},
        headers=inspector.headers,
    )
    assert resp.status == 422 and (await resp.json())["expected"] == "fail"
    view = await act(client, cid, "record_inspection", inspector.headers, result="fail")
    assert view["state"] == "inspected"
    # Issuing a certificate for a case that did not pass is refused.
    resp = await client.post(
        f"/api/cases/{cid}/actions/issue_certificate", json={}, headers=ctx["clerk"].headers
    )
    assert resp.status == 409
    resp = await client.post(
        f"/api/cases/{cid}/actions/approve", json={}, headers=ctx["clerk"].headers
    )
    assert resp.status == 409


async def test_rectification_round_takes_new_evidence_only_where_it_failed(client, db, settings):
    ctx = await inspecting_case(client, db)
    cid, inspector = ctx["id"], ctx["inspector"]
    cps = ctx["view"]["checkpoints"]
    old = await add_evidence(db, settings, cid, cps[1]["id"], photo(seed=1))
    for cp in cps:
        await verdict(client, inspector, cid, cp["id"], "pass")
    await verdict(
        client,
        inspector,
        cid,
        cps[1]["id"],
        "rectify",
        comment="需加装热水器",
        evidence_ids=[old.id],
    )
    view = await act(client, cid, "record_inspection", inspector.headers, result="rectify")
    assert view["state"] == "rectifying"
    rounds = {c["code"]: (c["round"], c["verdict"]) for c in view["checkpoints"]}
    assert rounds[cps[1]["code"]] == (2, None)
    assert rounds[cps[0]["code"]] == (1, "pass")

    async with db.transaction() as session:
        assert await require_open_for_evidence(session, cid, cps[1]["id"]) == 2
    async with db.transaction() as session:
        try:
            await require_open_for_evidence(session, cid, cps[0]["id"])
            raise AssertionError("a passed checkpoint took evidence during rectification")
        except Exception as exc:  # the Conflict problem
            assert getattr(exc, "status", None) == 409

    # Rectification: the passed item takes no new evidence, the reopened one takes round 2.
    with pytest.raises(Conflict):
        await add_evidence(db, settings, cid, cps[0]["id"], photo(seed=4))
    new = await add_evidence(db, settings, cid, cps[1]["id"], photo(seed=2))
    assert new.round == 2
    await act(client, cid, "resume_inspection", applicant_headers(ctx["token"]))
    review = await (await client.get(f"/api/cases/{cid}/review", headers=inspector.headers)).json()
    item = next(c for c in review["checkpoints"] if c["id"] == cps[1]["id"])
    assert {(e["id"], e["round"]) for e in item["evidence"]} == {(old.id, 1), (new.id, 2)}
    assert [h["verdict"] for h in item["history"]] == ["pass", "rectify"]
    await verdict(client, inspector, cid, cps[1]["id"], "pass", evidence_ids=[new.id])
    view = await act(client, cid, "record_inspection", inspector.headers, result="pass")
    assert view["state"] == "inspected"


def _pdf_pages(pdf: bytes, tmp: Path) -> tuple[str, list[Image.Image]]:
    path = tmp / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    subprocess.run(
        ["pdftoppm", "-r", "80", "-png", str(path), str(tmp / "page")], check=True, timeout=120
    )
    pages = [Image.open(p).convert("RGB") for p in sorted(tmp.glob("page-*.png"))]
    return text, pages


async def test_signed_report_shows_annotated_evidence_and_reaches_the_applicant(
    client, db, settings, tmp_path
):
    ctx, ev, secret = await passed_case_with_annotations(client, db, settings)
    cid, inspector = ctx["id"], ctx["inspector"]
    resp = await client.get(f"/api/cases/{cid}/report", headers=applicant_headers(ctx["token"]))
    assert resp.status == 404  # nothing signed yet
    resp = await client.post(f"/api/cases/{cid}/report", headers=inspector.headers)
    assert resp.status == 201, await resp.text()
    signed = await resp.json()
    audit = await (await client.get(f"/api/cases/{cid}/audit", headers=inspector.headers)).json()
    event = audit["events"][-1]
    assert event["kind"] == "report.signed" and event["payload"]["sha256"] == signed["sha256"]
    assert event["prev_hash"] == signed["audit_head"]  # signed against the head before it

    full = await (await client.get(f"/api/cases/{cid}/report", headers=inspector.headers)).read()
    text, pages = await asyncio.to_thread(_pdf_pages, full, tmp_path)
    compact = "".join(text.split())
    for needle in (
        ctx["view"]["reference"],
        "现场踏勘报告",
        "门头及门牌号",
        "食品经营许可",
        ev.sha256,
        secret.sha256,
        signed["audit_head"],
        "Inspector",
        "consistentwiththepremises",
        "policy",
    ):
        assert needle in compact, needle
    # The annotated image is in the PDF: a page with the red rectangle's pixels.
    red = [sum(1 for r, g, b in p.getdata() if r > 170 and g < 90 and b < 90) for p in pages]
    assert max(red) > 200

    resp = await client.get(f"/api/cases/{cid}/report", headers=applicant_headers(ctx["token"]))
    assert resp.status == 200 and resp.content_type == "application/pdf"
    shared = await resp.read()
    import hashlib

    assert hashlib.sha256(shared).hexdigest() == signed["shared_sha256"]
    (tmp_path / "s").mkdir()
    shared_text, _ = await asyncio.to_thread(_pdf_pages, shared, tmp_path / "s")
    compact = "".join(shared_text.split())
    assert ev.sha256 in compact and secret.sha256 not in compact  # identity evidence left out


async def test_certificate_verifies_then_revokes(client, db, settings, tmp_path):
    ctx, _, _ = await passed_case_with_annotations(client, db, settings)
    cid, clerk = ctx["id"], ctx["clerk"]
    pending = [m["code"] for m in ctx["view"]["materials"] if m["status"] != "received"]
    await act(client, cid, "receive_materials", clerk.headers, codes=pending)
    await act(client, cid, "approve", clerk.headers)
    view = await act(client, cid, "issue_certificate", clerk.headers)
    assert view["state"] == "certificate_issued"
    review = await (await client.get(f"/api/cases/{cid}/review", headers=clerk.headers)).json()
    code = review["certificates"][0]["code"]

    check = await (await client.get(f"/api/verify/{code}")).json()
    assert check["status"] == "valid" and check["holder"] == "李记小面馆"
    assert "applicant_phone" not in check and "李娜" not in str(check)
    page = await client.get(f"/verify/{code}")
    assert page.status == 200 and "text/html" in page.content_type
    assert (await (await client.get("/api/verify/ABCDE-FGHJK-LMNPQ")).json())["status"] == "unknown"
    assert (await (await client.get("/api/verify/nonsense")).json())["status"] == "unknown"

    pdf = await client.get(f"/api/cases/{cid}/certificate", headers=applicant_headers(ctx["token"]))
    assert pdf.status == 200
    text, pages = await asyncio.to_thread(_pdf_pages, await pdf.read(), tmp_path)
    compact = "".join(text.split())
    for needle in (code, f"/verify/{code}", "食品经营许可证", "李记小面馆", "市场监督管理局"):
        assert needle in compact, needle
    assert len(pages) == 1

    url = f"/api/certificates/{code}/revoke"
    resp = await client.post(url, json={"reason": "x"}, headers=ctx["inspector"].headers)
    assert resp.status == 403
    resp = await client.post(url, json={"reason": "场所已转让"}, headers=clerk.headers)
    assert resp.status == 200
    assert (await (await client.get(f"/api/verify/{code}")).json())["status"] == "revoked"
    assert (await client.post(url, json={"reason": "again"}, headers=clerk.headers)).status == 409
    audit = await (await client.get(f"/api/cases/{cid}/audit", headers=clerk.headers)).json()
    kinds = [e["kind"] for e in audit["events"]]
    assert kinds.count("certificate.issued") == 1 and kinds.count("certificate.revoked") == 1
    assert audit["verification"]["ok"]
