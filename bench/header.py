"""What every bench prints around its figures, so a figure can be trusted or discounted.

* ``load: before 1m 5m 15m`` and ``load: after …`` (``os.getloadavg()``) on their own lines: a
  figure taken while other work loaded the machine says so itself. ``bench/summary.py`` reads
  these lines into ``bench/out/summary.md``.
* :func:`ratio` refuses to compare with a baseline that failed (crashed, errors, nothing
  measured): it says why instead of printing a number nobody measured.

Benches run as scripts (``python bench/x.py``), so this is imported as ``from header import …``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def print_load(when: str) -> None:
    print(f"load: {when} {load_average()} (1, 5, 15 min; {os.cpu_count()} cores)", flush=True)


@contextlib.contextmanager
def loaded() -> Iterator[None]:
    """Print the load average before the block and after it (also when it fails)."""
    print_load("before")
    try:
        yield
    finally:
        print_load("after")


class BaselineFailed(Exception):
    """The reference measurement did not produce a figure; no ratio may be printed."""


def ratio(value: float, baseline: float | None, *, failed: str | None = None) -> float:
    """``value / baseline``, or :class:`BaselineFailed` when the baseline is missing, zero or
    was marked failed (``failed`` says how)."""
    if failed:
        raise BaselineFailed(failed)
    if baseline is None or baseline <= 0:
        raise BaselineFailed("the baseline measured nothing")
    return value / baseline


def ratio_text(value: float, baseline: float | None, fmt: str, *, failed: str | None = None) -> str:
    """``fmt`` filled with the ratio, or ``n/a (baseline failed: …)``."""
    try:
        return fmt.format(ratio(value, baseline, failed=failed))
    except BaselineFailed as exc:
        return f"n/a (baseline failed: {exc})"
