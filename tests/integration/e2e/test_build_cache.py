"""The build cache: trusted only when valid, never replaced by a failed or killed build."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time

import pytest

from buildpack.base import settings
from buildpack.installers.pinned_tools import TOOLS
from tests import support

pytestmark = pytest.mark.slow
PIP = settings.pinned_pip_version()


def _compile_in_background(app, cache, env, log_path):
    log = open(log_path, "w")
    proc = subprocess.Popen([str(support.BIN / "compile"), str(app), str(cache)], env=env,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    return proc, log


def test_sigkill_mid_install_keeps_previous_cache(tmp_path, build_env):
    cache = tmp_path / "cache"
    first = support.copy_fixture("flask-app", tmp_path / "b1")
    assert support.compile_app(first, cache, build_env).returncode == 0
    # The base entry (saved while uv installed the dependencies) keeps pip's bytecode.
    assert list((cache / "base/python").glob("lib/python3*/site-packages/pip/__pycache__/*.pyc"))
    # Change the requirements and kill the build while pip is installing (pip is slow
    # enough to be caught in the act; uv's incremental path is covered below).
    second = support.copy_fixture("gunicorn-app", tmp_path / "b2")
    (second / "runtime.txt").unlink()
    pip_env = {**build_env, "PYTHON_INSTALLER": "pip"}
    proc, log = _compile_in_background(second, cache, pip_env, tmp_path / "b2.log")
    deadline = time.monotonic() + 120
    while "Installing dependencies using pip" not in (tmp_path / "b2.log").read_text():
        assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "b2.log").read_text()
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    log.close()
    # The previous entry is intact: the unchanged app is restored from it.
    third = support.copy_fixture("flask-app", tmp_path / "b3")
    result = support.compile_app(third, cache, build_env)
    assert result.returncode == 0, result.log
    assert "Restored from the build cache" in result.stdout
    assert not [p for p in cache.iterdir() if p.name.startswith(".env-")]
    # And the killed build's app now builds with the same cache.
    fourth = support.copy_fixture("gunicorn-app", tmp_path / "b4")
    (fourth / "runtime.txt").unlink()
    result = support.compile_app(fourth, cache, pip_env)
    assert result.returncode == 0, result.log
    assert "Using the cached python-" in result.stdout
    assert (fourth / ".heroku/python/bin/gunicorn").exists()


def test_requirements_naming_pip_save_the_base_entry_before_uv_installs(tmp_path, build_env):
    """uv installing requirements that name pip could change pip while the base entry is
    saved in the background, so that entry is saved first instead (without the bytecode
    the background save compiles for pip), and the next build reuses it."""
    cache = tmp_path / "cache"
    first = support.write_app(tmp_path, {"requirements.txt": f"pip=={PIP}\nsix\n"}, "one")
    result = support.compile_app(first, cache, build_env)
    assert result.returncode == 0, result.log
    assert "Installing dependencies using uv" in result.stdout
    assert (cache / "base/python/bin/pip").exists()
    assert not list((cache / "base/python").glob("lib/python3*/site-packages/pip/__pycache__"))
    second = support.write_app(tmp_path, {"requirements.txt": "six\n"}, "two")
    result = support.compile_app(second, cache, {**build_env, "PYTHON_INSTALLER": "pip"})
    assert result.returncode == 0, result.log
    assert "Using the cached python-" in result.stdout and f"with pip {PIP}" in result.stdout


def _report(cache, build_dir):
    """The build report, as bin/report prints it (docs/architecture.md)."""
    proc = subprocess.run([str(support.BIN / "report"), str(build_dir), str(cache)],
                          capture_output=True, text=True, check=True, timeout=60)
    return json.loads(proc.stdout)


def test_failed_build_does_not_replace_good_cache(tmp_path, build_env):
    cache = tmp_path / "cache"
    ok = support.copy_fixture("flask-app", tmp_path / "ok")
    assert support.compile_app(ok, cache, build_env).returncode == 0
    report = _report(cache, ok)
    assert report["success"] and "error_id" not in report
    assert report["python_version"] == support.store_versions()[support.expected_default_minor()]
    # requirements.txt: the pip record, with uv as the engine (issue 12)
    assert (report["package_manager"], report["engine"], report["package_manager_version"]) == (
        "pip", "uv", TOOLS["uv"].version())
    assert report["cache"] == {"installed_environment": "installed", "runtime_and_pip": "installed"}
    steps = [s["step"] for s in report["steps"]]
    assert any(s.startswith("Installing dependencies") for s in steps), steps
    assert all(s["seconds"] >= 0 for s in report["steps"]) and report["duration"] > 0
    bad = support.copy_fixture("flask-app", tmp_path / "bad")
    (bad / "requirements.txt").write_text("Flask==3.1.3\nno-such-package-anywhere==0.1\n")
    failed = support.compile_app(bad, cache, build_env)  # uv, starting from the cached env
    assert failed.returncode == 1, failed.log
    assert "-----> Updating the cached environment since:" in failed.stdout
    assert "(error id: python-installer::uv-install-failed)" in failed.stderr
    report = _report(cache, bad)
    assert not report["success"] and report["error_id"] == "python-installer::uv-install-failed"
    assert report["cache"]["installed_environment"] == "updated"
    again = support.copy_fixture("flask-app", tmp_path / "again")
    result = support.compile_app(again, cache, build_env)
    assert result.returncode == 0 and "Restored from the build cache" in result.stdout
    assert _report(cache, again)["cache"] == {"installed_environment": "reused"}


def test_corrupted_cache_is_detected_and_rebuilt(tmp_path, build_env):
    cache = tmp_path / "cache"
    assert support.compile_app(support.copy_fixture("flask-app", tmp_path / "one"), cache,
                               build_env).returncode == 0
    victim = next((cache / "env/python/lib").glob("python3*/site-packages/flask/app.py"))
    victim.unlink()
    victim.write_text("broken = True\n")  # a new file where the cached one was
    app = support.copy_fixture("flask-app", tmp_path / "two")
    result = support.compile_app(app, cache, build_env)
    assert result.returncode == 0, result.log
    assert " !     Warning: Discarding a corrupt build cache." in result.stderr
    assert "Installing dependencies using uv" in result.stdout
    flask_app = next((app / ".heroku/python/lib").glob("python3*/site-packages/flask/app.py"))
    assert "broken = True" not in flask_app.read_text()


def test_two_builds_on_one_cache_take_turns(tmp_path, build_env):
    cache = tmp_path / "cache"
    results = {}

    def build(name):
        app = support.copy_fixture("flask-app", tmp_path / name)
        results[name] = support.compile_app(app, cache, build_env)

    threads = [threading.Thread(target=build, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.returncode == 0 for r in results.values()), [r.log for r in results.values()]
    logs = "".join(r.stdout for r in results.values())
    assert "Another build is using this cache dir; waiting" in logs
    assert "Restored from the build cache" in logs  # the second reused the first's work
