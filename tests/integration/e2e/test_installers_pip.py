"""requirements.txt as pip reads it: includes, constraints, markers, VCS and local-path
requirements, -e, index and find-links lines, hashes, and an app with its own wheels."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import support

pytestmark = pytest.mark.slow

# Every case runs with both engines: uv (the default) and pip (PYTHON_INSTALLER=pip).
ENGINES = {"uv": {}, "pip": {"PYTHON_INSTALLER": "pip"}}

SETUPTOOLS_PROJECT = """\
[project]
name = "{name}"
version = "{version}"

[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"
"""

WEB = """\
import json, os
from http.server import BaseHTTPRequestHandler, HTTPServer

import editable_pkg, gitpkg, idna, local_pkg, six


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"editable": editable_pkg.WHERE, "git": gitpkg.VALUE,
                           "local": local_pkg.VALUE, "idna": idna.__version__,
                           "six": six.__version__}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
"""


def _package(root: Path, name: str, version: str, module: str) -> Path:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(SETUPTOOLS_PROJECT.format(name=name, version=version))
    (root / name).mkdir()
    (root / name / "__init__.py").write_text(module)
    return root


def _git_repo(path: Path) -> str:
    _package(path, "gitpkg", "2.0", "VALUE = 'from git'\n")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid",
           "-c", "init.defaultBranch=main"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "gitpkg 2.0"]):
        subprocess.run([*git, *args], cwd=path, check=True)
    return f"git+file://{path}@main"


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_requirements_features_build_move_and_run(tmp_path, package_index, runtime_store, engine):
    build_root = tmp_path / "tmp-build"
    app = build_root / "app"
    app.mkdir(parents=True)
    (app / "Procfile").write_text("web: python web.py\n")
    (app / "web.py").write_text(WEB)
    _package(app / "libs" / "editable_pkg", "editable_pkg", "0.1",
             "import os\nWHERE = os.path.dirname(__file__)\n")
    _package(app / "libs" / "local_pkg", "local_pkg", "0.2", "VALUE = 'local'\n")
    git_url = _git_repo(tmp_path / "gitrepo")
    (app / "requirements").mkdir()
    (app / "requirements" / "base.txt").write_text("-r common.txt\nsix ; python_version >= '3'\n")
    (app / "requirements" / "common.txt").write_text("idna\n")
    (app / "constraints.txt").write_text("idna==3.20\n")
    (app / "requirements.txt").write_text(
        f"--index-url {package_index.url}\n"
        f"--extra-index-url {package_index.url}\n"
        "-r requirements/base.txt   # includes are relative to the including file\n"
        "-c constraints.txt\n"
        "-e ./libs/editable_pkg\n"
        "./libs/local_pkg\n"
        f"gitpkg @ {git_url}\n"
        "iniconfig==2.3.1 ; python_version < '3'\n")
    result = support.compile_app(app, tmp_path / "cache",
                                 support.build_env(str(runtime_store), None, ENGINES[engine]))
    assert result.returncode == 0, result.log
    assert f"-----> Installing dependencies using {engine} (" in result.stdout

    slug = tmp_path / "mounted" / "app"
    slug.parent.mkdir()
    shutil.move(str(app), slug)
    shutil.rmtree(build_root)
    port = support.free_port()
    proc = support.RunningProcess(slug, "python web.py", port)
    try:
        body = json.loads(support.wait_for_http(f"http://127.0.0.1:{port}/", proc.proc))
    finally:
        proc.stop()
    assert body == {"editable": str(slug / "libs/editable_pkg/editable_pkg"), "git": "from git",
                    "local": "local", "idna": "3.20", "six": "1.17.0"}
    installed = support.installed_distributions(slug)
    assert {"editable-pkg", "local-pkg", "gitpkg", "idna", "six"} <= set(installed)
    assert "iniconfig" not in installed
    assert support.files_containing(slug, str(build_root)) == []
    assert not (slug / "src").exists()  # no checkouts or build folders in the app
    assert not list(slug.glob("libs/*/build")) and not list(slug.glob("libs/*/*.egg-info"))


def _six_hash() -> str:
    wheel = next((support.INDEX_DIR / "packages").glob("six-1.17.0-*.whl"))
    return hashlib.sha256(wheel.read_bytes()).hexdigest()


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("good", [True, False])
def test_hashes(tmp_path, build_env, good, engine):
    digest = _six_hash() if good else "0" * 64
    app = tmp_path / "app"
    app.mkdir()
    (app / "requirements.txt").write_text(f"--require-hashes\nsix==1.17.0 --hash=sha256:{digest}\n")
    result = support.compile_app(app, tmp_path / "cache", {**build_env, **ENGINES[engine]})
    assert "Traceback" not in result.log
    installed = {"uv": "        + six==1.17.0", "pip": "Successfully installed six-1.17.0"}[engine]
    if good:
        assert result.returncode == 0, result.log
        assert installed in result.stdout
    else:
        assert result.returncode == 1, result.log
        own = {"uv": "         cause: Hash mismatch for `six==1.17.0`",  # the engine's own words
               "pip": "       ERROR: THESE PACKAGES DO NOT MATCH THE HASHES"}[engine]
        assert own in result.stdout
        assert (f" !     Error: Failed to install the app's dependencies with {engine}: a "
                "downloaded file does not match its pinned hash.") in result.stderr
        assert "(error id: package-index::hash-mismatch)" in result.stderr
        assert ("PYTHON_INSTALLER=pip" in result.stderr) == (engine == "uv")  # how to get pip


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_vendored_wheels_install_without_an_index(tmp_path, build_env, runtime_store, engine):
    cache = tmp_path / "cache"
    warm = tmp_path / "warm"
    warm.mkdir()
    (warm / "requirements.txt").write_text("")
    warmed = support.compile_app(warm, cache, {**build_env, **ENGINES[engine]})
    assert warmed.returncode == 0, warmed.log  # caches the runtime, pip and uv
    app = tmp_path / "app"
    (app / "vendor").mkdir(parents=True)
    for wheel in (support.INDEX_DIR / "packages").glob("six-1.17.0-*.whl"):
        shutil.copy(wheel, app / "vendor")
    (app / "requirements.txt").write_text("--no-index\n--find-links vendor\nsix==1.17.0\n")
    nowhere = f"http://127.0.0.1:{support.free_port()}/simple/"
    result = support.compile_app(app, cache, support.build_env(str(runtime_store), nowhere,
                                                               ENGINES[engine]))
    assert result.returncode == 0, result.log
    assert ("requirements.txt turns the package index off (--no-index): installing only "
            "from vendor.") in result.stdout
    assert {"uv": "        + six==1.17.0",
            "pip": "Successfully installed six-1.17.0"}[engine] in result.stdout


def test_pip_only_feature_falls_back_to_pip_with_one_line(tmp_path, build_env):
    app = tmp_path / "app"
    app.mkdir()
    (app / "requirements.txt").write_text("--prefer-binary\nsix==1.17.0\n")
    result = support.compile_app(app, tmp_path / "cache", build_env)  # uv is the default
    assert result.returncode == 0, result.log
    assert ("-----> Installing dependencies using pip (26.3)\n"
            "       --prefer-binary (requirements.txt line 1) is a pip feature that uv does not "
            "support: installing with pip instead.\n") in result.stdout
    assert "Successfully installed six-1.17.0" in result.stdout


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_an_index_url_line_replaces_pip_index_url(tmp_path, package_index, runtime_store, engine):
    """pip lets the requirements file's --index-url replace PIP_INDEX_URL; uv must too.
    PIP_INDEX_URL is the platform's index: it serves the buildpack's own tools, not six."""
    import re

    platform_wheels = tmp_path / "platform-wheels"
    platform_wheels.mkdir()
    for wheel in support.ensure_index_packages().iterdir():
        if re.match(r"(pip|uv|packaging|tomli|tomli_w)-\d", wheel.name):
            shutil.copy(wheel, platform_wheels)
    platform = support.start_index(platform_wheels)
    try:
        app = tmp_path / "app"
        app.mkdir()
        (app / "Procfile").write_text("web: python -m http.server $PORT\n")
        (app / "requirements.txt").write_text(f"--index-url {package_index.url}\nsix==1.17.0\n")
        env = support.build_env(str(runtime_store), platform.url, ENGINES[engine])
        result = support.compile_app(app, tmp_path / "cache", env)
    finally:
        platform.stop()
    assert result.returncode == 0, result.log
    assert f"-----> Installing dependencies using {engine} (" in result.stdout
    assert list((app / ".heroku/python/lib").glob("python3*/site-packages/six.py"))
