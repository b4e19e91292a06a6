"""Faults: a misbehaving package index, a full disk, builds killed at random points."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import time

import pytest

from tests import support

pytestmark = pytest.mark.slow

SEED = 20261124


@pytest.fixture(scope="module")
def static_index(tmp_path_factory):
    return support.write_simple_index(support.ensure_index_packages(),
                                      tmp_path_factory.mktemp("static-index"))


def _six_app(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "Procfile").write_text("web: python -m http.server $PORT\n")
    (app / "requirements.txt").write_text("six==1.17.0\n")
    return app


def _pip_settings(env_dir, **values):
    """Config vars for a build with pip (PYTHON_INSTALLER=pip): these tests are about pip's
    retries and messages."""
    values.setdefault("PYTHON_INSTALLER", "pip")
    env_dir.mkdir(exist_ok=True)
    for name, value in values.items():
        (env_dir / name).write_text(value)
    return env_dir


def test_index_refused(tmp_path, runtime_store, figures):
    app = _six_app(tmp_path)
    env = support.build_env(str(runtime_store), f"http://127.0.0.1:{support.free_port()}/simple/")
    env_dir = _pip_settings(tmp_path / "env", PIP_RETRIES="1", PIP_DEFAULT_TIMEOUT="3")
    result = support.compile_app(app, tmp_path / "cache", env, env_dir)
    figures.add("faults")
    assert result.returncode == result.failure_exit
    assert "Connection refused" in result.stdout or "NewConnectionError" in result.stdout
    assert "Could not install pip" in result.stderr or "Failed to install" in result.stderr
    assert "Traceback" not in result.log
    assert not (app / ".heroku").exists()


def test_index_500_then_ok_is_retried_by_pip(tmp_path, runtime_store, static_index, figures):
    server = support.FaultyStoreServer(static_index, {"simple/six/": ["500", "500"]})
    try:
        env = support.build_env(str(runtime_store), server.url + "simple/")
        result = support.compile_app(_six_app(tmp_path), tmp_path / "cache", env,
                                     _pip_settings(tmp_path / "env"))
    finally:
        server.stop()
    figures.add("faults", 2)
    assert result.returncode == 0, result.log
    assert server.counts["simple/six/"] == 3
    assert "Successfully installed six-1.17.0" in result.stdout


def test_index_always_500_fails_clearly(tmp_path, runtime_store, static_index, figures):
    server = support.FaultyStoreServer(static_index, {"simple/six/": ["500"] * 50})
    try:
        env = support.build_env(str(runtime_store), server.url + "simple/")
        env_dir = _pip_settings(tmp_path / "env", PIP_RETRIES="2")
        result = support.compile_app(_six_app(tmp_path), tmp_path / "cache", env, env_dir)
    finally:
        server.stop()
    figures.add("faults")
    assert result.returncode == result.failure_exit
    assert "Failed to install the app's dependencies with pip" in result.stderr
    assert "Traceback" not in result.log


def test_wheel_cut_mid_body_then_rebuild(tmp_path, runtime_store, static_index, figures):
    wheel = "files/" + next(p.name for p in (static_index / "files").iterdir()
                            if p.name.startswith("six-"))
    server = support.FaultyStoreServer(static_index, {wheel: ["cut"] * 10})
    cache = tmp_path / "cache"
    try:
        env = support.build_env(str(runtime_store), server.url + "simple/")
        env_dir = _pip_settings(tmp_path / "env", PIP_RETRIES="1")
        first = support.compile_app(_six_app(tmp_path), cache, env, env_dir)
        figures.add("faults")
        assert first.returncode == first.failure_exit, first.log
        assert "Failed to install the app's dependencies with pip" in first.stderr
        server.faults.clear()
        app2 = tmp_path / "second"
        app2.mkdir()
        second_app = _six_app(app2)
        second = support.compile_app(second_app, cache, env, env_dir)
    finally:
        server.stop()
    assert second.returncode == 0, second.log
    assert "Successfully installed six-1.17.0" in second.stdout


def _mount_tmpfs(path, size_mb):
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)], check=True)


def _unpacked_mb(store, version: str) -> int:
    """What the runtime archive of ``version`` takes once unpacked, in MB."""
    import tarfile
    archive = next(store.glob(f"python-{version}-*.tar.*"))
    with tarfile.open(archive) as tar:
        return sum(member.size for member in tar.getmembers()) // 2**20


@pytest.mark.parametrize("engine", ["uv", "pip"])
def test_disk_full_during_install(tmp_path, runtime_store, build_env, figures, engine):
    # Room for the runtime and pip (about 15 MB) but not for Django (about 45 MB with its
    # bytecode): the install hits ENOSPC, whichever engine installs.
    small = tmp_path / "small"
    _mount_tmpfs(small, _unpacked_mb(runtime_store, support.store_versions()["3.13"]) + 30)
    cache = tmp_path / "cache"
    try:
        app = small / "app"
        app.mkdir()
        (app / "Procfile").write_text("web: python -m http.server $PORT\n")
        (app / "requirements.txt").write_text("Django==5.2.19\nFlask==3.1.3\n")
        (app / ".python-version").write_text("3.13\n")
        result = support.compile_app(app, cache, {**build_env, "PYTHON_INSTALLER": engine})
        figures.add("faults")
        assert result.returncode == result.failure_exit, result.log[-2000:]
        assert "No space left on device" in result.log
        assert "(error id: system::disk-full)" in result.log  # not "the package index"
        assert "Traceback" not in result.log.split("-----> Installing dependencies")[0]
        assert not (app / ".heroku").exists(), "half-built runtime left in the build dir"
    finally:
        subprocess.run(["umount", str(small)], check=True)
    # The cache survived: a build on a roomy disk succeeds with it.
    roomy = support.copy_fixture("flask-app", tmp_path / "roomy")
    again = support.compile_app(roomy, cache, build_env)
    assert again.returncode == 0, again.log


def test_disk_full_during_runtime_extraction(tmp_path, build_env, figures):
    tiny = tmp_path / "tiny"
    _mount_tmpfs(tiny, 20)
    try:
        app = tiny / "app"
        app.mkdir()
        (app / "Procfile").write_text("web: python -m http.server $PORT\n")
        result = support.compile_app(app, tmp_path / "cache", build_env)
        figures.add("faults")
        assert result.returncode == result.failure_exit
        assert "No space left on device" in result.stderr
        assert "(error id: system::disk-full)" in result.log
        assert "Traceback" not in result.log
        assert sorted(p.name for p in app.iterdir()) == ["Procfile"]
    finally:
        subprocess.run(["umount", str(tiny)], check=True)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_at_random_points_then_rebuild(tmp_path, build_env, figures, sig):
    rng = random.Random(SEED + int(sig))
    cache = tmp_path / "cache"
    for round_ in range(3):
        app = support.copy_fixture("gunicorn-app", tmp_path / f"killed-{round_}")
        if round_ % 2:
            (app / "requirements.txt").write_text("Flask==3.1.3\nsix==1.17.0\n")
        log = open(tmp_path / f"killed-{round_}.log", "w")
        proc = subprocess.Popen([str(support.BIN / "compile"), str(app), str(cache)], env=build_env,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(rng.uniform(0.2, 5.0))
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
        proc.wait()
        log.close()
        figures.add("kills")
        text = (tmp_path / f"killed-{round_}.log").read_text()
        assert "Traceback" not in text
        if sig == signal.SIGTERM and proc.returncode not in (0,):
            assert not (app / ".heroku").exists(), "SIGTERM must clean up the build dir"
        fresh = support.copy_fixture("gunicorn-app", tmp_path / f"rebuild-{round_}")
        result = support.compile_app(fresh, cache, build_env)
        assert result.returncode == 0, result.log
        check = subprocess.run([str(fresh / ".heroku/python/bin/python"), "-c",
                                "import flask, gunicorn; print('ok')"], capture_output=True, text=True)
        assert check.stdout.strip() == "ok", check.stderr
