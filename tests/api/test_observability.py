"""What an operator watches: request ids, readiness and Prometheus metrics, JSON log lines."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import timedelta

from tests.factories import apply
from zerotrip.config import Settings
from zerotrip.logs import REQUEST_ID, JsonFormatter, RequestIdFilter
from zerotrip.outbox.models import OutboxMessage


async def test_every_answer_carries_a_request_id_and_keeps_a_sane_given_one(client):
    mine = "edge-4f2a9c1b7d"
    given = await client.get("/api/health", headers={"X-Request-Id": mine})
    assert given.status == 200 and given.headers["X-Request-Id"] == mine
    made = await client.get("/api/health", headers={"X-Request-Id": "bad id <script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-Id"])
    missing = await client.get("/api/no-such-thing")
    assert missing.status == 404 and missing.headers["X-Request-Id"]


async def test_ready_names_each_check(client):
    resp = await client.get("/api/ready")
    body = await resp.json()
    assert resp.status == 200, body
    assert body["ready"] is True and body["role"] == "all"
    assert set(body["checks"]) == {"database", "storage", "outbox", "live"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["live"]["capacity"] == 40


async def test_a_stuck_outbox_makes_the_process_unready(apps, db, clock):
    """A due message that nobody delivered for longer than the limit: 503, and it says why."""
    now = clock.now()
    async with db.transaction() as session:
        session.add(
            OutboxMessage(
                topic="nobody.listens",
                dedupe_key="stuck-1",
                next_attempt_at=now - timedelta(hours=1),
                created_at=now - timedelta(hours=1),
                updated_at=now - timedelta(hours=1),
            )
        )
    async with apps.client(outbox_worker=False, ready_max_outbox_lag_s=60.0) as client:
        resp = await client.get("/api/ready")
        body = await resp.json()
        assert resp.status == 503
        assert body["ready"] is False and body["checks"]["outbox"]["ok"] is False
        assert body["checks"]["outbox"]["depth"] == 1
        assert body["checks"]["outbox"]["lag_s"] >= 3600 - 5
        assert body["checks"]["database"]["ok"] is True
        metrics = await (await client.get("/metrics")).text()
        assert "zerotrip_outbox_depth 1" in metrics


async def test_metrics_count_by_route_template_and_never_by_raw_path(client):
    case, token = await apply(client)
    for _ in range(3):
        await client.get(f"/api/cases/{case['id']}", headers={"Authorization": f"Bearer {token}"})
    resp = await client.get("/metrics")
    assert resp.status == 200 and resp.content_type == "text/plain"
    text = await resp.text()
    assert 'route="/api/cases/{case_id}",status="200"} 3' in text
    assert token not in text and f'/api/cases/{case["id"]}"' not in text
    bucket = 'zerotrip_http_request_seconds_bucket{method="GET",route="/api/cases/{case_id}"'
    assert bucket + ',le="+Inf"} 3' in text
    assert "# TYPE zerotrip_live_rooms gauge" in text and "zerotrip_live_rooms 0" in text
    assert "zerotrip_ingest_seconds_count" in text


def test_json_log_lines_carry_the_request_id_and_extra_fields():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter(role="web"))
    logger = logging.getLogger("zerotrip.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    token = REQUEST_ID.set("req-12345678")
    try:
        logger.warning("案件 %s 已受理", 7, extra={"case_id": 7})
    finally:
        REQUEST_ID.reset(token)
        logger.removeHandler(handler)
    line = json.loads(out.getvalue())
    assert line["message"] == "案件 7 已受理" and line["request_id"] == "req-12345678"
    assert line["role"] == "web" and line["case_id"] == 7 and line["level"] == "WARNING"
    assert line["time"].endswith("+00:00")


def test_log_format_setting_is_checked(tmp_path):
    assert Settings.from_env({"ZEROTRIP_DATA_DIR": str(tmp_path), "ZEROTRIP_LOG_FORMAT": "json"})
