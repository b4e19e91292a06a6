"""Issue 21, class 6: the programs' own arguments are checked before any work, with the
usage line and an error id (the real programs, run as a user would run them)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support import BIN


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True, text=True,
                          timeout=60, check=False)


def _refused(result: subprocess.CompletedProcess[str], error_id: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("usage: "), result.stderr
    assert f"(error id: {error_id})" in result.stderr
    assert len(result.stderr) < 2000  # a 5,000-digit argument is not echoed whole
    assert "----->" not in result.stdout  # no work started


@pytest.mark.parametrize("port", ["70000", "0", "-1", "²", "9" * 5000, "80x", ""])
def test_local_deploy_port(port: str, tmp_path: Path) -> None:
    _refused(_run("local-deploy", str(tmp_path), "--port", port), "usage::local-deploy-arguments")


@pytest.mark.parametrize("python", ["3.x", "latest", "3..13", "3", "3.²", "3." + "1" * 5000])
def test_offline_bundle_python(python: str, tmp_path: Path) -> None:
    _refused(_run("build-offline-bundle", str(tmp_path / "b.tgz"), "--store", str(tmp_path),
                  "--python", python), "usage::offline-bundle-arguments")


@pytest.mark.parametrize("request_", ["3." + "1" * 5000, "3.x", "3.²", "latest"])
def test_build_runtime_store_from_source(request_: str, tmp_path: Path) -> None:
    out = tmp_path / "store"
    _refused(_run("build-runtime-store", str(out), "--from-source", request_),
             "usage::build-runtime-store-arguments")
    assert not out.exists()


@pytest.mark.parametrize("python_min", ["3." + "1" * 5000, "²", "3"])
def test_build_runtime_store_python_min(python_min: str, tmp_path: Path) -> None:
    _refused(_run("build-runtime-store", str(tmp_path / "s"), "--python-min", python_min),
             "usage::build-runtime-store-arguments")


@pytest.mark.parametrize("value", ["²", "9" * 5000, "inf", "0"])
def test_bin_test_timeout_before_any_work(value: str, tmp_path: Path) -> None:
    env = tmp_path / "env"
    env.mkdir()
    (env / "PYTHON_TEST_TIMEOUT").write_text(value)
    result = _run("test", str(tmp_path), str(env))  # not even built: the timeout is checked first
    assert result.returncode == 1
    assert "(error id: test::bad-timeout)" in result.stderr and "Traceback" not in result.stderr
