"""Evidence bundles: exported by the real CLI, verified offline, every kind of tampering named."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.factories import act
from tests.review.review_helpers import add_evidence, passed_case_with_annotations
from zerotrip.media.storage_local import LocalStorage
from zerotrip.review.bundle_verify import verify_bundle


def _cli(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "ZEROTRIP_DATABASE_URL": settings.database_url,
        "ZEROTRIP_SECRET_KEY": "x",
        "ZEROTRIP_DATA_DIR": str(settings.data_dir),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    return subprocess.run(
        [sys.executable, "-m", "zerotrip", "bundle", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )


_BUILT: dict[str, tuple[Path, dict]] = {}


@pytest.fixture
async def bundle(client, db, settings, tmp_path_factory) -> tuple[Path, dict]:
    """A full bundle of a case with every kind of member, written by ``zerotrip bundle export``.

    Built once per run: the tests only read the zip, and building it walks a whole case.
    """
    if "zip" not in _BUILT:
        _BUILT["zip"] = await _build(client, db, settings, tmp_path_factory.mktemp("bundle"))
    return _BUILT["zip"]


async def _build(client, db, settings, tmp_path: Path) -> tuple[Path, dict]:
    ctx, ev, _ = await passed_case_with_annotations(client, db, settings)
    cid, clerk = ctx["id"], ctx["clerk"]
    cp = ctx["view"]["checkpoints"][2]
    await add_evidence(
        db, settings, cid, cp["id"], os.urandom(300_000), kind="recording", media_type="video/webm"
    )
    display = tmp_path / "display.jpg"
    display.write_bytes((settings.media_dir / ev.blob_key).read_bytes())
    await LocalStorage(settings.media_dir).put_file(f"derived/{ev.sha256}/display.jpg", display)
    assert (await client.post(f"/api/cases/{cid}/report", headers=ctx["inspector"].headers)).ok
    pending = [m["code"] for m in ctx["view"]["materials"] if m["status"] != "received"]
    await act(client, cid, "receive_materials", clerk.headers, codes=pending)
    await act(client, cid, "approve", clerk.headers)
    await act(client, cid, "issue_certificate", clerk.headers)
    out = tmp_path / "case.zip"
    done = await asyncio.to_thread(_cli, settings, "export", str(cid), "-o", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    return out, {"case": cid, "evidence": ev}


KINDS = [
    "originals/",
    "recordings/",
    "derived/",
    "annotated/",
    "annotations/",
    "report/",
    "certificates/",
    "audit/events.jsonl",
    "evidence.json",
    "case.json",
    "manifest.json",
    "manifest.json.sha256",
    "README.txt",
]


def _rewrite(src: Path, dst: Path, change: dict[str, bytes | None], add: dict[str, bytes] = {}):  # noqa: B006
    """Copy the zip, replacing (or with None, dropping) members: what a tamperer would do."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = change.get(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info, data)
        for name, data in add.items():
            zout.writestr(name, data)


def _flip(data: bytes) -> bytes:
    at = len(data) // 2
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


async def test_a_fresh_bundle_verifies_offline(bundle, settings):
    path, info = bundle
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
    for kind in KINDS:
        assert any(n.startswith(kind) for n in names), f"no {kind} member"
    assert f"originals/{info['evidence'].sha256}.jpg" in names
    assert {f["path"] for f in manifest["files"]} == set(names) - {
        "manifest.json",
        "manifest.json.sha256",
    }
    # The CLI verifies with no database at all.
    env_free = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "zerotrip", "bundle", "verify", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": os.environ.get("PATH", ""),
            "ZEROTRIP_DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none",
        },
    )
    assert env_free.returncode == 0, env_free.stdout + env_free.stderr
    assert "audit chain of" in env_free.stdout and "intact" in env_free.stdout


async def test_the_bundle_says_its_times_are_utc_and_shows_people_beijing_time(bundle):
    """Machine-readable times stay UTC (the chain hashes them) and the manifest says so; the
    README people read first gives the office's time with its zone named, never UTC alone."""
    path, _ = bundle
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        text = zf.read(manifest["readme"]).decode("utf-8")
        first = json.loads(zf.read("audit/events.jsonl").splitlines()[0])
    assert manifest["times"].startswith("UTC") and manifest["office_time_zone"] == "Asia/Shanghai"
    assert manifest["created_at"].endswith("Z")
    assert first["at"].endswith("Z")
    assert "北京时间，UTC+08:00" in text and "China Standard Time, UTC+08:00" in text
    created = datetime.fromisoformat(manifest["created_at"].replace("Z", "+00:00"))
    beijing = created.astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"{beijing:%H:%M:%S}（北京时间" in text  # the export moment, in office time
    assert manifest["reference"] in text and manifest["audit_head"] in text


@pytest.mark.parametrize("kind", KINDS)
async def test_one_flipped_byte_in_each_kind_of_member_is_named(bundle, tmp_path, kind):
    path, _ = bundle
    with zipfile.ZipFile(path) as zf:
        member = next(n for n in sorted(zf.namelist()) if n.startswith(kind))
        original = zf.read(member)
    bad = tmp_path / "bad.zip"
    _rewrite(path, bad, {member: _flip(original)})
    report = verify_bundle(bad)
    assert not report.ok
    assert member in {m for m, _ in report.problems}, report.problems
    if kind not in ("originals/", "manifest.json"):
        return  # the CLI prints the same report; two kinds show it (a process costs seconds)
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "zerotrip", "bundle", "verify", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and f"BAD {member}:" in done.stdout


def test_a_flipped_byte_in_the_raw_archive_is_named(bundle, tmp_path):
    path, info = bundle
    member = f"originals/{info['evidence'].sha256}.jpg"
    with zipfile.ZipFile(path) as zf:
        zinfo = zf.getinfo(member)
    raw = bytearray(path.read_bytes())
    header = 30 + len(zinfo.filename.encode()) + len(zinfo.extra)
    raw[zinfo.header_offset + header + zinfo.compress_size // 2] ^= 0xFF
    bad = tmp_path / "raw.zip"
    bad.write_bytes(bytes(raw))
    report = verify_bundle(bad)
    assert [m for m, _ in report.problems] == [member]


def test_missing_extra_and_rehashed_members_are_named(bundle, tmp_path):
    path, _ = bundle
    with zipfile.ZipFile(path) as zf:
        annotation = next(n for n in zf.namelist() if n.startswith("annotations/"))
        manifest = json.loads(zf.read("manifest.json"))
        doc = json.loads(zf.read(annotation))
    gone = tmp_path / "gone.zip"
    _rewrite(path, gone, {annotation: None}, add={"originals/extra.jpg": b"\xff\xd8hello"})
    problems = dict(verify_bundle(gone).problems)
    assert "missing" in problems[annotation]
    assert "not listed" in problems["originals/extra.jpg"]

    # A careful forger edits an annotation AND fixes the manifest and its hash file: the audit
    # chain still recorded the original annotation's hash.
    import hashlib

    doc["items"] = []
    forged = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    for f in manifest["files"]:
        if f["path"] == annotation:
            f["sha256"], f["size"] = hashlib.sha256(forged).hexdigest(), len(forged)
    raw = (json.dumps(manifest, ensure_ascii=False, indent=1) + "\n").encode()
    forged_zip = tmp_path / "forged.zip"
    _rewrite(
        path,
        forged_zip,
        {
            annotation: forged,
            "manifest.json": raw,
            "manifest.json.sha256": f"{hashlib.sha256(raw).hexdigest()}  manifest.json\n".encode(),
        },
    )
    problems = dict(verify_bundle(forged_zip).problems)
    assert list(problems) == [annotation] and "audit chain recorded" in problems[annotation]


async def test_shared_bundle_leaves_out_restricted_evidence(client, db, settings, tmp_path):
    ctx, ev, secret = await passed_case_with_annotations(client, db, settings)
    out = tmp_path / "shared.zip"
    done = await asyncio.to_thread(
        _cli, settings, "export", str(ctx["id"]), "--shared", "-o", str(out)
    )
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(out) as zf:
        names = "\n".join(zf.namelist())
        evidence = zf.read("evidence.json").decode()
    assert ev.sha256 in names and secret.sha256 not in names and secret.sha256 not in evidence
    assert verify_bundle(out).ok
