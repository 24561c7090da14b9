"""Finding a font that can write Chinese, for flattened images and PDFs.

Labels and reports are written in Chinese, which the fonts bundled with Pillow and fpdf2 cannot
draw. We look for Noto Sans CJK (Debian ``fonts-noto-cjk``; the Makefile's system-deps step
installs it) or WenQuanYi Micro Hei: first a configured path, then ``fc-match``, then the
paths Debian and other distributions use. Without one we log a clear warning once and fall back
to a Latin font, so the service still runs but Chinese text renders as empty boxes.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageFont

log = logging.getLogger("zerotrip.review.fonts")

# (path, face index of Simplified Chinese in the collection)
KNOWN_CJK = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc", 0),
)
KNOWN_LATIN = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)
NOTO_SC_INDEX = 2
NOTO_FACES = {"zh": 2, "en": 2, "ja": 0, "ko": 1}


@dataclass(frozen=True)
class FontChoice:
    path: str | None  # None: Pillow's built-in bitmap-free default
    index: int
    cjk: bool

    @property
    def is_collection(self) -> bool:
        return bool(self.path and self.path.lower().endswith(".ttc"))


def _fc_match(pattern: str) -> tuple[str, int] | None:
    if shutil.which("fc-match") is None:
        return None
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}\n%{index}\n", pattern],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return None
    if len(out) < 2 or not out[0] or not Path(out[0]).is_file():
        return None
    return out[0], int(out[1]) if out[1].isdigit() else 0


def _covers_chinese(path: str, index: int) -> bool:
    try:
        font = ImageFont.truetype(path, 24, index=index)
    except OSError:
        return False
    box = font.getbbox("检查")
    return box[2] - box[0] > 20  # a missing glyph would be a narrow box or nothing


def find_font(configured: str = "") -> FontChoice:
    """The CJK font to use: ``configured`` (``Settings.cjk_font``, optionally
    ``path#face-index``) before searching; a Latin fallback with a warning when there is none.

    The answer depends only on ``configured`` and the installed fonts, so it is memoised; each
    service asks once with its own setting and hands the choice to what renders.
    """
    return _find(configured)


@functools.cache
def _find(configured: str) -> FontChoice:
    candidates: list[tuple[str, int]] = []
    if configured:
        path, _, idx = configured.partition("#")
        candidates.append((path, int(idx) if idx.isdigit() else NOTO_SC_INDEX))
    found = _fc_match("Noto Sans CJK SC:lang=zh-cn")
    if found:
        candidates.append(found)
    candidates.extend(KNOWN_CJK)
    for path, index in candidates:
        if Path(path).is_file() and _covers_chinese(path, index):
            return FontChoice(path, index, True)
    latin = next((p for p in KNOWN_LATIN if Path(p).is_file()), None)
    log.warning(
        "No Chinese-capable font found (looked at %s and fc-match); Chinese labels and reports "
        "will show empty boxes. Install fonts-noto-cjk (scripts/install-system-deps) or set "
        "ZEROTRIP_CJK_FONT.",
        ", ".join(p for p, _ in candidates),
    )
    return FontChoice(latin, 0, False)


@functools.lru_cache(maxsize=64)
def pillow_font(choice: FontChoice, size: int, lang: str = "zh") -> ImageFont.FreeTypeFont:
    """A sized font; loading costs 0.1-0.5 ms, so sizes are cached."""
    if choice.path is None:
        return ImageFont.load_default(size)  # type: ignore[return-value]
    index = NOTO_FACES.get(lang, choice.index) if "NotoSansCJK" in choice.path else choice.index
    return ImageFont.truetype(choice.path, max(6, size), index=index)
