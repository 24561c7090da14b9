"""Annotations: versioned saves, refusals of bad documents, and flattening onto real pixels."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops

from tests.review.review_helpers import add_evidence, box_item, inspecting_case, photo
from zerotrip.review.annotations import AnnotationInput, to_document
from zerotrip.review.flatten import flatten_bytes, render
from zerotrip.review.fonts import find_font


async def _setup(client, db, settings):
    ctx = await inspecting_case(client, db)
    cp = ctx["view"]["checkpoints"][0]
    ev = await add_evidence(db, settings, ctx["id"], cp["id"], photo())
    return ctx, cp, ev


async def test_saves_are_versioned_and_stale_edits_refused(client, db, settings):
    ctx, _, ev = await _setup(client, db, settings)
    url = f"/api/review/evidence/{ev.id}/annotations"
    headers = ctx["inspector"].headers
    first = {"base_version": 0, "items": [box_item("a1", "rect", 0.1, 0.1, 0.2, 0.2)]}
    resp = await client.put(url, json=first, headers=headers)
    assert resp.status == 201, await resp.text()
    v1 = await resp.json()
    assert v1["version"] == 1
    item = v1["document"]["items"][0]
    assert item["type"] == "Annotation"
    assert item["target"]["sha256"] == ev.sha256
    assert item["target"]["selector"]["value"] == "xywh=percent:10,10,20,20"

    second = {
        "base_version": 1,
        "items": [*first["items"], box_item("a2", "blur", 0.5, 0.5, 0.1, 0.1)],
    }
    assert (await client.put(url, json=second, headers=headers)).status == 201
    stale = await client.put(url, json=first, headers=headers)  # edited from v0 again
    assert stale.status == 409
    assert (await stale.json())["latest_version"] == 2

    latest = await (await client.get(url, headers=headers)).json()
    assert latest["version"] == 2 and latest["shapes"] == 2
    old = await (await client.get(f"{url}?version=1", headers=headers)).json()
    assert old["shapes"] == 1

    audit = await (await client.get(f"/api/cases/{ctx['id']}/audit", headers=headers)).json()
    saved = [e for e in audit["events"] if e["kind"] == "annotation.saved"]
    assert [e["payload"]["version"] for e in saved] == [1, 2]
    assert saved[0]["payload"]["sha256"] == v1["sha256"]
    # A clerk may look but not draw.
    resp = await client.put(url, json=second | {"base_version": 2}, headers=ctx["clerk"].headers)
    assert resp.status == 403


BAD = {
    "unknown shape": {"id": "x", "x-shape": {"type": "star", "x": 0.1, "y": 0.1}},
    "out of range": {
        "id": "x",
        "x-shape": {"type": "rect", "x": 0.9, "y": 0.1, "w": 0.5, "h": 0.1},
    },
    "negative": {"id": "x", "x-shape": {"type": "arrow", "x1": -0.1, "y1": 0, "x2": 1, "y2": 1}},
    "not a number": {
        "id": "x",
        "x-shape": {"type": "rect", "x": "NaN", "y": 0, "w": 0.1, "h": 0.1},
    },
    "huge point list": {"id": "x", "x-shape": {"type": "freehand", "points": [[0.5, 0.5]] * 2001}},
    "long text": {"id": "x", "x-shape": {"type": "text", "x": 0.1, "y": 0.1, "text": "长" * 501}},
    "bad colour": {
        "id": "x",
        "x-shape": {"type": "rect", "x": 0, "y": 0, "w": 0.1, "h": 0.1},
        "x-style": {"stroke": "red;background:url(x)"},
    },
    "bad id": {"id": "<script>", "x-shape": {"type": "rect", "x": 0, "y": 0, "w": 0.1, "h": 0.1}},
}


@pytest.mark.parametrize("case", sorted(BAD))
async def test_bad_annotations_are_refused_and_nothing_stored(client, db, settings, case):
    ctx, _, ev = await _setup(client, db, settings)
    url = f"/api/review/evidence/{ev.id}/annotations"
    resp = await client.put(
        url, json={"base_version": 0, "items": [BAD[case]]}, headers=ctx["inspector"].headers
    )
    assert resp.status == 422, await resp.text()
    assert resp.content_type == "application/problem+json"
    latest = await (await client.get(url, headers=ctx["inspector"].headers)).json()
    assert latest["version"] == 0


async def test_oversized_bodies_and_too_many_shapes(client, db, settings):
    ctx, _, ev = await _setup(client, db, settings)
    url = f"/api/review/evidence/{ev.id}/annotations"
    headers = ctx["inspector"].headers
    megabyte = {"id": "t", "x-shape": {"type": "text", "x": 0, "y": 0, "text": "x" * 1_100_000}}
    resp = await client.put(url, json={"base_version": 0, "items": [megabyte]}, headers=headers)
    assert resp.status == 413
    many = [box_item(f"r{i}", "rect", 0.1, 0.1, 0.1, 0.1) for i in range(201)]
    resp = await client.put(url, json={"base_version": 0, "items": many}, headers=headers)
    assert resp.status == 422
    dup = [box_item("same", "rect", 0.1, 0.1, 0.1, 0.1)] * 2
    resp = await client.put(url, json={"base_version": 0, "items": dup}, headers=headers)
    assert resp.status == 422


async def test_script_in_a_label_is_kept_as_text(client, db, settings):
    ctx, _, ev = await _setup(client, db, settings)
    url = f"/api/review/evidence/{ev.id}/annotations"
    text = "<img src=x onerror=alert(1)>"
    label = {"id": "t1", "x-shape": {"type": "text", "x": 0.1, "y": 0.1, "text": text}}
    resp = await client.put(
        url, json={"base_version": 0, "items": [label]}, headers=ctx["inspector"].headers
    )
    assert resp.status == 201
    doc = (await resp.json())["document"]
    assert doc["items"][0]["body"][0]["value"] == text  # stored verbatim, shown with textContent


def _doc(items):
    parsed = AnnotationInput.model_validate({"base_version": 0, "items": items})
    return to_document(parsed.items, source="urn:test", sha256="0" * 64)


def test_flattening_changes_pixels_inside_shapes_only():
    base = Image.new("RGB", (1600, 1200), (90, 120, 150))
    doc = _doc(
        [
            box_item("r", "rect", 0.10, 0.10, 0.30, 0.20),
            {
                "id": "a",
                "x-shape": {"type": "arrow", "x1": 0.6, "y1": 0.6, "x2": 0.9, "y2": 0.9},
                "x-style": {"stroke": "#00ff00", "width": 6},
            },
            {
                "id": "t",
                "x-shape": {
                    "type": "text",
                    "x": 0.1,
                    "y": 0.7,
                    "text": "消防通道堵塞",
                    "lang": "zh",
                    "size": 0.05,
                },
            },
        ]
    )
    out = render(base, doc)
    diff = ImageChops.difference(out, base).convert("L").point(lambda v: 255 if v > 24 else 0)
    changed = diff.getbbox()
    assert changed is not None
    # Everything that changed lies inside the union of the shapes plus a margin of 2% ...
    allowed = Image.new("L", base.size, 0)
    from PIL import ImageDraw

    d = ImageDraw.Draw(allowed)
    w, h = base.size
    m = 0.02
    for x0, y0, x1, y1 in [(0.10, 0.10, 0.40, 0.30), (0.6, 0.6, 0.9, 0.9), (0.1, 0.7, 0.45, 0.78)]:
        d.rectangle(((x0 - m) * w, (y0 - m) * h, (x1 + m) * w, (y1 + m) * h), fill=255)
    outside = ImageChops.subtract(diff, allowed)
    assert outside.getbbox() is None
    # ... and each shape did change something: the rectangle's edge, the arrow, the glyphs.
    assert diff.crop((int(0.09 * w), int(0.09 * h), int(0.41 * w), int(0.11 * h))).getbbox()
    assert diff.crop((int(0.7 * w), int(0.7 * h), int(0.8 * w), int(0.8 * h))).getbbox()
    glyphs = diff.crop((int(0.1 * w), int(0.7 * h), int(0.45 * w), int(0.78 * h)))
    assert sum(1 for v in glyphs.getdata() if v) > 2000  # real CJK strokes, not an empty box


def test_blur_hides_detail_in_its_region_only():
    base = Image.new("RGB", (800, 600), (255, 255, 255))
    from PIL import ImageDraw

    d = ImageDraw.Draw(base)
    for x in range(0, 800, 4):
        d.line([(x, 0), (x, 600)], fill=(0, 0, 0), width=2)  # fine detail, like text
    out = render(base, _doc([box_item("b", "blur", 0.25, 0.25, 0.5, 0.5)]))
    inside = out.crop((250, 200, 550, 400)).convert("L")
    outside = out.crop((0, 0, 150, 100)).convert("L")
    spread = lambda im: max(im.getdata()) - min(im.getdata())  # noqa: E731
    assert spread(inside) < 60  # stripes are gone: a flat grey
    assert spread(outside) > 200  # untouched


def test_flattened_output_has_no_exif_and_is_upright():
    data = photo(400, 300, orientation=6)  # stored sideways; shown rotated 90°
    out = Image.open(io.BytesIO(flatten_bytes(data, _doc([]))))
    assert out.size == (300, 400)
    assert not out.getexif()
    assert b"Exif" not in flatten_bytes(data, _doc([]))[:2000]


def test_a_cjk_font_is_found():
    choice = find_font()
    assert choice.cjk, "fonts-noto-cjk should be installed (scripts/install-system-deps)"


async def test_annotated_image_is_rendered_once_per_version(client, db, settings):
    ctx, _, ev = await _setup(client, db, settings)
    headers = ctx["inspector"].headers
    url = f"/api/review/evidence/{ev.id}/annotations"
    body = {"base_version": 0, "items": [box_item("r", "rect", 0.2, 0.2, 0.3, 0.3)]}
    v1 = await (await client.put(url, json=body, headers=headers)).json()
    img = await client.get(f"/api/review/evidence/{ev.id}/annotated", headers=headers)
    assert img.status == 200 and img.content_type == "image/jpeg"
    first = await img.read()
    cached = list((settings.media_dir / "derived" / ev.sha256).glob("annotated-*.jpg"))
    assert len(cached) == 1 and v1["sha256"][:24] in cached[0].name
    again = await (
        await client.get(f"/api/review/evidence/{ev.id}/annotated", headers=headers)
    ).read()
    assert again == first
    body = {"base_version": 1, "items": [box_item("r", "ellipse", 0.2, 0.2, 0.3, 0.3)]}
    await client.put(url, json=body, headers=headers)
    await client.get(f"/api/review/evidence/{ev.id}/annotated", headers=headers)
    assert len(list((settings.media_dir / "derived" / ev.sha256).glob("annotated-*.jpg"))) == 2
    # The original is untouched.
    assert (settings.media_dir / ev.blob_key).read_bytes()[:2] == b"\xff\xd8"
    import hashlib

    assert hashlib.sha256((settings.media_dir / ev.blob_key).read_bytes()).hexdigest() == ev.sha256


def test_without_a_cjk_font_a_clear_warning_and_latin_fallback(monkeypatch, caplog):
    from zerotrip.review import fonts

    monkeypatch.setattr(fonts, "KNOWN_CJK", ())  # a machine without fonts-noto-cjk
    monkeypatch.setattr(fonts, "_fc_match", lambda pattern: None)
    choice = fonts._find.__wrapped__("/nonexistent/font.ttc")
    assert not choice.cjk
    assert "No Chinese-capable font found" in caplog.text
    assert "fonts-noto-cjk" in caplog.text
    base = Image.new("RGB", (400, 300), (255, 255, 255))
    doc = _doc([{"id": "t", "x-shape": {"type": "text", "x": 0.1, "y": 0.1, "text": "Fire exit"}}])
    assert render(base, doc, choice).getbbox()  # still renders, in the Latin font
