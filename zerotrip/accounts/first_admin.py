"""Handing over the first administrator's one-time password without a log ever holding it.

On a terminal it is printed once, for the person starting the service. Anywhere else (systemd,
Docker, a pipe: places whose output is collected and shipped) it goes to a file only its owner
can read, and the output names the file, not the password.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

PASSWORD_FILE = "initial-admin-password"


def write_password_file(path: Path, password: str) -> None:
    """Write ``password`` to ``path`` readable by its owner alone (0600 from creation)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    os.replace(tmp, path)


def hand_over(password: str, data_dir: Path, out: TextIO) -> None:
    """Tell whoever started the service how to sign in as ``admin`` the first time."""
    if out.isatty():
        print(f"  first start: log in as 'admin' with the one-time password {password}", file=out)
        print("  (you will be asked to change it; it is not shown again)", file=out, flush=True)
        return
    path = (Path(data_dir) / PASSWORD_FILE).resolve()
    write_password_file(path, password)
    print(f"  first start: log in as 'admin' with the one-time password in {path}", file=out)
    print("  (readable by this user only; delete it once you have changed the password)", file=out)
    out.flush()
