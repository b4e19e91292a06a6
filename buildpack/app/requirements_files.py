"""The files a requirements.txt pulls in (``-r``/``-c`` includes), checked at plan time.

pip resolves an include relative to the file that names it. pip reports missing
includes when it installs; a circular one is refused here, since uv accepts what pip
refuses and the build must not depend on the engine for that. The walk is iterative
and visits each file once (a 100-deep chain or 10,000 includes take milliseconds),
and every file is read through ``AppFiles`` (inside the app, a
regular file, bounded).

A line's options are read as pip reads them (``parse_line``): the words from the first
one that starts with ``-`` are split by ``shlex`` (so ``-r "../x.txt"`` names
``../x.txt``) and parsed by ``optparse`` with pip's requirements-file options, which
takes any unambiguous abbreviation (``--requirem``, ``--find-l``) as pip does. The
guards (includes outside the app, hash mode) see what pip and uv see. Whether the
installed environment is up to date is never decided here: the package manager
decides (``env_cache``).
"""
from __future__ import annotations

import optparse
import os
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from buildpack.app.app_files import AppFiles
from buildpack.base.output import BuildError

_REMOTE_RE = re.compile(r"^https?://", re.I)
MAX_FILES = 10_000
MAX_DEPTH = 100
MAX_LINE = 10_000


# pip's requirements-file options (pip/_internal/req/req_file.py, SUPPORTED_OPTIONS and
# SUPPORTED_OPTIONS_REQ): (names, dest, takes a value).
_PIP_OPTIONS = (
    (("-i", "--index-url"), "index_url", True), (("--extra-index-url",), "extra_index_urls", True),
    (("--no-index",), "no_index", False), (("-c", "--constraint"), "constraints", True),
    (("-r", "--requirement"), "requirements", True), (("-e", "--editable"), "editables", True),
    (("-f", "--find-links"), "find_links", True), (("--no-binary",), "no_binary", True),
    (("--only-binary",), "only_binary", True), (("--prefer-binary",), "prefer_binary", False),
    (("--require-hashes",), "require_hashes", False), (("--pre",), "pre", False),
    (("--trusted-host",), "trusted_hosts", True), (("--use-feature",), "features", True),
    (("--global-option",), "global_options", True),
    (("-C", "--config-settings"), "config_settings", True), (("--hash",), "hashes", True),
)


class _Parser(optparse.OptionParser):
    def error(self, msg: str) -> None:  # type: ignore[override]  # pip fails the line too
        raise ValueError(msg)


def _option_parser() -> _Parser:
    parser = _Parser(add_help_option=False)
    for names, dest, takes_value in _PIP_OPTIONS:
        if takes_value:
            parser.add_option(*names, dest=dest, action="append")  # None: no shared default
        else:
            parser.add_option(*names, dest=dest, action="store_true", default=False)
    return parser


_OPTIONS = _option_parser()


@dataclass(frozen=True)
class Line:
    """One logical line as pip reads it: the requirement (before the options), and the
    options (``values``: each option's dest, a list or a bool); ``error`` when pip would
    refuse the options."""

    requirement: str
    values: dict[str, object]
    error: str | None = None

    def get(self, dest: str) -> list[str]:
        value = self.values.get(dest)
        return list(value) if isinstance(value, list) else []

    def has(self, dest: str) -> bool:
        return bool(self.values.get(dest))


def parse_line(line: str) -> Line:
    """``line`` (a logical line: ``lines``) split as pip splits it."""
    words = line.strip().split()
    first = next((i for i, w in enumerate(words) if w.startswith("-")), len(words))
    requirement, options = " ".join(words[:first]), " ".join(words[first:])
    if not options:
        return Line(requirement, {})
    try:
        values, _ = _OPTIONS.parse_args(shlex.split(options))
    except ValueError as exc:  # shlex: an open quote; optparse: unknown or ambiguous
        return Line(requirement, {}, str(exc))
    return Line(requirement, dict(vars(values)))


_COMMENT_RE = re.compile(r"(?:^|\s+)#.*$")  # pip's COMMENT_RE


def lines(text: str) -> list[str]:
    """The logical lines of a requirements file (continuations joined, comments cut)."""
    text = re.sub(r"\\\r?\n", " ", text)  # pip joins continuation lines
    return [_COMMENT_RE.sub("", line) for line in text.splitlines()]


def includes(text: str) -> list[str]:
    """The local files a requirements text names with -r/-c (URLs left out)."""
    found = []
    for line in lines(text):
        parsed = parse_line(line)
        found += [name for name in parsed.get("requirements") + parsed.get("constraints")
                  if not _REMOTE_RE.match(name)]
    return found


def hash_mode(texts: Iterable[str]) -> bool:
    """Whether pip installs these requirements in hash-checking mode: a ``--hash`` on any
    line, or ``--require-hashes`` in any file, turns it on for every line (uv does so only
    when told: ``--require-hashes``)."""
    return any(parsed.has("hashes") or parsed.has("require_hashes")
               for text in texts for parsed in map(parse_line, lines(text)))


def _lexically_inside(root: str, path: Path) -> bool:
    """Whether ``path`` names a place under ``root`` (links are checked when it is read)."""
    normal = os.path.normpath(os.path.abspath(path))
    return normal == root or normal.startswith(root.rstrip(os.sep) + os.sep)


def included_files(files: AppFiles, root: Path) -> list[Path]:
    """``root`` and every file it includes, depth first, each once (missing ones left out:
    pip reports them)."""
    seen: set[str] = set()
    found: list[Path] = []
    root_text = os.path.abspath(files.root)
    stack: list[tuple[Path, tuple[str, ...]]] = [(root, ())]
    while stack:
        path, chain = stack.pop()
        depth = len(chain)
        real = os.path.realpath(path)
        if real in chain:
            raise BuildError(
                f"{path.name} includes itself through -r/-c lines",
                f"{' -> '.join(Path(c).name for c in chain)} -> {path.name}: the include chain\n"
                "comes back to a file it started from. Remove the -r/-c line that closes the\n"
                "circle.", error_id="requirements::circular-include")
        if real in seen:
            continue
        seen.add(real)
        text = files.text(path, "requirements")
        if text is None:
            continue
        found.append(path)
        if len(found) > MAX_FILES:
            raise BuildError(
                f"{root.name} includes more than {MAX_FILES} files",
                f"Through -r/-c lines, {root.name} pulls in more than {MAX_FILES} requirements\n"
                "files. Merge them into fewer files.", error_id="requirements::too-many-includes")
        names = includes(text)
        if names and depth >= MAX_DEPTH:
            raise BuildError(
                f"{root.name} nests -r/-c includes more than {MAX_DEPTH} deep",
                f"{path.name} is include number {depth} of a chain that starts at {root.name};\n"
                "pip reads includes recursively and fails on chains this long. Flatten the\n"
                "chain (one file may include many).", error_id="requirements::includes-too-deep")
        for name in reversed(names):
            include = path.parent / name
            if not _lexically_inside(root_text, include):
                raise BuildError(
                    f"{path.name} includes a file outside the app",
                    f"{path.name} (through -r/-c lines) reads {name}, which is not part of\n"
                    "the app. Keep every requirements file inside the app's directory and refer\n"
                    "to it with a relative path.", error_id="requirements::include-outside")
            stack.append((include, chain + (real,)))
    return found


_ENV_REFERENCE = re.compile(r"\$\{([A-Z0-9_]+)\}")  # what pip expands


def env_references(text: str) -> list[str]:
    """The ``${NAME}`` variables a requirements text names (pip expands them)."""
    return sorted(set(_ENV_REFERENCE.findall(text)))


def check_text(name: str, text: str) -> None:
    """Raise BuildError unless every line of ``text`` is of sane length (pip would echo a
    megabyte-long line into the build log). UTF-8 is checked when the file is read."""
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > MAX_LINE:
            raise BuildError(
                f"{name} has an overlong line (line {number})",
                f"Line {number} of {name} is {len(line)} characters long. A requirement line\n"
                f"is a package name with a version, markers and hashes: well under {MAX_LINE}\n"
                "characters. Check that the file is really a requirements file.",
                error_id="requirements::overlong-line")
