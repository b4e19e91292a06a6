"""The buildpack under herokuish (Dokku): built in /tmp/build as an unprivileged user, moved
to /app, started from the Procfile after .profile.d with $PORT expanded (harness.py)."""
from __future__ import annotations

import json
import shutil
import tempfile
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests import support
from tests.integration.herokuish.harness import Herokuish

pytestmark = pytest.mark.slow


@pytest.fixture
def herokuish(herokuish_user, runtime_store, package_index):
    """A fresh herokuish root, with the store and index as config vars (in /tmp/env)."""
    root = Path(tempfile.mkdtemp(prefix="herokuish-"))
    root.chmod(0o755)  # pytest's own tmp dirs are root-only
    host_app = Path("/app").exists()
    try:
        platform = Herokuish.create(root, herokuish_user)
        platform.config(PYTHON_RUNTIME_STORE=str(runtime_store), PIP_INDEX_URL=package_index.url)
        yield platform
    finally:
        shutil.rmtree(root, ignore_errors=True)
        assert Path("/app").exists() == host_app, "the machine's /app was touched"


def build(platform: Herokuish, fixture: str) -> support.BuildResult:
    platform.import_app(support.FIXTURES / fixture)
    result = platform.build()
    assert result.returncode == 0, result.log
    assert "-----> Python app detected" in result.stdout
    assert "Traceback" not in result.log
    # Built as the unprivileged user (herokuish itself writes a missing Procfile, as root).
    owners = {p.lstat().st_uid for p in platform.slug.rglob("*")
              if p.relative_to(platform.slug) != Path("Procfile")}
    assert len(owners) == 1 and 0 not in owners
    assert not any((platform.root / "tmp" / "build").iterdir())  # moved to /app
    return result


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.read().decode()


def answer(platform: Herokuish, path: str = "") -> str:
    port = support.free_port()
    web = platform.start("web", port)
    try:
        return support.wait_for_http(f"http://127.0.0.1:{port}/{path}", web.proc)
    finally:
        web.stop()


def release(platform: Herokuish) -> dict:
    return yaml.safe_load((platform.slug / ".release").read_text())


def test_seed_app(herokuish):
    result = build(herokuish, "flask-app")
    assert "-----> Discovering process types\n       Procfile declares types -> web" in result.stdout
    assert release(herokuish)["default_process_types"] == {"web": "python server.py"}
    assert (herokuish.slug / ".profile.d" / "00_config_vars.sh").is_file()
    assert answer(herokuish) == "Hello from Python on buildpack-python!\n"


def test_gunicorn_app_runs_from_app_with_port_expanded(herokuish):
    result = build(herokuish, "gunicorn-app")
    assert "Using Python version specified in runtime.txt (python-3.11.7)" in result.stdout
    info = json.loads(answer(herokuish))  # web: gunicorn ... --bind 0.0.0.0:$PORT
    assert info["python_version"] == "3.11.7"
    assert info["prefix"] == "/app/.heroku/python"


def test_django_app_gets_its_procfile_from_release(herokuish):
    result = build(herokuish, "django-app")
    assert "1 static file copied to" in result.stdout
    assert "Default types for" in result.stdout and "-> web" in result.stdout
    assert (herokuish.slug / "Procfile").read_text() == "web: gunicorn mysite.wsgi\n"
    port = support.free_port()
    web = herokuish.start("web", port)
    try:
        url = f"http://127.0.0.1:{port}/"
        assert support.wait_for_http(url, web.proc) == "Hello from Django on buildpack-python!\n"
        assert get(url + "static/hello.css") == "body { color: #336; }\n"
        info = json.loads(get(url + "runtime"))
    finally:
        web.stop()
    assert info["cwd"] == "/app" and info["prefix"] == "/app/.heroku/python"
    assert info["env"]["PYTHONUNBUFFERED"] == "true" and info["env"]["LANG"] == "C.UTF-8"
    assert int(info["env"]["WEB_CONCURRENCY"]) >= 1
