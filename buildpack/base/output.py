"""Build-log output in the conventions platform users know.

- ``step("Installing ...")``   -> ``-----> Installing ...`` on stdout
- ``detail("text")``           -> ``       text`` (7 spaces) on stdout
- ``warning(title, body)``     -> a `` !     `` block on stderr
- ``BuildError``               -> raised anywhere; the entry point prints it as an
  error block and exits non-zero, so users never see a traceback.
"""
from __future__ import annotations

import errno
import re
import sys
import time
from collections.abc import Iterable
from typing import IO, Callable

from buildpack.base import error_classes, redact

STEP_PREFIX = "-----> "
DETAIL_PREFIX = "       "
NOTICE_PREFIX = " !     "


class BuildError(Exception):
    """A failure the user can act on.

    ``summary`` is one line (shown as ``Error: <summary>``); ``body`` is prose that
    says what was found, why it is a problem and how to fix it. ``error_id`` is the
    stable id (``area::what``, listed in docs/errors.md) that tests and platforms match.
    """

    def __init__(self, summary: str, body: str = "", *, error_id: str) -> None:
        super().__init__(summary)
        self.summary = summary.rstrip(".")
        self.body = body.strip("\n")
        self.error_id = error_id


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _write(stream: IO[str], text: str) -> None:
    """Every line the build writes goes through here: secrets masked (see redact), control
    characters (a config var name with an escape sequence, a tool's raw output) shown
    escaped so they cannot rewrite the log."""
    text = _CONTROL.sub(lambda m: repr(m.group())[1:-1], redact.mask(text))
    stream.write(text)
    stream.flush()


# Each step's header and when it started (time.monotonic), for the build report.
STEPS: list[tuple[str, float]] = []


def step(message: str) -> None:
    STEPS.append((message, time.monotonic()))
    _write(sys.stdout, f"{STEP_PREFIX}{message}\n")


def detail(message: str) -> None:
    for line in message.splitlines() or [""]:
        _write(sys.stdout, f"{DETAIL_PREFIX}{line}".rstrip() + "\n")


def notice_block(kind: str, summary: str, body: str = "") -> str:
    """Format a ``kind`` (Error/Warning) block, each line prefixed `` !     ``."""
    lines = [f"{kind}: {summary.rstrip('.')}."]
    if body:
        lines.append("")
        lines.extend(body.splitlines())
    return "".join(f"{NOTICE_PREFIX}{line}".rstrip() + "\n" for line in lines)


def warning(summary: str, body: str = "") -> None:
    _write(sys.stderr, "\n" + notice_block("Warning", summary, body) + "\n")


def error(err: BuildError) -> None:
    body = f"{err.body}\n\n(error id: {err.error_id})" if err.body else f"(error id: {err.error_id})"
    _write(sys.stderr, "\n" + notice_block("Error", err.summary, body) + "\n")


def indent_lines(lines: Iterable[str]) -> None:
    """Echo subprocess output lines indented under the current step."""
    for line in lines:
        _write(sys.stdout, (DETAIL_PREFIX + line.rstrip("\r\n")).rstrip() + "\n")


# The system errors a build server can run into, by errno: (id, what it means, the fix).
_SYSTEM_ERRORS = {
    errno.ENOSPC: ("system::disk-full", "The build server's disk is full",
                   "Free some space (a smaller slug, or clear the build cache) and push again."),
    errno.EDQUOT: ("system::disk-full", "The build server's disk quota is used up",
                   "Free some space (a smaller slug, or clear the build cache) and push again."),
    errno.EACCES: ("system::permission-denied", "The build was denied access to a file",
                   "Check the ownership and permissions of the build and cache directories."),
    errno.EPERM: ("system::permission-denied", "The build was not permitted an operation",
                  "Check the ownership and permissions of the build and cache directories."),
    errno.EROFS: ("system::read-only", "The build tried to write to a read-only file system",
                  "The build and cache directories must be writable."),
    errno.ENOENT: ("system::missing-file", "A file the build needs does not exist",
                   "Check that the build, cache and env directories exist and push again."),
    errno.EMFILE: ("system::too-many-open-files", "The build ran out of file descriptors",
                   "Raise the open-files limit (ulimit -n) on the build server."),
    errno.ENOMEM: ("system::out-of-memory", "The build server ran out of memory",
                   "Give the build more memory, or build fewer things at once."),
}


_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


def system_error(exc: OSError) -> BuildError:
    """The error block for an ``OSError`` that nothing else explained, naming its cause:
    the file, or for a disk that cannot be written the destination of a copy, link or
    rename (``filename2``; ``shutil.copy2`` puts the source in ``filename``)."""
    name = exc.filename2 if exc.errno in _WRITE_ERRORS and exc.filename2 else exc.filename
    where = f" ({name})" if name else ""
    reason = exc.strerror or str(exc)
    known = _SYSTEM_ERRORS.get(exc.errno or 0)
    if known is not None:
        error_id, summary, fix = known
        return BuildError(summary, f"{reason}{where}.\n\n{fix}", error_id=error_id)
    return BuildError(
        "The build stopped on a system error",
        f"{reason}{where}.\n\nThis is a problem on the build server, not in the app; fix it\n"
        "and push again.", error_id="system::os-error")


def run_main(main: Callable[[list[str]], int | None], argv: list[str]) -> int:
    """Run an entry point, turning BuildError (and Ctrl-C) into a clean exit: 75
    (EX_TEMPFAIL) for a transient failure (``error_classes``), else 1."""
    try:
        return main(argv) or 0
    except BuildError as err:
        error(err)
        return error_classes.exit_code(err.error_id)
    except OSError as exc:
        explained = system_error(exc)
        error(explained)
        return error_classes.exit_code(explained.error_id)
    except KeyboardInterrupt:
        _write(sys.stderr, "\n" + notice_block("Error", "Interrupted") + "\n")
        return 130
