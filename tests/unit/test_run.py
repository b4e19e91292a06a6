"""Every child has a deadline and its process group ended (issue 15, class 6)."""
from __future__ import annotations

import os
import time

import pytest

from buildpack.base import children
from buildpack.base.children import run_quiet, run_streamed
from buildpack.base.output import BuildError


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is not alive
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_background_process_holding_the_pipe_does_not_hang(tmp_path, monkeypatch):
    monkeypatch.setattr(children, "LINGER", 0.5)  # how long it waits is not the point
    pidfile = tmp_path / "pid"
    start = time.monotonic()
    code, lines = run_streamed(
        ["/bin/sh", "-c", f"sleep 300 & echo $! > {pidfile}; echo done"], dict(os.environ),
        tmp_path, [])
    assert code == 0 and lines == ["done\n"]
    assert time.monotonic() - start < 15
    time.sleep(0.2)
    assert not _alive(int(pidfile.read_text()))  # the group was ended


def test_deadline_ends_the_whole_group(tmp_path):
    pidfile = tmp_path / "pid"
    start = time.monotonic()
    with pytest.raises(BuildError) as info:
        run_streamed(["/bin/sh", "-c", f"sleep 300 & echo $! > {pidfile}; sleep 300"],
                     dict(os.environ), tmp_path, [], timeout=1)
    assert info.value.error_id == "process::timeout"
    assert time.monotonic() - start < 15
    time.sleep(0.2)
    assert not _alive(int(pidfile.read_text()))


def test_endless_output_after_exit_is_cut(tmp_path, monkeypatch):
    monkeypatch.setattr(children, "LINGER", 0.5)  # how long it waits is not the point
    start = time.monotonic()
    code, _ = run_streamed(["/bin/sh", "-c", "(yes spam &) ; exit 3"], dict(os.environ),
                           tmp_path, [], echo=False)
    assert code == 3 and time.monotonic() - start < 15


def test_overlong_output_line_is_split(tmp_path):
    code, lines = run_streamed(["/bin/sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x"],
                               dict(os.environ), tmp_path, [], echo=False)
    assert code == 0 and max(len(line) for line in lines) <= 64 * 1024


def test_run_quiet_deadline(tmp_path):
    with pytest.raises(BuildError) as info:
        run_quiet(["/bin/sh", "-c", "sleep 300"], timeout=1)
    assert info.value.error_id == "process::timeout"
    assert run_quiet(["/bin/sh", "-c", "echo ok"]).stdout == "ok\n"


def test_the_deadline_comes_from_the_plans_environment(monkeypatch):
    from buildpack.base import children as run

    monkeypatch.setenv("BUILDPACK_STEP_TIMEOUT", "7")  # the process's own: not read
    monkeypatch.setattr(run, "_step_timeout", run.DEFAULT_TIMEOUT)
    assert run.step_timeout() == run.DEFAULT_TIMEOUT
    run.use_environment({"BUILDPACK_STEP_TIMEOUT": "20"})
    assert run.step_timeout() == 20
    for bad in ("", "soon", "-1", "0"):
        assert run.parse_step_timeout({"BUILDPACK_STEP_TIMEOUT": bad}) == run.DEFAULT_TIMEOUT
