"""Secrets in logs (ASVS V7.1.1, V2.5): a real ``zerotrip serve`` process, its real output.

The service is started as an operator starts it, its standard output and error captured the way
systemd or Docker would collect them, and driven over HTTP with applicant links in paths and
Referer headers, bearer tokens, and the Shippo webhook's ``?token=``. Afterwards nothing it wrote
may contain any of those secrets, nor the first administrator's one-time password, which must be
in a file only the service's user can read.
"""

from __future__ import annotations

import logging
import os
import pty
import secrets
import select
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from zerotrip.accounts.first_admin import PASSWORD_FILE
from zerotrip.config import Settings
from zerotrip.redaction import REDACTED, install_redaction, redact

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Http:
    """Requests against one base URL, each with a timeout."""

    session: requests.Session
    base: str

    def get(self, path: str, **kw: object) -> requests.Response:
        return self.session.get(self.base + path, timeout=10, **kw)  # type: ignore[arg-type]

    def post(self, path: str, **kw: object) -> requests.Response:
        return self.session.post(self.base + path, timeout=10, **kw)  # type: ignore[arg-type]


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]


def server_env(settings: Settings, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZEROTRIP_")}
    env.update(
        PYTHONPATH=str(ROOT),
        ZEROTRIP_DATABASE_URL=settings.database_url,
        ZEROTRIP_DATA_DIR=str(settings.data_dir),
        ZEROTRIP_HOST="127.0.0.1",
        ZEROTRIP_PORT=str(port),
        ZEROTRIP_SECRET_KEY="test-secret-key",
        ZEROTRIP_LOG_LEVEL="INFO",
        **extra,
    )
    return env


def wait_until_serving(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited while starting"
        try:
            if requests.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not start within 60 s")


@contextmanager
def serve(env: dict[str, str], stdout: int, stderr: int) -> Iterator[Served]:
    url = f"http://127.0.0.1:{env['ZEROTRIP_PORT']}"
    process = subprocess.Popen(
        [sys.executable, "-m", "zerotrip", "serve"],
        cwd=env["ZEROTRIP_DATA_DIR"],
        env=env,
        stdout=stdout,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
    )
    try:
        wait_until_serving(url, process)
        yield Served(url, process)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def test_no_secret_reaches_the_service_output(settings: Settings, tmp_path: Path):
    webhook_secret = "whk_" + secrets.token_hex(16)
    link = "zta_" + secrets.token_urlsafe(32)
    staff_token = "zts_" + secrets.token_urlsafe(32)
    out_path, err_path = tmp_path / "stdout.log", tmp_path / "stderr.log"
    env = server_env(settings, free_port(), ZEROTRIP_SHIPPO_WEBHOOK_TOKEN=webhook_secret)
    with (
        out_path.open("wb") as out,
        err_path.open("wb") as err,
        serve(env, out.fileno(), err.fileno()) as served,
        requests.Session() as session,
    ):
        http = Http(session, served.url)
        # The applicant's page, its live page, and the API with the link as a bearer token.
        assert http.get(f"/a/{link}").status_code == 200
        http.get(f"/a/{link}/live/1")
        http.get("/api/link", headers={"Authorization": f"Bearer {link}"})
        # A page they came from, quoting the link, and a staff token in a header.
        http.get("/api/health", headers={"Referer": f"{served.url}/a/{link}?x=1"})
        http.get("/api/me", headers={"Authorization": f"Bearer {staff_token}"})
        # Shippo's webhook with the right secret and with a guessed one.
        body = {"event": "track_updated", "data": {"tracking_number": "1", "metadata": "x"}}
        http.post(f"/api/mailing/callbacks/shippo?token={webhook_secret}", json=body)
        http.post(f"/api/mailing/callbacks/shippo?token={webhook_secret}x&a=1", json=body)
        # Nothing at a path that quotes the link: a 404 problem, and its log line if any.
        http.get(f"/api/cases/{link}")
        # The first administrator's password was handed over in a file, not on the output.
        password_file = Path(settings.data_dir) / PASSWORD_FILE
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        password = password_file.read_text().strip()
        assert len(password) >= 12
        resp = http.post("/api/session", json={"username": "admin", "password": password})
        assert resp.status_code == 200 and resp.json()["user"]["must_change_password"]
    output = out_path.read_text() + err_path.read_text()
    # The server did log these requests (so the check below looks at real lines) ...
    assert f"GET /a/zta_{REDACTED}" in output
    assert f"/api/mailing/callbacks/shippo?token={REDACTED}" in output
    assert str(password_file.resolve()) in output  # the output names the file ...
    # ... and no secret is anywhere in it.
    for secret in (link, link[4:], staff_token, webhook_secret, password):
        assert secret not in output, f"{secret[:8]}… leaked"


def test_on_a_terminal_the_first_password_is_shown_once_and_never_logged(
    settings: Settings, tmp_path: Path
):
    primary, secondary = pty.openpty()
    err_path = tmp_path / "stderr.log"
    env = server_env(settings, free_port())
    shown = b""
    with err_path.open("wb") as err, serve(env, secondary, err.fileno()):
        os.close(secondary)
        deadline = time.monotonic() + 10
        while b"not shown again" not in shown and time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.5)
            if ready:
                shown += os.read(primary, 4096)
    os.close(primary)
    text = shown.decode()
    assert "one-time password " in text
    password = text.split("one-time password ", 1)[1].split()[0]
    assert len(password) >= 12 and text.count(password) == 1
    assert password not in err_path.read_text()  # the log (stderr) never has it
    assert not (Path(settings.data_dir) / PASSWORD_FILE).exists()


def test_redaction_covers_messages_arguments_and_tracebacks(caplog):
    link = "zta_" + secrets.token_urlsafe(32)
    install_redaction()
    install_redaction()  # idempotent
    log = logging.getLogger("zerotrip.test")
    with caplog.at_level(logging.INFO):
        log.info("opened %s", f"/a/{link}")
        log.warning("callback ?token=s3cret&x=1 with Authorization: Bearer zts_abc")
        try:
            raise ValueError(f"bad link {link}")
        except ValueError:
            log.exception("failed on /a/%s", link)
    text = caplog.text
    assert link not in text and "s3cret" not in text and "zts_abc" not in text
    assert text.count(REDACTED) >= 5
    assert redact("GET /a/zta_abc-_9 HTTP/1.1") == f"GET /a/zta_{REDACTED} HTTP/1.1"
    assert redact("/x?page=2&token=abc") == f"/x?page=2&token={REDACTED}"
