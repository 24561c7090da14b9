"""What applicants are told at each step, in Chinese and English, with their case link.

Templates are filled when the message is queued (in the step's transaction, from the step's own
audit payload); ``{link}`` stays in the stored text and is filled only when sending, because the
link carries a credential that is never stored (see :mod:`zerotrip.notify.links`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Template:
    subject_zh: str
    subject_en: str
    body_zh: str
    body_en: str


TEMPLATES: dict[str, Template] = {
    "prereview.accepted": Template(
        "您的申请已受理（{reference}）",
        "Your application is accepted ({reference})",
        "{matter_zh}申请已受理，法定办结期限 {deadline}。{outstanding_zh}",
        "Your {matter_en} application is accepted; the statutory deadline is {deadline}."
        "{outstanding_en}",
    ),
    "prereview.returned": Template(
        "您的申请需要补正（{reference}）",
        "Your application needs corrections ({reference})",
        "{matter_zh}申请被退回补正，原因：{reasons}。请修改后重新提交。",
        "Your {matter_en} application was returned for correction: {reasons}. "
        "Please correct it and resubmit.",
    ),
    "courier.pickup": Template(
        "快递员将上门收取材料（{reference}）",
        "A courier will collect your documents ({reference})",
        "快递员将于 {window} 上门收取纸质材料，请提前准备好。",
        "A courier will collect the paper documents {window}. Please have them ready.",
    ),
    "inspection.booked": Template(
        "远程踏勘已预约（{reference}）",
        "Remote inspection booked ({reference})",
        "远程视频踏勘安排在 {when}，届时请用手机打开链接并在经营场所等候。",
        "Your remote video inspection is booked for {when}. Open the link on your phone at "
        "the premises at that time.",
    ),
    "inspection.reminder": Template(
        "踏勘提醒（{reference}）",
        "Inspection reminder ({reference})",
        "提醒：远程视频踏勘将于 {when} 开始。",
        "Reminder: your remote video inspection starts {when}.",
    ),
    "inspection.rectify": Template(
        "请按要求整改（{reference}）",
        "Rectification requested ({reference})",
        "踏勘发现需要整改的问题：{comment}。整改完成后请在办件页面提交。",
        "The inspection asks you to rectify: {comment}. When done, report it on your case page.",
    ),
    "certificate.issued": Template(
        "许可证已制证（{reference}）",
        "Your certificate is issued ({reference})",
        "{certificate_zh}已制证，将按您选择的方式送达。",
        "Your {certificate_en} is issued and will be delivered as you chose.",
    ),
    "delivery.handed_over": Template(
        "许可证已送达（{reference}）",
        "Your certificate was delivered ({reference})",
        "许可证已送达（{method_zh}）。欢迎对本次服务进行评价。",
        "Your certificate was delivered ({method_en}). Please rate our service.",
    ),
    "material.reminder": Template(
        "请按期补交材料（{reference}）",
        "Outstanding material due ({reference})",
        "提醒：容缺受理的“{material_zh}”请于 {due} 前补交，可在办件页面上传文件或随快递寄送原件。",
        "Reminder: the outstanding {material_en} is due by {due}. Upload it on your case page "
        "or send the paper with the courier.",
    ),
    "material.rejected": Template(
        "补交的材料未通过（{reference}）",
        "A handed-in material was not accepted ({reference})",
        "您补交的“{material_zh}”未通过，原因：{reason}。请在 {due} 前重新补交。",
        "The {material_en} you handed in was not accepted: {reason}. "
        "Please hand it in again by {due}.",
    ),
}

LINK_LINE = {"zh": "办件进度：{link}", "en": "Your case: {link}"}
LANGUAGES = ("zh", "en")


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "—"


def render(topic: str, params: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The message in each language: ``{"zh": {"subject", "body"}, "en": ...}``; each body ends
    with the ``{link}`` placeholder line. One language per message: the recipient reads theirs
    alone, not a Chinese sentence with its English beside it."""
    t = TEMPLATES[topic]
    p = _Blank(params)
    return {
        "zh": {
            "subject": t.subject_zh.format_map(p),
            "body": f"{t.body_zh.format_map(p)}\n\n{LINK_LINE['zh']}",
        },
        "en": {
            "subject": t.subject_en.format_map(p),
            "body": f"{t.body_en.format_map(p)}\n\n{LINK_LINE['en']}",
        },
    }


def outstanding_lines(
    outstanding: list[dict[str, Any]], names: dict[str, tuple[str, str]]
) -> dict[str, str]:
    """The 容缺 sentence: which materials are still due, and by when."""
    if not outstanding:
        return {"outstanding_zh": "", "outstanding_en": ""}
    zh = "；".join(
        f"{names.get(o['code'], (o['code'],) * 2)[0]}（{o['due_date']} 前）" for o in outstanding
    )
    en = "; ".join(
        f"{names.get(o['code'], (o['code'],) * 2)[1]} by {o['due_date']}" for o in outstanding
    )
    return {
        "outstanding_zh": f"容缺受理，请在期限内补交：{zh}。",
        "outstanding_en": f" Still to send (accepted as outstanding): {en}.",
    }
