"""The leader's own classic buildpack as a baseline (``bench/run --peer-heroku DIR``).

``DIR`` is a checkout of heroku/heroku-buildpack-python (measured with v351), kept outside
this repository: nothing of it is copied here, its ``bin/compile`` runs unmodified. What it
needs on this machine (../shared/leader-side-by-side.md has the why):

- ``STACK=heroku-24``, the stack it names its runtime archives after;
- its runtime archive from loopback: its ``lib/python.sh`` hard-codes the archive host, so
  a ``curl`` first on ``PATH`` rewrites exactly that prefix (read from its ``S3_BASE_URL``
  line) to a loopback HTTP server, which serves our store's CPython repacked into its name
  and format (``python-X.Y.Z-ubuntu-24.04-amd64.tar.zst``: the installation root, zstd);
- the app's exact version in ``.python-version`` (its ``runtime.txt`` removed), so both
  buildpacks run the same CPython;
- a clean environment per build (a fresh ``HOME``, a standard ``PATH``, the system CA
  bundle, ``PIP_CONFIG_FILE=/dev/null``), with the bench's package index as
  ``PIP_INDEX_URL``; it bootstraps pip with ``--isolated`` from the public index, as on
  its platform;
- root: it links ``/app/.heroku/python`` to the build, as on its platform.
"""
from __future__ import annotations

import json
import lzma
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from tests import support

STACK = "heroku-24"
STACK_NAME = "ubuntu-24.04"  # the stack's name in its archives' file names
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
STANDARD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Level 10: it packs in seconds, and unpacking takes about as long as the leader's own
# -22 --long archives (bench/RESULTS.md, "Runtime archive format").
ZSTD_ARGS = ("-q", "-10", "-T0")
REPACK_TIMEOUT = 600
MAX_PYTHON_SH = 1024 * 1024  # lib/python.sh is a few KiB
_BASE_URL_RE = re.compile(r'^S3_BASE_URL="(https://[^"\s]+)"\s*$', re.M)
_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


class PeerError(ValueError):
    """``--peer-heroku`` names no usable checkout (the message says why and what to do)."""


def check_peer(location: str) -> Path:
    """The checkout's folder, or PeerError: it must hold ``bin/compile`` (executable) and
    the ``lib/python.sh`` whose archive URL the curl wrapper rewrites."""
    peer = Path(location).expanduser()
    if not peer.is_dir():
        raise PeerError(f"--peer-heroku {location}: no such folder. Give a checkout of "
                        "heroku/heroku-buildpack-python (v351), outside this repository.")
    peer = peer.resolve()
    if support.ROOT == peer or support.ROOT in peer.parents:
        raise PeerError(f"--peer-heroku {location}: is inside this repository; keep the "
                        "leader's checkout outside it.")
    compile_script = peer / "bin" / "compile"
    if not compile_script.is_file():
        bare = (peer / "HEAD").is_file() and (peer / "objects").is_dir()
        hint = (" It is a git directory without a work tree: check a version out, e.g. "
                f"`mkdir DIR && git --git-dir={location} archive v351 | tar -x -C DIR`."
                if bare else " Is it a checkout of heroku/heroku-buildpack-python?")
        raise PeerError(f"--peer-heroku {location}: has no bin/compile.{hint}")
    if not os.access(compile_script, os.X_OK):
        raise PeerError(f"--peer-heroku {location}: bin/compile is not executable.")
    base_url(peer)
    return peer


def base_url(peer: Path) -> str:
    """The archive host prefix its ``lib/python.sh`` hard-codes (PeerError if not there)."""
    script = peer / "lib" / "python.sh"
    try:
        with open(script, encoding="utf-8", errors="replace") as f:
            text = f.read(MAX_PYTHON_SH)
    except OSError as exc:
        raise PeerError(f"--peer-heroku {peer}: cannot read lib/python.sh ({exc.strerror}); "
                        "the runtime archive's URL is read from it.") from None
    found = _BASE_URL_RE.search(text)
    if not found:
        raise PeerError(f"--peer-heroku {peer}: lib/python.sh sets no S3_BASE_URL=\"https://...\" "
                        "line, so its runtime downloads cannot be sent to loopback. Use v351 "
                        "or a version whose lib/python.sh has that line.")
    return found.group(1)


def archive_name(version: str, machine: str | None = None) -> str:
    """The file the leader asks for, e.g. ``python-3.13.0-ubuntu-24.04-amd64.tar.zst``."""
    arch = machine or platform.machine()
    return f"python-{version}-{STACK_NAME}-{_ARCH.get(arch, arch)}.tar.zst"


def curl_wrapper(real_curl: str, prefix: str, replacement: str) -> str:
    """A bash ``curl`` that rewrites ``prefix`` at the start of any argument to
    ``replacement`` and runs the real curl with the same arguments otherwise."""
    return (
        "#!/usr/bin/env bash\n"
        "# bench/run: the leader's runtime archives from loopback (bench/leader.py)\n"
        f"prefix={shlex.quote(prefix)}\n"
        f"replacement={shlex.quote(replacement)}\n"
        "args=()\n"
        "for arg in \"$@\"; do\n"
        "  if [[ \"$arg\" == \"$prefix\"* ]]; then arg=\"$replacement${arg#\"$prefix\"}\"; fi\n"
        "  args+=(\"$arg\")\n"
        "done\n"
        f"exec {shlex.quote(real_curl)} \"${{args[@]}}\"\n")


def leader_env(wrapper_dir: Path, home: Path, index_url: str) -> dict[str, str]:
    """The whole environment of one leader build (nothing inherited)."""
    return {"PATH": f"{wrapper_dir}:{STANDARD_PATH}", "HOME": str(home), "STACK": STACK,
            # this machine's CA (a TLS-inspecting proxy) as pip reads it: SSL_CERT_FILE for
            # pip 24.2+ (truststore), REQUESTS_CA_BUNDLE for the pip 23 that Python 3.11 bundles
            "SSL_CERT_FILE": CA_BUNDLE, "REQUESTS_CA_BUNDLE": CA_BUNDLE, "PIP_CONFIG_FILE": "/dev/null",
            "PIP_INDEX_URL": index_url, "LANG": "C.UTF-8"}


def repack(store_archive: Path, dest: Path) -> None:
    """Our store's ``.tar.xz`` (the installation root) as the leader's ``.tar.zst``."""
    partial = dest.with_name(dest.name + ".partial")
    zstd = shutil.which("zstd")
    if not zstd:
        raise RuntimeError("zstd is not installed (apt-get install zstd): the leader's runtime "
                           "archives are zstd, and its tar --zstd needs it too")
    with lzma.open(store_archive) as source, subprocess.Popen(
            [zstd, *ZSTD_ARGS, "-f", "-o", str(partial)], stdin=subprocess.PIPE) as proc:
        assert proc.stdin is not None
        shutil.copyfileobj(source, proc.stdin, 1024 * 1024)
        proc.stdin.close()
        if proc.wait(timeout=REPACK_TIMEOUT) != 0:
            raise RuntimeError(f"zstd failed ({proc.returncode}) repacking {store_archive}")
    os.replace(partial, dest)


class Peer:
    """The leader's checkout with its archive server and curl wrapper, for one bench session."""

    def __init__(self, checkout: Path, store: Path, versions: list[str], work: Path,
                 index_url: str) -> None:
        self.compile = checkout / "bin" / "compile"
        self.index_url = index_url
        self.work = work
        archives = work / "archives"
        archives.mkdir(parents=True, exist_ok=True)
        # the standard build of each version (the store may also hold a free-threaded one)
        manifest = {r["version"]: r["file"] for r in _store_runtimes(store) if not r.get("variant")}
        for version in versions:
            repack(store / manifest[version], archives / archive_name(version))
        port = support.free_port()
        self.server = subprocess.Popen(
            [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory",
             str(archives), str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            support.wait_for_http(f"http://127.0.0.1:{port}/")
            self.wrapper_dir = work / "wrapper-bin"
            self.wrapper_dir.mkdir(exist_ok=True)
            real_curl = shutil.which("curl", path=STANDARD_PATH)
            if not real_curl:
                raise RuntimeError("curl is not installed: the leader downloads with it")
            wrapper = self.wrapper_dir / "curl"
            wrapper.write_text(curl_wrapper(real_curl, base_url(checkout), f"http://127.0.0.1:{port}"))
            wrapper.chmod(0o755)
        except BaseException:
            self.stop()
            raise

    def env(self, home: Path) -> dict[str, str]:
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        return leader_env(self.wrapper_dir, home, self.index_url)

    def stop(self) -> None:
        self.server.terminate()
        self.server.wait(timeout=10)


def _store_runtimes(store: Path) -> list[dict[str, str]]:
    runtimes: list[dict[str, str]] = json.loads((store / "manifest.json").read_text())["runtimes"]
    return runtimes


def prepare_app(root: Path, base: str, version: str) -> Path:
    """The leader's BUILD_DIR from a fresh copy of the app: its ``APP_BASE`` folder (it has
    no such setting: a platform hands it the subfolder), with the exact version pinned and
    nltk.txt without its comment lines."""
    app = root / base if base != "." else root
    if app != root:
        scratch = root.with_name(root.name + "-base")
        shutil.rmtree(scratch, ignore_errors=True)
        os.rename(app, scratch)
        shutil.rmtree(root)
        os.rename(scratch, root)
    (root / "runtime.txt").unlink(missing_ok=True)
    (root / ".python-version").write_text(f"{version}\n")
    nltk = root / "nltk.txt"
    if nltk.is_file():  # the leader takes every line as a corpus name, a comment too
        kept = [line for line in nltk.read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
        nltk.write_text("".join(f"{line}\n" for line in kept))
    return root
