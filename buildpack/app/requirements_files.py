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
guards (includes outside the app, hash mode) see what pip and uv see.

A line may also name local code: a path (``./libx``, ``libs/common``, ``../x``), a
``file:`` URL, a VCS URL over ``file:`` (``git+file:///...``), a direct reference
(``name @ ../x``) or an editable (``-e ../x``). Each must stay inside the app
(``local_reference``, ``check_local_paths``): pip resolves a relative path from the
folder it runs in, uv from the requirements file's folder, so both must be inside. Whether the
installed environment is up to date is never decided here: the package manager
decides (``env_cache``).
"""
from __future__ import annotations

import optparse
import os
import re
import shlex
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from buildpack.app.app_files import AppFiles, is_inside
from buildpack.base import libraries
from buildpack.base.http_client import check_url
from buildpack.base.output import BuildError

_REMOTE_RE = re.compile(r"^https?://", re.I)
MAX_FILES = 10_000
MAX_DEPTH = 100
MAX_LINE = 10_000


# pip's requirements-file options (pip 26.3, vendor/pip.txt: pip/_internal/req/req_file.py,
# SUPPORTED_OPTIONS and SUPPORTED_OPTIONS_REQ): (names, dest, takes a value). Kept equal to
# pip's own table by tests/integration/reliability/test_requirements_like_pip.py, which
# also compares whole files read both ways (why pip's parser is not called: see
# docs/reliability.md, "Requirements read as pip reads them").
_PIP_OPTIONS = (  # (names, dest, action): "store" (the last one counts), "append", "flag"
    (("-i", "--index-url", "--pypi-url"), "index_url", "store"),
    (("--extra-index-url",), "extra_index_urls", "append"), (("--no-index",), "no_index", "flag"),
    (("-c", "--constraint"), "constraints", "append"),
    (("-r", "--requirement"), "requirements", "append"),
    (("-e", "--editable"), "editables", "append"), (("-f", "--find-links"), "find_links", "append"),
    (("--no-binary",), "no_binary", "append"), (("--only-binary",), "only_binary", "append"),
    (("--prefer-binary",), "prefer_binary", "flag"),
    (("--require-hashes",), "require_hashes", "flag"),
    (("--no-require-hashes",), "no_require_hashes", "flag"), (("--pre",), "pre", "flag"),
    (("--all-releases",), "all_releases", "append"), (("--only-final",), "only_final", "append"),
    (("--trusted-host",), "trusted_hosts", "append"),
    (("--use-feature",), "features_enabled", "append"), (("--hash",), "hashes", "append"),
    (("-C", "--config-settings"), "config_settings", "append"),
)

# pip checks these values as optparse choices (the others in callbacks, not here).
_CHOICES = {"features_enabled": ("fast-deps", "inprocess-build-deps", "venv-isolation",
                                 "truststore", "no-binary-enable-wheel-cache",
                                 "build-constraint")}


class _Parser(optparse.OptionParser):
    def error(self, msg: str) -> None:  # type: ignore[override]  # pip fails the line too
        raise ValueError(msg)


def _option_parser() -> _Parser:
    parser = _Parser(add_help_option=False)
    for names, dest, action in _PIP_OPTIONS:
        if action == "flag":
            parser.add_option(*names, dest=dest, action="store_true", default=False)
        elif dest in _CHOICES:
            parser.add_option(*names, dest=dest, action=action, type="choice",
                              choices=list(_CHOICES[dest]))
        else:
            parser.add_option(*names, dest=dest, action=action)  # None: no shared default
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
    words: tuple[str, ...] = ()  # the options' words, as shlex split them

    def get(self, dest: str) -> list[str]:
        value = self.values.get(dest)
        return list(value) if isinstance(value, list) else [value] if isinstance(value, str) else []

    def has(self, dest: str) -> bool:
        return bool(self.values.get(dest))


def parse_line(line: str) -> Line:
    """``line`` (a logical line: ``numbered_lines``) split as pip splits it
    (``break_args_options``: words split on single spaces, options from the first word
    that starts with ``-``; then ``shlex`` and ``optparse``)."""
    words = line.split(" ")
    first = next((i for i, w in enumerate(words) if w.startswith("-")), len(words))
    requirement, options = " ".join(words[:first]), " ".join(words[first:])
    if not options:
        return Line(requirement, {})
    try:
        words = shlex.split(options)
        values, _ = _OPTIONS.parse_args(words)
    except ValueError as exc:  # shlex: an open quote; optparse: unknown or ambiguous
        return Line(requirement, {}, str(exc))
    return Line(requirement, dict(vars(values)), words=tuple(words))


_COMMENT_RE = re.compile(r"(^|\s+)#.*$")  # pip's COMMENT_RE


def lines(text: str) -> list[str]:
    """The logical lines of a requirements file, as pip reads them (``numbered_lines``)."""
    return [line for _, line in numbered_lines(text)]


def numbered_lines(text: str) -> list[tuple[int, str]]:
    """The logical lines of a requirements file, each with the number of the physical
    line it starts on, as pip's ``preprocess`` makes them (without its ``${VAR}``
    expansion): a line ending in ``\\`` (and not holding a comment) is joined to the
    next with its backslashes stripped, comments are cut, words stripped, empty lines
    left out."""
    joined: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.endswith("\\") or _COMMENT_RE.match(line):
            if _COMMENT_RE.match(line):
                line = " " + line  # so that the comment is cut from the joined line
            if pending:
                joined.append((start, "".join([*pending, line])))
                pending = []
            else:
                joined.append((number, line))
        else:
            if not pending:
                start = number
            pending.append(line.strip("\\"))
    if pending:
        joined.append((start, "".join(pending)))
    found = []
    for number, line in joined:
        line = _COMMENT_RE.sub("", line).strip()
        if line:
            found.append((number, line))
    return found


def includes(text: str) -> list[str]:
    """The local files a requirements text names with -r/-c (URLs left out)."""
    found = []
    for line in lines(text):
        parsed = parse_line(line)
        found += [name for name in parsed.get("requirements") + parsed.get("constraints")
                  if not _REMOTE_RE.match(name)]
    return found


def hash_mode(texts: Iterable[str]) -> bool:
    """Whether pip installs these requirements in hash-checking mode: ``--require-hashes``
    in any file, or a ``--hash`` on any line unless a file says ``--no-require-hashes``,
    turns it on for every line (uv does so only when told: ``--require-hashes``). pip
    refuses both options at once; uv then gets ``--require-hashes`` too."""
    parsed = [parse_line(line) for text in texts for line in lines(text)]
    return any(p.has("require_hashes") for p in parsed) or (
        any(p.has("hashes") for p in parsed) and not any(p.has("no_require_hashes") for p in parsed))


def _lexically_inside(root: str, path: Path) -> bool:
    """Whether ``path`` names a place under ``root`` (links are checked when it is read)."""
    normal = os.path.normpath(os.path.abspath(path))
    return normal == root or normal.startswith(root.rstrip(os.sep) + os.sep)


_NAMED_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\])?\s*@\s*(\S+)")
_FILE_URL = re.compile(r"^file:", re.IGNORECASE)
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_SUFFIX = re.compile(r"(?:\[[^\]]*\])?(?:#.*)?$")  # [extras], #egg=...


def local_reference(reference: str) -> str | None:
    """The local path that a requirement (or an ``-e`` value) names, as written: a path
    (``./libx``, ``libs/common``, ``../x``, ``/abs``, ``x.whl`` with a folder), a
    ``file:`` URL (``file:../x``, ``file:///abs``; its path, unquoted), or either after
    ``name @``; None for a package name or a URL of another scheme. A VCS URL
    (``git+file:///repo`` too) is a clone of a repository, as from a server: not local
    code of the app's tree, not checked here."""
    text = reference.strip()
    named = _NAMED_REFERENCE.match(text)
    words = text.split()
    ref = named.group(1) if named else (words[0] if words else "")
    if _FILE_URL.match(ref):
        return _file_url_path(ref)
    if _URL.match(ref):
        return None
    if ref.startswith((".", "/", "~")) or "/" in ref:
        return _SUFFIX.sub("", ref) or ref
    return None


def _file_url_path(url: str) -> str:
    """The path of a ``file:`` URL (``file:../x``, ``file:///abs``), unquoted; another
    host's share as ``//host/path``."""
    parts = urllib.parse.urlsplit("file:" + url.split(":", 1)[1])
    path = urllib.parse.unquote(parts.path)
    return path if parts.netloc in ("", "localhost") else f"//{parts.netloc}{path}"


def package_location(option: str, value: str) -> str | None:
    """The local path that an index or find-links option names: a ``file:`` URL's path,
    or, for ``--find-links``, a path as written (``wheels``, ``../x``); None for a remote
    URL (an index given as a bare path is not one pip or uv reads as local)."""
    if _FILE_URL.match(value):
        return _file_url_path(value)
    if _URL.match(value) or option != "--find-links":
        return None
    return value


LOCATION_OPTIONS = (("--find-links", "find_links"), ("--index-url", "index_url"),
                     ("--extra-index-url", "extra_index_urls"))


def marker_error(requirement: str) -> str | None:
    """Why the environment marker of ``requirement`` cannot be evaluated (two literals,
    ``'x' != ''``, or ``~=`` on a non-version: pip 26.3 stops on them with a traceback,
    uv installs), or None. Checked with ``packaging`` once the buildpack's libraries are
    there; a requirement packaging cannot parse is left to the installers' own error."""
    if ";" not in requirement or not libraries.ready():
        return None
    # packaging is importable only after libraries.ensure (hence here, not at the top).
    from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        marker = Requirement(requirement).marker
    except InvalidRequirement:
        return None
    try:
        if marker is not None:
            marker.evaluate({"extra": ""})
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as error:
        return f"{type(error).__name__}: {error}"
    return None


def _local_inside(files: AppFiles, folder: Path, local: str) -> bool:
    """Whether ``local`` (``local_reference``) stays in the app, links resolved: from
    ``folder`` (the requirements file's, as uv resolves it) and from the app's folder
    (pip's working directory). ``~`` is the build user's home: never the app."""
    if local.startswith("~"):
        return False
    return all(is_inside(files.root, base / local) for base in (folder, files.app_dir))


def _outside(shown: str, number: int, what: str, name: str, error_id: str) -> BuildError:
    return BuildError(
        f"{shown} line {number} names {what} outside the app",
        f"Line {number} of {shown} reads {name}, which is not part of the app: the build\n"
        "can only use what was pushed. Keep it inside the app's directory and refer to it\n"
        "with a relative path (e.g. ./libs/mylib).", error_id=error_id)


def check_local_paths(files: AppFiles, path: Path, text: str) -> list[str]:
    """The local files ``text`` (the requirements file ``path``) includes with -r/-c
    (URLs left out); raises BuildError when an include, a path requirement, a direct
    reference (``name @ ...``), an ``-e``, or a local ``--find-links`` / ``file:`` index
    names a place outside the app."""
    root_text = os.path.abspath(files.root)
    shown = _shown(files, path)
    found = []
    for number, line in numbered_lines(text):
        parsed = parse_line(line)
        if parsed.error is not None:
            raise BuildError(
                f"{shown} line {number} has options pip does not accept",
                f"Line {number} of {shown}: {line[:200]}\npip stops on it: {parsed.error[:200]}.\n"
                "Correct the option (`pip install --help` lists those a requirements file may\n"
                "use; --global-option is gone since pip 25.3), or quote a value with spaces.",
                error_id="requirements::invalid-option")
        for name in parsed.get("requirements") + parsed.get("constraints"):
            if _REMOTE_RE.match(name):
                continue
            if not _lexically_inside(root_text, path.parent / name):
                raise _outside(shown, number, "an include (-r/-c)", name,
                               "requirements::include-outside")
            found.append(name)
        why = marker_error(parsed.requirement)
        if why is not None:
            raise BuildError(
                f"{shown} line {number} has a marker pip cannot evaluate",
                f"Line {number} of {shown}: {line[:200]}\nIts environment marker fails: {why[:200]}.\n"
                "pip stops with a traceback on it (uv reads it otherwise). A marker compares an\n"
                "environment name (python_version, sys_platform, os_name, ...) with a quoted\n"
                "value, e.g. `six ; python_version >= '3.12'`.",
                error_id="requirements::invalid-marker")
        for reference in [parsed.requirement, *parsed.get("editables")]:
            local = local_reference(reference)
            if local is not None and not _local_inside(files, path.parent, local):
                raise _outside(shown, number, "local code", local, "requirements::path-outside")
        for option, dest in LOCATION_OPTIONS:
            for value in parsed.get(dest):
                local = package_location(option, value)
                if local is not None and not _local_inside(files, path.parent, local):
                    raise _outside(shown, number, f"packages ({option})", local,
                                   "requirements::path-outside")
        for option, url in _urls(parsed):
            check_url(url, f"{shown} line {number} ({option})")
    return found


def check_project_paths(files: AppFiles, path: Path, text: str,
                        document: dict[str, object]) -> None:
    """Raise BuildError when a dependency in ``document`` (pyproject.toml, parsed from
    ``text``, the file ``path``) names local code outside the app (``name @ ../x``,
    ``name @ file:///abs``): ``[project]``'s dependencies and optional dependencies,
    and ``[dependency-groups]``, which pip reads when it installs the app from it."""
    project = document.get("project")
    project = project if isinstance(project, dict) else {}
    tables: list[object] = [project.get("dependencies")]
    for table in (project.get("optional-dependencies"), document.get("dependency-groups")):
        if isinstance(table, dict):
            tables += table.values()
    shown = _shown(files, path)
    for items in tables:
        for item in items if isinstance(items, list) else []:
            local = local_reference(item) if isinstance(item, str) else None
            if local is not None and not _local_inside(files, path.parent, local):
                number = next((n for n, line in enumerate(text.splitlines(), start=1)
                               if item in line), 1)
                raise _outside(shown, number, "local code", local, "dependencies::path-outside")


def _urls(parsed: Line) -> list[tuple[str, str]]:
    """(what, URL) for each remote URL of a line: an index, find-links, a direct
    reference; checked before pip or uv echo them (``check_url``: a password with an
    unencoded ``/`` would be shown, as neither reads it as a password)."""
    found = [(option, u) for option, dest in LOCATION_OPTIONS for u in parsed.get(dest)
             if "://" in u and not _FILE_URL.match(u)]  # file: URLs are paths (package_location)
    named = _NAMED_REFERENCE.match(parsed.requirement)
    words = parsed.requirement.split()
    reference = named.group(1) if named else (words[0] if words else "")
    if "://" in reference and not _FILE_URL.match(reference):
        scheme, rest = reference.split("://", 1)
        url = f"{scheme.split('+')[-1]}://{rest}"
        if "+" in scheme and "@" in url.rsplit("/", 1)[-1]:  # git+https://h/r.git@main
            url = url[:url.rindex("@")]
        if not _FILE_URL.match(url):  # git+file:///repo has no host to check
            found.append(("a direct reference", url))
    return found


def _shown(files: AppFiles, path: Path) -> str:
    try:
        return path.relative_to(files.root).as_posix()
    except ValueError:
        return path.name


def included_files(files: AppFiles, root: Path) -> list[Path]:
    """``root`` and every file it includes, depth first, each once (missing ones left out:
    pip reports them). Every file's includes and local paths are checked
    (``check_local_paths``)."""
    seen: set[str] = set()
    found: list[Path] = []
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
        names = check_local_paths(files, path, text)
        if names and depth >= MAX_DEPTH:
            raise BuildError(
                f"{root.name} nests -r/-c includes more than {MAX_DEPTH} deep",
                f"{path.name} is include number {depth} of a chain that starts at {root.name};\n"
                "pip reads includes recursively and fails on chains this long. Flatten the\n"
                "chain (one file may include many).", error_id="requirements::includes-too-deep")
        for name in reversed(names):
            stack.append((path.parent / name, chain + (real,)))
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
