"""Remote identity check (远程核): identity stills are refused to the applicant and to staff
without identity access, every look is audited, and shared bundles leave them out."""

from __future__ import annotations

import io
import zipfile

from PIL import Image

from tests.factories import applicant_headers, make_staff, walk
from zerotrip.api.keys import SERVICES, STORAGE
from zerotrip.evidence.intake import ingest_file
from zerotrip.kit.actor import Actor
from zerotrip.review.bundle import export_bundle


def _jpeg(tmp_path, name: str, colour: tuple[int, int, int]):
    path = tmp_path / name
    Image.new("RGB", (320, 240), colour).save(path, "JPEG")
    return path


async def _case_with_identity_still(client, db, settings, tmp_path):
    clerk, inspector = await make_staff(db, "clerk"), await make_staff(db, "inspector")
    case, token = await walk(client, clerk, inspector, until="inspecting")
    view = await (await client.get(f"/api/cases/{case['id']}", headers=clerk.headers)).json()
    identity = next(c for c in view["checkpoints"] if c["code"] == "identity")
    shopfront = next(c for c in view["checkpoints"] if c["code"] == "premises-exterior")
    assert identity["restricted"] is True
    mine = await (
        await client.get(f"/api/cases/{case['id']}", headers=applicant_headers(token))
    ).json()
    assert "identity" not in [c["code"] for c in mine["checkpoints"]]
    actor = Actor("staff", "2", "Inspector (inspector)")
    still = await ingest_file(
        db, client.app[STORAGE], settings, pools=client.app[SERVICES].analysis,
        case_id=case["id"], checkpoint_id=identity["id"],
        path=_jpeg(tmp_path, "id.jpg", (200, 30, 30)), origin="live_still", actor=actor,
        restricted=identity["restricted"],
    )  # fmt: skip
    photo = await ingest_file(
        db, client.app[STORAGE], settings, pools=client.app[SERVICES].analysis,
        case_id=case["id"], checkpoint_id=shopfront["id"],
        path=_jpeg(tmp_path, "shop.jpg", (30, 200, 30)), origin="live_still", actor=actor,
    )  # fmt: skip
    return case, token, clerk, inspector, still, photo


async def test_identity_still_is_refused_to_applicant_and_to_a_role_without_access(
    client, db, settings, tmp_path
):
    case, token, clerk, inspector, still, photo = await _case_with_identity_still(
        client, db, settings, tmp_path
    )
    cid = case["id"]
    applicant = applicant_headers(token)
    listing = await (await client.get(f"/api/cases/{cid}/evidence", headers=applicant)).json()
    assert [e["id"] for e in listing["items"]] == [photo.id]
    assert (await client.get(f"/api/evidence/{still.id}/display", headers=applicant)).status == 404

    # A clerk's role has no identity access: the still is neither listed nor served.
    listing = await (await client.get(f"/api/cases/{cid}/evidence", headers=clerk.headers)).json()
    assert [e["id"] for e in listing["items"]] == [photo.id]
    for view in ("original", "display", "thumb"):
        resp = await client.get(f"/api/evidence/{still.id}/{view}", headers=clerk.headers)
        assert resp.status == 403, view
        assert resp.content_type == "application/problem+json"
    assert (
        await client.get(f"/api/review/evidence/{still.id}/base", headers=clerk.headers)
    ).status == 403
    assert (
        await client.get(f"/api/evidence/{photo.id}/original", headers=clerk.headers)
    ).status == 200

    # The inspector who runs the check sees it.
    resp = await client.get(f"/api/evidence/{still.id}/original", headers=inspector.headers)
    assert resp.status == 200
    assert Image.open(io.BytesIO(await resp.read())).size == (320, 240)

    # An administrator can grant the clerk personal access, and take it back.
    admin = await make_staff(db, "admin")
    me = await (await client.get("/api/me", headers=clerk.headers)).json()
    clerk_id = me["user"]["id"]
    assert (
        await client.put(f"/api/identity/access/{clerk_id}", headers=inspector.headers)
    ).status == 403
    assert (
        await client.put(f"/api/identity/access/{clerk_id}", headers=admin.headers)
    ).status == 200
    assert (
        await client.get(f"/api/evidence/{still.id}/original", headers=clerk.headers)
    ).status == 200
    assert (
        await client.delete(f"/api/identity/access/{clerk_id}", headers=admin.headers)
    ).status == 200
    assert (
        await client.get(f"/api/evidence/{still.id}/original", headers=clerk.headers)
    ).status == 403

    # Every look, allowed or refused, is in the case's audit chain.
    audit = await (await client.get(f"/api/cases/{cid}/audit", headers=admin.headers)).json()
    looks = [
        (e["kind"], e["payload"]["view"], e["actor"]["label"])
        for e in audit["events"]
        if e["kind"].startswith("identity.")
    ]
    assert looks == [
        ("identity.refused", "original", "Clerk (clerk)"),
        ("identity.refused", "display", "Clerk (clerk)"),
        ("identity.refused", "thumb", "Clerk (clerk)"),
        ("identity.refused", "review-base", "Clerk (clerk)"),
        ("identity.accessed", "original", "Inspector (inspector)"),
        ("identity.accessed", "original", "Clerk (clerk)"),
        ("identity.refused", "original", "Clerk (clerk)"),
    ]
    assert audit["verification"]["ok"] is True


async def test_identity_still_is_absent_from_a_shared_bundle(client, db, settings, tmp_path):
    case, _token, _clerk, _inspector, still, photo = await _case_with_identity_still(
        client, db, settings, tmp_path
    )
    storage = client.app[STORAGE]
    shared = tmp_path / "shared.zip"
    full = tmp_path / "full.zip"
    await export_bundle(db, storage, case["id"], shared, shared=True)
    await export_bundle(db, storage, case["id"], full, shared=False)
    with zipfile.ZipFile(shared) as zf:
        names = "\n".join(zf.namelist())
        case_json = zf.read("case.json").decode()
        index = zf.read("evidence.json").decode()
    assert photo.sha256 in names
    assert still.sha256 not in names and still.sha256 not in index
    assert '"identity"' not in case_json
    with zipfile.ZipFile(full) as zf:
        assert still.sha256 in "\n".join(zf.namelist())
