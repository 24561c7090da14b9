"""Certificates: issued with the case step, verifiable by anyone, revocable with a trace.

When a clerk takes the lifecycle step ``issue_certificate`` (only possible for an approved case,
i.e. one whose inspection passed) the :class:`CertificateIssuer` that
:func:`zerotrip.review.wiring.setup` registered creates it in the same transaction:
a random verification code, a PDF from the matter's template (``certificates.yaml``) with that
code and a QR code of the public verification page, and a ``certificate.issued`` audit event
with the PDF's hash. ``/verify/<code>`` answers valid, revoked or unknown and shows only what
the certificate itself shows. Revocation is refused twice and audited once.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import qrcode
import yaml
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.lifecycle import StepContext
from zerotrip.cases.store import lock_case
from zerotrip.db import session_now
from zerotrip.kit.actor import Actor
from zerotrip.kit.clock import Clock, as_utc
from zerotrip.media.interfaces import Storage
from zerotrip.problems import Conflict, InvalidInput, NotFound
from zerotrip.review.blobs import put_bytes
from zerotrip.review.fonts import FontChoice, find_font
from zerotrip.review.models import Certificate

TEMPLATES_PATH = Path(__file__).with_name("certificates.yaml")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed


class CertificateTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    authority_zh: str
    authority_en: str
    body_zh: str
    body_en: str
    valid_years: int = Field(ge=1, le=50)


@functools.cache
def load_templates(path: Path = TEMPLATES_PATH) -> dict[str, CertificateTemplate]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {code: CertificateTemplate.model_validate(t) for code, t in data.items()}


def template_for(matter_code: str) -> CertificateTemplate:
    templates = load_templates()
    return templates.get(matter_code, templates["default"])


def new_code() -> str:
    """A 15-character verification code (75 bits), grouped for reading: XXXXX-XXXXX-XXXXX."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(15))
    return f"{raw[:5]}-{raw[5:10]}-{raw[10:]}"


def normalise_code(code: str) -> str:
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    if len(cleaned) != 15 or any(ch not in CODE_ALPHABET for ch in cleaned):
        raise InvalidInput(
            "A verification code is 15 letters and digits, like ABCDE-FGHJK-LMNPQ.",
            zh="核验码为 15 位字母和数字，如 ABCDE-FGHJK-LMNPQ。",
        )
    return f"{cleaned[:5]}-{cleaned[5:10]}-{cleaned[10:]}"


def qr_png(url: str) -> bytes:
    image = qrcode.make(url, box_size=8, border=2)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def _day(at: datetime, zone: ZoneInfo) -> str:
    local = as_utc(at).astimezone(zone)
    return f"{local.year}年{local.month}月{local.day}日 {local:%Y-%m-%d}"


def render_certificate(
    cert: Certificate,
    template: CertificateTemplate,
    verify_url: str,
    font: FontChoice | None = None,
    zone: ZoneInfo | None = None,
) -> bytes:
    """The certificate PDF; its dates are the office's calendar days (``zone``), not UTC's."""
    font = font or find_font()
    zone = zone or ZoneInfo("Asia/Shanghai")
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(f"{cert.title_en} {cert.reference}")
    pdf.set_creator("zerotrip")
    family = "helvetica"
    if font.path:
        pdf.add_font(
            "body", "", font.path, collection_font_number=font.index if font.is_collection else 0
        )
        family = "body"
    pdf.add_page()
    pdf.set_draw_color(150, 20, 20)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, 190, 277)
    pdf.set_y(28)
    pdf.set_font(family, size=26)
    pdf.cell(0, 14, cert.title_zh, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(family, size=14)
    pdf.cell(0, 8, cert.title_en, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(10)
    fields = {
        "holder": cert.holder,
        "premises": cert.premises_address,
        "reference": cert.reference,
    }
    pdf.set_font(family, size=12)
    rows = [
        ("持证主体 Holder", cert.holder),
        ("经营场所 Premises", cert.premises_address),
        ("许可编号 Number", cert.reference),
        ("发证日期 Issued", _day(cert.issued_at, zone)),
        ("有效期至 Valid until", _day(cert.valid_until, zone) if cert.valid_until else "—"),
    ]
    for label, value in rows:
        pdf.set_x(25)
        pdf.cell(48, 9, label)
        pdf.multi_cell(120, 9, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)
    for body in (template.body_zh, template.body_en):
        pdf.set_x(25)
        pdf.multi_cell(
            160,
            7,
            body.format(matter_zh=cert.title_zh, matter_en=cert.title_en, **fields),
            align="L",
        )
        pdf.ln(3)
    pdf.set_y(200)
    pdf.image(io.BytesIO(qr_png(verify_url)), x=25, y=200, w=45)
    pdf.set_xy(78, 204)
    pdf.set_font(family, size=11)
    pdf.multi_cell(
        110,
        7,
        f"验证码 Verification code\n{cert.code}\n{verify_url}",
        align="L",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_xy(110, 255)
    pdf.set_font(family, size=13)
    pdf.multi_cell(80, 7, f"{template.authority_zh}\n{template.authority_en}", align="R")
    return bytes(pdf.output())


def certificate_key(case_id: int, sha256: str) -> str:
    return f"certificates/{case_id}/{sha256}.pdf"


def verify_url(public_url: str, code: str) -> str:
    return f"{public_url.rstrip('/')}/verify/{code}"


class CertificateIssuer:
    """Makes the certificate inside the ``issue_certificate`` step, for one service's storage,
    public address, font and clock."""

    def __init__(self, storage: Storage, public_url: str, font: FontChoice, clock: Clock) -> None:
        self.storage = storage
        self.public_url = public_url
        self.font = font
        self.clock = clock

    async def __call__(self, step: StepContext) -> None:
        case = step.case
        matter = step.catalogue.get(case.matter_code)
        template = template_for(case.matter_code)
        now = self.clock.now()
        cert = Certificate(
            case_id=case.id,  # type: ignore[arg-type]
            code=new_code(),
            matter_code=case.matter_code,
            title_zh=matter.certificate_title_zh if matter else case.matter_code,
            title_en=matter.certificate_title_en if matter else case.matter_code,
            holder=case.organisation or case.applicant_name,
            premises_address=case.premises_address,
            reference=case.reference,
            valid_until=now + timedelta(days=365 * template.valid_years),
            sha256="",
            blob_key="",
            issued_by=int(step.actor.id) if step.actor.kind == "staff" and step.actor.id else None,
            issued_at=now,
        )
        url = verify_url(self.public_url, cert.code)
        pdf = await asyncio.to_thread(
            render_certificate, cert, template, url, self.font, self.clock.zone
        )
        cert.sha256 = hashlib.sha256(pdf).hexdigest()
        cert.blob_key = certificate_key(case.id, cert.sha256)  # type: ignore[arg-type]
        await put_bytes(self.storage, cert.blob_key, pdf)
        step.session.add(cert)
        append_event(
            step.session,
            case,
            step.actor,
            "certificate.issued",
            {"code": cert.code, "sha256": cert.sha256, "valid_until": cert.valid_until},
            at=now,
        )


async def find_certificate(session: AsyncSession, code: str) -> Certificate | None:
    rows = await session.exec(select(Certificate).where(Certificate.code == code))
    return rows.first()


async def certificates_of(session: AsyncSession, case_id: int) -> list[Certificate]:
    rows = await session.exec(select(Certificate).where(Certificate.case_id == case_id))
    return list(rows.all())


async def revoke(
    session: AsyncSession, code: str, reason: str, *, actor: Actor, staff_id: int | None
) -> Certificate:
    cert = await find_certificate(session, code)
    if cert is None:
        raise NotFound(f"No certificate {code}.", zh=f"没有编号为 {code} 的证照。")
    case = await lock_case(session, cert.case_id)
    if cert.revoked_at is not None:
        raise Conflict(f"Certificate {code} was already revoked.", zh=f"证照 {code} 已被撤销。")
    cert.revoked_at, cert.revoked_by, cert.revoke_reason = session_now(session), staff_id, reason
    session.add(cert)
    case.updated_at = cert.revoked_at
    append_event(session, case, actor, "certificate.revoked", {"code": code, "reason": reason})
    return cert


def public_view(cert: Certificate | None, code: str, now: datetime) -> dict[str, Any]:
    """What ``/verify/<code>`` may show: the certificate's own face, and its status."""
    if cert is None:
        return {"status": "unknown", "code": code}
    status = "revoked" if cert.revoked_at else "valid"
    if status == "valid" and cert.valid_until and cert.valid_until < now:
        status = "expired"
    return {
        "status": status,
        "code": cert.code,
        "title_zh": cert.title_zh,
        "title_en": cert.title_en,
        "holder": cert.holder,
        "premises_address": cert.premises_address,
        "reference": cert.reference,
        "issued_at": cert.issued_at,
        "valid_until": cert.valid_until,
        "revoked_at": cert.revoked_at,
        "sha256": cert.sha256,
    }
