"""Issue 21, class 7: every child runs under a deadline.

A runtime whose ``python`` never exits, and starts a process of its own that holds the
output pipe, is asked about itself (``interpreter.query``: the smoke check and the
build's queries): the query fails in bounded time and nothing it started is left.
A source scan checks that no ``subprocess`` call in the buildpack goes without one.
"""
from __future__ import annotations

import ast
import os
import threading
import time
from pathlib import Path

import pytest

from buildpack.base import children, interpreter
from tests.support import ROOT

# Popen sites that wait with a deadline of their own (``wait(timeout=...)``), or that
# are meant to run until stopped (bin/local-deploy's app).
_POPEN_SITES = {
    "buildpack/base/children.py": "the runner itself",
    "buildpack/commands/test.py": "the app's tests: PYTHON_TEST_TIMEOUT",
    "buildpack/store_builder/source_build.py": "each phase: PHASE_TIMEOUT",
    "buildpack/tools/local_deploy.py": "the app itself, until Ctrl-C",
}


def test_a_python_that_never_exits_is_ended(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pid_file = tmp_path / "pid"
    python = tmp_path / "python3"
    python.write_text(f"#!/bin/sh\nsleep 600 &\necho $! > {pid_file}\nwait\n")
    python.chmod(0o755)
    monkeypatch.setattr(interpreter, "DEADLINE", 1.0)
    started = time.monotonic()
    with pytest.raises(interpreter.QueryError, match="did not answer within 1 s"):
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
    monkeypatch.setattr(interpreter, "DEADLINE", 1.0)
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


# The operator's programs (not run by a build): their children have a timeout= of their own.
_TOOL_FOLDERS = ("buildpack/store_builder/", "buildpack/tools/")


def _method_calls(path: Path, names: tuple[str, ...]) -> list[tuple[str, int]]:
    """(name, line) of each ``x.name()`` call (no arguments: not ``os.kill(pid, sig)``)."""
    return [(node.func.attr, node.lineno) for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in names and not node.args and not node.keywords]


def test_every_subprocess_call_has_a_deadline() -> None:
    """A build's children all run through ``base.children`` (deadline, process group
    ended); the operator's programs give each call a ``timeout=``; a ``Popen`` elsewhere
    starts a session of its own (its group can be ended) and is listed with its reason;
    nothing ends a child with a bare ``terminate()``/``kill()``, which would leave its
    own children running (and holding its pipes)."""
    missing = []
    for path in sorted((ROOT / "buildpack").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "buildpack/base/children.py":
            continue
        for name, call in _calls(path):
            if name in ("run", "call", "check_call", "check_output"):
                if not rel.startswith(_TOOL_FOLDERS):
                    missing.append(f"{rel}:{call.lineno} subprocess.{name} in the build: "
                                   "use base.children")
                elif not any(k.arg == "timeout" for k in call.keywords):
                    missing.append(f"{rel}:{call.lineno} subprocess.{name} without timeout=")
            elif name == "Popen":
                if rel not in _POPEN_SITES:
                    missing.append(f"{rel}:{call.lineno} subprocess.Popen outside children.py")
                elif not any(k.arg == "start_new_session" for k in call.keywords):
                    missing.append(f"{rel}:{call.lineno} subprocess.Popen without a session")
        for method, line in _method_calls(path, ("terminate", "kill")):
            missing.append(f"{rel}:{line} .{method}() ends the child only: "
                           "end its process group (base.children)")
    assert not missing, "\n".join(missing)


def test_the_scan_finds_a_bare_terminate(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    path.write_text("import subprocess\np = subprocess.Popen(['true'])\np.terminate()\np.kill()\n")
    assert _method_calls(path, ("terminate", "kill")) == [("terminate", 3), ("kill", 4)]


def test_a_warm_up_child_and_its_children_end_when_stopped(tmp_path: Path) -> None:
    """``children.run_beside`` (uv's warm-up): stopped, its whole group ends, a child it
    started included; and at its deadline without being stopped."""
    for stop_it, timeout in ((True, 60.0), (False, 1.0)):
        pid_file = tmp_path / f"pid-{stop_it}"
        stop = threading.Event()
        if stop_it:
            threading.Timer(0.5, stop.set).start()
        started = time.monotonic()
        code = children.run_beside(
            ["/bin/sh", "-c", f"sleep 600 & echo $! > {pid_file}; wait"], dict(os.environ),
            tmp_path, stop, timeout=timeout)
        assert code is None
        assert time.monotonic() - started < 15
        sleeper = int(pid_file.read_text())
        time.sleep(0.2)
        assert not os.path.exists(f"/proc/{sleeper}") or \
            Path(f"/proc/{sleeper}/stat").read_text().split()[2] == "Z"
    assert children.run_beside(["/bin/sh", "-c", "exit 3"], dict(os.environ), tmp_path,
                               threading.Event()) == 3
