"""Hostile inputs, round two (issue 15): one or more builds per case, each run between
sentinel files, and each class with more cases than the issue's examples.

Every case asserts the exit code and error id, no traceback, and that nothing outside
BUILD_DIR, CACHE_DIR and temp changed: the case's folder (which holds the app, the cache,
the config vars, a HOME and a ``victim`` folder that hostile links point at) is
snapshotted before the build and compared after it, except for the app and the cache.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import io
import json
import os
import shutil
import subprocess
import tarfile
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from buildpack.base import fs, platform_info
from buildpack.base.fs import walk
from tests import support

pytestmark = pytest.mark.slow

PROCFILE = "web: python -m http.server $PORT\n"
HOST_SECRET = "host-secret-9c1e"


# --- the case's world: app, cache, config vars, HOME, a victim folder, sentinels ----------

class World:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.app = root / "app"
        self.cache = root / "cache"
        self.env_dir = root / "env"
        self.home = root / "home"
        self.victim = root / "victim"
        for folder in (self.app, self.env_dir, self.home, self.victim / "sub"):
            folder.mkdir(parents=True)
        (self.victim / "secret.txt").write_text(f"{HOST_SECRET}\n")
        (self.victim / "secret.py").write_text(f"SECRET = {HOST_SECRET!r}\nif __name__ == '__main__': pass\n")
        (root / "sentinel.txt").write_text("must not change\n")
        (self.app / "Procfile").write_text(PROCFILE)
        (self.app / "requirements.txt").write_text("")
        self.process_env: dict[str, str] = {}

    def write(self, name: str, content: str | bytes) -> Path:
        path = self.app / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if os.path.islink(path):
            path.unlink()
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return path

    def link(self, name: str, target: str | Path) -> None:
        path = self.app / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(path):
            path.unlink()
        os.symlink(target, path)

    def config(self, name: str, value: str) -> None:
        (self.env_dir / name).write_text(value)

    def outside(self) -> dict[str, tuple]:
        return snapshot(self.root, skip={self.app, self.cache})


def snapshot(root: Path, skip: set[Path] = frozenset()) -> dict[str, tuple]:  # type: ignore[assignment]
    """rel path -> (kind, mode, size, mtime, sha256 of regular files); never reads specials."""
    found: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in walk(root):
        dirnames[:] = [d for d in dirnames if Path(dirpath, d) not in skip]
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            digest = ""
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as fh:
                    digest = hashlib.sha256(fh.read()).hexdigest()
            target = os.readlink(path) if os.path.islink(path) else ""
            found[os.path.relpath(path, root)] = (st.st_mode, st.st_size, st.st_mtime_ns, digest, target)
    return found


@pytest.fixture(scope="module")
def index_url(package_index):
    return package_index.url


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory, runtime_store, index_url):
    """A cache holding the 3.13 environment of a requirements-free app."""
    cache = tmp_path_factory.mktemp("warm") / "cache"
    app = tmp_path_factory.mktemp("warm-app")
    (app / "Procfile").write_text(PROCFILE)
    (app / "requirements.txt").write_text("")
    result = support.compile_app(app, cache, support.build_env(str(runtime_store), index_url))
    assert result.returncode == 0, result.log
    return cache


def build(world: World, store: str, index_url: str | None, timeout: float = 600,
          app: Path | None = None) -> support.BuildResult:
    env = support.build_env(store, index_url, {"HOME": str(world.home), **world.process_env})
    return support.compile_app(app or world.app, world.cache, env, world.env_dir, timeout=timeout)


@dataclass
class Case:
    category: str
    spoil: Callable[[World], None]
    error_id: str | tuple[str, ...] | None = None  # None: the build must succeed
    expect: tuple[str, ...] = ()         # in the log
    never: tuple[str, ...] = ()          # never in the log (nor in generated files)
    check: Callable[[World], None] | None = None
    store: Callable[[World, Path], str] | None = None  # a store of the case's own
    timeout: float = 600
    extra: dict[str, str] = field(default_factory=dict)


def _slug_has_no(text: str) -> Callable[[World], None]:
    def check(world: World) -> None:
        for path in (world.app / ".profile.d").glob("*"):
            assert text not in path.read_text(errors="replace")
        release = subprocess.run([str(support.BIN / "release"), str(world.app)],
                                 capture_output=True, text=True, timeout=60)
        assert text not in release.stdout + release.stderr
    return check


def _no_pyc_of_the_victim(world: World) -> None:
    pycs = [p for p in world.app.rglob("*.pyc") if "secret" in p.name and ".heroku" not in p.parts]
    assert pycs == [], pycs
    assert not (world.victim / "__pycache__").exists()


def _victim_untouched(world: World) -> None:
    assert sorted(p.name for p in world.victim.iterdir()) == ["secret.py", "secret.txt", "sub"]
    assert list((world.victim / "sub").iterdir()) == []


def _fifo(name: str) -> Callable[[World], None]:
    def spoil(world: World) -> None:
        path = world.app / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        os.mkfifo(path)
    return spoil


def _sparse(name: str, size: int) -> Callable[[World], None]:
    def spoil(world: World) -> None:
        with open(world.app / name, "wb") as out:
            out.truncate(size)
    return spoil


def _steps(*steps: Callable[[World], None]) -> Callable[[World], None]:
    def spoil(world: World) -> None:
        for step in steps:
            step(world)
    return spoil


def _w(name: str, content: str | bytes) -> Callable[[World], None]:
    return lambda world: world.write(name, content)


def _ln(name: str, target: str | Callable[[World], Path]) -> Callable[[World], None]:
    return lambda world: world.link(name, target(world) if callable(target) else target)


def _cfg(name: str, value: str) -> Callable[[World], None]:
    return lambda world: world.config(name, value)


def _hook(name: str, script: str) -> Callable[[World], None]:
    def spoil(world: World) -> None:
        path = world.write(f"bin/{name}", "#!/bin/sh\n" + script)
        path.chmod(0o755)
    return spoil


# --- stores of a case's own --------------------------------------------------------------

def _store_with(files: dict[str, bytes | Callable[[tarfile.TarFile], None]],
                manifest: Callable[[dict], str] | None = None) -> Callable[[World, Path], str]:
    """A store dir with one 3.13.9 archive made of ``files`` (bytes, or a function that
    adds members), the manifest optionally rewritten."""
    def make(world: World, runtime_store: Path) -> str:
        store = world.root / "store"
        store.mkdir()
        archive = store / "python-3.13.9-hostile.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for name, content in files.items():
                if callable(content):
                    content(tar)
                    continue
                info = tarfile.TarInfo(name)
                info.size = len(content)
                info.mode = 0o755
                tar.addfile(info, io.BytesIO(content))
        data = archive.read_bytes()
        doc = {"schema": 1, "runtimes": [{
            "version": "3.13.9", "stack": platform_info.current_stack(),
            "arch": platform_info.current_arch(), "file": archive.name,
            "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}]}
        (store / "manifest.json").write_text(manifest(doc) if manifest else json.dumps(doc))
        world.write(".python-version", "3.13.9\n")
        return str(store)
    return make


def _links(*pairs: tuple[str, str, str]) -> Callable[[tarfile.TarFile], None]:
    def add(tar: tarfile.TarFile) -> None:
        for name, kind, target in pairs:
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE
            info.linkname = target
            tar.addfile(info)
    return add


_HANGING_PYTHON = {
    "bin/python3": b"#!/bin/sh\nexec sleep 600\n",
    "lib/python3.13/ensurepip/_bundled/pip-25.0-py3-none-any.whl": b"PK\x05\x06" + bytes(18),
}


def _manifest_store(text: Callable[[World], None]) -> Callable[[World, Path], str]:
    """A store whose manifest ``text`` writes (into ``world.root/store/manifest.json``)."""
    def make(world: World, runtime_store: Path) -> str:
        (world.root / "store").mkdir()
        text(world)
        return str(world.root / "store")
    return make


def _deep_manifest(world: World) -> None:
    (world.root / "store/manifest.json").write_text("[" * 100_000 + "]" * 100_000)


def _newline_version_manifest(world: World) -> None:
    runtime = json.loads((support.STORE_DIR / "manifest.json").read_text())
    for entry in runtime["runtimes"]:
        entry["version"] += "\n"
    (world.root / "store/manifest.json").write_text(json.dumps(runtime))


def _deep_folder(root: Path, depth: int) -> None:
    """``root/d/d/.../m.py``, ``depth`` folders deep (made relative: no long paths)."""
    here = os.getcwd()
    try:
        os.chdir(root)
        for _ in range(depth):
            os.mkdir("d")
            os.chdir("d")
        Path("m.py").write_text("X = 1\n")
    finally:
        os.chdir(here)


class _Endless(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.end_headers()
        with contextlib.suppress(OSError):
            while True:
                self.wfile.write(b" " * 65536)

    def log_message(self, *args: object) -> None:
        pass


def _endless_server(world: World) -> str:
    """A store whose manifest.json never ends (stopped with the test process)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Endless)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/"


def _manifest_link(world: World) -> None:
    os.symlink("/dev/zero", world.root / "store/manifest.json")


# --- the cases -----------------------------------------------------------------------

CASES: dict[str, Case] = {
    # class 2: links and special files in the app
    "heroku-dir-link": Case("app-links", _ln(".heroku", lambda w: w.victim / "sub"),
                            "app-file::in-the-way", check=_victim_untouched),
    "heroku-python-link": Case("app-links", _steps(lambda w: (w.app / ".heroku").mkdir(),
                                                   _ln(".heroku/python", lambda w: w.victim / "sub")),
                               check=_victim_untouched),
    "profile-dir-link": Case("app-links", _ln(".profile.d", lambda w: w.victim / "sub"),
                             "app-file::in-the-way", check=_victim_untouched),
    "profile-script-link": Case("app-links", _ln(".profile.d/python.sh",
                                                 lambda w: w.victim / "secret.txt"),
                                check=_victim_untouched),
    "app-base-record-link": Case(
        "app-links", _steps(_w("api/Procfile", PROCFILE), _w("api/requirements.txt", ""),
                            _cfg("APP_BASE", "api"),
                            _ln(".heroku/app-base", lambda w: w.victim / "secret.txt")),
        check=lambda w: (_victim_untouched(w), _slug_has_no(HOST_SECRET)(w))),
    "root-procfile-passwd-app-base": Case(
        "app-links", _steps(_w("api/Procfile", PROCFILE), _w("api/requirements.txt", ""),
                            _cfg("APP_BASE", "api"), _ln("Procfile", "/etc/passwd")),
        "app-file::outside-app", never=("root:x:0:0",)),
    "procfile-dev-zero": Case("app-links", _ln("Procfile", "/dev/zero"), "app-file::outside-app"),
    "procfile-fifo": Case("app-links", _fifo("Procfile"), "app-file::not-regular", timeout=120),
    "include-fifo": Case("app-links", _steps(_w("requirements.txt", "-r more.txt\n"), _fifo("more.txt")),
                         "app-file::not-regular", timeout=120),
    "include-dev-zero": Case("app-links", _steps(_w("requirements.txt", "-r zero.txt\n"),
                                                 _ln("zero.txt", "/dev/zero")),
                             "app-file::outside-app"),
    "include-through-folder-link": Case(
        "app-links", _steps(_w("requirements.txt", "-r reqs/secret.txt\n"),
                            _ln("reqs", lambda w: w.victim)), "app-file::outside-app",
        never=(HOST_SECRET,)),
    "runtime-txt-fifo": Case("app-links", _fifo("runtime.txt"), "app-file::not-regular", timeout=120),
    "pyproject-dev-zero": Case("app-links", _steps(lambda w: (w.app / "requirements.txt").unlink(),
                                                   _ln("pyproject.toml", "/dev/zero")),
                               "app-file::outside-app"),
    "app-py-linked-outside": Case("app-links", _ln("settings_secret.py", lambda w: w.victim / "secret.py"),
                                  check=_no_pyc_of_the_victim),
    "pycache-linked-outside": Case("app-links", _steps(_w("pkg/mod.py", "X = 1\n"),
                                                       _ln("pkg/__pycache__", lambda w: w.victim / "sub")),
                                   check=_victim_untouched),
    "manage-py-dev-zero": Case("app-links", _ln("manage.py", "/dev/zero")),
    # class 3: credentials (more in test_credentials_stay_home)
    "multiline-key-echoed": Case(
        "credentials", _steps(_cfg("DEPLOY_KEY", "-----BEGIN KEY-----\nMIIEline0ne0ne\nqwertyLINE2two\n-----END KEY-----\n"),
                              _hook("post_compile", 'echo "$DEPLOY_KEY"\n')),
        never=("MIIEline0ne0ne", "qwertyLINE2two")),
    "json-and-url-escaped-echo": Case(
        "credentials", _steps(_cfg("API_SECRET", 'p@ss "w/o\\rd'),
                              _hook("post_compile",
                                    'python3 -c \'import json, os, urllib.parse as u; '
                                    's = os.environ["API_SECRET"]; print(json.dumps(s)); '
                                    'print(u.quote(s, safe="")); print(u.quote_plus(s))\'\n')),
        never=('p@ss \\"w/o\\\\rd', "p%40ss%20%22w%2Fo%5Crd", "p%40ss+%22w%2Fo%5Crd")),
    "token-without-secret-name": Case(
        "credentials", _steps(_cfg("GITHUB_PAT", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
                              _hook("post_compile", 'echo "pat is $GITHUB_PAT"\n')),
        never=("ghp_16C7e42F292c6912E7710c838347Ae178B4a",)),
    "database-url-password": Case(
        "credentials", _steps(_cfg("DATABASE_URL", "postgres://app:s3cr@t/pw@db.internal:5432/app"),
                              _hook("post_compile", 'echo "db $DATABASE_URL"\n')),
        never=("s3cr@t/pw",), expect=("db postgres://app:****@db.internal:5432/app",)),
    "find-links-credentials-echoed": Case(
        "credentials", _w("requirements.txt",
                          "--no-index\n--find-links https://user:fl-pa55w0rd@links.invalid/\nsix\n"),
        ("dependencies::install-failed", "package-index::unreachable"), never=("fl-pa55w0rd",),
        expect=("https://user:****@links.invalid/",)),
    "store-password-with-slash": Case(
        "credentials", lambda w: None, "url::invalid", never=("pa/ss", "ss@127"),
        store=lambda w, s: "http://builder:pa/ss@127.0.0.1:9/store/"),
    "store-port-typo": Case(
        "credentials", lambda w: None, "url::invalid", never=("t0ps3cret",),
        store=lambda w, s: "http://builder:t0ps3cret@127.0.0.1:443O/store/"),
    "index-port-typo": Case("credentials", _cfg("PIP_INDEX_URL", "http://u:ixpa55word@127.0.0.1:443O/simple/"),
                            "url::invalid", never=("ixpa55word",)),
    "index-password-with-slash": Case("credentials",
                                      _cfg("PIP_EXTRA_INDEX_URL", "https://u:ix/pa55word@idx.invalid/simple/"),
                                      "url::invalid", never=("ix/pa55word", "pa55word@idx")),
    "store-password-with-at": Case(
        "credentials", lambda w: None, "runtime-store::unreadable", never=("p@ssw0rd@x",),
        store=lambda w, s: "http://builder:p@ssw0rd@x@127.0.0.1:9/store/"),
    # class 5: cache damage and garbage (more in test_cache_is_never_written_through_the_slug)
    "cache-env-is-a-file": Case("cache-damage", lambda w: (shutil.rmtree(w.cache / "env"),
                                                           (w.cache / "env").write_text("x")),
                                expect=("Discarded unexpected files in the build cache",)),
    "cache-uv-lock-is-a-folder": Case("cache-damage", lambda w: (shutil.rmtree(w.cache / "uv", ignore_errors=True),
                                                                 (w.cache / "uv/.lock").mkdir(parents=True)),
                                 expect=("Discarded unexpected files in the build cache",),
                                 check=_victim_untouched),
    "cache-lock-is-a-folder": Case("cache-damage", lambda w: ((w.cache / ".lock").unlink(),
                                                              (w.cache / ".lock").mkdir())),
    "cache-runtime-is-a-file": Case(
        "cache-damage", lambda w: (shutil.rmtree(w.cache / "env"), shutil.rmtree(w.cache / "runtime"),
                                   (w.cache / "runtime").write_text("x")),
        expect=("Discarded unexpected files in the build cache",)),
    "cache-runtime-file-chmod": Case(
        "cache-damage", lambda w: (shutil.rmtree(w.cache / "env"),
                                   (w.cache / "runtime/python/bin/python3").resolve().chmod(0o777)),
        expect=("Discarding a damaged cached Python runtime",)),
    "cache-metadata-deep-json": Case("cache-damage",
                                     lambda w: (w.cache / "env/metadata.json").write_text("[" * 100_000),
                                     expect=("Discarding an unreadable build cache",)),
    "cache-file-chmod": Case("cache-damage",
                             lambda w: (w.cache / "env/python/bin/python3").resolve().chmod(0o777),
                             expect=("Discarding a corrupt build cache",)),
    # class 6: limits and hangs
    "requirements-1gb-sparse": Case("limits", _sparse("requirements.txt", 1 << 30), "app-file::too-large"),
    "requirements-50mb-blank": Case("limits", _w("requirements.txt", b"\n" * (50 << 20)), "app-file::too-large"),
    "procfile-sparse": Case("limits", _sparse("Procfile", 1 << 30), "app-file::too-large"),
    "includes-2000-files": Case("limits", lambda w: (
        w.write("requirements.txt", "".join(f"-r r/{i}.txt\n" for i in range(2000))),
        [w.write(f"r/{i}.txt", f"# part {i}\n-c ../constraints.txt\n") for i in range(2000)],
        w.write("constraints.txt", "six<2\n"))),
    "includes-1500-deep": Case("limits", lambda w: (
        w.write("requirements.txt", "-r r/0.txt\n"),
        [w.write(f"r/{i}.txt", f"-r {i + 1}.txt\n") for i in range(1500)]),
        "requirements::includes-too-deep"),
    "folder-1100-deep": Case("limits", lambda w: _deep_folder(w.app, 1100)),
    "lock-file-sparse": Case("limits", _steps(lambda w: (w.app / "requirements.txt").unlink(),
                                              _w("pyproject.toml", '[project]\nname = "x"\nversion = "1"\n'),
                                              _sparse("uv.lock", 1 << 31)), "app-file::too-large"),
    "runtime-txt-sparse": Case("limits", _sparse("runtime.txt", 1 << 30), "app-file::too-large"),
    "manifest-endless-body": Case("limits", lambda w: None, "runtime-store::not-served",
                                  store=lambda w, s: _endless_server(w), timeout=300),
    "pipfile-lock-deep-json": Case("limits", _steps(lambda w: (w.app / "requirements.txt").unlink(),
                                                    _w("Pipfile", "[packages]\n"),
                                                    _w("Pipfile.lock", "[" * 100_000)),
                                   "pipenv::lock-invalid-json"),
    "hook-leaves-a-server": Case("limits", _hook("post_compile", "sleep 600 &\necho started\n"),
                                 expect=("started",), timeout=300),
    "python-never-exits": Case("limits", lambda w: None, "process::timeout",
                               store=_store_with(_HANGING_PYTHON), timeout=300,
                               extra={"BUILDPACK_STEP_TIMEOUT": "20"}),
    "manifest-dev-zero": Case("limits", lambda w: None, "runtime-store::not-served",
                              store=_manifest_store(_manifest_link), timeout=300),
    "manifest-deep-json": Case("limits", lambda w: None, "runtime-store::invalid-manifest",
                               store=_manifest_store(_deep_manifest)),
    # class 7: misleading errors
    "heroku-is-a-file": Case("errors", _w(".heroku", "committed by mistake\n"), "app-file::in-the-way"),
    "env-name-control-chars": Case("errors", _cfg("BAD\x1b[2JNAME", "x"), never=("\x1b[2J",)),
    "manifest-version-newline": Case("errors", lambda w: None, "runtime-store::invalid-manifest",
                                     store=_manifest_store(_newline_version_manifest)),
    "archive-link-chain": Case("archive-links", lambda w: None, "python-runtime::unsafe-archive",
                               store=_store_with({"bin/python3": b"x", "links": _links(
                                   ("q", "sym", "."), ("p", "sym", "q/q/q/../../.."))})),
    # class 9: ${VAR} in requirements
    "config-var-unset": Case("config-refs", _w("requirements.txt", "six==1.17.0 ; python_version > '${NOT_SET_TOKEN}'\n"),
                             expect=("names config vars that are not set: NOT_SET_TOKEN",)),
    "config-var-not-allowlisted": Case(
        "config-refs", _steps(_cfg("MY_SECRET_VALUE", "zz-hidden-1234"),
                              _w("requirements.txt", "# ${MY_SECRET_VALUE}\nsix==1.17.0\n")),
        expect=("names config vars the installer does not get: MY_SECRET_VALUE",),
        never=("zz-hidden-1234",)),
}


def _error_ids_in(log: str) -> list[str]:
    return [line.split("(error id: ")[1].rstrip(")") for line in log.splitlines()
            if "(error id: " in line]


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input(name, tmp_path, warm_cache, runtime_store, index_url, figures):
    case = CASES[name]
    world = World(tmp_path)
    shutil.copytree(warm_cache, world.cache, symlinks=True)
    case.spoil(world)
    world.process_env.update(case.extra)
    store = case.store(world, runtime_store) if case.store else str(runtime_store)
    before = world.outside()
    app_before = snapshot(world.app)
    try:
        _check(case, world, store, index_url, figures, before, app_before)
    finally:
        fs.rmtree(world.app)  # iterative: pytest's own cleanup recurses too deep for some cases


def _check(case: Case, world: World, store: str, index_url: str, figures, before, app_before) -> None:
    result = build(world, store, index_url, timeout=case.timeout)
    figures.add(case.category)
    figures.add("sentinels")
    assert "Traceback" not in result.log, result.log[-3000:]
    if case.error_id:
        assert result.returncode == result.failure_exit, result.log[-3000:]
        wanted = (case.error_id,) if isinstance(case.error_id, str) else case.error_id
        assert set(wanted) & set(_error_ids_in(result.log)), result.log[-3000:]
        assert snapshot(world.app) == app_before, "a failed build changed the app dir"
    else:
        assert result.returncode == 0, result.log[-3000:]
    for text in case.expect:
        assert text in result.log, result.log[-3000:]
    for text in (*case.never, HOST_SECRET):
        assert text not in result.log
    assert world.outside() == before, "the build wrote outside BUILD_DIR, CACHE_DIR and temp"
    if case.check:
        case.check(world)


def test_enough_cases_per_class():
    """The issue's examples are the floor: every class has more cases than it gave."""
    # the examples per class (its bullets name several each)
    examples = {"app-links": 9, "credentials": 11, "cache-damage": 4, "limits": 12, "errors": 6,
                "config-refs": 1}
    counts: dict[str, int] = {}
    for case in CASES.values():
        counts[case.category] = counts.get(case.category, 0) + 1
    counts["credentials"] += 2  # test_credentials_stay_home
    counts["cache-damage"] += 2  # test_cache_is_never_written_through_the_slug
    counts["errors"] += len(UNUSABLE_PATHS)  # test_unusable_build_dir_is_refused
    counts["config-refs"] += 1  # test_config_vars_in_requirements_are_expanded_and_masked
    for category, floor in examples.items():
        assert counts.get(category, 0) > floor, (category, counts)


# --- class 7: build paths that scripts cannot name ---------------------------------------

UNUSABLE_PATHS = {"quote": "it's", "dollar": "a$HOME", "double-quote": 'say "hi"',
                  "backquote": "a`id`", "not-utf8": os.fsdecode(b"caf\xe9")}


@pytest.mark.parametrize("name", sorted(UNUSABLE_PATHS))
def test_unusable_build_dir_is_refused(name, tmp_path, runtime_store, index_url, figures):
    world = World(tmp_path)
    app = tmp_path / UNUSABLE_PATHS[name]
    shutil.copytree(world.app, app)
    before = world.outside()
    result = build(world, str(runtime_store), index_url, app=app)
    figures.add("errors")
    figures.add("sentinels")
    assert result.returncode == result.failure_exit and "Traceback" not in result.log
    assert "usage::unusable-path" in _error_ids_in(result.log)
    assert world.outside() == before  # the refused app dir included: nothing was written


# --- class 3: credentials are sent only to their origin ----------------------------------

class Recorder:
    """An HTTP server that records each request's Authorization header and answers with
    ``route(path) -> (status, headers, body)``."""

    def __init__(self, host: str, route: Callable[[str], tuple[int, dict[str, str], bytes]]) -> None:
        seen: list[tuple[str, str | None]] = []
        self.seen = seen

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                seen.append((self.path, self.headers.get("Authorization")))
                status, headers, body = route(self.path)
                self.send_response(status)
                for key, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("where", ["store", "index-probe"])
def test_credentials_stay_home(where, tmp_path, runtime_store, index_url, figures):
    """A redirect to another origin gets no credentials: the store's downloads and the
    index probe (pip itself already behaves)."""
    world = World(tmp_path)
    store_dir = Path(runtime_store)
    other = Recorder("localhost", lambda path: (
        (200, {}, (store_dir / path.lstrip("/")).read_bytes())
        if (store_dir / path.lstrip("/")).is_file() else (404, {}, b"")))
    origin = Recorder("127.0.0.1", lambda path: (
        (200, {}, (store_dir / "manifest.json").read_bytes()) if path.endswith("manifest.json")
        else (302, {"Location": f"http://localhost:{other.port}{path}"}, b"")))
    password = "origin-only-pa55"
    try:
        if where == "store":
            store, index = f"http://builder:{password}@127.0.0.1:{origin.port}/", index_url
            world.write(".python-version", "3.13\n")
        else:
            store = str(runtime_store)
            index = f"http://deploy:{password}@127.0.0.1:{origin.port}/simple/"
            world.write("requirements.txt", "six==1.17.0\n")
        result = build(world, store, index)
    finally:
        origin.stop()
        other.stop()
    figures.add("credentials")
    figures.add("sentinels")
    assert "Traceback" not in result.log
    assert password not in result.log
    assert origin.seen and all(auth for _, auth in origin.seen if where == "store")
    # Every request that reached the other origin: the store's files, the index probe,
    # the buildpack's own fetch of uv (uv_fetch), pip's and uv's requests.
    assert other.seen, "the redirect was not followed"
    leaked = [path for path, auth in other.seen if auth]
    assert leaked == [], f"credentials sent to another origin for {leaked}"
    if where == "store":
        assert result.returncode == 0, result.log[-3000:]
    user = "builder" if where == "store" else "deploy"
    expected = base64.b64encode(f"{user}:{password}".encode()).decode()
    assert all(auth in (None, f"Basic {expected}") for _, auth in origin.seen)


# --- class 4: the environment cache never deploys old code -------------------------------

def _wheel_with_version(world: World, name: str, file_version: str, module_version: str) -> Path:
    """Overwrite the app's dist/ wheel (same file name) with one whose module says
    ``module_version``: a rebuilt wheel committed under the old name."""
    target = world.app / "dist" / f"{name}-{file_version}-py3-none-any.whl"
    built = support.version_wheel(world.root / "rebuilt", name, file_version)
    with zipfile.ZipFile(built) as src, zipfile.ZipFile(target, "w") as dest:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("__init__.py"):
                data = f"VERSION = {module_version!r}\n".encode()
            elif item.filename.endswith("RECORD"):
                data = b"".join(line + b"\n" for line in data.splitlines()
                                if b"__init__.py" not in line)
            dest.writestr(item, data)
    return target


def _project(folder: Path, name: str, version: str) -> None:
    (folder / name).mkdir(parents=True, exist_ok=True)
    (folder / name / "__init__.py").write_text(f"VERSION = {version!r}\n")
    (folder / "pyproject.toml").write_text(
        f'[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\n')


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", *args], cwd=folder,
                   check=True, capture_output=True)


def _git_repo(world: World, version: str) -> None:
    repo = world.root / "repo"
    _project(repo, "hostilegit", version)
    if not (repo / ".git").exists():
        _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", version)


STALE: dict[str, tuple[Callable[[World], None], Callable[[World], None], str]] = {
    # (first state, the change, the module whose VERSION must be "2")
    "local-path-without-dot": (
        lambda w: (_project(w.app / "libs/common", "hostilelocal", "1"),
                   w.write("requirements.txt", "libs/common\n")),
        lambda w: _project(w.app / "libs/common", "hostilelocal", "2"), "hostilelocal"),
    "find-links-folder-gains-a-wheel": (
        lambda w: (support.version_wheel(w.app / "wheels", "hostilewheel", "1"),
                   w.write("requirements.txt", "--find-links wheels\nhostilewheel\n")),
        lambda w: support.version_wheel(w.app / "wheels", "hostilewheel", "2"), "hostilewheel"),
    "wheel-file-replaced": (
        lambda w: (support.version_wheel(w.app / "dist", "hostilefile", "1"),
                   w.write("requirements.txt", "dist/hostilefile-1-py3-none-any.whl\n")),
        lambda w: _wheel_with_version(w, "hostilefile", "1", "2"), "hostilefile"),
    "git-branch-gets-a-commit": (
        lambda w: (_git_repo(w, "1"),
                   w.write("requirements.txt", f"hostilegit @ git+file://{w.root / 'repo'}@main\n")),
        lambda w: _git_repo(w, "2"), "hostilegit"),
    "editable-path-changes-dependencies": (
        lambda w: (_project(w.app / "libs/edit", "hostileedit", "1"),
                   w.write("requirements.txt", "-e libs/edit\n")),
        lambda w: _project(w.app / "libs/edit", "hostileedit", "2"), "hostileedit"),
}


@pytest.mark.parametrize("name", sorted(STALE))
def test_stale_cache_never_deploys_old_code(name, tmp_path, runtime_store, index_url, figures):
    first, change, module = STALE[name]
    world = World(tmp_path)
    first(world)
    one = build(world, str(runtime_store), index_url)
    assert one.returncode == 0, one.log[-3000:]
    change(world)
    before = world.outside()
    two = build(world, str(runtime_store), index_url)
    figures.add("stale-cache")
    figures.add("sentinels")
    assert two.returncode == 0, two.log[-3000:]
    assert "Unchanged since the last build" not in two.log
    assert "The previous build's environment, moved from the build cache" in two.log, two.log[-3000:]  # the package manager decided
    out = subprocess.run([str(world.app / ".heroku/python/bin/python3"), "-c",
                          f"import {module}; print({module}.VERSION)"],
                         capture_output=True, text=True, cwd=world.app, timeout=60)
    assert out.stdout.strip() == "2", out.stdout + out.stderr
    assert world.outside() == before


# --- class 5: the slug never writes into the cache ---------------------------------------

@pytest.mark.parametrize("hook", [
    "chmod 777 \"$BUILD_DIR/.heroku/python/bin/python3.13\"\n",
    "for f in \"$BUILD_DIR\"/.heroku/python/lib/python3.13/site-packages/pip/__init__.py; "
    "do echo 'raise SystemExit(\"poisoned\")' >> \"$f\"; done\n",
])
def test_cache_is_never_written_through_the_slug(hook, tmp_path, runtime_store, index_url, figures):
    """A post_compile hook (or a later buildpack) that changes the installed runtime in
    the slug changes neither the cache nor the next build."""
    world = World(tmp_path)
    world.write(".python-version", "3.13\n")
    _hook("post_compile", hook)(world)
    one = build(world, str(runtime_store), index_url)
    assert one.returncode == 0, one.log[-3000:]
    (world.app / "bin/post_compile").unlink()
    fresh = tmp_path / "fresh"
    shutil.copytree(world.app, fresh, ignore=shutil.ignore_patterns(".heroku", ".profile.d"))
    two = build(world, str(runtime_store), index_url, app=fresh)
    figures.add("cache-damage")
    figures.add("sentinels")
    assert two.returncode == 0, two.log[-3000:]
    # The first build's hook changed installed files: that environment was never cached.
    assert "The installed environment is not cached" in one.log
    assert "Discarding a corrupt build cache" not in two.log
    python = fresh / ".heroku/python/bin/python3.13"
    assert python.stat().st_mode & 0o777 == 0o755
    check = subprocess.run([str(fresh / ".heroku/python/bin/python3"), "-c", "import pip"],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    # Nor uv's cache: an install from it (the environments gone) gets the files unchanged.
    shutil.rmtree(world.cache / "env")
    again = tmp_path / "again"
    shutil.copytree(fresh, again, ignore=shutil.ignore_patterns(".heroku", ".profile.d"))
    three = build(world, str(runtime_store), index_url, app=again)
    assert three.returncode == 0, three.log[-3000:]
    check = subprocess.run([str(again / ".heroku/python/bin/python3"), "-c", "import pip"],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr


# --- class 8: concurrent builds sharing a buildpack dir do not cross ---------------------

def test_concurrent_builds_get_their_own_python_from_export(tmp_path, runtime_store, index_url, figures):
    buildpack = support.copy_buildpack(tmp_path)
    apps = {}
    for name, version in (("a", "3.11"), ("b", "3.13")):
        app = tmp_path / name
        app.mkdir()
        (app / "Procfile").write_text(PROCFILE)
        (app / ".python-version").write_text(f"{version}\n")
        apps[name] = app
    env = support.build_env(str(runtime_store), index_url)

    def compile_one(app: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(buildpack / "bin/compile"), str(app), str(tmp_path / f"{app.name}-cache")],
                              env=env, capture_output=True, text=True, timeout=600)

    results: dict[str, subprocess.CompletedProcess[str]] = {}
    threads = [threading.Thread(target=lambda n=n: results.__setitem__(n, compile_one(apps[n])))
               for n in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    figures.add("crosstalk", 2)
    for proc in results.values():
        assert proc.returncode == 0, proc.stdout + proc.stderr
    for app in apps.values():  # each next buildpack, in its own build dir
        out = subprocess.run(["sh", "-c", f'. "{buildpack}/export"; python3 -c "import sys; print(sys.prefix)"',
                              "compile", str(app), "/cache"],
                             env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == str(app / ".heroku/python"), out.stdout
        out = subprocess.run(["sh", "-c", f'. "{buildpack}/export"; python3 -c "import sys; print(sys.prefix)"'],
                             cwd=app, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == str(app / ".heroku/python"), out.stdout


# --- class 9: ${VAR} in requirements, from allowlisted config vars, masked ---------------

def test_config_vars_in_requirements_are_expanded_and_masked(tmp_path, runtime_store, index_url, figures):
    world = World(tmp_path)
    world.config("INDEX_USER", "deployer")
    world.config("INDEX_PASSWORD", "req-pa55w0rd-77")
    authed = index_url.replace("http://", "http://${INDEX_USER}:${INDEX_PASSWORD}@")
    world.write("requirements.txt", f"--index-url {authed}\nsix==1.17.0\n")
    result = build(world, str(runtime_store), None)
    figures.add("config-refs")
    figures.add("secrets")
    assert result.returncode == 0, result.log[-3000:]
    check = subprocess.run([str(world.app / ".heroku/python/bin/python3"), "-c", "import six"],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    assert "req-pa55w0rd-77" not in result.log
    assert "%24%7B" not in result.log and "${INDEX_PASSWORD}" not in result.log.replace(
        "requirements.txt", "")
    with contextlib.suppress(FileNotFoundError):
        for path in (world.app / ".heroku/python").rglob("direct_url.json"):
            assert "req-pa55w0rd-77" not in path.read_text()
