"""Build-log output in the conventions platform users know.

- ``step("Installing ...")``   -> ``-----> Installing ...`` on stdout
- ``detail("text")``           -> ``       text`` (7 spaces) on stdout
- ``warning(title, body)``     -> a `` !     `` block on stderr
- ``BuildError``               -> raised anywhere; the entry point prints it as an
  error block and exits non-zero, so users never see a traceback.
"""
from __future__ import annotations

import sys
from typing import IO, Iterable

STEP_PREFIX = "-----> "
DETAIL_PREFIX = "       "
NOTICE_PREFIX = " !     "


class BuildError(Exception):
    """A failure the user can act on.

    ``summary`` is one line (shown as ``Error: <summary>``); ``body`` is prose that
    says what was found, why it is a problem and how to fix it. ``error_id`` is the
    stable id (``area::what``, listed in docs/errors.md) that tests and platforms match.
    """

    def __init__(self, summary: str, body: str = "", *, error_id: str = "") -> None:
        super().__init__(summary)
        self.summary = summary.rstrip(".")
        self.body = body.strip("\n")
        self.error_id = error_id


def _write(stream: IO[str], text: str) -> None:
    stream.write(text)
    stream.flush()


def step(message: str, stream: IO[str] | None = None) -> None:
    _write(stream or sys.stdout, f"{STEP_PREFIX}{message}\n")


def detail(message: str, stream: IO[str] | None = None) -> None:
    for line in message.splitlines() or [""]:
        _write(stream or sys.stdout, f"{DETAIL_PREFIX}{line}".rstrip() + "\n")


def notice_block(kind: str, summary: str, body: str = "") -> str:
    """Format a ``kind`` (Error/Warning) block, each line prefixed `` !     ``."""
    lines = [f"{kind}: {summary.rstrip('.')}."]
    if body:
        lines.append("")
        lines.extend(body.splitlines())
    return "".join(f"{NOTICE_PREFIX}{line}".rstrip() + "\n" for line in lines)


def warning(summary: str, body: str = "", stream: IO[str] | None = None) -> None:
    out = stream or sys.stderr
    _write(out, "\n" + notice_block("Warning", summary, body) + "\n")


def error(err: BuildError, stream: IO[str] | None = None) -> None:
    out = stream or sys.stderr
    body = err.body
    if err.error_id:
        body = f"{body}\n\n(error id: {err.error_id})" if body else f"(error id: {err.error_id})"
    _write(out, "\n" + notice_block("Error", err.summary, body) + "\n")


def indent_lines(lines: Iterable[str], stream: IO[str] | None = None) -> None:
    """Echo subprocess output lines indented under the current step."""
    out = stream or sys.stdout
    for line in lines:
        _write(out, (DETAIL_PREFIX + line.rstrip("\r\n")).rstrip() + "\n")


def run_main(main, argv: list[str]) -> int:
    """Run an entry point, turning BuildError (and Ctrl-C) into a clean exit."""
    try:
        return main(argv) or 0
    except BuildError as err:
        error(err)
        return 1
    except OSError as exc:
        error(BuildError(
            "The build stopped on a system error",
            f"{exc}\n\nThis is usually a full disk, a missing file or a permission problem\n"
            "on the build server. Fix that and push again.",
        ))
        return 1
    except KeyboardInterrupt:
        _write(sys.stderr, "\n" + notice_block("Error", "Interrupted") + "\n")
        return 130
