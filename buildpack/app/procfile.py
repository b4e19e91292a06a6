"""Read and validate the app's ``Procfile``.

One ``name: command`` per line. The rules are the intersection of what the platforms'
own parsers accept (herokuish, Dokku's procfile-util, foreman/honcho), so that a
Procfile this module accepts runs the same everywhere:

- the process type is ``[A-Za-z0-9_-]+`` and is followed *directly* by the colon
  (``web : cmd`` is rejected: herokuish looks up ``"web "``, procfile-util rejects the
  file and foreman/honcho skip the line, so the app would silently have no ``web``);
- the command is everything after the first colon, stripped, otherwise verbatim
  (``gunicorn app:app`` is fine; a trailing ``# ...`` is kept: ``#`` is common in shell);
- blank lines and lines whose first non-blank character is ``#`` are ignored;
- CRLF line endings and a UTF-8 byte-order mark are tolerated;
- every other irregularity is an error that names the line, since platforms disagree
  on what to do with it (skip it, reject the file, keep the first or the last).
"""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

from buildpack.app.app_files import AppFiles
from buildpack.base.output import BuildError

PROCFILE_NAME = "Procfile"
EXAMPLE_LINE = "web: gunicorn app:app"

_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")
_CONFLICT_MARKERS = ("<<<<<<<", "=======", ">>>>>>>", "|||||||")
_BOM = "\ufeff"
_SHOW_LIMIT = 80


def show_line(line: str, limit: int = _SHOW_LIMIT) -> str:
    """The line as it can be quoted in a message: control characters escaped, truncated."""
    if not line.isprintable():
        line = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in line)
    if len(line) > limit:
        line = line[: limit - 3] + "..."
    return line


class ProcfileError(BuildError, ValueError):
    """A Procfile line the buildpack cannot accept.

    Also a ``BuildError`` (summary ``Invalid Procfile (line N)``), so that one that is
    never caught still reaches the user as an error block rather than a traceback.
    """

    def __init__(self, error_id: str, line_number: int, line: str, problem: str, fix: str) -> None:
        self.line_number = line_number
        self.line = line
        self.problem = problem
        self.fix = fix
        super().__init__(f"Invalid Procfile (line {line_number})", _error_body(self),
                         error_id=error_id)

    def __str__(self) -> str:
        return f'Procfile line {self.line_number}: {self.problem} (line: "{show_line(self.line)}")'


def _wrap(text: str) -> str:
    """Fill prose paragraphs to 72 columns; indented paragraphs (examples) stay as they are."""
    return "\n\n".join(
        para if para.startswith(" ") else textwrap.fill(
            para, 72, break_long_words=False, break_on_hyphens=False)
        for para in text.split("\n\n")
    )


def _error_body(err: ProcfileError) -> str:
    return _wrap(
        f"Line {err.line_number} of the Procfile is:\n"
        "\n"
        f"    {show_line(err.line)}\n"
        "\n"
        f"{err.problem}\n"
        "\n"
        "Each line of a Procfile names a process type, then a colon, then the command "
        "that starts that process, for example:\n"
        "\n"
        f"    {EXAMPLE_LINE}\n"
        "\n"
        f"{err.fix}"
    )


# --- parsing (pure) -----------------------------------------------------------------

def _split_lines(text: str) -> list[str]:
    """Lines as an editor numbers them: split on LF only, a CR before it dropped.

    ``str.splitlines`` is not used: it also splits on characters such as U+2028 and
    form feed, which would shift line numbers and cut commands in two.
    """
    if text.startswith(_BOM):
        text = text[len(_BOM):]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _as_command_hint(line: str) -> str:
    return (
        "If the line is the command of your web process, put the process type in front:\n"
        "\n"
        f"    web: {show_line(line.strip(), _SHOW_LIMIT - 5)}\n"
        "\n"
        "To keep it as a note instead, start it with `#`."
    )


def _check_name(number: int, line: str, head: str) -> str:
    """The process type in ``head`` (the text before the first colon), or raise."""
    name = head.strip()
    if _NAME_RE.fullmatch(head.lstrip()):
        return name
    if _NAME_RE.fullmatch(name):
        raise ProcfileError(
            "procfile::space-before-colon", number, line,
            f"There is a space between the process type `{name}` and the colon. The "
            "platforms' Procfile readers do not accept that: some skip the line, some "
            "reject the whole file, and the process would not start.",
            f"Remove the space, so that the line starts with `{name}:`.",
        )
    if not name:
        raise ProcfileError(
            "procfile::missing-type", number, line,
            "There is no process type before the colon.",
            "Put a process type name such as `web` or `worker` before the colon.",
        )
    if any(ch.isspace() for ch in name):
        raise ProcfileError(
            "procfile::invalid-type", number, line,
            f"The text before the first colon, `{show_line(name, 40)}`, is not a process "
            "type: a process type is a single word of letters, digits, `_` and `-`.",
            _as_command_hint(line),
        )
    raise ProcfileError(
        "procfile::invalid-type", number, line,
        f"The process type `{show_line(name, 40)}` contains characters other than "
        "letters (A-Z, a-z), digits, `_` and `-`.",
        "Rename the process type using only those characters, for example `web`, "
        "`worker` or `celery-beat`.",
    )


def parse_procfile(text: str) -> dict[str, str]:
    """Map each process type to its command, in file order, or raise ``ProcfileError``."""
    types: dict[str, str] = {}
    first_seen: dict[str, int] = {}
    for number, line in enumerate(_split_lines(text), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith(_CONFLICT_MARKERS):
            raise ProcfileError(
                "procfile::conflict-marker", number, line,
                "This is a merge-conflict marker left by git: the Procfile still "
                "contains both sides of an unresolved merge conflict.",
                "Resolve the merge conflict: keep the lines you want, delete the "
                "`<<<<<<<`, `=======` and `>>>>>>>` marker lines, then commit the "
                "Procfile and deploy again.",
            )
        if "\x00" in line:
            raise ProcfileError(
                "procfile::nul-character", number, line,
                "The line contains a NUL character (shown as `\\x00`), which no command "
                "can contain.",
                "Remove it. If the whole file looks garbled, save it again as UTF-8 text.",
            )
        head, colon, tail = line.partition(":")
        if not colon:
            raise ProcfileError(
                "procfile::missing-colon", number, line,
                "The line has no colon, so it does not say which process type it declares.",
                _as_command_hint(line),
            )
        name = _check_name(number, line, head)
        command = tail.strip()
        if not command:
            raise ProcfileError(
                "procfile::missing-command", number, line,
                f"The process type `{name}` has no command after the colon.",
                "Write the command that starts this process on the same line, after the "
                "colon, or delete the line.",
            )
        if command.startswith("#"):
            raise ProcfileError(
                "procfile::command-is-comment", number, line,
                f"The command of `{name}` starts with `#`, so the shell would treat all of "
                "it as a comment and the process would exit at once.",
                "Remove the `#` before the command, or comment out the whole line by "
                "putting `#` at its very start.",
            )
        if name in types:
            raise ProcfileError(
                "procfile::duplicate-type", number, line,
                f"The process type `{name}` is declared twice: on line {first_seen[name]} "
                f"and again on line {number}. Platforms disagree on which one wins (some "
                "take the first, some the last, some reject the file).",
                "Keep only one of the two lines, or give one of them another name.",
            )
        types[name] = command
        first_seen[name] = number
    return types


def decode_procfile(data: bytes) -> str:
    """The Procfile's bytes as text, or ``ProcfileError`` when they are not UTF-8 text."""
    fix = (
        "Save the Procfile as UTF-8 text (editors offer the encoding when saving; in "
        "PowerShell use `Set-Content -Encoding utf8`), commit it and deploy again."
    )
    utf16_bom = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    if utf16_bom or b"\x00" in data:
        number, line = _line_at(data, 0 if utf16_bom else data.index(b"\x00"))
        raise ProcfileError(
            "procfile::not-utf8", number, line,
            "The Procfile must be UTF-8 text, but it looks like UTF-16 (or binary data): "
            "Windows PowerShell's `>` and `Out-File` write UTF-16 by default.",
            fix,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        number, line = _line_at(data, exc.start)
        raise ProcfileError(
            "procfile::not-utf8", number, line,
            f"The Procfile must be UTF-8 text, but this line contains the byte "
            f"0x{data[exc.start]:02x}, which is not valid UTF-8 (the file was probably "
            "saved in another encoding, such as Windows-1252 or Latin-1).",
            fix,
        ) from None


def _line_at(data: bytes, offset: int) -> tuple[int, str]:
    """The 1-based number and the (loosely decoded) text of the line holding ``offset``."""
    start = data.rfind(b"\n", 0, offset) + 1
    end = data.find(b"\n", offset)
    raw = data[start:] if end < 0 else data[start:end]
    return data.count(b"\n", 0, offset) + 1, raw.rstrip(b"\r").decode("utf-8", "backslashreplace")


# --- I/O ----------------------------------------------------------------------------

def load_procfile(files: AppFiles | Path, folder: Path | None = None) -> dict[str, str] | None:
    """Parse the Procfile in ``folder`` (default: the app's folder); ``None`` when there is none.

    Raises ``ProcfileError`` for content problems (bad line, not UTF-8) and a plain
    ``BuildError`` when the file cannot be read at all (a link out of the app, a folder,
    a FIFO, too large).
    """
    files = AppFiles.of(files)
    data = files.bytes((folder or files.app_dir) / PROCFILE_NAME, "procfile")
    if data is None:
        return None
    return parse_procfile(decode_procfile(data))
