"""Broken and hostile inputs: each fails clearly (or is tolerated as documented).

A case is a function that spoils a fresh app dir (and may set config vars); the
runner asserts the exit code, the key words of the message, no traceback, a build
dir left as it was after a failure, and a cache with nothing half-written.
"""
from __future__ import annotations

import os
import tarfile

import pytest

from tests import support

pytestmark = pytest.mark.slow  # real builds (bin/compile against the test store)

FAIL, OK = "fail", "ok"
PROCFILE = "web: python -m http.server $PORT\n"


def write(name, content):
    def apply(app, env):
        path = app / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return apply


def both(*steps):
    def apply(app, env):
        for step in steps:
            step(app, env)
    return apply


def config(name, value):
    def apply(app, env):
        env.mkdir(exist_ok=True)
        (env / name).write_bytes(value if isinstance(value, bytes) else value.encode())
    return apply


def symlink(name, target):
    def apply(app, env):
        (app / name).unlink(missing_ok=True)
        os.symlink(target, app / name)
    return apply


def mkdir(name):
    def apply(app, env):
        (app / name).unlink(missing_ok=True)
        (app / name).mkdir()
    return apply


def broken_sdist(app, env):
    """An sdist whose build raises, offered through a find-links dir."""
    links = app.parent / "links"
    links.mkdir()
    src = app.parent / "broken_build-1.0"
    src.mkdir()
    (src / "setup.py").write_text("raise SystemExit('this package refuses to build')\n")
    (src / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: broken-build\nVersion: 1.0\n")
    with tarfile.open(links / "broken_build-1.0.tar.gz", "w:gz") as tar:
        tar.add(src, arcname="broken_build-1.0")
    config("PIP_FIND_LINKS", str(links))(app, env)
    write("requirements.txt", "broken-build==1.0\n")(app, env)


def many_procfile_lines(app, env):
    (app / "Procfile").write_text("".join(f"p{i}: python worker.py {i}\n" for i in range(10_000)))


CASES = {
    # runtime.txt
    "runtime-binary-junk": (write("runtime.txt", bytes(range(256))), FAIL, ["runtime.txt is not UTF-8"]),
    "runtime-utf16": (write("runtime.txt", "python-3.13.0".encode("utf-16")), FAIL, ["runtime.txt is not UTF-8"]),
    "runtime-1mb-line": (write("runtime.txt", "python-3." + "1" * 1_000_000), FAIL, ["runtime.txt is too large"]),
    "runtime-nul-bytes": (write("runtime.txt", b"python-3.13.0\x00\n"), FAIL, ["runtime.txt contains an invisible character", "U+0000"]),
    "runtime-no-dash": (write("runtime.txt", "python3.12"), FAIL, ["python-X.Y.Z"]),
    "runtime-bare-version": (write("runtime.txt", "3.12.1"), FAIL, ["python-X.Y.Z"]),
    "runtime-pypy": (write("runtime.txt", "pypy-7"), FAIL, ["python-X.Y.Z"]),
    "runtime-empty": (write("runtime.txt", ""), FAIL, ["contains no version"]),
    "runtime-whitespace": (write("runtime.txt", " \n\t\n"), FAIL, ["contains no version"]),
    "runtime-two-lines": (write("runtime.txt", "python-3.13.0\npython-3.11.7\n"), FAIL, ["several versions (lines 1, 2)"]),
    "runtime-python2": (write("runtime.txt", "python-2.7.18"), FAIL, ["end-of-life", "Available versions"]),
    "runtime-unknown": (write("runtime.txt", "python-9.9.9"), FAIL, ["Python 9.9.9 is not available"]),
    "runtime-unknown-minor": (write("runtime.txt", "python-3.99"), FAIL, ["Python 3.99 is not available"]),
    "runtime-directory": (mkdir("runtime.txt"), FAIL, ["runtime.txt is not a regular file"]),
    "runtime-dangling-link": (symlink("runtime.txt", "missing.txt"), FAIL, ["runtime.txt is not a regular file"]),
    "runtime-link-outside": (symlink("runtime.txt", "/etc/hostname"), FAIL, ["runtime.txt is a link to a file outside the app"]),
    "runtime-bom-crlf": (lambda app, env: (app / "runtime.txt").write_bytes(
        b"\xef\xbb\xbfpython-%s\r\n" % support.store_versions()["3.13"].encode()), OK, ["runtime.txt (python-{v313})"]),
    # .python-version
    "pyversion-system": (write(".python-version", "system\n"), FAIL, [".python-version (line 1)"]),
    "pyversion-pypy": (write(".python-version", "# c\npypy3.10\n"), FAIL, [".python-version (line 2)"]),
    "pyversion-only-comments": (write(".python-version", "# nothing\n\n"), FAIL, ["No Python version in .python-version"]),
    "pyversion-utf16": (write(".python-version", "3.13".encode("utf-16")), FAIL, [".python-version is not UTF-8"]),
    "pyversion-junk": (write(".python-version", b"\xff\xfe\x00\x01\x02"), FAIL, [".python-version"]),
    "pyversion-conflict": (both(write(".python-version", "3.11\n"), write("runtime.txt", "python-3.13.0")), OK, ["Warning: .python-version is ignored: runtime.txt decides"]),
    "pyversion-link-passwd": (symlink(".python-version", "/etc/passwd"), FAIL, ["outside the app"]),
    "pyversion-comments-ok": (write(".python-version", "# prod\n\n3.13\n"), OK, ["Using Python 3.13 specified in .python-version"]),
    # Procfile
    "procfile-no-colon": (write("Procfile", "web gunicorn app:app\n"), FAIL, ["Invalid Procfile (line 1)"]),
    "procfile-bad-name": (write("Procfile", "web app: gunicorn\n"), FAIL, ["Invalid Procfile (line 1)"]),
    "procfile-space-before-colon": (write("Procfile", "web : gunicorn\n"), FAIL, ["Invalid Procfile (line 1)"]),
    "procfile-duplicate": (write("Procfile", "web: a\nworker: b\nweb: c\n"), FAIL, ["Invalid Procfile (line 3)"]),
    "procfile-empty-command": (write("Procfile", "web:   \n"), FAIL, ["Invalid Procfile (line 1)"]),
    "procfile-conflict-markers": (write("Procfile", "<<<<<<< HEAD\nweb: a\n=======\nweb: b\n>>>>>>> x\n"), FAIL, ["Invalid Procfile (line 1)", "merge"]),
    "procfile-binary": (write("Procfile", b"web: \xff\xfe\n"), FAIL, ["Invalid Procfile"]),
    "procfile-utf16": (write("Procfile", PROCFILE.encode("utf-16")), FAIL, ["Procfile"]),
    "procfile-nul": (write("Procfile", b"web: python\x00 x\n"), FAIL, ["Invalid Procfile (line 1)"]),
    "procfile-directory": (mkdir("Procfile"), FAIL, ["Procfile"]),
    "procfile-link-passwd": (symlink("Procfile", "/etc/passwd"), FAIL, ["Procfile is a link to a file outside the app"]),
    "procfile-crlf": (write("Procfile", "web: python -m http.server $PORT\r\nworker: python w.py\r\n"), OK, ["types -> web, worker", "Windows line endings"]),
    "procfile-tabs": (write("Procfile", "web:\tpython -m http.server $PORT\n"), OK, ["types -> web"]),
    "procfile-10k-lines": (many_procfile_lines, OK, ["p9999"]),
    # requirements
    "req-circular": (both(write("requirements.txt", "-r more.txt\n"), write("more.txt", "-r requirements.txt\nsix\n")), FAIL, ["requirements::circular-include", "requirements.txt -> more.txt -> requirements.txt"]),
    "req-missing-include": (write("requirements.txt", "-r nowhere.txt\n"), FAIL, ["nowhere.txt", "Failed to install"]),
    "req-include-outside": (write("requirements.txt", "-r /etc/passwd\n"), FAIL, ["requirements::include-outside"]),
    "req-include-dotdot": (both(write("requirements.txt", "-r ../outside.txt\n"), lambda app, env: (app.parent / "outside.txt").write_text("six\n")), FAIL, ["requirements::include-outside"]),
    "req-bad-option": (write("requirements.txt", "--no-such-option\nsix\n"), FAIL, ["requirements.txt line 1 has options pip does not accept", "no such option: --no-such-option", "requirements::invalid-option"]),
    "req-unknown-package": (write("requirements.txt", "definitely-not-a-package-xyz==1.0\n"), FAIL, ["No solution found", "Failed to install", "python-installer::uv-install-failed"]),
    "req-sdist-fails": (broken_sdist, FAIL, ["this package refuses to build", "Failed to install"]),
    "req-hash-mismatch": (write("requirements.txt", "six==1.17.0 --hash=sha256:" + "0" * 64 + "\n"), FAIL, ["Hash mismatch for `six==1.17.0`", "Failed to install", "package-index::hash-mismatch"]),
    "req-directory": (mkdir("requirements.txt"), FAIL, ["requirements.txt is not a regular file"]),
    "req-dangling-link": (symlink("requirements.txt", "gone.txt"), FAIL, ["requirements.txt is not a regular file"]),
    "req-link-passwd": (symlink("requirements.txt", "/etc/passwd"), FAIL, ["requirements.txt is a link to a file outside the app"]),
    "req-huge-line": (write("requirements.txt", "six" + "x" * 1_000_000 + "\n"), FAIL, ["overlong line (line 1)"]),
    "req-missing-editable": (write("requirements.txt", "-e ./not-here\n"), FAIL, ["Failed to install"]),
    "req-latin1": (write("requirements.txt", "# caf\xe9\nsix==1.17.0\n".encode("latin-1")), FAIL, ["requirements.txt is not UTF-8 text (line 1)"]),
    "req-include-latin1": (both(write("requirements.txt", "-r more.txt\n"), write("more.txt", "six  # \xe9\n".encode("latin-1"))), FAIL, ["more.txt is not UTF-8 text (line 1)"]),
    # the app's own files
    "file-non-utf8-name": (write(os.fsdecode(b"caf\xe9.py"), "x = 1\n"), OK, ["Procfile declares types -> web"]),
    "file-link-to-passwd": (symlink("passwd-link", "/etc/passwd"), OK, ["Procfile declares types -> web"]),
    "file-link-outside": (symlink("up", "../.."), OK, ["Procfile declares types -> web"]),
    "file-heroku-dir-committed": (write(".heroku/python/bin/python3", "#!/bin/sh\necho fake\n"), OK, ["Replacing the existing .heroku/python"]),
    # ENV_DIR
    "env-odd-names": (both(config("MY-VAR", "x"), config("1ABC", "y"), config(".hidden", "z")), OK, ["Some config vars were ignored", "MY-VAR"]),
    "env-huge-value": (config("BIG", "x" * 2_000_000), OK, ["Some config vars were ignored", "BIG"]),
    "env-nul-value": (config("NUL_VALUE", b"a\x00b"), OK, ["NUL_VALUE"]),
    "env-directory-entry": (lambda app, env: (env / "A_DIR").mkdir(parents=True), OK, ["A_DIR"]),
    "env-non-utf8-name": (config(os.fsdecode(b"V\xe9"), "x"), OK, ["Some config vars were ignored"]),
    "env-hostile-python-vars": (both(config("PYTHONHOME", "/nonexistent"), config("PYTHONPATH", "/nonexistent"), config("LD_PRELOAD", "/nonexistent.so")), OK, ["Procfile declares types -> web"]),
    "env-store-bad-scheme": (config("PYTHON_RUNTIME_STORE", "ftp://example.invalid/store"), FAIL, ["Unsupported runtime store location"]),
    "env-store-missing-dir": (config("PYTHON_RUNTIME_STORE", "/nonexistent/store"), FAIL, ["Could not read the Python runtime store", "/nonexistent/store"]),
    "env-store-timeout-junk": (config("PYTHON_RUNTIME_STORE_TIMEOUT", "soon"), FAIL, ["Invalid PYTHON_RUNTIME_STORE_TIMEOUT"]),
}


def _render(texts, versions):
    return [t.format(v313=versions["3.13"]) for t in texts]


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory, build_env_module):
    """A cache that already holds the 3.13 environment for a requirements-free app."""
    cache = tmp_path_factory.mktemp("warm") / "cache"
    app = tmp_path_factory.mktemp("warm-app")
    (app / "Procfile").write_text(PROCFILE)
    (app / "requirements.txt").write_text("")
    result = support.compile_app(app, cache, build_env_module)
    assert result.returncode == 0, result.log
    return cache


@pytest.fixture(scope="module")
def build_env_module(runtime_store, package_index):
    return support.build_env(str(runtime_store), package_index.url)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input(case, tmp_path, warm_cache, build_env_module, figures):
    import shutil

    spoil, outcome, expected = CASES[case]
    app = tmp_path / "app"
    app.mkdir()
    (app / "Procfile").write_text(PROCFILE)
    (app / "requirements.txt").write_text("")
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    spoil(app, env_dir)
    cache = tmp_path / "cache"
    # Hardlinks: cheap, and a build only ever replaces cache entries by rename.
    shutil.copytree(warm_cache, cache, symlinks=True, copy_function=os.link)
    before = support.tree_snapshot(app)
    cache_before = support.tree_snapshot(cache / "env")
    result = support.compile_app(app, cache, build_env_module, env_dir=env_dir)
    figures.add("inputs")
    assert "Traceback" not in result.log
    for text in _render(expected, support.store_versions()):
        assert text in result.log, result.log[-3000:]
    if outcome == FAIL:
        assert result.returncode == result.failure_exit, result.log[-3000:]
        assert " !     Error: " in result.stderr
        assert support.tree_snapshot(app) == before, "a failed build changed the app dir"
        # The previous environment is moved out of the cache for the build and saved back
        # only by a successful one: a failed build leaves it as it was or not at all.
        assert support.tree_snapshot(cache / "env") in ({}, cache_before), "a failed build changed the cache"
    else:
        assert result.returncode == 0, result.log[-3000:]
        assert (app / ".heroku/python/bin/python3").exists()
    assert not [p.name for p in cache.iterdir() if p.name.startswith((".env-", ".base-"))]


def test_enough_distinct_cases():
    assert len(CASES) >= 60
