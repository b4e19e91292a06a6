"""bin/detect under the CNB lifecycle's contract and outside it (no build runs: fast)."""
from __future__ import annotations

import subprocess

from tests import support
from tests.integration.cnb.lifecycle import NOT_DETECTED, Lifecycle


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
