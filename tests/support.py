"""Shared test machinery: a real runtime store, a real package index, real builds.

The store is packed once per checkout (``.cache/test-store``) from this machine's
CPythons by the project's own ``bin/build-runtime-store``; the index is a pypiserver
on loopback serving wheels downloaded once into ``.cache/test-index``.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from buildpack.base import libraries, settings
from buildpack.base.output import BuildError

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "bin"
FIXTURES = ROOT / "fixtures"
CACHE = ROOT / ".cache"
STORE_DIR = CACHE / "test-store"
INDEX_DIR = CACHE / "test-index"
PIP_VERSION_PIN = f"pip=={settings.pinned_pip_version()}"  # vendor/pip.txt decides

# The runtimes the tests provision: the gunicorn fixture pins 3.11.7; 3.13 is the default minor.
TEST_MINORS = ("3.11", "3.13")
# Built from pristine source into the test store next to them (the newest pinned 3.13
# whose tarball this machine can fetch; see vendor/cpython-sources.json).
FROM_SOURCE_MINORS = ("3.13",)


@contextlib.contextmanager
def raises_id(error_id: str) -> Iterator[pytest.ExceptionInfo[BuildError]]:
    """Like ``pytest.raises(BuildError)``, and the error carries ``error_id``."""
    with pytest.raises(BuildError) as info:
        yield info
    assert info.value.error_id == error_id, f"{info.value.error_id} != {error_id}: {info.value}"


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


def _fingerprint(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _locked(name: str):
    """An exclusive lock under .cache/, so concurrent test runs do not clash."""
    import contextlib
    import fcntl

    @contextlib.contextmanager
    def hold():
        CACHE.mkdir(exist_ok=True)
        with open(CACHE / f"{name}.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    return hold()


def ensure_store() -> Path:
    """Build the test store once (rebuilt when the store tooling changes)."""
    with _locked("test-store"):
        return _ensure_store()


# Every file that shapes an archive of the test store: a change to any rebuilds it.
STORE_SHAPING = ("buildpack/store_builder/runtime_archive.py", "buildpack/store_builder/builder.py",
                 "buildpack/store_builder/source_build.py", "buildpack/store_builder/cpython_recipe.py",
                 "buildpack/store_builder/cpython_sources.py", "buildpack/runtime/manifest.py",
                 "buildpack/runtime/relocate.py", "buildpack/installers/pinned_tools.py",
                 "buildpack/base/platform_info.py", "buildpack/runtime/safe_extract.py",
                 "buildpack/base/slug_layout.py", "vendor/cpython-sources.json",
                 "vendor/tools/patchelf.txt")


def machine_cache() -> Path:
    """The machine-level cache shared by checkouts (CI clones reuse it)."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "buildpack-python"


def _ensure_store() -> Path:
    """The pyenv-packed TEST_MINORS plus FROM_SOURCE_MINORS built from pristine source.

    Packed stores are kept in the machine cache by fingerprint, so a fresh clone on
    this machine (CI) copies one in seconds; from-source builds are cached there too
    (by source_build), so only packing runs again when the packer changes.
    """
    stamp = STORE_DIR / ".fingerprint"
    prefixes = [find_prefix(m) for m in TEST_MINORS]
    want = _fingerprint([ROOT / name for name in STORE_SHAPING]) + ":" + ",".join(map(str, prefixes)) \
        + ":" + ",".join(FROM_SOURCE_MINORS)
    if stamp.is_file() and stamp.read_text() == want and (STORE_DIR / "manifest.json").is_file():
        return STORE_DIR
    kept = machine_cache() / "test-stores" / hashlib.sha256(want.encode()).hexdigest()[:16]
    kept.parent.mkdir(parents=True, exist_ok=True)
    # Several checkouts (helpers, CI) may want the same store at once: one builds it,
    # the others wait for it under a machine-wide lock.
    with open(kept.with_name(kept.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (kept / ".fingerprint").is_file():
            _build_test_store(kept, prefixes, want)
        os.utime(kept)  # marks it used: _prune_kept_stores keeps what checkouts still use
        _prune_kept_stores(kept.parent, keep=kept)
    shutil.rmtree(STORE_DIR, ignore_errors=True)
    shutil.copytree(kept, STORE_DIR)
    STORE_DIR.chmod(0o755)  # stores kept by older checkouts may still be 0700
    return STORE_DIR


KEPT_STORE_DAYS = 7


def _prune_kept_stores(root: Path, keep: Path) -> None:
    """Drop packed stores no checkout used for a week (each is ~100 MB); skip ones being used."""
    cutoff = time.time() - KEPT_STORE_DAYS * 86400
    for entry in root.iterdir():
        if entry == keep or not entry.is_dir() or entry.stat().st_mtime > cutoff:
            continue
        with open(entry.with_name(entry.name + ".lock"), "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            shutil.rmtree(entry, ignore_errors=True)
        entry.with_name(entry.name + ".lock").unlink(missing_ok=True)


def _build_test_store(kept: Path, prefixes: list[Path], want: str) -> None:
    partial = Path(tempfile.mkdtemp(prefix=f"{kept.name}.partial-", dir=kept.parent))
    partial.chmod(0o755)  # mkdtemp's 0700 would hide the store from the unprivileged and herokuish builds
    try:
        log = partial / ".build-output.txt"
        with open(log, "w") as out:
            for args in ([*map(str, prefixes)], ["--from-source", *FROM_SOURCE_MINORS, "--quick"]):
                proc = subprocess.run([str(BIN / "build-runtime-store"), str(partial), *args],
                                      stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      timeout=3600)
                if proc.returncode != 0:
                    raise RuntimeError("building the test store failed:\n" + log.read_text()[-3000:])
        (partial / ".fingerprint").write_text(want)
        shutil.rmtree(kept, ignore_errors=True)
        os.rename(partial, kept)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def store_versions() -> dict[str, str]:
    """minor -> full version available in the test store."""
    manifest = json.loads((STORE_DIR / "manifest.json").read_text())
    return {".".join(r["version"].split(".")[:2]): r["version"] for r in manifest["runtimes"]}


def expected_default_minor() -> str:
    """The default for new apps that the README's rule gives with the test store, written out
    independently of the code: the newest minor in the store whose X.Y.0 is at least 90 days
    old (3.14.0 came out on 2025-10-07, 3.15.0 on 2026-10-01, which settles on 2026-12-30)."""
    import datetime

    newest_settled = (3, 15) if datetime.date.today() >= datetime.date(2026, 12, 30) else (3, 14)
    minors = [tuple(int(p) for p in m.split(".")) for m in store_versions()]
    major, minor = max(m for m in minors if m <= newest_settled)
    return f"{major}.{minor}"


# Extra packages the test index serves (build backends, tools, packages of fixtures
# whose dependencies are not in a requirements.txt). One requirement per line.
INDEX_EXTRA = ROOT / "tests" / "index-extra.txt"


def _requirement_files() -> list[Path]:
    return sorted(FIXTURES.glob("*/requirements.txt")) + [INDEX_EXTRA]


def clean_pip_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def ensure_index_packages() -> Path:
    """Download (once) every wheel the fixtures need, for each test Python."""
    with _locked("test-index"):
        return _ensure_index_packages()


def _ensure_index_packages() -> Path:
    packages = INDEX_DIR / "packages"
    reqs = _requirement_files()
    stamp = INDEX_DIR / ".fingerprint"
    want = _fingerprint(reqs + [libraries.PINS]) + PIP_VERSION_PIN + ",".join(TEST_MINORS)
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


@dataclass
class PackageIndex:
    url: str
    packages: Path
    process: subprocess.Popen

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_index(*dirs: Path) -> PackageIndex:
    """pypiserver on loopback serving the files of ``dirs``, served by Paste's threaded server: with pypiserver's default
    single-threaded one, uv's parallel requests now and then stall for about a second
    (bench/run's figures, and every test build)."""
    port = free_port()
    server = Path(sys.executable).parent / "pypi-server"
    proc = subprocess.Popen(
        [str(server), "run", "-p", str(port), "-i", "127.0.0.1", "-a", ".", "-P", ".",
         "--server", "paste",
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


@dataclass
class Result:
    """What a program run by a test did (a build, a CNB lifecycle phase)."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def log(self) -> str:
        return self.stdout + self.stderr


@dataclass
class BuildResult(Result):
    build_dir: Path


def write_app(root: Path, files: dict[str, str | bytes], name: str = "app") -> Path:
    """``root/name`` holding ``files`` (text or bytes): the app a test builds."""
    app = root / name
    app.mkdir(parents=True, exist_ok=True)
    for relative, content in files.items():
        path = app / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return app


def build_env(store: str, index_url: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = clean_pip_env()
    env.pop("PIP_CONFIG_FILE")
    env.pop("PYTHON_RUNTIME_STORE", None)
    env["PYTHON_RUNTIME_STORE"] = store
    if index_url:
        env["PIP_INDEX_URL"] = index_url
    env.update(extra or {})
    return env


def compile_app(app_dir: Path, cache_dir: Path, env: dict[str, str],
                env_dir: Path | None = None, timeout: float = 600) -> BuildResult:
    args = [str(BIN / "compile"), str(app_dir), str(cache_dir)]
    if env_dir is not None:
        args.append(str(env_dir))
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    return BuildResult(proc.returncode, proc.stdout, proc.stderr, app_dir)


def copy_fixture(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(FIXTURES / name, target)
    return target


def tree_snapshot(path: Path) -> dict[str, str]:
    """Relative path -> sha256 (or 'dir'/'link'), to assert a dir was left unchanged."""
    snap: dict[str, str] = {}
    if not path.exists():
        return snap
    for item in sorted(path.rglob("*")):
        rel = str(item.relative_to(path))
        if item.is_symlink():
            snap[rel] = "link:" + os.readlink(item)
        elif item.is_dir():
            snap[rel] = "dir"
        else:
            snap[rel] = hashlib.sha256(item.read_bytes()).hexdigest()
    return snap


class LoggedProcess:
    """A process in a session of its own, its output in ``log_path``; ``stop`` ends the
    whole session (the process and whatever it started)."""

    def __init__(self, command: list[str], log_path: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        import signal

        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


class RunningProcess(LoggedProcess):
    """A process type started from a slug the way the platform starts it."""

    START = ('cd "$HOME" && for f in "$HOME"/.profile.d/*.sh; do . "$f"; done; '
             'exec /bin/bash -c "$1"')

    def __init__(self, app_path: Path, command: str, port: int, extra_env: dict[str, str] | None = None):
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(app_path), "PORT": str(port)}
        env.update(extra_env or {})
        super().__init__(["/bin/bash", "-c", self.START, "start", command],
                         app_path.parent / f"process-{port}.log", env, app_path)


class CountingStoreServer:
    """Serve a directory over HTTP on loopback, counting requests per path."""

    def __init__(self, directory: Path) -> None:
        import functools
        import http.server
        import threading

        counts: dict[str, int] = {}
        self.counts = counts

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                counts[self.path] = counts.get(self.path, 0) + 1
                super().do_GET()

            def log_message(self, *args: object) -> None:
                pass

        handler = functools.partial(Handler, directory=str(directory))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FaultyStoreServer:
    """Serve a store directory over HTTP, misbehaving on purpose.

    ``faults`` maps a file name to the behaviours of its successive requests: "500",
    "404", "hang" (accept, never answer), "cut" (send half the body, then close),
    "trickle" (one byte every 0.1 s: never a stall long enough for a read timeout, but
    far too slow to finish). Once a list is used up, the file is served normally.
    """

    def __init__(self, directory: Path, faults: dict[str, list[str]]) -> None:
        import http.server
        import threading

        self.counts: dict[str, int] = {}
        self.faults = {name: list(plan) for name, plan in faults.items()}
        self.stopping = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                name = self.path.lstrip("/").split("?")[0]
                server.counts[name] = server.counts.get(name, 0) + 1
                plan = server.faults.get(name, [])
                fault = plan.pop(0) if plan else "ok"
                path = directory / name
                if name == "" or name.endswith("/"):
                    path = path / "index.html"
                if fault == "hang":
                    server.stopping.wait(120)
                    return
                if fault in ("500", "404") or not path.is_file():
                    code = 404 if fault == "404" or not path.is_file() else 500
                    self.send_response(code)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = path.read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                if path.suffix == ".html":
                    self.send_header("Content-Type", "text/html")
                self.end_headers()
                if fault == "cut":
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if fault == "trickle":
                    for i in range(len(data)):
                        if server.stopping.wait(0.1):
                            return
                        self.wfile.write(data[i:i + 1])
                        self.wfile.flush()
                    return
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


def write_simple_index(packages: Path, root: Path) -> Path:
    """A static PEP 503 index of ``packages`` under ``root/simple/`` (files in root/files/)."""
    import html
    import re as _re

    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    projects: dict[str, list[Path]] = {}
    for path in sorted(packages.iterdir()):
        shutil.copy(path, files / path.name)
        name = _re.split(r"-\d", path.name, maxsplit=1)[0]
        projects.setdefault(_re.sub(r"[-_.]+", "-", name).lower(), []).append(path)
    for project, paths in projects.items():
        page = root / "simple" / project
        page.mkdir(parents=True, exist_ok=True)
        links = "".join(
            f'<a href="../../files/{html.escape(p.name)}#sha256={hashlib.sha256(p.read_bytes()).hexdigest()}">'
            f"{html.escape(p.name)}</a>\n" for p in paths)
        (page / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
    return root


# --- run time: release, the buildpack as a directory of its own -----------------------

def release_types(slug: Path, bin_dir: Path = BIN) -> dict[str, str]:
    """``default_process_types`` from the real bin/release."""
    import yaml

    out = subprocess.run([str(bin_dir / "release"), str(slug)], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return yaml.safe_load(out)["default_process_types"]


def copy_buildpack(dest: Path) -> Path:
    """A private copy of the buildpack (bin, buildpack, vendor), as a platform checks it out:
    what compile writes into its own directory (``export``) stays out of the checkout."""
    target = dest / "buildpack-python"
    ignore = shutil.ignore_patterns("__pycache__", "runtimes", "wheels")
    for name in ("bin", "buildpack", "vendor"):
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    return target


# --- package managers: Pipenv, Poetry, uv (issue 4) ------------------------------------

MANAGER_TOOLS = ("pipenv", "poetry", "uv", "pdm")
LOCK_TOOLS = CACHE / "lock-tools"
INDEX_PLACEHOLDER = "@INDEX_URL@"  # written into fixture manifests, replaced at test time


def _tool_requirements(name: str) -> Path:
    return ROOT / "vendor" / "tools" / f"{name}.txt"


def ensure_tool_packages() -> Path:
    """Add the pinned Pipenv/Poetry/uv closures (vendor/tools) to the test index, once.

    Builds install these tools from the build's index, as on a platform; here that is the
    test index, so it must serve exactly the hash-pinned files.
    """
    with _locked("test-index"):  # xdist workers and other runs of this checkout share the folder
        return _ensure_tool_packages()


def _ensure_tool_packages() -> Path:
    packages = _ensure_index_packages()
    reqs = [_tool_requirements(name) for name in MANAGER_TOOLS]
    stamp = INDEX_DIR / ".tools-fingerprint"
    want = _fingerprint(reqs) + ",".join(TEST_MINORS)
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


def lock_tool(name: str) -> Path:
    """The pinned tool ``name`` in a venv of its own (for making lock files at test time)."""
    req = _tool_requirements(name)
    venv = LOCK_TOOLS / f"{name}-{hashlib.sha256(req.read_bytes()).hexdigest()[:12]}"
    with _locked(f"lock-tool-{name}"):  # one process makes it, the others wait and use it
        if not (venv / ".complete").is_file():
            _make_lock_tool_venv(venv, req)
    return venv / "bin" / name


def _make_lock_tool_venv(venv: Path, req: Path) -> None:
    packages = ensure_tool_packages()
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index",
                    "--find-links", str(packages), "--require-hashes", "--no-deps",
                    "--only-binary=:all:", "-r", str(req)], check=True, env=clean_pip_env())
    (venv / ".complete").write_text("")


def lock_env(scratch: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment for the lock tools: caches and config in ``scratch``."""
    scratch.mkdir(parents=True, exist_ok=True)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(scratch), "LANG": "C.UTF-8",
           "XDG_CONFIG_HOME": str(scratch / "config"), "XDG_CONFIG_DIRS": str(scratch / "config"),
           "XDG_CACHE_HOME": str(scratch / "cache"), "PIP_CONFIG_FILE": os.devnull,
           "UV_PYTHON_DOWNLOADS": "never", "POETRY_VIRTUALENVS_CREATE": "false",
           "POETRY_KEYRING_ENABLED": "false", "POETRY_CONFIG_DIR": str(scratch / "config"),
           "PIPENV_YES": "1", "PIPENV_NOSPIN": "1", "PIPENV_DONT_LOAD_ENV": "1",
           "PIPENV_IGNORE_VIRTUALENVS": "1", "WORKON_HOME": str(scratch / "venvs"),
           "PDM_USE_VENV": "false", "PDM_CHECK_UPDATE": "false", "PDM_HOME": str(scratch / "pdm")}
    env.update(extra or {})
    return env


def lock_fixture(name: str, dest: Path, index_url: str, python: Path,
                 extra_env: dict[str, str] | None = None) -> Path:
    """Copy ``fixtures/<name>``, point it at ``index_url`` and make its lock file with the
    pinned tool (the lock records that index, so it is made per test session)."""
    app = copy_fixture(name, dest)
    for manifest in ("pyproject.toml", "Pipfile"):
        path = app / manifest
        if path.is_file():
            path.write_text(path.read_text().replace(INDEX_PLACEHOLDER, index_url))
    if (app / "Pipfile").is_file():
        cmd = [str(lock_tool("pipenv")), "lock", "--python", str(python)]
    elif "[tool.poetry" in (app / "pyproject.toml").read_text():
        cmd = [str(lock_tool("poetry")), "lock", "--no-interaction"]
    elif "[tool.pdm" in (app / "pyproject.toml").read_text():
        cmd = [str(lock_tool("pdm")), "lock"]
        extra_env = {"PDM_PYTHON": str(python), **(extra_env or {})}
    else:
        cmd = [str(lock_tool("uv")), "lock", "--python", str(python)]
    proc = subprocess.run(cmd, cwd=app, env=lock_env(dest / ".lock-scratch", extra_env),
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}{proc.stderr}")
    shutil.rmtree(dest / ".lock-scratch", ignore_errors=True)
    return app


def installed_distributions(slug: Path) -> dict[str, str]:
    """Canonical name -> version of every distribution the slug's Python sees (run in it)."""
    code = ("import importlib.metadata as m, json, re; print(json.dumps({re.sub(r'[-_.]+', '-', "
            "d.metadata['Name']).lower(): d.version for d in m.distributions()}))")
    out = subprocess.run([str(slug / ".heroku/python/bin/python3"), "-I", "-c", code], cwd=slug,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(slug)},
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def files_containing(root: Path, text: str) -> list[str]:
    """Files under ``root`` (not following links) whose bytes contain ``text``."""
    needle = text.encode()
    found = []
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            if not path.is_symlink() and needle in path.read_bytes():
                found.append(str(path.relative_to(root)))
    return found


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
        [str(Path(sys.executable).parent / "pypi-server"), "run", "-p", str(port),
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


# --- processes the platform harnesses start (tests/integration/cnb, tests/integration/herokuish) ---------------


def config_dir(path: Path, **values: str) -> Path:
    """An ENV_DIR: one file per config var."""
    path.mkdir()
    for name, value in values.items():
        (path / name).write_text(value)
    return path


def move_slug(app: Path, tmp_path: Path) -> Path:
    """The platform runs the slug elsewhere: move it, and make the build path vanish."""
    slug = tmp_path / "mounted" / "app"
    slug.parent.mkdir()
    shutil.move(str(app), slug)
    return slug


NLTK_MIRROR_HOST = "nltk-mirror.test"  # reached through the proxy (NLTK refuses loopback itself)


class NltkMirror:
    """A real NLTK data index (index.xml + a corpus zip) over loopback HTTP, and a
    forwarding HTTP proxy for it: NLTK refuses to fetch from non-public addresses unless
    a proxy it is told to trust does the fetching (``NLTK_ALLOW_PROXIED_URLOPEN``)."""

    def __init__(self, root):
        import hashlib
        import http.server
        import threading
        import urllib.request
        import zipfile

        members = {"tinycorpus/README": "A tiny corpus for the tests.\n",
                   "tinycorpus/words": "hello\nfrom\nnltk\n"}
        (root / "packages" / "corpora").mkdir(parents=True)
        archive = root / "packages" / "corpora" / "tinycorpus.zip"
        with zipfile.ZipFile(archive, "w") as zipped:
            for name, text in members.items():
                zipped.writestr(name, text)
        data = archive.read_bytes()
        (root / "index.xml").write_text(
            '<?xml version="1.0"?>\n<nltk_data><packages>\n'
            f'<package id="tinycorpus" name="Tiny corpus" subdir="corpora" unzip="1" '
            f'url="http://{NLTK_MIRROR_HOST}/packages/corpora/tinycorpus.zip" size="{len(data)}" '
            f'unzipped_size="{sum(len(t) for t in members.values())}" '
            f'checksum="{hashlib.md5(data).hexdigest()}" '
            f'sha256_checksum="{hashlib.sha256(data).hexdigest()}" />\n'
            "</packages><collections></collections></nltk_data>\n")
        self.index = CountingStoreServer(root)
        upstream = self.index.url.rstrip("/")

        class Proxy(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                url = self.path.replace(f"http://{NLTK_MIRROR_HOST}", upstream)
                try:
                    with urllib.request.urlopen(url, timeout=10) as resp:
                        body, code = resp.read(), resp.status
                except urllib.error.HTTPError as exc:
                    body, code = b"", exc.code
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
        threading.Thread(target=self.proxy.serve_forever, daemon=True).start()
        self.config = {"NLTK_DOWNLOAD_URL": f"http://{NLTK_MIRROR_HOST}/index.xml",
                       "http_proxy": f"http://127.0.0.1:{self.proxy.server_address[1]}",
                       "no_proxy": "127.0.0.1,localhost",
                       "NLTK_ALLOW_PROXIED_URLOPEN": "1"}

    def stop(self) -> None:
        self.proxy.shutdown()
        self.proxy.server_close()
        self.index.stop()
