"""The checks that keep CI honest: skips fail under CI=true; an old host Python is refused."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import BIN, ROOT, find_prefix

SKIPPING = """
import pytest

def test_needs_something():
    pytest.skip("no frobnicator on this machine")

@pytest.mark.xfail(reason="known", strict=True)
def test_known_failure():
    assert False
"""


def _run_pytest(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = str(ROOT)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # hypothesis & co. cost seconds
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.ci_skips", "-p", "no:cacheprovider",
                           "-q", "-rA", str(tmp_path / "test_skipping.py"), "--rootdir", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)


def test_a_skip_fails_under_ci(tmp_path: Path) -> None:
    result = _run_pytest(tmp_path, "true")
    assert result.returncode == 1, result.stdout
    assert "1 failed, 1 xfailed" in result.stdout
    assert "CI=true: a test may not skip for a missing prerequisite: Skipped: no frobnicator" in result.stdout


def test_a_skip_is_a_skip_outside_ci(tmp_path: Path) -> None:
    result = _run_pytest(tmp_path, None)
    assert result.returncode == 0, result.stdout
    assert "1 skipped, 1 xfailed" in result.stdout


@pytest.mark.parametrize("minor", ["3.8", "2.7"])
def test_old_host_python_is_refused_in_one_line(tmp_path: Path, minor: str) -> None:
    python = find_prefix(minor) / "bin" / f"python{minor}"
    app = tmp_path / "app"
    app.mkdir()
    (app / "requirements.txt").write_text("")
    result = subprocess.run([str(python), "-E", "-s", "-S", "-B", str(BIN / "_run.py"), "compile", str(app),
                             str(tmp_path / "cache")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(" !     Error: buildpack-python needs Python 3.9 or newer")
    assert line.endswith("(error id: host::python-too-old)")
    assert not (tmp_path / "cache").exists()
