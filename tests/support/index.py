"""The package index the test builds install from: a pypiserver on loopback serving wheels
downloaded once into ``.cache/test-index`` (the fixtures' requirements, the buildpack's own
libraries and the pinned package-manager tools), a password-protected one, and static
PEP 503 indexes."""
from __future__ import annotations

import hashlib
import html
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from buildpack.base import libraries, settings
from tests.support.machine import CACHE, FIXTURES, ROOT, fingerprint, free_port, locked, wait_for_http
from tests.support.store import TEST_MINORS

INDEX_DIR = CACHE / "test-index"


PIP_VERSION_PIN = f"pip=={settings.pinned_pip_version()}"  # vendor/pip.txt decides

# The runtimes the tests provision: the gunicorn fixture pins 3.11.7; 3.13 is the default minor.


# Extra packages the test index serves (build backends, tools, packages of fixtures
# whose dependencies are not in a requirements.txt). One requirement per line.
INDEX_EXTRA = ROOT / "tests" / "index-extra.txt"
SERVER = [sys.executable, str(Path(__file__).with_name("index_server.py"))]


def _requirement_files() -> list[Path]:
    return sorted(FIXTURES.glob("*/requirements.txt")) + [INDEX_EXTRA]


def clean_pip_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def ensure_index_packages() -> Path:
    """Download (once) every wheel the fixtures need, for each test Python."""
    with locked("test-index"):
        return _ensure_index_packages()


def _ensure_index_packages() -> Path:
    packages = INDEX_DIR / "packages"
    reqs = _requirement_files()
    stamp = INDEX_DIR / ".fingerprint"
    want = fingerprint(reqs + [libraries.PINS]) + PIP_VERSION_PIN + ",".join(TEST_MINORS)
    if stamp.is_file() and stamp.read_text() == want:
        return packages
    packages.mkdir(parents=True, exist_ok=True)
    arch = platform.machine()
    platforms = [a for tag in ("manylinux2014", "manylinux_2_17", "manylinux_2_28", "linux")
                 for a in ("--platform", f"{tag}_{arch}")]
    # Each file resolves on its own: fixtures need not agree with each other.
    for minor in TEST_MINORS:
        for req_args in [[PIP_VERSION_PIN]] + [["-r", str(r)] for r in reqs]:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "-d", str(packages),
                 "--only-binary=:all:", "--python-version", minor, "--implementation", "cp",
                 *platforms, *req_args],
                check=True, env=clean_pip_env())
    # The buildpack's own libraries (libraries.py): the pure wheels it pins.
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "-d", str(packages), "--no-deps",
         "--require-hashes", "--only-binary=:all:", "--implementation", "py", "--abi", "none",
         "--platform", "any", "--python-version", "3.9", "-r", str(libraries.PINS)],
        check=True, env=clean_pip_env())
    stamp.write_text(want)
    return packages


MANAGER_TOOLS = ("pipenv", "poetry", "uv", "pdm")


def tool_requirements(name: str) -> Path:
    return ROOT / "vendor" / "tools" / f"{name}.txt"


def ensure_tool_packages() -> Path:
    """Add the pinned Pipenv/Poetry/uv closures (vendor/tools) to the test index, once.

    Builds install these tools from the build's index, as on a platform; here that is the
    test index, so it must serve exactly the hash-pinned files.
    """
    with locked("test-index"):  # xdist workers and other runs of this checkout share the folder
        return _ensure_tool_packages()


def _ensure_tool_packages() -> Path:
    packages = _ensure_index_packages()
    reqs = [tool_requirements(name) for name in MANAGER_TOOLS]
    stamp = INDEX_DIR / ".tools-fingerprint"
    want = fingerprint(reqs) + ",".join(TEST_MINORS)
    if stamp.is_file() and stamp.read_text() == want:
        return packages
    arch = platform.machine()
    platforms = [a for tag in ("manylinux2014", "manylinux_2_17", "manylinux_2_28", "linux")
                 for a in ("--platform", f"{tag}_{arch}")]
    for minor in TEST_MINORS:
        for req in reqs:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "-d", str(packages),
                 "--only-binary=:all:", "--no-deps", "--require-hashes", "--python-version", minor,
                 "--implementation", "cp", *platforms, "-r", str(req)],
                check=True, env=clean_pip_env())
    stamp.write_text(want)
    return packages


@dataclass
class PackageIndex:
    url: str
    packages: Path
    process: subprocess.Popen

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_index(*dirs: Path) -> PackageIndex:
    """pypiserver on loopback serving the files of ``dirs`` (``index_server``: Paste's
    threaded server with a backlog uv's parallel connections fit in)."""
    port = free_port()
    proc = subprocess.Popen(
        [*SERVER, "run", "-p", str(port), "-i", "127.0.0.1", "-a", ".", "-P", ".",
         "--disable-fallback", "--backend", "simple-dir", "--log-stream", "none", *map(str, dirs)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/simple/"
    try:
        wait_for_http(url, proc)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return PackageIndex(url, dirs[0], proc)


def start_private_index(packages: Path, scratch: Path, user: str, password: str) -> PackageIndex:
    """A pypiserver that wants basic auth for listing and downloading (htpasswd via passlib)."""
    import warnings

    with warnings.catch_warnings():  # passlib imports the deprecated crypt module
        warnings.simplefilter("ignore", DeprecationWarning)
        from passlib.apache import HtpasswdFile

    scratch.mkdir(parents=True, exist_ok=True)
    htpasswd = HtpasswdFile(str(scratch / "htpasswd"), new=True)
    htpasswd.set_password(user, password)
    htpasswd.save()
    port = free_port()
    proc = subprocess.Popen(
        [*SERVER, "run", "-p", str(port),
         "-i", "127.0.0.1", "-a", "download,list", "-P", str(scratch / "htpasswd"),
         "--disable-fallback", "--backend", "simple-dir", "--log-stream", "none", str(packages)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/simple/"
    deadline = time.monotonic() + 60
    while True:  # up once it answers, even if with 401
        try:
            urllib.request.urlopen(url, timeout=5).close()
            break
        except urllib.error.HTTPError:
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"the private index on {url} did not start") from None
            time.sleep(0.2)
    return PackageIndex(url, packages, proc)


def write_simple_index(packages: Path, root: Path) -> Path:
    """A static PEP 503 index of ``packages`` under ``root/simple/`` (files in root/files/)."""
    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    projects: dict[str, list[Path]] = {}
    for path in sorted(packages.iterdir()):
        shutil.copy(path, files / path.name)
        name = re.split(r"-\d", path.name, maxsplit=1)[0]
        projects.setdefault(re.sub(r"[-_.]+", "-", name).lower(), []).append(path)
    for project, paths in projects.items():
        page = root / "simple" / project
        page.mkdir(parents=True, exist_ok=True)
        links = "".join(
            f'<a href="../../files/{html.escape(p.name)}#sha256={hashlib.sha256(p.read_bytes()).hexdigest()}">'
            f"{html.escape(p.name)}</a>\n" for p in paths)
        (page / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
    return root
