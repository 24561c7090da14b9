"""Fuzzing the metadata extractor and the upload API with mutated real JPEG and HEIC bytes.

Fixed seed (``derandomize=True``) and bounded example counts keep it to about a minute. The
properties: exifread on a raw EXIF block never raises out; analysis in the bounded worker
always returns a result (never an exception, never past its time limit); the API answers every
mutated upload with a success or a 4xx problem, never a 500; and mutated uploads racing for the
same capture nonces leave storage and the database in agreement (``zerotrip storage check``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import io
import json
import time

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from PIL import Image

from tests.factories import applicant_headers, apply
from tests.media import samples
from zerotrip.api.keys import DB, STORAGE
from zerotrip.evidence.storage_check import check_storage
from zerotrip.media.analyse import analyse_file
from zerotrip.media.exif import capture_facts, read_exif
from zerotrip.media.worker import AnalysisPool, Limits

pytestmark = pytest.mark.slow
KNOWN_REFUSALS = {
    "pixel_limit",
    "undecodable",
    "no_video",
    "timeout",
    "crashed",
    "memory_limit",
    "exif_unreadable",
}


@pytest.fixture
async def settings(settings):
    """Room for the races under test: more concurrent uploads through one link than the
    per-link cap allows (that cap is tested in tests/security/test_slow_bodies.py)."""
    return dataclasses.replace(settings, uploads_per_link=32, uploads_per_ip=32)


@functools.cache
def seeds() -> dict[str, bytes]:
    exif = samples.exif_for(orientation=6)
    return {
        "jpeg": samples.jpeg_with_thumbnail(
            samples.picture((640, 480), 31), samples.picture((640, 480), 31), exif
        ),
        "heic": samples.heic_bytes((320, 240), exif=samples.exif_for()),
    }


@functools.cache
def exif_blob() -> bytes:
    return Image.open(io.BytesIO(seeds()["jpeg"])).info["exif"]


def mutations(max_offset: int):
    return st.lists(
        st.tuples(
            st.sampled_from(["flip", "set", "delete", "insert"]),
            st.integers(0, max_offset),
            st.sampled_from([0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE]) | st.integers(0, 255),
        ),
        min_size=1,
        max_size=12,
    )


def mutate(data: bytes, edits, cut: int | None) -> bytes:
    out = bytearray(data)
    for op, offset, value in edits:
        offset %= max(1, len(out))
        if op == "flip":
            out[offset] ^= 1 << (value % 8)
        elif op == "set":
            out[offset] = value
        elif op == "delete":
            del out[offset : offset + 1 + value % 16]
        else:
            out[offset:offset] = bytes([value]) * (1 + value % 8)
    if cut is not None:
        out = out[: max(1, cut)]
    return bytes(out)


@examples(
    max_examples=400, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
)
@given(edits=mutations(4096), cut=st.none() | st.integers(1, 4096))
def test_exif_reader_never_raises(edits, cut):
    blob = mutate(exif_blob(), edits, cut)
    tags = read_exif(blob)
    assert isinstance(tags, dict)
    assert isinstance(capture_facts(tags), dict)
    json.dumps(capture_facts(tags))


@pytest.fixture(scope="module")
def pool():
    analysis_pool = AnalysisPool(2, Limits(timeout_s=5.0, memory_bytes=0, max_pixels=50_000_000))
    yield analysis_pool
    analysis_pool.close()


@pytest.mark.parametrize("kind", ["jpeg", "heic"])
def test_bounded_analysis_always_returns(pool, tmp_path_factory, kind):
    workdir = tmp_path_factory.mktemp(f"fuzz-{kind}")

    @examples(
        max_examples=60, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(edits=mutations(4096), cut=st.none() | st.integers(16, 200_000))
    def check(edits, cut):
        path = workdir / "input"
        path.write_bytes(mutate(seeds()[kind], edits, cut))
        fmt = "JPEG" if kind == "jpeg" else "HEIF"
        outcome = pool.run_blocking(path, "image", fmt, workdir)
        assert isinstance(outcome, dict)
        assert outcome["ok"] or outcome["code"] in KNOWN_REFUSALS, outcome
        if outcome["ok"]:
            json.dumps(outcome)

    check()


def test_in_process_analysis_never_raises(tmp_path):
    """The same property without the worker, so a failure shows its traceback."""

    @examples(
        max_examples=60, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(edits=mutations(8192), cut=st.none() | st.integers(16, 200_000))
    def check(edits, cut):
        path = tmp_path / "input"
        path.write_bytes(mutate(seeds()["jpeg"], edits, cut))
        outcome = analyse_file(path, "image", "JPEG", tmp_path, 50_000_000)
        assert outcome["ok"] or outcome["code"] in KNOWN_REFUSALS

    check()


async def test_api_never_answers_500_to_mutated_uploads(client):
    case, token = await apply(client)
    checkpoint = case["checkpoints"][0]["id"]
    headers = applicant_headers(token)
    url = f"/api/cases/{case['id']}/checkpoints/{checkpoint}/evidence"
    bodies: list[bytes] = []

    @examples(
        max_examples=40,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        kind=st.sampled_from(["jpeg", "heic"]),
        edits=mutations(4096),
        cut=st.none() | st.integers(1, 100_000),
    )
    def collect(kind, edits, cut):
        bodies.append(mutate(seeds()[kind], edits, cut))

    collect()
    statuses = set()
    for body in bodies:
        resp = await client.post(url, data=body, headers={**headers, "Content-Type": "image/jpeg"})
        statuses.add(resp.status)
        assert resp.status in (200, 201, 413, 415, 422), await resp.text()
        if resp.status >= 400:
            assert resp.content_type == "application/problem+json"
    assert statuses & {200, 201} and statuses & {415, 422}


async def test_uploads_racing_for_one_nonce_leave_storage_and_database_agreeing(client, settings):
    """Three nonces, six mutated bodies racing for each (some decodable, some not): at most one
    evidence per nonce, every stored original accounted for, nothing left in the staging area."""
    case, token = await apply(client)
    headers = applicant_headers(token)
    checkpoint = case["checkpoints"][0]["id"]
    url = f"/api/cases/{case['id']}/checkpoints/{checkpoint}"
    bodies: list[bytes] = []

    @examples(max_examples=18, derandomize=True, deadline=None, database=None,
               suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(kind=st.sampled_from(["jpeg", "heic"]), edits=mutations(2048),
           cut=st.none() | st.integers(200, 100_000))  # fmt: skip
    def collect(kind, edits, cut):
        bodies.append(mutate(seeds()[kind], edits, cut))

    collect()
    bodies += [seeds()["jpeg"]] * 3  # one clean picture in each race
    nonces = [
        (await (await client.post(f"{url}/nonce", headers=headers)).json())["nonce"]
        for _ in range(3)
    ]

    def capture(nonce: str) -> dict[str, str]:
        claims = {"origin": "capture", "nonce": nonce, "taken_at": int(time.time() * 1000)}
        return {**headers, "X-Capture": json.dumps(claims), "Content-Type": "image/jpeg"}

    answers = await asyncio.gather(
        *(
            client.post(f"{url}/evidence", data=body, headers=capture(nonces[n % 3]))
            for n, body in enumerate(bodies)
        )
    )
    winners: dict[str, set[int]] = {nonce: set() for nonce in nonces}
    for n, resp in enumerate(answers):
        assert resp.status in (200, 201, 409, 415, 422), await resp.text()
        if resp.status in (200, 201):
            winners[nonces[n % 3]].add((await resp.json())["id"])
        else:
            assert resp.content_type == "application/problem+json"
    assert all(len(ids) <= 1 for ids in winners.values()), winners
    report = await check_storage(client.app[DB], client.app[STORAGE])
    assert report.clean, report.lines()
    assert report.rows == sum(len(ids) for ids in winners.values())
    incoming = settings.media_dir / "incoming"
    assert [p for p in incoming.rglob("*") if p.is_file()] == []
