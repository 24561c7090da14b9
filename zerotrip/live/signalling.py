"""The WebSocket protocol of a live session: which messages each role may send, and their
shapes. A message that is not JSON, too large, of an unknown type, of the other role, or badly
shaped becomes a Problem that the socket answers with an ``error`` message (it never kills the
session)."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zerotrip.problems import Forbidden, InvalidInput, MalformedBody, TooLarge

APPLICANT = "applicant"
INSPECTOR = "inspector"
GUEST = "guest"  # a second party: a supervisor, or an outside expert invited by link
# How the live page names each side, for problems that mention one.
ROLE_NAMES_ZH = {APPLICANT: "申请人", INSPECTOR: "检查员", GUEST: "第三方"}


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    id: str | None = Field(default=None, max_length=64)  # echoed back in the reply


class Offer(Message):
    sdp: str = Field(min_length=1)


class Fix(Message):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy: float = Field(ge=0, le=100_000)


class Capabilities(Message):
    switch_camera: bool = False
    torch: bool = False
    zoom: dict[str, float] | None = None  # {"min", "max", "step"}
    take_photo: bool = False
    facing: str = Field(default="", max_length=16)


class Prompt(Message):
    text: str = Field(min_length=1, max_length=300)


class PromptShown(Message):
    prompt_id: str = Field(max_length=64)


class Control(Message):
    action: Literal["switch_camera", "torch", "zoom"]
    value: float | bool | None = None


class ControlResult(Message):
    action: str = Field(max_length=32)
    ok: bool
    detail: str = Field(default="", max_length=300)
    value: float | bool | str | None = None


class Capture(Message):
    checkpoint_id: int = Field(ge=1)


class PhotoRequest(Message):
    checkpoint_id: int = Field(ge=1)


class PhotoUploaded(Message):
    checkpoint_id: int = Field(ge=1)
    evidence_id: int = Field(ge=1)


class ChallengeResult(Message):
    challenge_id: int = Field(ge=1)
    shown: bool


class Pointer(Message):
    """Where the inspector points on the live video, in fractions of the frame (0..1): a
    circle around (x, y), or an arrow from (x, y) to (x2, y2)."""

    shape: Literal["circle", "arrow"]
    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)
    x2: float | None = Field(default=None, ge=0, le=1)
    y2: float | None = Field(default=None, ge=0, le=1)


class Consent(Message):
    """The applicant accepted the recording notice (before the camera starts)."""

    accepted: Literal[True]
    notice: str = Field(default="", max_length=64)  # which wording was shown


class Stats(Message):
    stats: dict[str, float | int | str | None]


class Probe(Message):
    """One part of the phone's upload probe while its video is paused (see
    :mod:`zerotrip.live.stepdown`): the server times the parts' arrival."""

    probe: int = Field(ge=0)
    part: int = Field(ge=0, le=63)
    parts: int = Field(ge=2, le=64)
    pad: str = Field(default="", max_length=16 * 1024)


class Bare(Message):
    pass


# type -> (roles allowed to send it, shape)
PROTOCOL: dict[str, tuple[frozenset[str], type[Message]]] = {
    "offer": (frozenset({APPLICANT, INSPECTOR, GUEST}), Offer),
    "stats": (frozenset({APPLICANT, INSPECTOR, GUEST}), Stats),
    "ping": (frozenset({APPLICANT, INSPECTOR, GUEST}), Bare),
    "leave": (frozenset({APPLICANT, INSPECTOR, GUEST}), Bare),
    "fix": (frozenset({APPLICANT}), Fix),
    "capabilities": (frozenset({APPLICANT}), Capabilities),
    "prompt_shown": (frozenset({APPLICANT}), PromptShown),
    "control_result": (frozenset({APPLICANT}), ControlResult),
    "photo_uploaded": (frozenset({APPLICANT}), PhotoUploaded),
    "consent": (frozenset({APPLICANT}), Consent),
    "probe": (frozenset({APPLICANT}), Probe),
    "pointer": (frozenset({INSPECTOR}), Pointer),
    "prompt": (frozenset({INSPECTOR, GUEST}), Prompt),
    "control": (frozenset({INSPECTOR}), Control),
    "capture": (frozenset({INSPECTOR}), Capture),
    "photo_request": (frozenset({INSPECTOR}), PhotoRequest),
    "challenge": (frozenset({INSPECTOR}), Bare),
    "challenge_result": (frozenset({INSPECTOR}), ChallengeResult),
    "end": (frozenset({INSPECTOR}), Bare),
}


def parse(role: str, raw: str, max_bytes: int) -> Message:
    if len(raw) > max_bytes:
        raise TooLarge(
            f"A message may be at most {max_bytes} bytes.", zh=f"消息不能超过 {max_bytes} 字节。"
        )
    try:
        data: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise MalformedBody(
            f"The message is not valid JSON ({exc}).", zh=f"消息不是有效的 JSON（{exc}）。"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise InvalidInput(
            "A message is a JSON object with a string 'type'.",
            zh="消息须为带有字符串 'type' 的 JSON 对象。",
        )
    entry = PROTOCOL.get(data["type"])
    if entry is None:
        raise InvalidInput(
            f"Unknown message type {data['type'][:32]!r}.",
            zh=f"未知的消息类型 {data['type'][:32]}。",
        )
    roles, shape = entry
    if role not in roles:
        raise Forbidden(
            f"The {role} cannot send {data['type']!r} messages.",
            zh=f"{ROLE_NAMES_ZH.get(role, role)}不能发送 {data['type']} 消息。",
        )
    try:
        return shape.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(p) for p in first["loc"]) or "(message)"
        raise InvalidInput(
            f"{data['type']}: {field}: {first['msg']}",
            zh=f"{data['type']} 消息的字段 {field} 不符合要求。",
        ) from None


def message_id(raw: str) -> str | None:
    """Best effort: the ``id`` of a message that failed to parse, so the error can echo it."""
    try:
        data = json.loads(raw) if len(raw) < 1_000_000 else None
    except json.JSONDecodeError:
        return None
    ident = data.get("id") if isinstance(data, dict) else None
    return ident if isinstance(ident, str) and len(ident) <= 64 else None
