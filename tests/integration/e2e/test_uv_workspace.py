"""A uv workspace member built with APP_BASE (issue 24 item 2): fixtures/uv-workspace, locked
at test time with the pinned uv against the test index, built with APP_BASE=apps/api, moved
and started. The member gets the workspace root's uv.lock and .python-version, its
workspace library is installed non-editable, and the rest of the workspace (the other member,
the library's source) is left out of the slug. Built from its root (fixtures/uv-workspace-root,
shaped like fastapi/full-stack-fastapi-template), the workspace is the app: uv installs its
member, and the FastAPI app one package down is served."""
from __future__ import annotations

import json
import shutil

import pytest

from tests import support

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def index(package_index, runtime_store):
    support.ensure_tool_packages()
    return package_index


def test_a_workspace_member_builds_from_the_workspace_lock(index, tmp_path):
    python = support.find_prefix("3.13") / "bin" / "python3.13"
    repo = support.lock_fixture("uv-workspace", tmp_path / "build", index.url, python)
    env = support.build_env(str(support.STORE_DIR), index.url, {"APP_BASE": "apps/api"})
    result = support.compile_app(repo, tmp_path / "cache", env)
    assert result.returncode == 0, result.log
    assert "Traceback" not in result.log
    assert "Using Python 3.11 specified in .python-version (the uv workspace root's)" \
        in result.stdout
    assert ("uv sync --locked --no-default-groups --package api --no-editable: the packages in "
            "the workspace's uv.lock (../../uv.lock) that api needs") in result.stdout
    assert "pip install ." not in result.stdout

    installed = support.installed_distributions(repo)
    assert set(installed) - {"pip"} == {"api", "shared", "six", "idna"}  # not worker, iniconfig
    site = next((repo / ".heroku/python/lib").glob("python3.11/site-packages"))
    assert (site / "shared" / "__init__.py").is_file()  # a copy, not a link to libs/shared
    assert not [p for p in site.glob("*.pth") if "shared" in p.read_text()]
    assert ("-----> Leaving the rest of the uv workspace out of the app\n"
            "       Left out (what the app imports from the workspace is in site-packages):\n"
            "         apps/worker/ (not a dependency of api)\n"
            "         libs/shared/ (installed into site-packages)\n") in result.stdout
    assert not (repo / "apps/worker").exists() and not (repo / "libs").exists()
    assert (repo / "apps/api/Procfile").is_file() and (repo / "uv.lock").is_file()

    slug = tmp_path / "mounted" / "app"
    slug.parent.mkdir()
    shutil.move(str(repo), slug)
    shutil.rmtree(tmp_path / "build")
    port = support.free_port()
    proc = support.RunningProcess(slug, "python -m api", port)
    try:
        body = json.loads(support.wait_for_http(f"http://127.0.0.1:{port}/", proc.proc))
    finally:
        proc.stop()
    assert body["app"] == "api" and body["six"] == "1.17.0" and body["python"] == "3.11"
    assert body["greeting"] == f"hello from shared, idna {installed['idna']}"
    assert "/.heroku/python/lib/python3.11/site-packages/shared/" in body["shared_from"]
    assert support.files_containing(slug, str(tmp_path / "build")) == []


def test_a_workspace_built_from_its_root_serves_its_member(index, tmp_path):
    python = support.find_prefix("3.13") / "bin" / "python3.13"
    repo = support.lock_fixture("uv-workspace-root", tmp_path / "build", index.url, python)
    env = support.build_env(str(support.STORE_DIR), index.url)
    result = support.compile_app(repo, tmp_path / "cache", env)
    assert result.returncode == 0, result.log
    assert "uv sync --locked --no-default-groups: the packages in uv.lock" in result.stdout
    assert "Leaving the rest of the uv workspace" not in result.stdout
    assert {"app", "fastapi", "uvicorn"} <= set(support.installed_distributions(repo))
    command = "uvicorn app.main:app --app-dir backend --host 0.0.0.0 --port $PORT"
    assert ("       No Procfile\n"
            "       Default types for buildpack-python -> web\n"
            f"       web: {command}\n") in result.stdout
    slug = support.move_slug(repo, tmp_path)
    shutil.rmtree(tmp_path / "build")
    assert support.release_types(slug) == {"web": command}
    port = support.free_port()
    proc = support.RunningProcess(slug, command, port)
    try:
        body = support.wait_for_http(f"http://127.0.0.1:{port}/", proc.proc)
    finally:
        proc.stop()
    assert body == "Hello from the backend member of a uv workspace!\n"
