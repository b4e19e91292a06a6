"""Issue 21, class 7: every child runs under a deadline.

A runtime whose ``python`` never exits, and starts a process of its own that holds the
output pipe, is asked about itself (``interpreter.query``: the smoke check and the
build's queries): the query fails in bounded time and nothing it started is left.
A source scan checks that no ``subprocess`` call in the buildpack goes without one.
"""
from __future__ import annotations

import ast
import os
import time
from pathlib import Path

import pytest

from buildpack.base import interpreter
from tests.support import ROOT

# Popen sites that wait with a deadline of their own (``wait(timeout=...)``), or that
# are meant to run until stopped (bin/local-deploy's app).
_POPEN_SITES = {
    "buildpack/base/children.py": "the runner itself",
    "buildpack/commands/test.py": "the app's tests: PYTHON_TEST_TIMEOUT",
    "buildpack/store_builder/source_build.py": "each phase: PHASE_TIMEOUT",
    "buildpack/installers/uv_pip.py": "the warm-up: stopped when the runtime is unpacked",
    "buildpack/tools/local_deploy.py": "the app itself, until Ctrl-C",
}


def test_a_python_that_never_exits_is_ended(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pid_file = tmp_path / "pid"
    python = tmp_path / "python3"
    python.write_text(f"#!/bin/sh\nsleep 600 &\necho $! > {pid_file}\nwait\n")
    python.chmod(0o755)
    monkeypatch.setattr(interpreter, "DEADLINE", 2.0)
    started = time.monotonic()
    with pytest.raises(interpreter.QueryError, match="did not answer within 2 s"):
        interpreter.query(python, interpreter.STDLIB)
    assert time.monotonic() - started < 15
    sleeper = int(pid_file.read_text())
    time.sleep(0.2)
    assert not os.path.exists(f"/proc/{sleeper}") or \
        Path(f"/proc/{sleeper}/stat").read_text().split()[2] == "Z"


def test_a_python_that_leaves_a_process_holding_the_pipe(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    python = tmp_path / "python3"
    python.write_text('#!/bin/sh\nsleep 600 &\necho \'"/usr/lib/python3"\'\nexit 0\n')
    python.chmod(0o755)
    monkeypatch.setattr(interpreter, "DEADLINE", 2.0)
    started = time.monotonic()
    try:
        interpreter.query(python, interpreter.STDLIB)
    except interpreter.QueryError:
        pass
    assert time.monotonic() - started < 15


def _calls(path: Path) -> list[tuple[str, ast.Call]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "subprocess":
            found.append((node.func.attr, node))
    return found


def test_every_subprocess_call_has_a_deadline() -> None:
    missing = []
    for path in sorted((ROOT / "buildpack").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for name, call in _calls(path):
            if name in ("run", "call", "check_call", "check_output"):
                if not any(k.arg == "timeout" for k in call.keywords):
                    missing.append(f"{rel}:{call.lineno} subprocess.{name} without timeout=")
            elif name == "Popen" and rel not in _POPEN_SITES:
                missing.append(f"{rel}:{call.lineno} subprocess.Popen outside children.py")
    assert not missing, "\n".join(missing)
