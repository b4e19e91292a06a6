"""The README's first command: bin/local-deploy builds, starts and serves the sample app."""
from __future__ import annotations

import os
import signal
import subprocess

import pytest

from tests import support

pytestmark = pytest.mark.slow


def test_local_deploy_serves_sample_app_and_stops_on_ctrl_c(tmp_path, runtime_store, package_index):
    port = support.free_port()
    env = support.build_env(str(runtime_store), package_index.url,
                            {"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    log = open(tmp_path / "deploy.log", "w")
    proc = subprocess.Popen([str(support.BIN / "local-deploy"), str(support.FIXTURES / "flask-app"),
                             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True,
                            # as a background job of a non-interactive shell starts it (CI)
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        body = support.wait_for_http(f"http://127.0.0.1:{port}/", proc, timeout=300)
        assert body == "Hello from Python on buildpack-python!\n"
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        code = proc.wait(timeout=30)
        log.close()
    text = (tmp_path / "deploy.log").read_text()
    assert code == 0, text
    assert "-----> Python app detected" in text
    assert "-----> Compressing..." in text and "Done: " in text
    assert f"Open http://localhost:{port}/" in text
    assert "-----> Stopped" in text
    # The per-app cache persists for the next deploy.
    assert list((tmp_path / "xdg/buildpack-python/apps").iterdir())


def test_local_deploy_build_only_writes_slug(tmp_path, runtime_store, package_index):
    env = support.build_env(str(runtime_store), package_index.url,
                            {"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    result = subprocess.run([str(support.BIN / "local-deploy"), str(support.FIXTURES / "gunicorn-app"),
                             "--build-only"], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "gunicorn-app-slug.tgz").stat().st_size > 1_000_000


def test_local_deploy_unknown_process_type(tmp_path, runtime_store, package_index):
    env = support.build_env(str(runtime_store), package_index.url,
                            {"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    result = subprocess.run([str(support.BIN / "local-deploy"), str(support.FIXTURES / "flask-app"),
                             "--process", "worker"], env=env, capture_output=True, text=True,
                            timeout=600, stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    assert "The app has no 'worker' process type" in result.stderr
    assert "Traceback" not in result.stderr
