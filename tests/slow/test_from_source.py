"""``bin/build-runtime-store --from-source`` on a real CPython release, and an app
built on the result that runs after its slug has moved.

The source is Debian's pristine upstream tarball of python3.11, which
``.ci/setup-from-source.sh .cache/cpython-src`` downloads (with the build dependencies);
``CPYTHON_SOURCE_TARBALL`` names another. The built store is cached in
``.cache/from-source-store``, keyed by the tarball and the code that builds and packs
it, so a rerun takes seconds (a build takes about two minutes on two cores).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests import support

pytestmark = pytest.mark.slow

SOURCE_DIR = support.CACHE / "cpython-src"
STORE = support.CACHE / "from-source-store"
KEYED_SOURCES = [support.ROOT / "buildpack" / name
                 for name in ("source_build.py", "runtime_archive.py", "store_builder.py")]
CLEAN_PATH = "PATH=/usr/bin:/bin"


def source_tarball() -> Path | None:
    if os.environ.get("CPYTHON_SOURCE_TARBALL"):
        return Path(os.environ["CPYTHON_SOURCE_TARBALL"])
    found = sorted(SOURCE_DIR.glob("python3.*_*.orig.tar.*")) + sorted(SOURCE_DIR.glob("Python-3.*.tar.*"))
    return found[-1] if found else None


def store_key(tarball: Path) -> str:
    digest = hashlib.sha256()
    for path in [tarball, *KEYED_SOURCES]:
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _runpaths(elf: Path) -> list[str]:
    out = subprocess.run(["readelf", "-d", str(elf)], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[(.*)\]", out)


@pytest.fixture(scope="module")
def source_store():
    """(store dir, its one manifest entry, the builder's output)."""
    tarball = source_tarball()
    if tarball is None:
        message = (f"no CPython source tarball in {SOURCE_DIR}: run (as root) "
                   f"bash .ci/setup-from-source.sh {SOURCE_DIR.relative_to(support.ROOT)}")
        pytest.fail(message)
    stamp, log = STORE / ".key", STORE / ".build-output.txt"
    key = store_key(tarball)
    if not (stamp.is_file() and stamp.read_text() == key and (STORE / "manifest.json").is_file()):
        shutil.rmtree(STORE, ignore_errors=True)
        STORE.mkdir(parents=True)
        started = time.monotonic()
        proc = subprocess.run([str(support.BIN / "build-runtime-store"), str(STORE),
                               "--from-source", str(tarball)],
                              capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
        log.write_text(proc.stdout + proc.stderr + f"\n(total {time.monotonic() - started:.0f}s)\n")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        stamp.write_text(key)
    [runtime] = json.loads((STORE / "manifest.json").read_text())["runtimes"]
    return STORE, runtime, log.read_text()


def test_the_build_is_logged_step_by_step(source_store):
    _, runtime, out = source_store
    version = runtime["version"]
    assert re.fullmatch(r"3\.\d+\.\d+", version)
    assert "-----> Building Python from source: " in out
    assert f"Python {version}: --prefix=/app/.heroku/python --enable-shared" in out
    assert re.search(r"^       configure: \d+s$", out, re.M)
    assert re.search(r"^       make -j\d+: \d+s$", out, re.M)
    assert re.search(r"^       make install: \d+s$", out, re.M)
    assert f"Smoke test passed: Python {version} runs from the staging dir" in out
    assert "Warning" not in out  # every optional module was built (the deps are installed)


def test_app_on_a_from_source_runtime_runs_after_its_slug_moved(tmp_path, source_store, package_index):
    store, runtime, _ = source_store
    version, xy = runtime["version"], ".".join(runtime["version"].split(".")[:2])
    build_root = tmp_path / "tmp-build"
    build_root.mkdir()
    app = support.copy_fixture("flask-app", build_root)
    (app / "runtime.txt").write_text(f"python-{version}\n")
    result = support.compile_app(app, tmp_path / "cache", support.build_env(str(store), package_index.url))
    assert result.returncode == 0, result.log
    assert f"-----> Preparing Python runtime (python-{version})" in result.stdout

    slug = tmp_path / "mounted" / "app"
    slug.parent.mkdir()
    shutil.move(str(app), slug)
    shutil.rmtree(build_root)

    python = slug / ".heroku" / "python" / "bin" / f"python{xy}"
    ldd = subprocess.run(["env", "-i", CLEAN_PATH, "ldd", str(python)], capture_output=True,
                         text=True, check=True).stdout
    [line] = [x for x in ldd.splitlines() if "libpython" in x]
    resolved = line.split("=>")[1].split("(")[0].strip()
    assert os.path.realpath(resolved) == str(slug / ".heroku/python/lib" / f"libpython{xy}.so.1.0"), line

    if shutil.which("readelf"):
        runpaths = {rel: _runpaths(slug / ".heroku/python" / rel)
                    for rel in (f"bin/python{xy}", f"lib/libpython{xy}.so.1.0")}
        [ssl_module] = (slug / ".heroku/python/lib" / f"python{xy}" / "lib-dynload").glob("_ssl.*.so")
        runpaths["_ssl"] = _runpaths(ssl_module)
        assert runpaths == {f"bin/python{xy}": ["$ORIGIN/../lib"],
                            f"lib/libpython{xy}.so.1.0": ["$ORIGIN/../lib"],
                            "_ssl": ["$ORIGIN/../.."]}

    code = ("import json, ssl, sys, sysconfig; print(json.dumps([sys.version.split()[0], "
            "sysconfig.get_config_var('INCLUDEPY')]))")
    proc = subprocess.run(["env", "-i", CLEAN_PATH, f"HOME={slug}", str(python), "-c", code],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [version, f"{slug}/.heroku/python/include/python{xy}"]

    port = support.free_port()
    web = support.RunningProcess(slug, "python server.py", port)
    try:
        body = support.wait_for_http(f"http://127.0.0.1:{port}/", web.proc)
    finally:
        web.stop()
    assert body == "Hello from Python on buildpack-python!\n"
