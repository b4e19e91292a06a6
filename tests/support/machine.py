"""This machine and this checkout: paths, locks, free ports, installed CPythons, waiting
for a server to answer."""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "bin"
FIXTURES = ROOT / "fixtures"
CACHE = ROOT / ".cache"


def machine_cache() -> Path:
    """The machine-level cache shared by checkouts (CI clones reuse it)."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "buildpack-python"


@contextlib.contextmanager
def locked(name: str) -> Iterator[None]:
    """An exclusive lock under .cache/, so concurrent test runs (xdist workers, a second
    ``tests/run`` in this checkout) do not clash."""
    CACHE.mkdir(exist_ok=True)
    with open(CACHE / f"{name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def fingerprint(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


PORT_HOLD_SECONDS = 120  # long enough for any test's server to bind the port it was given


def free_port() -> int:
    """A loopback port nobody holds, and that no other test process on this machine (an
    xdist worker, another checkout's run) was given in the last ``PORT_HOLD_SECONDS``: the
    kernel's free port is only free until someone binds it, so ports handed out are noted
    in a machine-wide file, under a lock, and not handed out twice."""
    record = machine_cache() / "test-ports.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    with open(record.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        now = time.time()
        try:
            given = {int(port): when for port, when in json.loads(record.read_text()).items()
                     if now - when < PORT_HOLD_SECONDS}
        except (OSError, ValueError, AttributeError):
            given = {}
        for _ in range(100):
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port: int = sock.getsockname()[1]
            if port not in given:
                break
        given[port] = now
        record.write_text(json.dumps(given))
        return port


def find_prefix(minor: str) -> Path:
    """An installed CPython of this minor (pyenv or python3.X on PATH)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = sorted(pyenv.glob(f"{minor}.*"), key=lambda p: [int(x) for x in p.name.split(".") if x.isdigit()])
    candidates = [c for c in candidates if (c / "bin" / f"python{minor}").exists()]
    if candidates:
        return candidates[-1]
    exe = shutil.which(f"python{minor}")
    if exe:
        out = subprocess.run([exe, "-c", "import sys; print(sys.base_prefix)"],
                             capture_output=True, text=True, check=True)
        return Path(out.stdout.strip())
    raise RuntimeError(f"no CPython {minor} on this machine: the tests need one")


def wait_for_http(url: str, proc: subprocess.Popen | None = None, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                body = resp.read().decode("utf-8", "replace")
            if proc is not None and proc.poll() is not None:  # another process's server answered
                raise RuntimeError(f"process exited with {proc.returncode}; {url} is someone else's")
            return body
        except RuntimeError:
            raise
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last = exc
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last}")
