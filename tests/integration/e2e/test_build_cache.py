"""The build cache: trusted only when valid, never a partial entry from a failed or killed build."""
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


def test_sigkill_mid_install_leaves_no_entry_and_the_next_build_installs(tmp_path, build_env):
    """The entry is moved into the build: a build killed mid-install saves none, and the
    next build installs afresh (from the warm wheel caches), never from a half entry."""
    cache = tmp_path / "cache"
    first = support.copy_fixture("flask-app", tmp_path / "b1")
    assert support.compile_app(first, cache, build_env).returncode == 0
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
    assert not (cache / "env").exists()
    third = support.copy_fixture("flask-app", tmp_path / "b3")
    result = support.compile_app(third, cache, build_env)
    assert result.returncode == 0, result.log
    assert "The previous build's environment, moved from the build cache" not in result.stdout and "Installing dependencies using uv" in result.stdout
    assert not [p for p in cache.iterdir() if p.name.startswith(".env-")]
    fourth = support.copy_fixture("flask-app", tmp_path / "b4")
    result = support.compile_app(fourth, cache, build_env)
    assert result.returncode == 0 and "The previous build's environment, moved from the build cache" in result.stdout


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
    assert report["cache"] == {"installed_environment": "installed"}
    steps = [s["step"] for s in report["steps"]]
    assert any(s.startswith("Installing dependencies") for s in steps), steps
    assert all(s["seconds"] >= 0 for s in report["steps"]) and report["duration"] > 0
    bad = support.copy_fixture("flask-app", tmp_path / "bad")
    (bad / "requirements.txt").write_text("Flask==3.1.3\nno-such-package-anywhere==0.1\n")
    failed = support.compile_app(bad, cache, build_env)  # uv, starting from the cached env
    assert failed.returncode == 1, failed.log
    assert "The previous build's environment, moved from the build cache" in failed.stdout
    assert "(error id: python-installer::uv-install-failed)" in failed.stderr
    report = _report(cache, bad)
    assert not report["success"] and report["error_id"] == "python-installer::uv-install-failed"
    assert report["cache"]["installed_environment"] == "updated"
    # The failed build had the entry (moved into it) and saved none: the next installs afresh.
    again = support.copy_fixture("flask-app", tmp_path / "again")
    result = support.compile_app(again, cache, build_env)
    assert result.returncode == 0 and "The previous build's environment, moved from the build cache" not in result.stdout
    assert _report(cache, again)["cache"] == {"installed_environment": "installed"}
    last = support.copy_fixture("flask-app", tmp_path / "last")
    result = support.compile_app(last, cache, build_env)
    assert result.returncode == 0 and "The previous build's environment, moved from the build cache" in result.stdout
    assert _report(cache, last)["cache"] == {"installed_environment": "updated"}


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
    assert "The previous build's environment, moved from the build cache" in logs  # the second reused the first's work
