"""The files a requirements.txt pulls in (``-r``/``-c`` includes), for cache keys.

pip resolves an include relative to the file that names it. pip reports missing
includes when it installs; a circular one is refused here, since uv accepts what pip
refuses and the build must not depend on the engine for that. The walk is iterative
and visits each file once (a 100-deep chain or 10,000 includes take milliseconds),
and every file is read through ``AppFiles`` (inside the app, a
regular file, bounded).
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from buildpack.app.app_files import AppFiles
from buildpack.base.output import BuildError

_INCLUDE_RE = re.compile(r"^\s*(?:-r|-c|--requirement|--constraint)(?:\s*=\s*|\s+|(?=\S))(\S+)")
# A requirement that installs code from the app's own tree (its contents are not in
# any lock or requirements file, so a cached environment cannot be trusted for it).
_LOCAL_RE = re.compile(r"^\s*(?:-e\s+|--editable(?:\s*=\s*|\s+))?(?:\.|/|file:|[^\s#@]+\s*@\s*file:)")
# A path with a folder in it (``libs/common``, ``-e libs/x``): pip installs such a
# requirement from the folder when it exists.
_LOCAL_PATH_RE = re.compile(r"^(?:-e\s+|--editable(?:\s*=\s*|\s+))?(?![A-Za-z][\w+.-]*://)[^\s;#@=<>!~]*/")
_FIND_LINKS_RE = re.compile(r"^(?:-f|--find-links)(?:\s*=\s*|\s+|(?=\S))(\S+)")
_ARCHIVE_RE = re.compile(r"^[^\s;#@]+\.(?:whl|zip|tar\.gz|tgz|tar\.bz2|tar\.xz)(?:\s|;|$)")
_REMOTE_RE = re.compile(r"^https?://", re.I)
_VCS_RE = re.compile(r"\b(?:git|hg|svn|bzr)\+\S+")
_COMMIT_RE = re.compile(r"@[0-9a-f]{40}(?:[#&]|$)")
MAX_FILES = 10_000
MAX_DEPTH = 100
MAX_LINE = 10_000


def lines(text: str) -> list[str]:
    """The logical lines of a requirements file (continuations joined, comments cut)."""
    text = re.sub(r"\\\r?\n", " ", text)  # pip joins continuation lines
    return [line.split(" #", 1)[0] for line in text.splitlines()]


def includes(text: str) -> list[str]:
    """The local files a requirements text names with -r/-c (URLs left out)."""
    found = []
    for line in lines(text):
        match = _INCLUDE_RE.match(line)
        if match and not _REMOTE_RE.match(match.group(1)):
            found.append(match.group(1))
    return found


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


def uncached_sources(texts: Iterable[str]) -> list[str]:
    """The requirements whose contents no requirements file pins, so an installed
    environment cannot be reused on the files' account: local paths (``.``, ``libs/x``,
    ``-e``, ``file:``, a wheel or sdist file), ``--find-links`` folders, and VCS
    requirements not pinned to a full commit id."""
    found = []
    for text in texts:
        for line in lines(text):
            stripped = line.strip()
            if not stripped:
                continue
            if _LOCAL_RE.match(stripped) or _LOCAL_PATH_RE.match(stripped) \
                    or _ARCHIVE_RE.match(stripped):
                found.append(f"the local path requirement `{stripped}`")
            elif (match := _FIND_LINKS_RE.match(stripped)) and not _REMOTE_RE.match(match.group(1)):
                found.append(f"the --find-links folder `{match.group(1)}`")
            elif (match := _VCS_RE.search(stripped)) and not _COMMIT_RE.search(match.group(0)):
                found.append(f"`{stripped}`, which names a branch or tag, not a commit")
    return found
