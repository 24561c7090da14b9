"""In a real headless Chromium: draw on a still, save, reload and see the shapes; judge; sign the
report; the applicant downloads it; the public page checks the certificate."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from tests.factories import act, apply
from tests.harness.apps import base_url
from tests.harness.browsers import PageErrors, applicant_page, staff_page
from tests.review.review_helpers import add_evidence, inspecting_case, photo

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(4)


async def _drag(page, box, start, end, steps=8):
    await page.mouse.move(box["x"] + start[0] * box["width"], box["y"] + start[1] * box["height"])
    await page.mouse.down()
    await page.mouse.move(
        box["x"] + end[0] * box["width"], box["y"] + end[1] * box["height"], steps=steps
    )
    await page.mouse.up()


async def test_inspector_annotates_judges_signs_and_applicant_downloads(
    client, db, settings, browser, shots
):
    ctx = await inspecting_case(client, db)
    cid = ctx["id"]
    cps = ctx["view"]["checkpoints"]
    ev = await add_evidence(db, settings, cid, cps[0]["id"], photo(1600, 1200))
    base = base_url(client)

    page = await staff_page(browser, base, ctx["inspector"], f"/staff/cases/{cid}", locale="en-GB")
    staff = page.context
    errors = PageErrors(page, console=False).errors
    await page.locator(f'[data-annotate="{ev.id}"]').click()
    await page.locator("#annotator[data-ready=true]").wait_for()
    layer = page.locator("#ann-layer")
    box = await layer.bounding_box()
    assert box

    await page.keyboard.press("r")  # keyboard shortcut: rectangle
    await _drag(page, box, (0.10, 0.10), (0.40, 0.35))
    await page.locator('[data-tool="arrow"]').click()
    await _drag(page, box, (0.55, 0.20), (0.85, 0.60))
    await page.locator("#ann-label").fill("灭火器过期")
    await page.locator('[data-tool="text"]').click()
    await page.mouse.click(box["x"] + 0.10 * box["width"], box["y"] + 0.70 * box["height"])
    assert await layer.get_attribute("data-count") == "3"
    # Undo and redo with the keyboard (focus on the drawing, not the text field).
    await page.locator("#ann-close").focus()
    await page.keyboard.press("Control+z")
    assert await layer.get_attribute("data-count") == "2"
    await page.keyboard.press("Control+Shift+z")
    assert await layer.get_attribute("data-count") == "3"
    await page.keyboard.press("Control+s")
    await page.locator("#annotator[data-version='1']").wait_for()
    await shots(page, "review-annotator", full_page=False)

    # Reload: the saved shapes come back from the server.
    await page.reload()
    await page.locator(f'[data-annotate="{ev.id}"]').click()
    await page.locator("#annotator[data-ready=true]").wait_for()
    layer = page.locator("#ann-layer")
    assert await layer.get_attribute("data-count") == "3"
    assert await layer.locator("rect[data-id]").count() == 1
    assert await layer.locator("g[data-kind=arrow]").count() == 1
    assert await layer.locator("text").inner_html() == "灭火器过期"
    await page.locator("#ann-close").click()

    # The flattened image differs from the base inside the drawn shapes.
    flat = await staff.request.get(f"{base}/api/review/evidence/{ev.id}/annotated")
    plain = await staff.request.get(f"{base}/api/review/evidence/{ev.id}/base")
    a = Image.open(io.BytesIO(await flat.body())).convert("RGB")
    b = Image.open(io.BytesIO(await plain.body())).convert("RGB")
    r, g, bl = ImageChops.difference(a, b).split()
    strongest = ImageChops.lighter(ImageChops.lighter(r, g), bl)
    diff = strongest.point(lambda v: 255 if v > 40 else 0)
    w, h = a.size
    assert diff.crop((int(0.09 * w), int(0.09 * h), int(0.41 * w), int(0.12 * h))).getbbox()
    assert diff.crop((int(0.1 * w), int(0.7 * h), int(0.3 * w), int(0.8 * h))).getbbox()
    assert diff.crop((0, int(0.9 * h), w, h)).getbbox() is None

    # Verdicts through the page, then the result and the signed report.
    for cp in cps:
        form = page.locator(f'form[data-verdict-for="{cp["id"]}"]')
        await form.locator("select").select_option("pass")
        async with page.expect_navigation():
            await form.locator("button[type=submit]").click()
    await page.locator("[data-review-checkpoint] img").first.wait_for()
    await shots(page.locator("#review"), "review-staff")
    await act(client, cid, "record_inspection", ctx["inspector"].headers, result="pass")
    await page.reload()
    async with page.expect_navigation():
        await page.locator("#sign-report").click()
    await page.locator("#report-link").wait_for()
    assert not errors, errors

    # The applicant downloads the shared report from their phone.
    mobile = await applicant_page(browser, f"{base}/a/{ctx['token']}", locale="en-GB")
    async with mobile.expect_download() as info:
        await mobile.locator("#download-report").click()
    download = await info.value
    pdf = await download.path()
    assert pdf and _head(Path(pdf)) == b"%PDF"
    await shots(mobile, "review-applicant")

    # Certificate: issue, the public page says valid, then revoked.
    clerk = ctx["clerk"].headers
    pending = [m["code"] for m in ctx["view"]["materials"] if m["status"] != "received"]
    await act(client, cid, "receive_materials", clerk, codes=pending)
    await act(client, cid, "approve", clerk)
    await act(client, cid, "issue_certificate", clerk)
    review = await (await client.get(f"/api/cases/{cid}/review", headers=clerk)).json()
    code = review["certificates"][0]["code"]
    public = await applicant_page(browser, f"{base}/verify/{code}")
    status = public.locator("#status")
    await status.wait_for()
    assert await status.get_attribute("data-status") == "valid"
    await shots(public, "review-verify-valid")
    resp = await client.post(
        f"/api/certificates/{code}/revoke", json={"reason": "已注销"}, headers=clerk
    )
    assert resp.status == 200
    await public.reload()
    await public.locator("#status[data-status=revoked]").wait_for()
    await shots(public, "review-verify-revoked")


async def test_relying_on_doubtful_evidence_asks_for_a_reason_in_the_page(
    client, db, settings, browser, shots
):
    """A photo that looks like another case's is not 'consistent': the verdict form asks why the
    inspector relies on it, and the verdict is recorded with that reason only once it is given."""
    ctx = await inspecting_case(client, db)
    cid, cps = ctx["id"], ctx["view"]["checkpoints"]
    other, _ = await apply(client, applicant_name="王五")
    staff_view = await client.get(f"/api/cases/{other['id']}", headers=ctx["inspector"].headers)
    other_cp = (await staff_view.json())["checkpoints"][0]
    await add_evidence(db, settings, other["id"], other_cp["id"], photo())
    ev = await add_evidence(db, settings, cid, cps[0]["id"], photo())
    base = base_url(client)

    page = await staff_page(browser, base, ctx["inspector"], f"/staff/cases/{cid}")
    errors = PageErrors(page, console=False).errors
    form = page.locator(f'form[data-verdict-for="{cps[0]["id"]}"]')
    reason = form.locator(f'[data-override-for="{ev.id}"]')
    await reason.wait_for()
    assert "未通过可信度检查" in await reason.inner_text()
    # Unticking the evidence hides the question; ticking it shows it again.
    await form.locator(f'input[name=evidence][value="{ev.id}"]').uncheck()
    assert await reason.is_hidden()
    await form.locator(f'input[name=evidence][value="{ev.id}"]').check()
    assert await reason.is_visible()

    # Without a reason the server refuses, and the page says so in Chinese; nothing is recorded.
    await form.locator("select").select_option("pass")
    await form.locator("button[type=submit]").click()
    alert = form.locator("[role=alert]")
    await alert.wait_for(state="visible")
    shown = await alert.inner_text()
    assert "未通过可信度检查" in shown and "override" not in shown.lower()
    assert await page.locator('[data-trust="inconsistent"]').first.inner_text() == "与申请不一致"
    await shots(page.locator(f'[data-review-checkpoint="{cps[0]["code"]}"]'), "review-override")

    await reason.locator("textarea").fill("现场视频已核实该处设施")
    async with page.expect_navigation():
        await form.locator("button[type=submit]").click()
    review = await (
        await client.get(f"/api/cases/{cid}/review", headers=ctx["inspector"].headers)
    ).json()
    judged = next(c for c in review["checkpoints"] if c["id"] == cps[0]["id"])
    assert judged["verdict"] == "pass"
    overrides = judged["history"][-1]["overrides"]
    assert [(o["evidence_id"], o["reason"]) for o in overrides] == [
        (ev.id, "现场视频已核实该处设施")
    ]
    assert not errors, errors
