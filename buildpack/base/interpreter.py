"""Ask a Python interpreter about itself: the one way the buildpack runs a probe.

``query(python, code, *args)`` runs ``code`` isolated (``-I``: no ``PYTHON*`` variables,
no user site-packages, no working directory on ``sys.path``, so an app's ``json.py``
cannot answer instead of the stdlib) and without writing bytecode (``-B``), under a
deadline, and returns the JSON value on the last line it prints. When the interpreter
does not start, fails, runs past the deadline or prints no JSON, ``QueryError`` says
how; ``require`` turns that into the build error ``interpreter::query-failed``.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from buildpack.base.children import run_quiet
from buildpack.base.output import BuildError

FLAGS = ("-I", "-B")
DEADLINE = 120.0  # seconds: a cold start from a slow disk, never a probe's own work

# The stdlib folder, for probes that need nothing else.
STDLIB = "import json, sysconfig; print(json.dumps(sysconfig.get_paths()['stdlib']))"


class QueryError(Exception):
    """The interpreter gave no answer: the message says why, ``reason`` in one line."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


def query(python: Path, code: str, *args: str, env: Mapping[str, str] | None = None,
          cwd: Path | None = None) -> Any:
    """The JSON value that ``code`` (run with ``args``) prints last."""
    try:
        # children.run_quiet: in its own process group, ended at the deadline, so that a
        # "python" that starts a child of its own and never exits cannot hold the pipes.
        proc = run_quiet([str(python), *FLAGS, "-c", code, *args],
                         env=None if env is None else dict(env), cwd=cwd, timeout=DEADLINE)
    except BuildError as exc:
        if exc.error_id != "process::timeout":
            raise
        raise QueryError(f"{python} did not answer within {DEADLINE:g} s") from None
    except OSError as exc:
        raise QueryError(f"{python} does not start: {exc.strerror or exc}") from None
    if proc.returncode != 0:
        lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
        # The first line says why (a usage error, a pyenv shim), a traceback's last line.
        reason = lines[-1] if lines and lines[0].startswith("Traceback") else (
            lines[0] if lines else f"exit status {proc.returncode}")
        raise QueryError(f"{python} exited with status {proc.returncode}"
                         + (":\n" + "\n".join(lines[-15:]) if lines else ""), reason)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise QueryError(f"{python} printed something unexpected: "
                         f"{proc.stdout.strip()[-300:]!r}") from None


def require(python: Path, code: str, *args: str, what: str,
            env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Any:
    """``query``, failing the build with ``what`` (e.g. "The Python runtime does not start")."""
    try:
        return query(python, code, *args, env=env, cwd=cwd)
    except QueryError as exc:
        raise BuildError(what, str(exc), error_id="interpreter::query-failed") from None
