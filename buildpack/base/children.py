"""Run a child process of the build: a deadline, its process group ended, output masked.

Every child runs in its own process group (session). When it exits, the group is
ended, so a background process it left behind (a hook's ``server &``) can neither hold
the output pipe open (which would hang the build) nor outlive the build. When it runs
past its deadline, the group gets SIGTERM, then SIGKILL, and the build fails naming it.
The deadline is ``DEFAULT_TIMEOUT`` seconds, or ``BUILDPACK_STEP_TIMEOUT`` from the
build's environment (a platform setting, not a config var): ``steps.run`` passes the
plan's snapshot of the environment to ``use_environment`` before the first child starts.
(A module setting rather than an argument: some thirty calls in a dozen modules start
children, and a deadline is the same for all of them.)
"""
from __future__ import annotations

import collections
import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Callable

from buildpack.base import output
from buildpack.base.numbers import NumberError, parse_seconds
from buildpack.base.output import BuildError
from buildpack.base.redact import mask, mask_values

DEFAULT_TIMEOUT = 30 * 60
MAX_TIMEOUT = 7 * 24 * 3600
LINGER = 2.0             # seconds to drain output after the child exited
MAX_LINE = 64 * 1024     # longer lines are split
KEPT_LINES = 20_000      # lines returned to the caller (for error explanations)


_step_timeout: float = DEFAULT_TIMEOUT


def parse_step_timeout(environ: Mapping[str, str]) -> float:
    """``BUILDPACK_STEP_TIMEOUT`` of ``environ`` (seconds, at most a week), or
    ``DEFAULT_TIMEOUT`` when it is unset or not such a number."""
    try:
        return parse_seconds(environ.get("BUILDPACK_STEP_TIMEOUT", "").strip(), high=MAX_TIMEOUT)
    except NumberError:
        return DEFAULT_TIMEOUT


def use_environment(environ: Mapping[str, str]) -> None:
    """Take the children's deadline from the build's environment (``Plan.environ``)."""
    global _step_timeout
    _step_timeout = parse_step_timeout(environ)


def step_timeout() -> float:
    return _step_timeout


def _end_group(proc: subprocess.Popen[bytes] | subprocess.Popen[str], grace: float = 5.0) -> None:
    """SIGTERM the child's process group, SIGKILL what is left after ``grace`` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait)  # polls from 0.5 ms up: a child already exiting costs none


def _timeout_error(cmd: list[str], seconds: float) -> BuildError:
    name = Path(cmd[0]).name if cmd else "a child process"
    shown = " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd[:4]))
    return BuildError(
        f"{name} ran past its time limit ({seconds:g} s)",
        f"`{shown}` did not finish within {seconds:g} seconds, so it and every process\n"
        "it started were stopped. A build step that waits for input, a network that\n"
        "stalls or a process that never exits causes this. Fix the cause; a platform can\n"
        "raise the limit with BUILDPACK_STEP_TIMEOUT (seconds).",
        error_id="process::timeout")


def _pump(stream: IO[bytes], lines: queue.Queue[bytes | None]) -> None:
    """Read ``stream`` into ``lines`` until end of file, then close it. The pump closes it,
    not the build: closing a stream another thread is reading waits for that read, which
    a leftover in a session of its own (out of the group's reach) can hold for good."""
    try:
        for raw in iter(lambda: stream.readline(MAX_LINE), b""):
            lines.put(raw)
    except (OSError, ValueError):
        pass
    finally:
        lines.put(None)
        stream.close()


def run_streamed(cmd: list[str], env: dict[str, str], cwd: Path, secrets: list[str],
                 echo: bool = True, hide: Callable[[str], object] | None = None,
                 timeout: float | None = None) -> tuple[int, list[str]]:
    """Run ``cmd``, echoing its output indented (credentials masked); return (code, lines).

    Lines for which ``hide`` is true are kept in the result but not echoed. Raises
    BuildError (``process::timeout``) when the deadline passes.
    """
    seconds = timeout or step_timeout()
    kept: collections.deque[str] = collections.deque(maxlen=KEPT_LINES)
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    assert proc.stdout is not None
    pending: queue.Queue[bytes | None] = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stdout, pending), daemon=True).start()
    deadline = time.monotonic() + seconds
    exited_at: float | None = None
    ended = False  # the child's output reached its end

    def take(raw: bytes) -> None:
        line = mask_values(mask(raw.decode("utf-8", "replace")), secrets)
        kept.append(line)
        if echo and not (hide and hide(line)):
            output.indent_lines([line])

    try:
        while True:
            try:
                raw = pending.get(timeout=0.1)
            except queue.Empty:
                raw = b""
            if raw is None:
                ended = True
                break
            if raw:
                take(raw)
            now = time.monotonic()
            if proc.poll() is not None:
                exited_at = exited_at or now
                if now - exited_at > LINGER:  # something it left behind holds the pipe
                    _end_group(proc, grace=0.5)
                    if now - exited_at > 2 * LINGER:
                        # What was read already is the child's own output (often its
                        # error): into the log, up to KEPT_LINES; the rest is a leftover's.
                        for _ in range(KEPT_LINES):
                            try:
                                raw = pending.get_nowait()
                            except queue.Empty:
                                break
                            if raw is None:
                                break
                            take(raw)
                        break
            elif now > deadline:
                _end_group(proc)
                raise _timeout_error(cmd, seconds)
    finally:
        if ended and proc.poll() is None:  # its output ended: it is exiting, not stopped
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=LINGER)
        if proc.poll() is None:
            _end_group(proc)
        else:
            _end_group(proc, grace=0.5)  # leftovers of a child that exited
        proc.wait()  # (the pump closes proc.stdout at its end of file)
    return proc.returncode, list(kept)


def run_quiet(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
              timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` capturing its output (text), with the same deadline and group ending
    as ``run_streamed``; BuildError on timeout."""
    seconds = timeout or step_timeout()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                            errors="replace", start_new_session=True)
    out, err = _communicate(proc, cmd, seconds, None)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def run_bytes(cmd: list[str], data: bytes, env: dict[str, str] | None = None,
              timeout: float | None = None) -> subprocess.CompletedProcess[bytes]:
    """``run_quiet`` with ``data`` on its standard input, the output as bytes."""
    seconds = timeout or step_timeout()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.PIPE, start_new_session=True)
    out, err = _communicate(proc, cmd, seconds, data)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _communicate(proc: subprocess.Popen[Any], cmd: list[str], seconds: float,
                 data: bytes | None) -> tuple[Any, Any]:
    try:
        return proc.communicate(data, timeout=seconds)
    except subprocess.TimeoutExpired:
        _end_group(proc)
        proc.communicate()
        raise _timeout_error(cmd, seconds) from None
    finally:
        _end_group(proc, grace=0.5)


def run_beside(cmd: list[str], env: dict[str, str], cwd: Path, stop: threading.Event,
               timeout: float | None = None) -> int | None:
    """Run ``cmd`` beside the build, its output discarded, until it exits, ``stop`` is
    set or the deadline passes (then its process group is ended, as every child's);
    its exit code, or None when it was stopped or could not start. A head start that
    may be given up at any time (``uv_pip``'s warm-up), so no error is raised."""
    try:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    except OSError:
        return None
    deadline = time.monotonic() + (timeout or step_timeout())
    try:
        while proc.poll() is None and not stop.wait(0.05) and time.monotonic() < deadline:
            pass
    finally:
        stopped = proc.poll() is None
        _end_group(proc, grace=5.0 if stopped else 0.5)
        proc.wait()
    return None if stopped else proc.returncode


class Background:
    """``work(*args)`` on a thread of its own, beside what the build does next (a child
    it starts keeps its deadline); ``wait`` joins it and raises what it raised."""

    def __init__(self, work: Callable[..., object], *args: object) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work, args))
        self._thread.start()

    def _run(self, work: Callable[..., object], args: tuple[object, ...]) -> None:
        try:
            work(*args)
        except BaseException as exc:  # noqa: BLE001 - raised again by ``wait``
            self._error = exc

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error
