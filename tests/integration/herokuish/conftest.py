"""The unprivileged user herokuish builds and runs as, created for the session."""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess

import pytest


@pytest.fixture(scope="session")
def herokuish_user():
    """A throwaway user with HOME=/app, like herokuish's random ``u<NNNN>`` user."""
    if os.geteuid() != 0:
        pytest.skip("the herokuish harness needs root (unshare -m, chroot, useradd), as "
                    "herokuish itself does")
    missing = [tool for tool in ("unshare", "setpriv", "useradd", "userdel") if not shutil.which(tool)]
    if missing:
        pytest.skip(f"the herokuish harness needs {', '.join(missing)}")
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"this machine cannot make a private mount namespace: {probe.stderr.strip()}")
    name = f"u{secrets.randbelow(90000) + 10000}"
    subprocess.run(["useradd", "--no-create-home", "--home-dir", "/app", "--shell", "/bin/bash",
                    "--user-group", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], check=False)
