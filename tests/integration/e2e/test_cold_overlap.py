"""A cold build overlaps the runtime's unpacking with uv: uv is fetched, then it resolves
the requirements for the runtime's Python version into its cache."""
from __future__ import annotations

import subprocess
import threading
import time

import pytest

from buildpack.app.app_files import AppFiles
from buildpack.installers import uv_pip
from buildpack.installers.context import InstallContext
from tests import support

pytestmark = pytest.mark.slow


def _context(app, prefix, env, cache):
    return InstallContext(app, prefix, prefix / "bin" / "python3", env, cache, [], "3.13.15",
                          AppFiles(app), slug_root=app)


def test_the_warm_up_leaves_the_resolution_in_uvs_cache(tmp_path, build_env):
    """After the warm-up alone, uv resolves the app's requirements for the runtime with no
    index at all (and without it, it cannot)."""
    app = support.copy_fixture("flask-app", tmp_path)
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 0, result.log
    uv = next((tmp_path / "cache" / "tools").glob("uv-*/bin/uv"))
    python = app / ".heroku" / "python" / "bin" / "python3"
    version = subprocess.run([str(python), "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True, check=True).stdout.strip()

    def resolve_offline(cache):
        ctx = _context(app, app / ".heroku" / "python", build_env, cache)
        env = {**uv_pip.uv_tool_env(ctx), "UV_OFFLINE": "1"}
        return subprocess.run([str(uv), "pip", "compile", "--python", str(python),
                               "requirements.txt"], env=env, cwd=app, capture_output=True,
                              text=True, timeout=120)

    assert resolve_offline(tmp_path / "empty-cache").returncode != 0
    warm = tmp_path / "warm-cache"
    ctx = InstallContext(app, app / ".heroku" / "python", python, build_env, warm, [], version,
                         AppFiles(app), slug_root=app)
    assert uv_pip.warm_up_command(ctx, uv, app / "requirements.txt") is not None
    uv_pip._warm_up(ctx, uv, app / "requirements.txt", threading.Event())
    resolved = resolve_offline(warm)
    assert resolved.returncode == 0, resolved.stderr
    assert "flask==3.1.3" in resolved.stdout.lower()


def test_the_warm_up_stops_when_the_runtime_is_there(tmp_path, build_env):
    """It is only a head start: once the runtime is unpacked, uv's resolution is stopped."""
    app = support.copy_fixture("flask-app", tmp_path)
    (app / "requirements.txt").write_text("Flask==3.1.3\n")
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 0, result.log
    uv = next((tmp_path / "cache" / "tools").glob("uv-*/bin/uv"))
    # An index that accepts the connection and never answers: the resolution would hang.
    server = support.free_port()
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", server))
    listener.listen(8)
    try:
        env = {**build_env, "PIP_INDEX_URL": f"http://127.0.0.1:{server}/simple/"}
        ctx = _context(app, app / ".heroku" / "python", env, tmp_path / "warm-cache")
        unpacked = threading.Event()
        worker = threading.Thread(target=uv_pip._warm_up,
                                  args=(ctx, uv, app / "requirements.txt", unpacked))
        worker.start()
        time.sleep(1)
        assert worker.is_alive()  # still waiting on the silent index
        started = time.monotonic()
        unpacked.set()
        worker.join(timeout=10)
        assert not worker.is_alive() and time.monotonic() - started < 6
    finally:
        listener.close()
