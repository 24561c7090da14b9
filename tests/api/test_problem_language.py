"""Problems speak the caller's language (Accept-Language, zh-CN by default): titles and details,
aiohttp's own errors included, with no internal codes in the sentence."""

from __future__ import annotations

from tests.factories import applicant_headers, apply, make_staff


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


async def test_unknown_path_and_bad_link_in_chinese_by_default(client):
    resp = await client.get("/api/no-such-thing")
    problem = await resp.json()
    assert resp.status == 404 and _has_chinese(problem["title"]) and _has_chinese(problem["detail"])
    resp = await client.get("/api/link", headers=applicant_headers("not-a-real-token"))
    problem = await resp.json()
    assert resp.status == 401 and _has_chinese(problem["title"])


async def test_english_when_asked(client):
    resp = await client.get("/api/no-such-thing", headers={"Accept-Language": "en-US,en;q=0.8"})
    problem = await resp.json()
    assert not _has_chinese(problem["title"] + problem["detail"])


async def test_illegal_step_names_the_state_by_its_display_name(client, db):
    inspector = await make_staff(db, "inspector")
    case, _ = await apply(client)
    resp = await client.post(
        f"/api/cases/{case['id']}/actions/start_inspection", json={}, headers=inspector.headers
    )
    problem = await resp.json()
    assert resp.status == 409
    assert "已提交" in problem["detail"] and "submitted" not in problem["detail"]
    assert problem["state"] == "submitted"  # the machine-readable member stays
