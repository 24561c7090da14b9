"""Run every bench and write ``bench/out/summary.md``: one table, a row per result line, with
the load average before and after each bench (the README's performance section is copied from
it).

A bench's result lines are those starting with its own name (``api: …``, ``live: …``); its
``load: before …`` and ``load: after …`` lines (``bench/header.py``) give the load columns.
A bench that fails is a row saying so, with the tail of its output; the others still run.

    .venv/bin/python bench/summary.py [api live …] [-- extra arguments for every bench]
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SKIP = {"summary.py", "header.py"}
TIMEOUT_S = 1800


def benches(names: list[str]) -> list[Path]:
    found = sorted(p for p in HERE.glob("*.py") if p.name not in SKIP)
    return [p for p in found if not names or p.stem in names]


def load_of(output: str, when: str) -> str:
    match = re.search(rf"^load: {when} ([\d.]+ [\d.]+ [\d.]+)", output, re.MULTILINE)
    return match[1] if match else "?"


def run(path: Path, extra: list[str]) -> tuple[list[str], str, str, str]:
    """(result lines, load before, load after, failure or "")."""
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, str(path), *extra],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return [], "?", "?", f"timed out after {TIMEOUT_S} s"
    output = done.stdout
    sys.stdout.write(output)
    sys.stdout.flush()
    lines = [ln.strip() for ln in output.splitlines() if ln.startswith(f"{path.stem}:")]
    failure = ""
    if done.returncode != 0:
        tail = (done.stderr or output).strip().splitlines()[-1:] or ["no output"]
        failure = f"exit {done.returncode}: {tail[0][:200]}"
    elif not lines:
        failure = "no result line"
    print(f"== {path.name}: {time.monotonic() - started:.0f} s", flush=True)
    return lines, load_of(output, "before"), load_of(output, "after"), failure


def main() -> int:
    args = sys.argv[1:]
    extra: list[str] = []
    if "--" in args:
        at = args.index("--")
        args, extra = args[:at], args[at + 1 :]
    rows = []
    for path in benches(args):
        print(f"== {path.name}", flush=True)
        lines, before, after, failure = run(path, extra)
        for line in lines or [""]:
            result = line or f"**failed**: {failure}"
            if line and failure:
                result += f" (**failed**: {failure})"
            rows.append(f"| {path.stem} | {result.replace('|', '/')} | {before} | {after} |")
    out = HERE / "out" / "summary.md"
    out.parent.mkdir(exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    out.write_text(
        f"Benches run {stamp} on {_cores()} cores (load average: 1, 5, 15 min).\n\n"
        "| bench | result | load before | load after |\n|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n"
    )
    print(out.read_text())
    return 1 if any("**failed**" in r for r in rows) else 0


def _cores() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main())
