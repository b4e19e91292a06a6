"""Issue 24 under the CNB lifecycle's contract (tests/integration/cnb/lifecycle.py): a
pylock.toml app (made at test time with the pinned uv against the test index) built into
the python layer, rebuilt from it, and served; a uv workspace member (APP_BASE) built from
the workspace's uv.lock into the layer, the rest of the workspace left out of the app
image's /workspace, and served from its folder."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import support
from tests.integration.cnb.lifecycle import Lifecycle

pytestmark = pytest.mark.slow

LOCK_SOURCE = """\
[project]
name = "lock-source"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["six==1.17.0", "iniconfig"]

[tool.uv]
package = false

[[tool.uv.index]]
name = "local"
url = "{index}"
default = true
"""

SERVER = """\
import json, os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

import iniconfig
import six


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"six": six.__version__, "prefix": sys.prefix,
                           "iniconfig": iniconfig.__file__}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
"""


@pytest.fixture(scope="module")
def index(package_index, runtime_store):
    support.ensure_tool_packages()
    return package_index


def _pylock(where: Path, index_url: str) -> str:
    source = where / "lock-source"
    source.mkdir()
    (source / "pyproject.toml").write_text(LOCK_SOURCE.format(index=index_url))
    uv = str(support.lock_tool("uv"))
    python = support.find_prefix("3.13") / "bin" / "python3.13"
    env = support.lock_env(source / ".scratch")
    for cmd in ([uv, "lock", "--python", str(python)],
                [uv, "export", "--format", "pylock.toml", "--no-dev", "-o", "pylock.toml"]):
        proc = subprocess.run(cmd, cwd=source, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (source / "pylock.toml").read_text()
    shutil.rmtree(source)
    return text


def _serve(lifecycle: Lifecycle) -> dict:
    port = support.free_port()
    process = lifecycle.launch("web", port)
    try:
        return json.loads(support.wait_for_http(f"http://127.0.0.1:{port}/", process.proc))
    finally:
        process.stop()


def test_a_pylock_app_builds_into_the_layer_and_rebuilds_from_it(tmp_path, index):
    lock = _pylock(tmp_path, index.url)
    app_source = support.write_app(tmp_path, {"pylock.toml": lock, "server.py": SERVER,
                                              "Procfile": "web: python server.py\n"}, "source")
    lifecycle = Lifecycle(tmp_path / "cnb", {"PYTHON_RUNTIME_STORE": str(support.STORE_DIR),
                                             "PIP_INDEX_URL": index.url})
    lifecycle.source(app_source)
    first = lifecycle.build()
    assert first.returncode == 0, first.log
    assert "uv pip install -r pylock.toml: the packages of the lock file (PEP 751)" in first.stdout
    metadata = lifecycle.layer_tomls()["python"]["metadata"]
    assert metadata["manager"] == "pylock"
    body = _serve(lifecycle)
    assert body["six"] == "1.17.0" and body["prefix"] == str(lifecycle.layers / "python")
    assert body["iniconfig"].startswith(str(lifecycle.layers / "python"))

    lifecycle.prepare_rebuild()
    lifecycle.source(app_source)
    second = lifecycle.build()
    assert second.returncode == 0, second.log
    assert "The python layer of the previous build: the package manager" in second.stdout
    assert "+ six==" not in second.stdout and "+ iniconfig==" not in second.stdout
    assert lifecycle.layer_tomls()["python"]["metadata"] == metadata
    assert _serve(lifecycle)["six"] == "1.17.0"


def test_a_uv_workspace_member_builds_without_the_rest_of_the_workspace(tmp_path, index):
    python = support.find_prefix("3.13") / "bin" / "python3.13"
    source = support.lock_fixture("uv-workspace", tmp_path / "source", index.url, python)
    lifecycle = Lifecycle(tmp_path / "cnb", {"PYTHON_RUNTIME_STORE": str(support.STORE_DIR),
                                             "PIP_INDEX_URL": index.url, "APP_BASE": "apps/api"})
    lifecycle.source(source)
    result = lifecycle.build()
    assert result.returncode == 0, result.log
    assert ("uv sync --locked --no-default-groups --package api --no-editable: the packages in "
            "the workspace's uv.lock (../../uv.lock) that api needs") in result.stdout
    assert "-----> Leaving the rest of the uv workspace out of the app" in result.stdout
    assert not (lifecycle.app / "apps/worker").exists() and not (lifecycle.app / "libs").exists()
    [web] = lifecycle.launch_toml()["processes"]
    assert web["working-dir"] == str(lifecycle.app / "apps/api")
    port = support.free_port()
    process = lifecycle.launch("web", port)
    try:
        body = json.loads(support.wait_for_http(f"http://127.0.0.1:{port}/", process.proc))
    finally:
        process.stop()
    assert body["app"] == "api" and body["python"] == "3.11"
    assert body["shared_from"].startswith(str(lifecycle.layers / "python"))
