"""The matters catalogue: which permits the office handles, their limits, materials and checklists.

Shipped as YAML beside this module and validated on load, so a malformed catalogue stops the
service at start-up instead of surfacing as odd case data later.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

CATALOGUE_PATH = Path(__file__).with_name("matters.yaml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MaterialItem(_Strict):
    code: str
    name_zh: str
    name_en: str
    required: bool = True
    critical: bool = False
    paper_original: bool = False


class ChecklistItem(_Strict):
    code: str
    title_zh: str
    title_en: str
    guidance_zh: str = ""
    guidance_en: str = ""
    restricted: bool = False


class Matter(_Strict):
    code: str
    name_zh: str
    name_en: str
    time_limit_working_days: int = Field(gt=0, le=365)
    inspection: str = "required"
    certificate_title_zh: str
    certificate_title_en: str
    materials: tuple[MaterialItem, ...]
    checklist: tuple[ChecklistItem, ...]

    @property
    def needs_paper_originals(self) -> bool:
        return any(m.paper_original for m in self.materials)


class Catalogue(_Strict):
    version: str
    matters: tuple[Matter, ...]

    def get(self, code: str) -> Matter | None:
        return next((m for m in self.matters if m.code == code), None)


@functools.cache
def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["version"] = str(data["version"])
    catalogue = Catalogue.model_validate(data)
    codes = [m.code for m in catalogue.matters]
    if len(codes) != len(set(codes)):
        raise ValueError(f"duplicate matter codes in {path}")
    return catalogue
