"""Every bad input of the deploy path: clear message, non-zero exit, nothing left behind."""
from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from tests import support

pytestmark = pytest.mark.slow  # real builds (bin/compile against the test store)


def _app(tmp_path, files: dict[str, bytes | str]):
    return support.write_app(tmp_path, {"Procfile": "web: python -m http.server $PORT\n", **files})


def _fails(app, cache, env, error_id: str, *expected: str):
    before = support.tree_snapshot(app)
    result = support.compile_app(app, cache, env)
    assert result.returncode != 0, result.log
    assert f"(error id: {error_id})" in result.stderr, result.stderr
    for text in expected:
        assert text in result.log, result.log
    assert "Traceback" not in result.log
    assert " !     Error: " in result.stderr
    assert support.tree_snapshot(app) == before, "the build dir was changed"
    runtimes = cache / "runtimes"
    assert not runtimes.exists() or all(
        not p.name.startswith(".") for p in runtimes.iterdir()), "temp files left in cache"
    return result


@pytest.mark.parametrize("content", ["python3.12", "3.12.1", "pypy-7", "", "\n\n", "python-3.12.1 extra"])
def test_malformed_runtime_txt(tmp_path, runtime_store, content):
    app = _app(tmp_path, {"runtime.txt": content})
    env = support.build_env(str(runtime_store), None)
    _fails(app, tmp_path / "cache", env, "runtime-txt::invalid-version", "python-X.Y.Z")


@pytest.mark.parametrize("content", [b"\xef\xbb\xbfpython-3.11.7\r\n", b"  python-3.11.7  \n\n", b"\r\npython-3.11.7"])
def test_tolerated_runtime_txt_forms(content):
    from buildpack.python_version.versions import parse_runtime_txt

    assert parse_runtime_txt(content).text == "3.11.7"


def test_version_not_in_store_lists_available(tmp_path, runtime_store):
    app = _app(tmp_path, {"runtime.txt": "python-9.9.9\n"})
    result = _fails(app, tmp_path / "cache", support.build_env(str(runtime_store), None),
                    "python-version::unavailable", "Available versions:")
    for version in support.store_versions().values():
        assert version in result.stderr


def test_python2_is_end_of_life(tmp_path, runtime_store):
    app = _app(tmp_path, {"runtime.txt": "python-2.7.3"})
    result = _fails(app, tmp_path / "cache", support.build_env(str(runtime_store), None),
                    "python-version::end-of-life", "Available versions:")
    assert support.store_versions()["3.13"] in result.stderr


def test_store_unreachable_names_the_store(tmp_path):
    url = f"http://127.0.0.1:{support.free_port()}/store/"
    app = _app(tmp_path, {"requirements.txt": ""})
    _fails(app, tmp_path / "cache", support.build_env(url, None),
           "runtime-store::unreadable", url)


def test_store_credentials_are_masked(tmp_path):
    url = f"http://deploy:s3cr3t-pass@127.0.0.1:{support.free_port()}/store/"
    app = _app(tmp_path, {"requirements.txt": ""})
    result = _fails(app, tmp_path / "cache", support.build_env(url, None),
                    "runtime-store::unreadable", "deploy:****@")
    assert "s3cr3t-pass" not in result.log


def test_manifest_missing(tmp_path):
    empty = tmp_path / "empty-store"
    empty.mkdir()
    app = _app(tmp_path, {})
    _fails(app, tmp_path / "cache", support.build_env(str(empty), None),
           "runtime-store::not-served", "manifest.json", str(empty))


@pytest.mark.parametrize("manifest", ["{not json", '{"schema": 99, "runtimes": []}',
                                      '{"schema": 1, "runtimes": [{"version": "3.12"}]}'])
def test_manifest_invalid(tmp_path, manifest):
    store = tmp_path / "store"
    store.mkdir()
    (store / "manifest.json").write_text(manifest)
    app = _app(tmp_path, {})
    _fails(app, tmp_path / "cache", support.build_env(str(store), None),
           "runtime-store::invalid-manifest", str(store))


def _copy_store(runtime_store, tmp_path, mutate):
    """A copy of the test store holding only the 3.13 archive, changed by ``mutate``."""
    store = tmp_path / "bad-store"
    store.mkdir()
    manifest = json.loads((runtime_store / "manifest.json").read_text())
    entry = next(r for r in manifest["runtimes"] if r["version"].startswith("3.13."))
    shutil.copy(runtime_store / entry["file"], store / entry["file"])
    mutate(store / entry["file"], entry)
    manifest["runtimes"] = [entry]
    (store / "manifest.json").write_text(json.dumps(manifest))
    return store


@pytest.mark.slow
def test_sha256_mismatch_extracts_nothing(tmp_path, runtime_store):
    def wrong_sha(path, entry):
        entry["sha256"] = hashlib.sha256(b"something else").hexdigest()

    store = _copy_store(runtime_store, tmp_path, wrong_sha)
    app = _app(tmp_path, {})
    cache = tmp_path / "cache"
    _fails(app, cache, support.build_env(str(store), None),
           "python-runtime::verification-failed", "sha256", str(store))
    assert not list((cache / "runtimes").glob("*.tar.*"))


@pytest.mark.slow
@pytest.mark.parametrize("manifest_matches", [False, True])
def test_truncated_archive(tmp_path, runtime_store, manifest_matches):
    def truncate(path, entry):
        data = path.read_bytes()[: entry["size"] // 2]
        path.write_bytes(data)
        if manifest_matches:  # the store itself published a truncated archive
            entry["size"] = len(data)
            entry["sha256"] = hashlib.sha256(data).hexdigest()

    store = _copy_store(runtime_store, tmp_path, truncate)
    app = _app(tmp_path, {})
    error_id = ("python-runtime::unsafe-archive" if manifest_matches
                else "python-runtime::verification-failed")
    _fails(app, tmp_path / "cache", support.build_env(str(store), None), error_id, str(store))


@pytest.mark.slow
@pytest.mark.parametrize("engine, error_id, message, own_error", [
    ("pip", "dependencies::install-failed",
     "No matching distribution found for this-package-does-not-exist-anywhere", "       ERROR:"),
    ("uv", "python-installer::uv-install-failed",
     "No solution found when resolving dependencies", "       error:"),
])
def test_unknown_requirement_keeps_the_installers_error(tmp_path, build_env, engine, error_id,
                                                        message, own_error):
    app = _app(tmp_path, {"requirements.txt": "this-package-does-not-exist-anywhere==1.0\n"})
    cache = tmp_path / "cache"
    env = {**build_env, "PYTHON_INSTALLER": engine}
    result = _fails(app, cache, env, error_id, message)
    assert own_error in result.stdout  # the installer's own error, indented under the step
    # A failed build leaves the cache usable: the next good build succeeds with it.
    good = support.copy_fixture("flask-app", tmp_path / "next")
    assert support.compile_app(good, cache, build_env).returncode == 0


@pytest.mark.parametrize("procfile, error_id, line", [
    ("web: gunicorn app:app\nweb: python server.py\n", "procfile::duplicate-type", "line 2"),
    ("web: ok\n<<<<<<< HEAD\nworker: a\n=======\nworker: b\n>>>>>>> branch\n",
     "procfile::conflict-marker", "line 2"),
    ("web gunicorn app:app\n", "procfile::invalid-type", "line 1"),
    ("web:\n", "procfile::missing-command", "line 1"),
])
def test_bad_procfile_fails_early(tmp_path, runtime_store, procfile, error_id, line):
    app = _app(tmp_path, {"requirements.txt": ""})
    (app / "Procfile").write_text(procfile)
    _fails(app, tmp_path / "cache", support.build_env(str(runtime_store), None),
           error_id, f"(line {line.split()[1]})")


def test_requirements_txt_is_a_directory(tmp_path, runtime_store):
    app = _app(tmp_path, {})
    (app / "requirements.txt").mkdir()
    _fails(app, tmp_path / "cache", support.build_env(str(runtime_store), None),
           "app-file::not-regular", "requirements.txt")


@pytest.mark.slow
def test_missing_procfile_warns_and_builds(tmp_path, build_env):
    app = support.copy_fixture("flask-app", tmp_path)
    (app / "Procfile").unlink()
    (app / "main.py").write_text('if __name__ == "__main__":\n    pass\n')  # no single entry point
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 0, result.log
    assert " !     Warning: No Procfile found." in result.stderr
    # server.py's Flask app would be served by gunicorn, which the app does not install
    assert "but gunicorn is not in its requirements" in result.stderr
    assert "       No Procfile\n" in result.stdout and "declares" not in result.stdout


@pytest.mark.parametrize("content, error_id", [
    ("system\n", "python-version-file::invalid-version"),
    ("pypy3.10\n", "python-version-file::invalid-version"),
    ("# nothing\n", "python-version-file::no-version"),
    ("3.13-dev", "python-version-file::invalid-version"),
])
def test_invalid_python_version_file(tmp_path, runtime_store, content, error_id):
    app = _app(tmp_path, {".python-version": content})
    _fails(app, tmp_path / "cache", support.build_env(str(runtime_store), None), error_id,
           ".python-version")
