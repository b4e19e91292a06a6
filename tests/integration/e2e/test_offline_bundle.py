"""The offline bundle: Python and pip with no runtime store and no network at all."""
from __future__ import annotations

import shutil
import subprocess
import tarfile

import pytest

from tests import support

pytestmark = pytest.mark.slow


def _unshare_available() -> bool:
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


def test_offline_bundle_builds_sample_app_without_network(tmp_path, runtime_store):
    bundle = tmp_path / "bundle.tar.gz"
    made = subprocess.run([str(support.BIN / "build-offline-bundle"), str(bundle),
                           "--store", str(runtime_store), "--python", "3.13"],
                          capture_output=True, text=True, env=support.clean_pip_env())
    assert made.returncode == 0, made.stdout + made.stderr
    with tarfile.open(bundle) as tar:
        names = tar.getnames()
        tar.extractall(tmp_path / "unpacked")
    assert any(n.startswith("buildpack-python/vendor/wheels/pip-26.3-") for n in names)
    for tool in ("uv-0.13.9-", "pipenv-", "poetry-", "pdm-"):  # the same engines as a connected build
        assert any(n.startswith(f"buildpack-python/vendor/wheels/{tool}") for n in names), tool
    assert "buildpack-python/vendor/runtimes/manifest.json" in names
    assert not any("/tests/" in n or "/fixtures/" in n for n in names)
    buildpack = tmp_path / "unpacked/buildpack-python"

    app = support.copy_fixture("flask-app", tmp_path)
    # The app's own dependencies come from a local wheelhouse, as on an air-gapped platform.
    wheels = tmp_path / "wheelhouse"
    shutil.copytree(support.ensure_index_packages(), wheels)
    env = support.clean_pip_env()
    env.pop("PIP_CONFIG_FILE")
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels))
    env.pop("PYTHON_RUNTIME_STORE", None)
    assert _unshare_available(), "unshare -n is needed to prove the build uses no network"
    result = subprocess.run(["unshare", "-n", str(buildpack / "bin/compile"), str(app),
                             str(tmp_path / "cache")], env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Using the runtime store bundled with this buildpack" in result.stdout
    assert "-----> Installing uv 0.13.9" in result.stdout  # from the bundle, hash-checked
    assert "-----> Installing dependencies using uv (0.13.9)" in result.stdout
    assert "        + flask==3.1.3" in result.stdout

    slug = tmp_path / "moved/app"
    slug.parent.mkdir()
    shutil.move(str(app), slug)
    port = support.free_port()
    proc = support.RunningProcess(slug, "python server.py", port)
    try:
        body = support.wait_for_http(f"http://127.0.0.1:{port}/", proc.proc)
    finally:
        proc.stop()
    assert body.startswith("Hello from Python")
