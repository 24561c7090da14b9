"""Annotation documents: what an inspector may draw, checked strictly, stored as Web Annotations.

The editor sends a list of items, each with an ``x-shape`` (the geometry, in fractions 0..1 of
the correctly oriented image), an ``x-style`` and optionally a comment. That geometry is the
authoritative form the renderer uses; this module also writes the W3C Web Annotation selector
for it (``FragmentSelector`` ``xywh=percent:`` for boxes, ``SvgSelector`` for the rest) so other
tools can read the page. Limits keep a document small enough to render quickly: at most
``MAX_ITEMS`` shapes, ``MAX_POINTS`` points per freehand line, ``MAX_TEXT`` characters of text.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from zerotrip.kit.canonical import canonical_json

MAX_ITEMS = 200
MAX_POINTS = 2000
MAX_TEXT = 500
W3C_CONTEXT = "http://www.w3.org/ns/anno.jsonld"
MEDIA_FRAGS = "http://www.w3.org/TR/media-frags/"

Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Size = Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Box(_Strict):
    """A rectangle, an ellipse inscribed in the box, or a region to blur."""

    type: Literal["rect", "ellipse", "blur"]
    x: Fraction
    y: Fraction
    w: Size
    h: Size

    @model_validator(mode="after")
    def _inside(self) -> Box:
        if self.x + self.w > 1.000001 or self.y + self.h > 1.000001:
            raise ValueError("the box reaches outside the image")
        return self


class Arrow(_Strict):
    type: Literal["arrow"]
    x1: Fraction
    y1: Fraction
    x2: Fraction
    y2: Fraction


class Freehand(_Strict):
    type: Literal["freehand"]
    points: list[tuple[Fraction, Fraction]] = Field(min_length=2, max_length=MAX_POINTS)


class Label(_Strict):
    """A text label; ``x, y`` is its top-left corner, ``size`` its height as a fraction."""

    type: Literal["text"]
    x: Fraction
    y: Fraction
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    lang: Literal["zh", "en"] = "zh"
    size: float = Field(default=0.04, ge=0.01, le=0.2, allow_inf_nan=False)


Shape = Annotated[Box | Arrow | Freehand | Label, Field(discriminator="type")]


class Style(_Strict):
    stroke: str = Field(default="#e53935", pattern=r"^#[0-9a-fA-F]{6}$")
    width: float = Field(default=4.0, ge=1.0, le=40.0, allow_inf_nan=False)


class Item(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:#-]+$")
    shape: Shape = Field(alias="x-shape")
    style: Style = Field(default_factory=Style, alias="x-style")
    comment: str = Field(default="", max_length=MAX_TEXT)


class AnnotationInput(BaseModel):
    """The body of a save: the whole set of shapes, and the version it was edited from."""

    model_config = ConfigDict(extra="forbid")

    base_version: int = Field(ge=0)
    items: list[Item] = Field(max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def _unique_ids(self) -> AnnotationInput:
        ids = [i.id for i in self.items]
        if len(ids) != len(set(ids)):
            raise ValueError("every item needs its own id")
        return self


def _pct(v: float) -> str:
    return f"{v * 100:.4g}"


def selector(shape: Box | Arrow | Freehand | Label) -> dict[str, Any]:
    """The W3C selector for a shape, in percent of the oriented image."""
    if isinstance(shape, Box) and shape.type != "ellipse":
        value = f"xywh=percent:{_pct(shape.x)},{_pct(shape.y)},{_pct(shape.w)},{_pct(shape.h)}"
        return {"type": "FragmentSelector", "conformsTo": MEDIA_FRAGS, "value": value}
    if isinstance(shape, Box):
        cx, cy = _pct(shape.x + shape.w / 2), _pct(shape.y + shape.h / 2)
        svg = f"<ellipse cx='{cx}' cy='{cy}' rx='{_pct(shape.w / 2)}' ry='{_pct(shape.h / 2)}'/>"
    elif isinstance(shape, Arrow):
        svg = (
            f"<line x1='{_pct(shape.x1)}' y1='{_pct(shape.y1)}' "
            f"x2='{_pct(shape.x2)}' y2='{_pct(shape.y2)}'/>"
        )
    elif isinstance(shape, Freehand):
        pts = " ".join(f"{_pct(x)},{_pct(y)}" for x, y in shape.points)
        svg = f"<polyline points='{pts}'/>"
    else:
        svg = f"<circle cx='{_pct(shape.x)}' cy='{_pct(shape.y)}' r='0'/>"
    return {
        "type": "SvgSelector",
        "value": f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 100 100'>{svg}</svg>",
    }


def to_document(items: list[Item], *, source: str, sha256: str) -> dict[str, Any]:
    """An ``AnnotationPage`` of Web Annotations targeting the original with hash ``sha256``."""
    annotations = []
    for item in items:
        shape = item.shape
        bodies: list[dict[str, Any]] = []
        if isinstance(shape, Label):
            bodies.append(
                {
                    "type": "TextualBody",
                    "value": shape.text,
                    "language": shape.lang,
                    "purpose": "describing",
                }
            )
        if item.comment:
            bodies.append({"type": "TextualBody", "value": item.comment, "purpose": "commenting"})
        annotations.append(
            {
                "id": item.id,
                "type": "Annotation",
                "motivation": "commenting" if bodies else "highlighting",
                "body": bodies,
                "target": {"source": source, "sha256": sha256, "selector": selector(shape)},
                "x-shape": shape.model_dump(),
                "x-style": item.style.model_dump(),
            }
        )
    return {
        "@context": W3C_CONTEXT,
        "type": "AnnotationPage",
        "x-coordinates": "fractions of the oriented image",
        "items": annotations,
    }


def document_hash(document: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def shapes_of(document: dict[str, Any]) -> list[tuple[Box | Arrow | Freehand | Label, Style]]:
    """Re-read a stored document into typed shapes (it was validated when saved)."""
    out = []
    for item in document.get("items", []):
        parsed = Item.model_validate(
            {"id": item["id"], "x-shape": item["x-shape"], "x-style": item.get("x-style", {})}
        )
        out.append((parsed.shape, parsed.style))
    return out
