"""The CNB side through bin/detect and bin/build, for what fails or ends fast: detection,
and bad inputs, which must fail with the same error under both APIs."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from tests import support
from tests.cnb.lifecycle import NOT_DETECTED, Lifecycle

pytestmark = pytest.mark.slow


# --- detect ---------------------------------------------------------------------------

def test_detect_writes_the_plan(tmp_path):
    lifecycle = Lifecycle(tmp_path, {})
    lifecycle.source(support.FIXTURES / "flask-app")
    step, plan = lifecycle.detect()
    assert step.returncode == 0, step.log
    assert step.stdout == "Python\n"
    assert plan == {"provides": [{"name": "python"}], "requires": [{"name": "python"}]}


def test_detect_fails_with_100_and_says_why(tmp_path):
    lifecycle = Lifecycle(tmp_path, {})
    lifecycle.source(support.FIXTURES / "monorepo-app" / "frontend")
    step, plan = lifecycle.detect()
    assert step.returncode == NOT_DETECTED and plan is None
    assert "No Python app detected: none of requirements.txt" in step.stderr


def test_classic_detect_is_unchanged_outside_a_lifecycle(tmp_path):
    app = support.copy_fixture("flask-app", tmp_path)
    other = tmp_path / "elsewhere"
    other.mkdir()
    for env in ({}, {"CNB_BUILDPACK_DIR": str(other)}):  # e.g. a shim's own directory
        proc = subprocess.run([str(support.BIN / "detect"), str(app)], capture_output=True,
                              text=True, env={"PATH": "/usr/bin:/bin", **env})
        assert (proc.returncode, proc.stdout) == (0, "Python\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = subprocess.run([str(support.BIN / "detect"), str(empty)], capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 1


# --- bad inputs: the same error under both APIs -----------------------------------------

def _error_block(stderr: str) -> str:
    return "\n".join(line for line in stderr.splitlines() if line.startswith(" !     "))


@pytest.mark.parametrize("files,summary", [
    ({"runtime.txt": "python3.12\n"}, "(error id: runtime-txt::invalid-version)"),
    ({"Procfile": "web : gunicorn app:app\n"}, "(error id: procfile::space-before-colon)"),
    ({"Procfile": "<<<<<<< HEAD\nweb: python app.py\n"}, "(error id: procfile::conflict-marker)"),
])
def test_bad_input_fails_the_same_under_both_apis(tmp_path, runtime_store, files, summary):
    source = tmp_path / "source"
    source.mkdir()
    (source / "requirements.txt").write_text("")
    for name, text in files.items():
        (source / name).write_text(text)
    classic_app = tmp_path / "classic"
    shutil.copytree(source, classic_app)
    classic = support.compile_app(classic_app, tmp_path / "cache",
                                  support.build_env(str(runtime_store), None))
    lifecycle = Lifecycle(tmp_path / "cnb", {"PYTHON_RUNTIME_STORE": str(runtime_store)})
    lifecycle.source(source)
    cnb = lifecycle.build()
    assert classic.returncode == cnb.returncode == 1, (classic.log, cnb.log)
    assert f" !     {summary}" in cnb.stderr
    assert _error_block(cnb.stderr) == _error_block(classic.stderr)
    assert "Traceback" not in cnb.log
    assert not (lifecycle.layers / "launch.toml").exists()
