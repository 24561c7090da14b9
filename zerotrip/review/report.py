"""The inspection report: a PDF the applicant receives and an auditor can tie to the audit chain.

Gathering (database and storage, async) is separate from rendering (fpdf2, in a thread), so the
renderer takes plain data and the benchmark can time it alone. The report names the case,
premises and matter, lists every checkpoint with its verdict, then shows each checkpoint's
evidence as annotated images with the facts that make it checkable: the original's SHA-256,
capture and receipt times, the location finding and the trust verdict, and, where the verdict
relies on evidence the trust checks did not find consistent, the inspector's written reason.
It ends with the inspector and the audit-chain head at signing time; the ``report.signed``
event that follows in the chain records the PDF's own hash. Chinese is written with the CJK font
from :mod:`zerotrip.review.fonts`. A ``shared`` report leaves out restricted (identity) evidence
and checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from zerotrip.kit.clock import as_utc
from zerotrip.review.fonts import FontChoice, find_font

HEADINGS = FontFace(emphasis="", fill_color=(228, 234, 243))
VERDICT_TEXT = {
    "pass": "通过 Pass",
    "fail": "不通过 Fail",
    "rectify": "限期整改 Rectify",
    None: "—",
}


@dataclass
class EvidenceFacts:
    id: int
    sha256: str
    kind: str
    source: str
    round: int
    captured_at: datetime | None
    received_at: datetime
    location: str  # the location finding, in words
    trust: str  # the trust verdict and its reasons
    image: bytes | None  # annotated (or display) JPEG; None for non-images
    annotation_version: int | None = None
    override: str = ""  # why the verdict relies on it although the trust checks did not agree


@dataclass
class CheckpointFacts:
    position: int
    code: str
    title_zh: str
    title_en: str
    verdict: str | None
    comment: str
    round: int
    evidence: list[EvidenceFacts] = field(default_factory=list)


@dataclass
class ReportData:
    reference: str
    matter_zh: str
    matter_en: str
    organisation: str
    applicant_name: str
    premises_address: str
    premises_coords: str
    state: str
    result: str | None
    inspector: str
    signed_at: datetime
    audit_head: str
    audit_seq: int
    version: int
    shared: bool
    checkpoints: list[CheckpointFacts]
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))


class _PDF(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.font_family, size=7)
        self.set_text_color(110)
        self.cell(0, 5, f"{self.footer_text}  ·  {self.page_no()}/{{nb}}", align="C")


def _font(pdf: FPDF, font: FontChoice) -> str:
    if font.path is None:
        return "helvetica"
    pdf.add_font(
        "body", "", font.path, collection_font_number=font.index if font.is_collection else 0
    )
    return "body"


_BEIJING = frozenset({"Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "Asia/Urumqi", "PRC"})


def local_time(at: datetime | None, zone: ZoneInfo) -> str:
    """A moment as the office reads it: its own time zone, named (every issued document)."""
    if at is None:
        return "—"
    local = as_utc(at).astimezone(zone)
    offset = local.strftime("%z")
    label = "北京时间" if zone.key in _BEIJING else f"{offset[:3]}:{offset[3:]}"
    return f"{local:%Y-%m-%d %H:%M:%S} {label}"


def _facts_table(pdf: FPDF, rows: list[tuple[str, str]]) -> None:
    with pdf.table(
        col_widths=(38, 142),
        text_align="LEFT",
        first_row_as_headings=False,
        line_height=5.2,
        padding=1,
    ) as table:
        for label, value in rows:
            row = table.row()
            row.cell(label)
            row.cell(value)


def render_report(data: ReportData, font: FontChoice | None = None) -> bytes:
    """The PDF bytes for ``data`` (blocking: run it in a thread)."""
    font = font or find_font()
    pdf = _PDF(orientation="P", unit="mm", format="A4")
    pdf.set_creator("zerotrip")
    pdf.set_title(f"Inspection report {data.reference}")
    pdf.set_auto_page_break(True, margin=16)
    family = _font(pdf, font)
    pdf.footer_text = (
        f"{data.reference} · report v{data.version} · chain head {data.audit_head[:16]}…"
    )
    pdf.add_page()
    pdf.set_font(family, size=17)
    pdf.cell(0, 10, "现场踏勘报告  Inspection report", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(family, size=9)
    _facts_table(
        pdf,
        [
            ("受理编号 Reference", data.reference),
            ("事项 Matter", f"{data.matter_zh} / {data.matter_en}"),
            ("申请人 Applicant", f"{data.organisation} {data.applicant_name}".strip()),
            ("经营场所 Premises", f"{data.premises_address} {data.premises_coords}".strip()),
            ("踏勘结论 Result", VERDICT_TEXT.get(data.result, data.result or "—")),
            ("踏勘人员 Inspector", data.inspector),
            ("签署时间 Signed", local_time(data.signed_at, data.zone)),
            ("审计链 Audit chain", f"seq {data.audit_seq} · head {data.audit_head}"),
            ("版本 Version", f"{data.version}" + (" · 对外版 shared copy" if data.shared else "")),
        ],
    )
    pdf.ln(4)
    pdf.set_font(family, size=12)
    pdf.cell(0, 8, "踏勘要点 Checklist", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(family, size=8.5)
    with pdf.table(
        col_widths=(8, 62, 26, 12, 72), text_align="LEFT", line_height=5, headings_style=HEADINGS
    ) as table:
        header = table.row()
        for text in ("#", "要点 Checkpoint", "结论 Verdict", "轮次 Round", "意见 Comment"):
            header.cell(text)
        for cp in data.checkpoints:
            row = table.row()
            row.cell(str(cp.position + 1))
            row.cell(f"{cp.title_zh}\n{cp.title_en}")
            row.cell(VERDICT_TEXT.get(cp.verdict, cp.verdict or "—"))
            row.cell(str(cp.round))
            row.cell(cp.comment or "")
    for cp in data.checkpoints:
        _checkpoint_section(pdf, family, cp, data.zone)
    return bytes(pdf.output())


def _checkpoint_section(pdf: FPDF, family: str, cp: CheckpointFacts, zone: ZoneInfo) -> None:
    pdf.add_page()
    pdf.set_font(family, size=12)
    pdf.cell(
        0,
        8,
        f"{cp.position + 1}. {cp.title_zh}  {cp.title_en}",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_font(family, size=9)
    pdf.multi_cell(
        0,
        5,
        f"结论 Verdict: {VERDICT_TEXT.get(cp.verdict, cp.verdict or '—')}"
        f"  ·  轮次 Round {cp.round}\n{cp.comment}".rstrip(),
        align="L",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    if not cp.evidence:
        pdf.cell(0, 6, "无证据 No evidence", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for ev in cp.evidence:
        pdf.ln(2)
        if ev.image:
            width = 120.0
            if pdf.get_y() + 95 > pdf.h - 20:
                pdf.add_page()
            pdf.image(BytesIO(ev.image), x=pdf.l_margin, w=width, keep_aspect_ratio=True)
        pdf.set_font(family, size=7.5)
        _facts_table(
            pdf,
            [
                (
                    "证据 Evidence",
                    f"#{ev.id} · {ev.kind}/{ev.source} · round {ev.round}"
                    + (f" · annotations v{ev.annotation_version}" if ev.annotation_version else ""),
                ),
                ("SHA-256", ev.sha256),
                ("拍摄 Captured", local_time(ev.captured_at, zone)),
                ("接收 Received", local_time(ev.received_at, zone)),
                ("位置 Location", ev.location or "—"),
                ("可信度 Trust", ev.trust or "—"),
                *([("人工采信 Override", ev.override)] if ev.override else []),
            ],
        )
        pdf.set_font(family, size=9)


def describe_trust(verdict: Any | None, capture: dict[str, Any] | None = None) -> tuple[str, str]:
    """(location finding, trust verdict) in words, from a TrustVerdict row and the capture fix.

    Findings follow :mod:`zerotrip.media.trust`: a ``code``, a ``severity`` and the sentence in
    ``zh`` and ``en``. No location finding with a fix means the fix agreed with the premises.
    """
    if verdict is None:
        return "", "未评估 not assessed"
    findings = verdict.findings or []
    location = [
        f"{f.get('zh', '')} {f.get('en', '')}".strip() or str(f.get("code"))
        for f in findings
        if str(f.get("code", "")).startswith(("location", "premises"))
    ]
    if not location and capture and capture.get("lat") is not None:
        accuracy = capture.get("accuracy")
        location = [
            f"定位与经营场所相符 consistent with the premises ({capture['lat']}, {capture['lon']}"
            + (f", ±{accuracy} m)" if accuracy is not None else ")")
        ]
    reasons = [
        f"{f.get('code')} ({f.get('severity')})" for f in findings if f.get("severity") != "info"
    ]
    trust = f"{verdict.verdict} · policy {verdict.policy_version}"
    if reasons:
        trust += ": " + ", ".join(reasons)
    return "; ".join(location), trust
