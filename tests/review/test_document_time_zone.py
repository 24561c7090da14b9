"""Issued documents print the office's time zone: the report's times in Beijing time (never
"UTC"), the certificate's dates as the office's calendar day."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from zerotrip.review.certificate import render_certificate, template_for
from zerotrip.review.models import Certificate
from zerotrip.review.report import ReportData, local_time, render_report


def _text(pdf: bytes, tmp: Path) -> str:
    path = tmp / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True,
        timeout=60,
    ).stdout  # fmt: skip


def test_report_times_are_beijing_time(tmp_path):
    signed = datetime(2026, 11, 30, 1, 59, 57, tzinfo=UTC)
    data = ReportData(
        reference="ZT261130-ABC123", matter_zh="食品经营许可", matter_en="Food business",
        organisation="李记小面馆", applicant_name="李娜", premises_address="文三路 90 号",
        premises_coords="", state="inspected", result="pass", inspector="王工",
        signed_at=signed, audit_head="a" * 64, audit_seq=9, version=1, shared=False,
        checkpoints=[],
    )  # fmt: skip
    text = _text(render_report(data), tmp_path)
    assert "2026-11-30 09:59:57 北京时间" in text
    assert "UTC" not in text


def test_local_time_names_other_zones_by_offset():
    at = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    assert local_time(at, ZoneInfo("Asia/Urumqi")).endswith("北京时间")
    assert local_time(at, ZoneInfo("Asia/Hong_Kong")) == "2026-11-30 09:00:00 +08:00"


def test_certificate_dates_are_the_office_day(tmp_path):
    issued = datetime(2026, 11, 30, 17, 30, tzinfo=UTC)  # 01:30 on 1 December in Beijing
    cert = Certificate(
        case_id=1, code="C-TEST", matter_code="food-business", title_zh="食品经营许可证",
        title_en="Food Business Licence", holder="李记小面馆", premises_address="文三路 90 号",
        reference="ZT261130-ABC123", valid_until=issued + timedelta(days=365), sha256="",
        blob_key="", issued_at=issued,
    )  # fmt: skip
    pdf = render_certificate(cert, template_for("food-business"), "http://x/verify/C-TEST")
    text = _text(pdf, tmp_path)
    assert "2026年12月1日" in text and "2026-11-30" not in text
