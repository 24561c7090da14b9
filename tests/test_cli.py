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
        ("user", "add", "x", "--name", "X", "--role", "clerk"),
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


def _account(tmp_path: Path, username: str) -> tuple[str, int]:
    with sqlite3.connect(tmp_path / "zerotrip.db") as conn:
        row = conn.execute(
            "SELECT password_hash, must_change_password FROM staff_users WHERE username = ?",
            (username,),
        ).fetchone()
    return row[0], row[1]


def test_user_add_never_takes_a_password_on_the_command_line(tmp_path: Path) -> None:
    """The first password comes from standard input or is made up and handed over in a 0600
    file; either way the account must change it at its first sign-in."""
    from argon2 import PasswordHasher

    assert _zerotrip(tmp_path, "migrate").returncode == 0
    made_up = _zerotrip(tmp_path, "user", "add", "li", "--name", "李四", "--role", "inspector")
    assert made_up.returncode == 0, made_up.stderr
    handed = tmp_path / "one-time-password-li"
    assert str(handed.resolve()) in made_up.stdout
    assert handed.stat().st_mode & 0o777 == 0o600
    password = handed.read_text().strip()
    assert password not in made_up.stdout and len(password) >= 12
    digest, must_change = _account(tmp_path, "li")
    assert PasswordHasher().verify(digest, password) and must_change == 1

    chosen = "correct horse battery staple 42"
    env_args = ("user", "add", "zhao", "--name", "赵六", "--role", "clerk", "--password-stdin")
    typed = subprocess.run(
        [sys.executable, "-m", "zerotrip", *env_args],
        input=chosen + "\n",
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
             "ZEROTRIP_DATA_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert typed.returncode == 0, typed.stderr
    assert chosen not in typed.stdout and not (tmp_path / "one-time-password-zhao").exists()
    digest, must_change = _account(tmp_path, "zhao")
    assert PasswordHasher().verify(digest, chosen) and must_change == 1

    old_style = _zerotrip(tmp_path, "user", "add", "x", "--name", "X", "--role", "clerk",
                          "--password", "p" * 12)  # fmt: skip
    assert old_style.returncode == 2 and "Traceback" not in old_style.stderr
