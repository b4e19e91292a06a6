"""What the app sees when it runs: Django, hooks, the run-time environment, the next
buildpack, subfolder apps, default processes. Each app is built for real, moved, started
as the platform starts it (HOME = the slug, .profile.d sourced, PORT set) and asked over HTTP."""
from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request

import pytest

from buildpack.runtime.profile_d import WEB_CONCURRENCY_SCRIPT
from tests import support

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def caches(tmp_path_factory):
    """One cache per fixture app, shared by this module's builds (the later ones restore)."""
    root = tmp_path_factory.mktemp("caches")
    return lambda name: root / name


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.read().decode()


def wait_for_output(proc: support.RunningProcess, text: str, count: int = 1, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while proc.output().count(text) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return proc.output()


def machine_concurrency() -> str:
    script = (f'. "{WEB_CONCURRENCY_SCRIPT}"; _python_web_concurrency /sys/fs/cgroup '
              '/proc/self/cgroup /proc/meminfo "$(nproc)"')
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True,
                          check=True).stdout.strip()


# --- Django ---------------------------------------------------------------------------

def test_django_app_collects_static_files_and_serves_them(tmp_path, build_env, caches):
    app = support.copy_fixture("django-app", tmp_path / "build")
    result = support.compile_app(app, caches("django"), build_env)
    assert result.returncode == 0, result.log
    assert ("-----> Collecting static files (Django)\n"
            "       $ python manage.py collectstatic --noinput\n") in result.stdout
    assert "1 static file copied to" in result.stdout
    assert "       web: gunicorn mysite.wsgi\n" in result.stdout
    slug = support.move_slug(app, tmp_path)
    shutil.rmtree(tmp_path / "build")
    types = support.release_types(slug)
    assert types == {"web": "gunicorn mysite.wsgi"}
    port = support.free_port()
    proc = support.RunningProcess(slug, types["web"], port)
    try:
        url = f"http://127.0.0.1:{port}/"
        assert support.wait_for_http(url, proc.proc) == "Hello from Django on buildpack-python!\n"
        assert get(url + "static/hello.css") == "body { color: #336; }\n"
        info = json.loads(get(url + "runtime"))
        workers = machine_concurrency()
        log = wait_for_output(proc, "Booting worker", int(workers))
        log = wait_for_output(proc, '"GET /static/hello.css HTTP/1.1" 200')
    finally:
        proc.stop()
    assert info["cwd"] == str(slug)
    assert info["prefix"] == str(slug / ".heroku/python")
    assert info["env"] == {"WEB_CONCURRENCY": workers, "FORWARDED_ALLOW_IPS": "*",
                           "GUNICORN_CMD_ARGS": "--access-logfile -", "PYTHONHOME": None,
                           "LD_LIBRARY_PATH": str(slug / ".heroku/python/lib"), "PYTHONUNBUFFERED": "true", "LANG": "C.UTF-8"}
    assert log.count("Booting worker") == int(workers)  # gunicorn took WEB_CONCURRENCY
    assert '"GET /static/hello.css HTTP/1.1" 200' in log  # the access log is on stdout


def test_collectstatic_failure_then_disabled(tmp_path, build_env, caches):
    app = support.copy_fixture("django-app", tmp_path)
    (app / "mysite" / "settings_nostatic.py").write_text("from .settings import *\n\ndel STATIC_ROOT\n")
    env_dir = support.config_dir(tmp_path / "env", DJANGO_SETTINGS_MODULE="mysite.settings_nostatic")
    result = support.compile_app(app, caches("django"), build_env, env_dir)
    assert result.returncode == 1, result.log
    # Django's own error (from the config var's settings module), then one buildpack error.
    assert "ImproperlyConfigured: You're using the staticfiles app without having set the " \
           "STATIC_ROOT setting to a filesystem path." in result.stdout
    assert result.stderr.count(" !     Error:") == 1
    assert "(error id: django::collectstatic-failed)" in result.stderr
    assert "STATIC_ROOT is not set" in result.stderr
    assert "set the config var DISABLE_COLLECTSTATIC=1" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (app / ".heroku").exists()

    (env_dir / "DISABLE_COLLECTSTATIC").write_text("1")
    result = support.compile_app(app, caches("django"), build_env, env_dir)
    assert result.returncode == 0, result.log
    assert "       Skipped: DISABLE_COLLECTSTATIC is set." in result.stdout
    assert not (app / "staticfiles").exists()


# --- a subfolder app (APP_BASE) with build hooks ----------------------------------------

def test_app_in_a_subfolder_with_hooks(tmp_path, build_env, caches):
    app = support.copy_fixture("monorepo-app", tmp_path / "build")
    detected = subprocess.run([str(support.BIN / "detect"), str(app)], capture_output=True,
                              text=True, env={**build_env, "APP_BASE": "api"})
    assert detected.stdout == "Python\n"
    # Hostile config vars must not reach the hooks; the app's own ones must.
    env_dir = support.config_dir(tmp_path / "env", APP_BASE="api", GREETING="hello from config",
                         PYTHONHOME="/nonexistent", LD_PRELOAD="/nonexistent.so")
    result = support.compile_app(app, caches("flask"), build_env, env_dir)
    assert result.returncode == 0, result.log
    out = result.stdout
    assert "-----> Building the app in api/ (APP_BASE)\n" in out
    assert ("-----> Running the pre_compile hook (api/bin/pre_compile)\n"
            "       pre_compile in api: GREETING=hello from config\n") in out
    assert out.index("pre_compile hook") < out.index("Preparing Python runtime")
    assert "-----> Running the post_compile hook (api/bin/post_compile)\n" in out
    assert out.index("Installing dependencies") < out.index("post_compile hook")
    assert "Procfile declares types -> web (api/Procfile)" in out
    assert "cannot be preloaded" not in result.log
    assert (app / ".heroku/python/bin/python3").exists() and not (app / "api/.heroku").exists()
    slug = support.move_slug(app, tmp_path)
    shutil.rmtree(tmp_path / "build")
    types = support.release_types(slug)
    assert types == {"web": "python server.py"}
    port = support.free_port()
    proc = support.RunningProcess(slug, types["web"], port)
    try:
        info = json.loads(support.wait_for_http(f"http://127.0.0.1:{port}/", proc.proc))
    finally:
        proc.stop()
    assert info["cwd"] == str(slug / "api")
    assert info["message"] == "read from the working directory"
    assert info["hooks"] == ["pre_compile: GREETING=hello from config",
                             "post_compile: flask 3.1.3 from .heroku/python",
                             "post_compile: GREETING=hello from config"]


def test_failing_pre_compile_stops_the_build_at_once(tmp_path, build_env, caches):
    app = support.copy_fixture("flask-app", tmp_path)
    (app / "bin").mkdir()
    (app / "bin" / "pre_compile").write_text("#!/bin/sh\necho 'generating settings'\nexit 4\n")
    result = support.compile_app(app, caches("flask"), build_env)
    assert result.returncode == 1, result.log
    assert "       generating settings\n" in result.stdout
    assert "(error id: hooks::failed)" in result.stderr
    assert "bin/pre_compile exited with status 4" in result.stderr
    assert "Preparing Python runtime" not in result.stdout
    assert not (app / ".heroku").exists() and not (app / ".profile.d").exists()


def test_failing_post_compile_fails_the_build(tmp_path, build_env, caches):
    app = support.copy_fixture("flask-app", tmp_path)
    (app / "bin").mkdir()
    (app / "bin" / "post_compile").write_text("python -c 'import no_such_module'\n")
    result = support.compile_app(app, caches("flask"), build_env)
    assert result.returncode == 1, result.log
    assert "ModuleNotFoundError: No module named 'no_such_module'" in result.stdout
    assert "(error id: hooks::failed)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (app / ".heroku").exists() and not (app / ".profile.d").exists()


# --- default web process ----------------------------------------------------------------

def test_single_entry_point_is_the_default_web_process(tmp_path, build_env, caches):
    app = support.copy_fixture("flask-app", tmp_path / "build")
    (app / "Procfile").unlink()
    result = support.compile_app(app, caches("flask"), build_env)
    assert result.returncode == 0, result.log
    assert ("       Default types for buildpack-python -> web\n"
            "       web: python server.py\n"
            "       (server.py is the app's only entry point; server.py creates the Flask app `app`,"
            " but gunicorn is not in its requirements; with it, the default is `gunicorn server:app`.)\n"
            "       This is a default: add a Procfile to choose the command yourself.\n"
            ) in result.stdout
    assert "Warning" not in result.stderr
    slug = support.move_slug(app, tmp_path)
    types = support.release_types(slug)
    assert types == {"web": "python server.py"}
    port = support.free_port()
    proc = support.RunningProcess(slug, types["web"], port)
    try:
        body = support.wait_for_http(f"http://127.0.0.1:{port}/", proc.proc)
    finally:
        proc.stop()
    assert body == "Hello from Python on buildpack-python!\n"


# --- the next buildpack in the chain ------------------------------------------------------

def test_next_buildpack_uses_the_installed_python(tmp_path, build_env, caches):
    buildpack = support.copy_buildpack(tmp_path)
    app = support.copy_fixture("flask-app", tmp_path)
    build = subprocess.run([str(buildpack / "bin/compile"), str(app), str(caches("flask"))],
                           env=build_env, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    assert (buildpack / "export").is_file() and not (app / "export").exists()
    next_compile = tmp_path / "next-buildpack" / "bin" / "compile"
    next_compile.parent.mkdir(parents=True)
    next_compile.write_text(
        "#!/bin/sh\n# A following buildpack: uses the Python that buildpack-python installed.\n"
        f'set -e\n. "{buildpack}/export"\n'
        "python -c 'import flask, sys; print(flask.__name__, sys.prefix)'\n")
    next_compile.chmod(0o755)
    out = subprocess.run([str(next_compile), str(app), str(tmp_path / "next-cache")],
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
                         capture_output=True, text=True, check=True).stdout
    assert out == f"flask {app}/.heroku/python\n"
