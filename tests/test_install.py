"""The README's first promise: the service installs from what is tracked and starts.

Each test copies only the tracked files (``git ls-files``, so nothing untracked can help), makes
a throwaway virtualenv with the RUNTIME dependencies only (no test extras, no system site
packages), runs ``zerotrip migrate`` and ``zerotrip serve`` from outside the copy with a temporary
data dir, and gets 200 from ``/api/health``. One installs the source tree, the other a wheel.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PIP_TIMEOUT_S = 240
START_TIMEOUT_S = 60


@pytest.fixture(autouse=True)
def _once_per_suite(request: pytest.FixtureRequest) -> None:
    """The install is the same whichever database the suite runs on: `make test` proves it once."""
    if request.config.getoption("--db") != "sqlite":
        pytest.skip("installing does not depend on the database; proved in the --db=sqlite run")


def _tracked_copy(dest: Path) -> Path:
    """The tracked files as they are in the work tree, and nothing else."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        src = ROOT / name
        if not src.is_file():  # deleted in the work tree, not yet committed
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    return dest


def _fresh_venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(path)
    return path / "bin"


def _pip(bin_dir: Path, *args: str) -> None:
    subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "--disable-pip-version-check", "-q", *args],
        check=True,
        timeout=PIP_TIMEOUT_S,
        env=_clean_env(),
    )


def _clean_env(**zerotrip: str) -> dict[str, str]:
    """The caller's environment without its virtualenv, Python path or ZEROTRIP_* settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ZEROTRIP_") and k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
    }
    env.update({f"ZEROTRIP_{k.upper()}": v for k, v in zerotrip.items()})
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _migrate_and_serve(bin_dir: Path, workdir: Path) -> None:
    """``zerotrip migrate && zerotrip serve`` as a deployer types it; 200 from /api/health."""
    port = _free_port()
    env = _clean_env(data_dir=str(workdir / "data"), port=str(port))
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import zerotrip; print(zerotrip.__file__)"],
        cwd=workdir,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(bin_dir.parent), f"imported from {where}, not the venv"
    migrate = subprocess.run(
        [str(bin_dir / "zerotrip"), "migrate"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
    )
    assert migrate.returncode == 0, migrate.stderr
    log = (workdir / "serve.log").open("wb")
    server = subprocess.Popen(
        [str(bin_dir / "zerotrip"), "serve"], cwd=workdir, env=env, stdout=log, stderr=log
    )
    try:
        status = _wait_for_health(f"http://127.0.0.1:{port}/api/health", server)
        assert status == 200, (workdir / "serve.log").read_text()
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _wait_for_health(url: str, server: subprocess.Popen[bytes]) -> int | None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return None
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status
        except OSError:
            time.sleep(0.3)
    return None


@pytest.fixture
def tracked(tmp_path: Path) -> Iterator[Path]:
    yield _tracked_copy(tmp_path / "src")


def test_source_install_of_runtime_dependencies_serves(tracked: Path, tmp_path: Path) -> None:
    bin_dir = _fresh_venv(tmp_path / "venv")
    _pip(bin_dir, "install", str(tracked))
    # No test extra came along: the service runs on its declared runtime needs alone.
    probe = subprocess.run(
        [str(bin_dir / "python"), "-c", "import pytest"], capture_output=True, env=_clean_env()
    )
    assert probe.returncode != 0
    _migrate_and_serve(bin_dir, tmp_path)


def test_wheel_carries_every_data_file_and_serves(tracked: Path, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(tracked)],
        check=True,
        timeout=PIP_TIMEOUT_S,
        env=_clean_env(),
    )
    (wheel,) = wheels.glob("zerotrip-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        members = set(zf.namelist())
    package_files = {
        p.relative_to(tracked).as_posix()
        for p in (tracked / "zerotrip").rglob("*")
        if p.is_file() and p.suffix != ".pyc"
    }
    missing = sorted(package_files - members)
    assert not missing, f"not in the wheel: {missing}"
    assert any(m.startswith("zerotrip/migrations/versions/") for m in members)

    bin_dir = _fresh_venv(tmp_path / "venv")
    _pip(bin_dir, "install", str(wheel))
    _migrate_and_serve(bin_dir, tmp_path)
