"""Issue 24, items 6 and 9, end to end: an app whose FastAPI app is one package down
(``backend/app/main.py``, as fastapi/full-stack-fastapi-template built from its workspace
root) gets a default web command that serves it from the moved slug; the log says there is
no Procfile rather than declaring none."""
from __future__ import annotations

import shutil

import pytest

from tests import support

pytestmark = pytest.mark.slow


def test_fastapi_app_one_package_down_is_served(tmp_path, build_env):
    main = (support.FIXTURES / "fastapi-app" / "main.py").read_text()
    app = support.write_app(tmp_path / "build", {
        "requirements.txt": "fastapi==0.165.0\nuvicorn==0.54.0\n",
        "backend/app/__init__.py": "", "backend/app/main.py": main,
        "frontend/index.html": "<html></html>\n"})
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 0, result.log
    command = "uvicorn app.main:app --app-dir backend --host 0.0.0.0 --port $PORT"
    assert ("-----> Discovering process types\n"
            "       No Procfile\n"
            "       Default types for buildpack-python -> web\n"
            f"       web: {command}\n"
            "       (backend/app/main.py creates the FastAPI app `app` (ASGI), and uvicorn is installed.)\n"
            ) in result.stdout
    slug = support.move_slug(app, tmp_path)
    shutil.rmtree(tmp_path / "build")
    assert support.release_types(slug) == {"web": command}
    port = support.free_port()
    proc = support.RunningProcess(slug, command, port)
    try:
        body = support.wait_for_http(f"http://127.0.0.1:{port}/", proc.proc)
    finally:
        proc.stop()
    assert body == "Hello from FastAPI on buildpack-python!\n"
