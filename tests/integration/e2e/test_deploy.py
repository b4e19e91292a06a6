"""The seed's deploy end to end: compile fixtures for real, move the slug, start, GET."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from tests import support

pytestmark = pytest.mark.slow


def _build_and_move(name, tmp_path, env, cache_dir=None):
    build_root = tmp_path / "tmp-build"
    build_root.mkdir()
    app = support.copy_fixture(name, build_root)
    result = support.compile_app(app, cache_dir or tmp_path / "cache", env)
    assert result.returncode == 0, result.log
    # The platform runs the slug somewhere else: move it, and make the build path vanish.
    slug_path = tmp_path / "mounted" / "app"
    slug_path.parent.mkdir()
    shutil.move(str(app), slug_path)
    shutil.rmtree(build_root)
    return result, slug_path


def _serve(slug_path, command):
    port = support.free_port()
    proc = support.RunningProcess(slug_path, command, port)
    return proc, f"http://127.0.0.1:{port}/"


def test_seed_app_builds_moves_and_answers(tmp_path, build_env):
    result, slug = _build_and_move("flask-app", tmp_path, build_env)
    default = support.expected_default_minor()
    minor_default = support.store_versions()[default]
    assert (f"-----> No Python version specified; using the default, Python {default} "
            f"(python-{minor_default})") in result.stdout
    assert f"-----> Preparing Python runtime (python-{minor_default})" in result.stdout
    assert "-----> Installing dependencies using uv (0.13.9)" in result.stdout
    assert "        + flask==3.1.3" in result.stdout  # uv's line per package, indented 7 spaces
    assert "pip" in support.installed_distributions(slug)  # pip stays in the slug
    assert "Procfile declares types -> web" in result.stdout
    # The app's own code is compiled (beside the environment's save) for the path it runs
    # from, /app, by the runtime: its bytecode names /app/server.py.
    pyc = next((slug / "__pycache__").glob(f"server.cpython-{minor_default.replace('.', '')[:3]}*.pyc"))
    code = subprocess.run([str(slug / ".heroku/python/bin/python3"), "-c",
                           "import marshal, sys; print(marshal.loads(open(sys.argv[1], 'rb').read()[16:]).co_filename)",
                           str(pyc)], capture_output=True, text=True, check=True).stdout.strip()
    assert code == "/app/server.py"
    proc, url = _serve(slug, "python server.py")
    try:
        body = support.wait_for_http(url, proc.proc)
    finally:
        proc.stop()
    assert body == "Hello from Python on buildpack-python!\n"


def test_gunicorn_app_runs_exact_runtime_version_after_move(tmp_path, build_env):
    result, slug = _build_and_move("gunicorn-app", tmp_path, build_env)
    assert "Using Python version specified in runtime.txt (python-3.11.7)" in result.stdout
    assert "Preparing Python runtime (python-3.11.7)" in result.stdout
    # The console script must not name the (now deleted) build path.
    gunicorn = (slug / ".heroku/python/bin/gunicorn").read_text()
    assert "tmp-build" not in gunicorn
    proc, url = _serve(slug, "gunicorn app:app --bind 0.0.0.0:$PORT --workers 2")
    try:
        info = json.loads(support.wait_for_http(url, proc.proc))
    finally:
        proc.stop()
    assert info["python_version"] == "3.11.7"
    assert info["prefix"] == str(slug / ".heroku/python")


def test_worker_process_type_runs_from_moved_slug(tmp_path, build_env):
    _, slug = _build_and_move("gunicorn-app", tmp_path, build_env)
    proc = support.RunningProcess(slug, "python worker.py", support.free_port())
    try:
        import time

        deadline = time.monotonic() + 30
        while "still alive" not in proc.output() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "worker: still alive" in proc.output()
        assert proc.proc.poll() is None
    finally:
        proc.stop()


def test_release_lists_exactly_the_procfile_types(tmp_path, build_env):
    _, slug = _build_and_move("gunicorn-app", tmp_path, build_env)
    out = subprocess.run([str(support.BIN / "release"), str(slug)], capture_output=True,
                         text=True, check=True).stdout
    release = yaml.safe_load(out)
    assert release["default_process_types"] == {
        "web": "gunicorn app:app --bind 0.0.0.0:$PORT --workers 2",
        "worker": "python worker.py",
    }
    assert release["addons"] == []


@pytest.mark.parametrize("engine", ["uv", "pip"])
def test_second_compile_reuses_cached_runtime(tmp_path, runtime_store, package_index, engine):
    server = support.CountingStoreServer(runtime_store)
    try:
        env = support.build_env(server.url, package_index.url, {"PYTHON_INSTALLER": engine})
        cache = tmp_path / "cache"
        logs = []
        for attempt, requirements in (("one", None), ("two", None), ("three", "Flask==3.1.3\nblinker\n")):
            app = support.copy_fixture("flask-app", tmp_path / attempt)
            if requirements:
                (app / "requirements.txt").write_text(requirements)
            result = support.compile_app(app, cache, env)
            assert result.returncode == 0, result.log
            logs.append(result.stdout)
        archive_requests = {p: n for p, n in server.counts.items() if p.endswith(".tar.xz")}
    finally:
        server.stop()
    assert list(archive_requests.values()) == [1], server.counts
    assert "Downloading python-" in logs[0]
    # The installed environment comes back from the cache, and the package manager
    # decides what changed (nothing, then the new requirement).
    assert "The previous build's environment, moved from the build cache" in logs[1] and "The previous build's environment, moved from the build cache" in logs[2]
    assert "-----> Installing pip" not in logs[1] + logs[2]
    assert f"Installing dependencies using {engine}" in logs[2]
    assert "        + blinker" not in logs[2]  # Flask's dependency: installed already


def test_profile_d_is_relative_to_home(tmp_path, build_env):
    _, slug = _build_and_move("flask-app", tmp_path, build_env)
    script = (slug / ".profile.d/python.sh").read_text()
    assert "$HOME/.heroku/python/bin" in script
    assert str(tmp_path) not in script
    out = subprocess.run(
        ["/bin/bash", "-c", 'for f in .profile.d/*.sh; do . "$f"; done; '
                            'command -v python; echo "$LANG $PYTHONUNBUFFERED"'],
        cwd=slug, env={"HOME": str(slug), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == str(slug / ".heroku/python/bin/python")
    assert out[1] == "C.UTF-8 true"


def test_python_version_file_minor_and_eol_warning(tmp_path, build_env):
    app = support.copy_fixture("flask-app", tmp_path)
    (app / ".python-version").write_text("# the app's Python\n3.11\n")
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 0, result.log
    assert "-----> Using Python 3.11 specified in .python-version" in result.stdout
    assert "3.11 means the newest 3.11 release in the store: 3.11.7" in result.stdout
    import datetime

    from buildpack.base import settings

    eol = datetime.date.fromisoformat(settings.eol_dates()["3.11"])
    days_left = (eol - datetime.date.today()).days
    if days_left <= 0:
        assert f" !     Warning: Python 3.11 reached its end of life on {eol}." in result.stderr
    elif days_left <= 365:
        assert f" !     Warning: Python 3.11 reaches its end of life on {eol}." in result.stderr
    else:
        assert "end of life" not in result.stderr
    assert (app / ".heroku/python/bin/python3.11").exists()
