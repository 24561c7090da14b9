"""The command line: only ``migrate`` and ``serve`` change the schema; configuration errors are
one clear line, not a traceback."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


def _zerotrip(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "ZEROTRIP_DATA_DIR": str(tmp_path),
        **{f"ZEROTRIP_{k.upper()}": v for k, v in settings.items()},
    }
    return subprocess.run(
        [sys.executable, "-m", "zerotrip", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _tables(tmp_path: Path) -> set[str]:
    path = tmp_path / "zerotrip.db"
    if not path.exists():
        return set()
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


@pytest.mark.parametrize(
    "command",
    [
        ("audit", "verify"),
        ("bundle", "export", "1"),
        ("dashboard", "rebuild"),
        ("user", "add", "x", "--name", "X", "--role", "clerk", "--password", "p" * 12),
        ("serve", "--no-migrate"),
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_commands_other_than_migrate_never_migrate(tmp_path: Path, command: tuple[str, ...]):
    result = _zerotrip(tmp_path, *command)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "zerotrip migrate" in result.stdout
    assert "alembic_version" not in _tables(tmp_path)


def test_migrate_then_a_read_only_command_runs(tmp_path: Path) -> None:
    assert _zerotrip(tmp_path, "migrate").returncode == 0
    before = (tmp_path / "zerotrip.db").stat().st_size
    result = _zerotrip(tmp_path, "audit", "verify")
    assert result.returncode == 0, result.stderr
    assert "0 cases checked" in result.stdout
    assert (tmp_path / "zerotrip.db").stat().st_size == before


def test_a_misspelt_setting_stops_every_command_with_its_name(tmp_path: Path) -> None:
    result = _zerotrip(tmp_path, "migrate", cookie_secrue="true")
    assert result.returncode == 2
    assert "ZEROTRIP_COOKIE_SECRUE" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "zerotrip.db").exists()


def test_serve_rejects_an_unknown_role(tmp_path: Path) -> None:
    result = _zerotrip(tmp_path, "serve", "--role", "janitor")
    assert result.returncode == 2 and "janitor" in result.stderr
