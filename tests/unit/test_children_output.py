"""A failing tool's own output reaches the log the error points to (issue 23), even when
something it left behind holds the output pipe and the build reads slowly."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from buildpack.base import children
from buildpack.base.children import run_streamed
from buildpack.installers.failures import install_error


def test_output_read_before_a_leftover_holds_the_pipe_is_all_kept(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The child prints 300 lines and exits; a process in another session keeps the pipe
    open, so no end of file comes; the log is slower than the child (5 ms a line), so
    lines are still unechoed when the build stops waiting for the end of file (2 x LINGER,
    lowered to 0.5 s: 1.5 s of echoing outlasts it). Every line the child printed is
    still returned, and echoed, and the build does not wait for the leftover (closing the
    pipe while the pump read it did, for the leftover's life)."""
    monkeypatch.setattr(children, "LINGER", 0.5)
    pidfile = tmp_path / "pid"
    script = (f"setsid sh -c 'echo $$ > {pidfile}; exec sleep 60' & "
              "i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done; exit 7")
    echoed: list[str] = []

    def slow_log(line: str) -> bool:  # runs for each line about to be echoed
        time.sleep(0.005)
        echoed.append(line)
        return False

    start = time.monotonic()
    try:
        code, lines = run_streamed(["/bin/sh", "-c", script], dict(os.environ), tmp_path, [],
                                   hide=slow_log, timeout=60)
    finally:
        deadline = time.monotonic() + 5
        while not pidfile.is_file() and time.monotonic() < deadline:
            time.sleep(0.05)
        if pidfile.is_file():
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
    assert code == 7
    assert time.monotonic() - start < 30  # the leftover (60 s) is not waited for
    assert [line.strip() for line in lines] == [f"line-{i}" for i in range(300)]
    assert len(echoed) == 300


def test_the_error_never_points_at_output_that_is_not_there() -> None:
    env = {"PATH": "/usr/bin:/bin"}
    said = install_error(["ERROR: no matching distribution for six==99\n"], env, "pip", "x", "pip install x",
                         code=1)
    assert "its own error is shown above" in said.body
    silent = install_error([], env, "PDM", "the packages of pdm.lock", "pdm sync", code=1)
    assert "PDM exited with status 1 and printed nothing." in silent.body
    assert "shown above" not in silent.body
    killed = install_error([], env, "PDM", "the packages of pdm.lock", "pdm sync", code=-9)
    assert "PDM was stopped by SIGKILL before it finished, and printed nothing." in killed.body
