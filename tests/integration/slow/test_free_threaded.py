"""Free-threaded CPython (3.13t) end to end: the test store's build from the cached
3.13 source (``--disable-gil``, ``--quick``: support.FREE_THREADED_MINORS), an app that
asks for it with .python-version and runs without the GIL after its slug has moved,
and the warning (then the error) naming the requirements without a free-threaded wheel.

The build is cached on the machine like the default one (source_build, keyed by the
recipe and the variant), so only the first run on a machine compiles it.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from buildpack.store_builder import cpython_sources
from tests import support

pytestmark = pytest.mark.slow

MINOR = support.FREE_THREADED_MINORS[0].rstrip("t")  # "3.13"
VERSION = cpython_sources.load_pins()[MINOR].version
MAX_ARCHIVE_BYTES = 12_000_000
CLEAN_PATH = "PATH=/usr/bin:/bin"
# A WSGI app of the standard library only (Flask's MarkupSafe has no cp313t wheel on the
# test index): it answers with what the running interpreter says about its GIL.
APP = '''\
import json, os, sys, sysconfig, threading
from wsgiref.simple_server import make_server

def app(environ, start_response):
    body = json.dumps({"gil_enabled": sys._is_gil_enabled(),
                       "py_gil_disabled": sysconfig.get_config_var("Py_GIL_DISABLED"),
                       "abiflags": sys.abiflags, "version": sys.version.split()[0],
                       "executable": sys.executable, "six": __import__("six").__version__,
                       "threads": threading.active_count()}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]

make_server("127.0.0.1", int(os.environ["PORT"]), app).serve_forever()
'''


def _entries(store: Path) -> list[dict]:
    return json.loads((store / "manifest.json").read_text())["runtimes"]


def _free_threaded(store: Path) -> dict:
    [entry] = [r for r in _entries(store) if r.get("variant") == "freethreaded"]
    return entry


def test_the_test_store_holds_a_free_threaded_build_of_the_cached_source(runtime_store):
    entry = _free_threaded(runtime_store)
    assert entry["version"] == VERSION
    assert entry["file"] == f"python-{VERSION}t-{entry['stack']}-{entry['arch']}.tar.xz"
    assert 0 < entry["size"] <= MAX_ARCHIVE_BYTES, entry["size"]
    default = [r for r in _entries(runtime_store) if r["version"] == VERSION and "variant" not in r]
    assert len(default) == 1 and default[0]["sha256"] != entry["sha256"]
    out = (runtime_store / ".build-output.txt").read_text()
    assert f"-----> Building Python {VERSION}t (free-threaded) from source" in out
    reused = re.search(rf"build: reusing the cached build (\S+/{re.escape(VERSION)}t-[0-9a-f]{{16}})", out)
    if reused:
        info = json.loads((Path(reused.group(1)) / "build.json").read_text())
        assert info["variant"] == "freethreaded" and info["optimize"] is False
    else:
        assert "--disable-gil" in out
    assert f"-----> Packing python-{VERSION}t from" in out
    with tarfile.open(runtime_store / entry["file"]) as tar:
        names = set(tar.getnames())
    for name in (f"bin/python{MINOR}t", "bin/python3", f"bin/python{MINOR}", f"lib/libpython{MINOR}t.so.1.0",
                 f"lib/python{MINOR}t/os.py", f"include/python{MINOR}t/Python.h"):
        assert name in names, name
    assert not any(n.startswith(f"lib/python{MINOR}/") for n in names)


def test_an_app_asking_for_313t_runs_without_the_gil_after_its_slug_moved(tmp_path, runtime_store, package_index):
    build_root = tmp_path / "tmp-build"
    build_root.mkdir()
    app = support.write_app(build_root, {".python-version": f"{MINOR}t\n", "requirements.txt": "six\n",
                                         "app.py": APP, "Procfile": "web: python app.py\n"})
    result = support.compile_app(app, tmp_path / "cache", support.build_env(str(runtime_store), package_index.url))
    assert result.returncode == 0, result.log
    assert f"-----> Using Python {MINOR}t specified in .python-version" in result.log
    assert f"python-{VERSION}t is the free-threaded build (PEP 703)" in result.log
    assert f"-----> Preparing Python runtime (python-{VERSION}t)" in result.log
    assert f"Free-threaded Python {MINOR}t: every requirement of requirements.txt has a wheel" in result.log
    # The build named its version, so no sticky record is kept (as for 3.13).
    assert not (tmp_path / "cache" / "python-version.json").exists()
    site = app / ".heroku/python/lib" / f"python{MINOR}t" / "site-packages"
    assert (site / "six.py").is_file()
    assert list(site.glob("pip-*.dist-info"))

    slug = support.move_slug(app, tmp_path)
    subprocess.run(["rm", "-rf", str(build_root)], check=True)
    python = slug / ".heroku/python/bin" / f"python{MINOR}t"
    ldd = subprocess.run(["env", "-i", CLEAN_PATH, "ldd", str(python)], capture_output=True, text=True,
                         check=True).stdout
    [line] = [x for x in ldd.splitlines() if "libpython" in x]
    resolved = line.split("=>")[1].split("(")[0].strip()
    assert os.path.realpath(resolved) == str(slug / ".heroku/python/lib" / f"libpython{MINOR}t.so.1.0"), line

    port = support.free_port()
    web = support.RunningProcess(slug, "python app.py", port)
    try:
        body = json.loads(support.wait_for_http(f"http://127.0.0.1:{port}/", web.proc))
    finally:
        web.stop()
    assert body["gil_enabled"] is False, body
    assert body["py_gil_disabled"] == 1 and body["abiflags"] == "t", body
    assert body["version"] == VERSION and body["six"], body
    assert body["executable"].startswith(str(slug / ".heroku/python/bin/")), body


def _wheel(folder: Path, name: str, version: str, tag: str) -> Path:
    """A minimal wheel of ``tag`` (e.g. an extension wheel for cp313 only)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}-{tag}.whl"
    pure = "true" if tag.endswith("-none-any") else "false"
    files = {f"{name}/__init__.py": "X = 1\n",
             f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{name}-{version}.dist-info/WHEEL": f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: {pure}\n"
                                                  f"Tag: {tag}\n"}
    record = []
    with zipfile.ZipFile(path, "w") as whl:
        for member, text in files.items():
            whl.writestr(member, text)
            digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
            record.append(f"{member},sha256={digest},{len(text.encode())}")
        record.append(f"{name}-{version}.dist-info/RECORD,,")
        whl.writestr(f"{name}-{version}.dist-info/RECORD", "\n".join(record) + "\n")
    return path


def test_requirements_without_a_free_threaded_wheel_are_named_before_and_after(tmp_path, runtime_store):
    extra = tmp_path / "extra-wheels"
    _wheel(extra, "purething", "1.0", "py3-none-any")
    _wheel(extra, "gilonly", "2.0", "cp313-cp313-manylinux_2_17_x86_64")
    index = support.start_index(support.ensure_tool_packages(), extra)
    try:
        app = support.write_app(tmp_path, {".python-version": f"{MINOR}t\n",
                                           "requirements.txt": "purething\ngilonly\n"})
        # One stream, as a platform shows the build: the order of the lines is the build's.
        proc = subprocess.run([str(support.BIN / "compile"), str(app), str(tmp_path / "cache")],
                              env=support.build_env(str(runtime_store), index.url), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=600, stdin=subprocess.DEVNULL)
    finally:
        index.stop()
    log = proc.stdout
    assert proc.returncode == 1, log
    warning = log.split(" !     Warning: 1 requirement(s) have no free-threaded wheel.", 1)
    assert len(warning) == 2, log
    block = warning[1].split("-----> ", 1)[0]
    assert "gilonly==2.0 (no source distribution either: cannot be installed)" in block
    assert "purething" not in block
    # The warning comes before the install; the install's error names it again.
    assert "-----> Installing dependencies" in warning[1]
    error = log.rsplit(" !     Error:", 1)[1]
    assert f"no wheel for the free-threaded Python {MINOR}t" in error
    assert "gilonly==2.0" in error and "purething" not in error
    assert "(error id: " in error and "Traceback" not in log
