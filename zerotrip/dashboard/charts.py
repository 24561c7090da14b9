"""Charts drawn by the server as SVG: no script, no CDN, and they print and embed anywhere.

One bar-chart drawer serves every chart; each chart function only picks categories, series and
labels (Chinese and English) from the figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from zerotrip.ratings.models import LEVEL_ZH, RatingLevel

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 44, 56
FONT = "'Noto Sans CJK SC','Noto Sans SC','Microsoft YaHei',sans-serif"
BLUE, GREEN, ORANGE, RED, GREY = "#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#94a3b8"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    color: str


def _nice_step(value: float, whole: bool) -> float:
    """A tick step of 1, 2 or 5 times a power of ten covering ``value`` (at least 1 for counts)."""
    if value <= 0:
        return 1.0
    scale = 10.0 ** math.floor(math.log10(value))
    step = next(m * scale for m in (1, 2, 5, 10) if m * scale >= value)
    return max(step, 1.0) if whole else step


def _el(tag: str, text: str | None = None, **attrs: Any) -> str:
    """One SVG element; attribute names use ``_`` for ``-`` and every value is quoted."""
    attr = "".join(
        f" {k.rstrip('_').replace('_', '-')}={quoteattr(str(v))}" for k, v in attrs.items()
    )
    return f"<{tag}{attr}/>" if text is None else f"<{tag}{attr}>{text}</{tag}>"


def text_width(text: str, size: float = 12) -> float:
    """Roughly how wide ``text`` is drawn: CJK characters a full em, the rest about 0.6 em."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in text)


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    marker: tuple[float, str] | None = None,
    label_every: int = 1,
    sub_labels: Sequence[str] = (),
) -> str:
    """Grouped vertical bars; ``marker`` draws a dashed vertical line at a category position.

    Category labels never overlap: when they are wider than a category's slot only every
    n-th is written. ``sub_labels`` are a second line under some categories (a year)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h
    values = [v for s in series for v in s.values]
    step = _nice_step(max(values, default=0) / 4, all(float(v).is_integer() for v in values))
    top = step * 4
    slot = plot_w / max(1, len(categories))
    # A bilingual label too wide for its slot goes on two lines (Chinese, then English).
    wrap = not sub_labels and any(" " in c and text_width(c) + 8 > slot for c in categories)
    lines = [c.split(" ", 1) if wrap else [c] for c in categories]
    widest = max((text_width(part) for parts in lines for part in parts), default=0) + 8
    label_every = max(label_every, math.ceil(widest / slot))
    bar_w = max(1.0, slot * 0.8 / max(1, len(series)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label={quoteattr(title)} '
        f'font-family="{FONT}" font-size="12">',
        _el("rect", width=WIDTH, height=HEIGHT, fill="#fff"),
        _el("text", escape(title), x=LEFT, y=20, font_size=14, font_weight="bold"),
    ]
    for i in range(5):
        value, y = step * i, f"{base - plot_h * i / 4:.1f}"
        label = f"{value:g}"
        parts.append(_el("line", x1=LEFT, x2=WIDTH - RIGHT, y1=y, y2=y, stroke="#e5e7eb"))
        parts.append(
            _el("text", label, x=LEFT - 6, y=float(y) + 4, text_anchor="end", fill="#475569")
        )
    for ci, cat in enumerate(categories):
        x0 = LEFT + slot * ci + slot * 0.1
        for si, s in enumerate(series):
            value = s.values[ci] if ci < len(s.values) else 0
            h = plot_h * value / top
            tip = _el("title", escape(f"{s.name} {cat}: {value:g}"))
            box = {"x": f"{x0 + si * bar_w:.1f}", "y": f"{base - h:.1f}"}
            parts.append(
                _el("rect", tip, **box, width=f"{bar_w:.1f}", height=f"{h:.1f}", fill=s.color)
            )
        cx = f"{LEFT + slot * (ci + 0.5):.1f}"
        if ci % label_every == 0:
            for li, part in enumerate(lines[ci]):
                y = base + 16 + 14 * li
                parts.append(
                    _el("text", escape(part), x=cx, y=y, text_anchor="middle", fill="#334155")
                )
        if ci < len(sub_labels) and sub_labels[ci]:
            parts.append(
                _el("text", escape(sub_labels[ci]), x=cx, y=base + 30, text_anchor="middle")
            )
    if marker is not None:
        pos, text = marker
        mx = f"{LEFT + slot * pos:.1f}"
        # The label sits right of the line, or left of it when it would run off the chart.
        fits = float(mx) + 4 + text_width(text) <= WIDTH - RIGHT
        label = {"x": float(mx) + (4 if fits else -4), "text_anchor": "start" if fits else "end"}
        parts.append(
            _el("line", x1=mx, x2=mx, y1=TOP, y2=base, stroke=RED, stroke_dasharray="5 3")
            + _el("text", escape(text), y=TOP + 12, fill=RED, **label)
        )
    lx = LEFT
    for s in series:
        parts.append(_el("rect", x=lx, y=HEIGHT - 18, width=12, height=12, fill=s.color))
        parts.append(_el("text", escape(s.name), x=lx + 16, y=HEIGHT - 8))
        lx += 32 + 7 * len(s.name) + 6 * sum(1 for ch in s.name if ord(ch) > 0x2E80)
    parts.append(_el("line", x1=LEFT, x2=WIDTH - RIGHT, y1=base, y2=base, stroke="#64748b"))
    return "".join(parts) + "</svg>"


def months_chart(fig: dict[str, Any]) -> str:
    """Months as "1月" … "12月", the year written once under its first month in the chart."""
    months = fig["months"]
    years = [m["month"][:4] for m in months]
    return bar_chart(
        "受理与办结 · Received and closed per month",
        [f"{int(m['month'][5:7])}月" for m in months],
        [
            Series("受理 received", [m["received"] for m in months], BLUE),
            Series("办结 closed", [m["closed"] for m in months], GREEN),
        ],
        sub_labels=[y if i == 0 or years[i - 1] != y else "" for i, y in enumerate(years)],
    )


def handling_chart(fig: dict[str, Any]) -> str:
    hd = fig["handling_days"]
    counts = dict(hd["histogram"])
    limit = hd["statutory_limit"]
    last = max([*counts, int(limit or 0)], default=0)
    days = list(range(0, last + 2))
    marker = None
    if limit is not None:
        marker = (limit + 1, f"法定时限 limit {limit:g}")
    return bar_chart(
        "办理用时（工作日）· Handling time, working days",
        [str(d) for d in days],
        [Series("件数 cases", [counts.get(d, 0) for d in days], BLUE)],
        marker=marker,
        label_every=max(1, len(days) // 16),
    )


LEVEL_COLORS = {
    RatingLevel.very_satisfied: GREEN,
    RatingLevel.satisfied: "#65a30d",
    RatingLevel.basically_satisfied: ORANGE,
    RatingLevel.dissatisfied: "#ea580c",
    RatingLevel.very_dissatisfied: RED,
}


def ratings_chart(fig: dict[str, Any]) -> str:
    dist = fig["ratings"]["distribution"]
    levels = list(RatingLevel)
    return bar_chart(
        "好差评 · Ratings",
        [LEVEL_ZH[lv] for lv in levels],
        [Series("评价数 ratings", [dist[lv.value] for lv in levels], BLUE)],
    )


def inspections_chart(fig: dict[str, Any]) -> str:
    ins, courier = fig["inspections"], fig["courier"]
    return bar_chart(
        "踏勘方式与邮寄 · Inspections and courier",
        ["照片 photo", "视频 live", "快递单 courier orders", "无需到场 no visit"],
        [
            Series(
                "件数 count",
                [ins["photo"], ins["live"], courier["orders"], fig["without_visit"]["count"]],
                BLUE,
            )
        ],
    )


CHARTS = {
    "months": months_chart,
    "handling": handling_chart,
    "ratings": ratings_chart,
    "inspections": inspections_chart,
}
