"""Which Python version an app asks for, and which store entry satisfies it.

The version sources, in order (the first one present decides):

1. ``runtime.txt``: ``python-X.Y.Z`` or ``python-X.Y``;
2. ``.python-version``: ``X.Y`` or ``X.Y.Z`` (pyenv's format; the first version line);
   in both a ``t`` after the version (``3.13t``, ``python-3.13.15t``) asks for the
   free-threaded build (``runtime.variants``), which is otherwise that minor: the EOL
   policy, requires-python and the sticky record see 3.13;
3. ``Pipfile.lock``: ``_meta.requires.python_full_version`` (``X.Y.Z``), else
   ``python_version`` (``X.Y``).

The two text files accept blank lines and ``#`` comments; invisible and control
characters are an error (they make a file that looks right fail). When ``runtime.txt``
and ``.python-version`` differ, ``runtime.txt`` wins and the other is named in a
warning; a contradiction with ``Pipfile.lock`` is checked, as an error, against the
chosen version (``installers.python_check``). A misspelled version file is an error
naming the right one. With no source, ``python_choice`` applies the sticky or default
version.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from buildpack.app.app_files import AppFiles
from buildpack.base.numbers import NumberError, parse_int
from buildpack.base.output import BuildError
from buildpack.python_version import pipfile_lock
from buildpack.runtime import variants
from buildpack.runtime.manifest import RuntimeEntry

RUNTIME_TXT = "runtime.txt"
PYTHON_VERSION_FILE = ".python-version"
PIPFILE_LOCK = "Pipfile.lock"
# Each part is checked by ``numbers.parse_int`` (ASCII digits, at most 4 of them).
_RUNTIME_RE = re.compile(r"^python-([0-9]+)\.([0-9]+)(?:\.([0-9]+))?(t?)$")
_PYTHON_VERSION_RE = re.compile(r"^([0-9]+)\.([0-9]+)(?:\.([0-9]+))?(t?)$")
_PIPFILE_VERSION_RE = re.compile(r"^([0-9]+)\.([0-9]+)(?:\.([0-9]+))?$")
VERSION_PART_DIGITS = 4
_ALLOWED_SPACE = {" ", "\t", "\r", "\n"}
# Near-misses of a version line: a name before the number (py3.13, cpython-3.13,
# python3.13, Python 3.13, v3.13), or a wildcard patch (3.13.x, 3.13.*), each also with
# the free-threaded ``t`` (py3.13t -> 3.13t). Not other implementations (pypy3.10).
_NEAR_MISS = re.compile(r"^(?:(?:c?python|py)[-_ ]?)?v?([0-9]{1,2})\.([0-9]{1,3})(?:\.([0-9]{1,3}|x|\*))?(t?)$",
                        re.IGNORECASE)


@dataclass(frozen=True)
class VersionRequest:
    """``major.minor`` plus an optional patch; ``source`` names what asked (a file name,
    or ``default``/``sticky``/``requires-python`` for the choices made without one)."""

    major: int
    minor: int
    patch: int | None
    source: str
    # .python-version lines after the first version line (number, text): ignored.
    ignored_lines: tuple[tuple[int, str], ...] = field(default=(), compare=False)
    variant: str = variants.DEFAULT  # "freethreaded" for 3.13t

    @property
    def text(self) -> str:
        """"3.13", "3.13.15", "3.13t", "3.13.15t"."""
        base = f"{self.major}.{self.minor}"
        return (base if self.patch is None else f"{base}.{self.patch}") + variants.suffix(self.variant)

    @property
    def minor_text(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def written(self) -> str:
        """The version as its source writes it (``python-3.13.0`` in runtime.txt)."""
        return f"python-{self.text}" if self.source == RUNTIME_TXT else self.text

    def admits(self, version: tuple[int, int, int]) -> bool:
        if version[:2] != (self.major, self.minor):
            return False
        return self.patch is None or version[2] == self.patch

    def accepts(self, entry: RuntimeEntry) -> bool:
        """Whether the store entry is this request's version and variant."""
        return entry.variant == self.variant and self.admits(entry.version_tuple)


def _invalid(error_id: str, summary: str, body: str) -> BuildError:
    return BuildError(summary, body, error_id=error_id)


def _decode(raw: bytes, filename: str, example: str) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid(
            "python-version::not-utf8", f"{filename} is not UTF-8 text",
            f"{filename} must be plain UTF-8 text (not UTF-16) holding a version such as:\n\n"
            f"    {example}\n\nSave it as UTF-8 and push again.",
        ) from None
    _check_invisible(text, filename, example)
    return text


def _check_invisible(text: str, filename: str, example: str) -> None:
    """Control, format (zero-width, BOM) and unusual space characters are an error."""
    for number, line in enumerate(text.split("\n"), start=1):
        for column, char in enumerate(line, start=1):
            if char in _ALLOWED_SPACE:
                continue
            category = unicodedata.category(char)
            if category[0] in "CZ":  # Cc Cf Cs Co Cn, Zs Zl Zp
                name = unicodedata.name(char, "a control character")
                raise BuildError(
                    f"{filename} contains an invisible character",
                    f"Line {number}, column {column} of {filename} holds U+{ord(char):04X} "
                    f"({name}),\nwhich does not show in most editors but is not part of a "
                    f"version.\n\nRewrite the file with plain text only, for example:\n\n"
                    f"    printf '{example}\\n' > {filename}",
                    error_id="python-version::invisible-character",
                )


def _shown(text: str) -> str:
    return repr(text[:60] + ("..." if len(text) > 60 else ""))


def _version_lines(text: str) -> list[tuple[int, str]]:
    """(line number, text) of the lines that are neither blank nor a ``#`` comment."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if line and not line.startswith("#"):
            found.append((number, line))
    return found


def _right_form(line: str, prefix: str) -> str | None:
    """The version line ``line`` meant, written right (``prefix``: ``python-`` for
    runtime.txt), or None when it is not a near-miss of one."""
    match = _NEAR_MISS.match(line)
    if match is None:
        return None
    major, minor, patch, letter = match.group(1, 2, 3, 4)
    exact = f".{patch}" if patch is not None and patch.isdigit() else ""
    return f"{prefix}{major}.{minor}{exact}{letter}"


def _request(match: re.Match[str] | None, source: str,
             ignored: tuple[tuple[int, str], ...] = ()) -> VersionRequest | None:
    """The request ``match`` holds; None when there is no match or a part is too long."""
    if match is None:
        return None
    try:
        major, minor = (parse_int(p, max_digits=VERSION_PART_DIGITS) for p in match.group(1, 2))
        patch = match.group(3)
        letter = match.group(4) if match.re.groups >= 4 else ""
        return VersionRequest(major, minor, None if patch is None else
                              parse_int(patch, max_digits=VERSION_PART_DIGITS), source, ignored,
                              variants.from_suffix(letter or ""))
    except NumberError:
        return None


def parse_runtime_txt(raw: bytes) -> VersionRequest:
    """Parse runtime.txt: one version line, with blank lines and ``#`` comments around it."""
    text = _decode(raw, RUNTIME_TXT, "python-3.14")
    lines = _version_lines(text)
    request = _request(_RUNTIME_RE.match(lines[0][1]) if len(lines) == 1 else None, RUNTIME_TXT)
    if request is not None:
        return request
    if not lines:
        shown = "no version (only blank lines or comments)"
    elif len(lines) > 1:
        shown = "several versions (lines " + ", ".join(str(n) for n, _ in lines) + ")"
    else:
        right = _right_form(lines[0][1], "python-")
        if right is not None:
            raise _invalid(
                "runtime-txt::invalid-version", f"Invalid Python version in {RUNTIME_TXT}",
                f"{RUNTIME_TXT} contains {_shown(lines[0][1])} on line {lines[0][0]}, which is not a "
                f"Python version\nas {RUNTIME_TXT} writes it (python-X.Y.Z or python-X.Y). Write:\n\n"
                f"    {right}\n\n"
                f"(or, recommended, put {right[len('python-'):]} into {PYTHON_VERSION_FILE} and delete "
                f"{RUNTIME_TXT}).")
        shown = f"{_shown(lines[0][1])} on line {lines[0][0]}, which is not a Python version"
    raise _invalid(
        "runtime-txt::invalid-version", f"Invalid Python version in {RUNTIME_TXT}",
        f"{RUNTIME_TXT} contains {shown}.\n\n"
        f"It must hold one line of the form python-X.Y.Z (or python-X.Y for the\n"
        f"newest X.Y release; python-X.Yt for the free-threaded build); # comments and\n"
        f"blank lines are allowed. For example:\n\n"
        f"    python-3.14\n\n"
        f"Fix {RUNTIME_TXT} (or delete it to use the default version) and push again.",
    )


def parse_python_version_file(raw: bytes) -> VersionRequest:
    """Parse .python-version: the first line that is not blank or a ``#`` comment counts;
    later version lines are kept as ``ignored_lines`` (the build warns about them)."""
    text = _decode(raw, PYTHON_VERSION_FILE, "3.14")
    lines = _version_lines(text)
    if not lines:
        raise _invalid(
            "python-version-file::no-version", f"No Python version in {PYTHON_VERSION_FILE}",
            f"{PYTHON_VERSION_FILE} holds only blank lines and comments.\n\n"
            f"Put a version such as 3.14 on its first line, or delete the file.",
        )
    number, line = lines[0]
    request = _request(_PYTHON_VERSION_RE.match(line), PYTHON_VERSION_FILE, tuple(lines[1:]))
    if request is None:
        right = _right_form(line, "")
        if right is not None:
            raise _invalid(
                "python-version-file::invalid-version",
                f"Invalid Python version in {PYTHON_VERSION_FILE} (line {number})",
                f"Line {number} of {PYTHON_VERSION_FILE} is {_shown(line)}. {PYTHON_VERSION_FILE} "
                f"holds the version\nnumber alone, X.Y (recommended: you get the newest patch "
                f"release) or X.Y.Z, so write:\n\n    {right}")
        raise _invalid(
            "python-version-file::invalid-version",
            f"Invalid Python version in {PYTHON_VERSION_FILE} (line {number})",
            f"Line {number} of {PYTHON_VERSION_FILE} is {_shown(line)}, which is not a CPython\n"
            f"version this buildpack can provide.\n\n"
            f"Write the version as X.Y (recommended: you get the newest patch release) or\n"
            f"X.Y.Z (X.Yt for the free-threaded build), for example:\n\n    3.14\n\n"
            f"pyenv names such as 'system', 'pypy3.10' or '3.13-dev' are not supported.",
        )
    return request


def parse_pipfile_lock_version(key: str, value: str) -> VersionRequest:
    """``_meta.requires.<key>`` of Pipfile.lock: X.Y or X.Y.Z, nothing else."""
    request = _request(_PIPFILE_VERSION_RE.match(value.strip()), PIPFILE_LOCK)
    if request is None:
        raise BuildError(
            f"Pipfile.lock's Python version {_shown(value)} is not a valid version",
            f"Pipfile.lock says [requires] {key} = {_shown(value)}. It must be an exact\n"
            f"version, not a range or a pattern:\n\n"
            f'    python_version = "3.14"         (any 3.14 release: the newest is used)\n'
            f'    python_full_version = "3.14.2"  (exactly that release)\n\n'
            f"Fix [requires] in the Pipfile, run `pipenv lock` and commit both files.",
            error_id="pipfile-lock::invalid-version",
        )
    return request


# --- misspelled file names ----------------------------------------------------------------

_MISSPELLING_KEYS = {
    "runtime": RUNTIME_TXT, "runtimetxt": RUNTIME_TXT,
    "pythonversion": PYTHON_VERSION_FILE, "pythonversions": PYTHON_VERSION_FILE,
}
_LOOKS_LIKE_VERSION = re.compile(rb"\d\.\d")


def _misspelling_key(name: str) -> str:
    key = name.strip().lower().lstrip(".")
    key = re.sub(r"\.(txt|text)$", "", key)
    return re.sub(r"[-_. ]", "", key)


def misspelled_files(files: AppFiles | Path) -> list[tuple[str, str]]:
    """(found name, right name) of files in the app's folder that look like a version file
    with a wrong name (``.python_version``, ``runtime.txt `` ...) and hold a version."""
    files = AppFiles.of(files)
    found = []
    for path in sorted(files.app_dir.iterdir()):
        right = _MISSPELLING_KEYS.get(_misspelling_key(path.name))
        if right is None or path.name == right or path.is_symlink():
            continue
        head = files.head(path, 4096)  # None unless a regular file inside the app
        if head is not None and _LOOKS_LIKE_VERSION.search(head):
            found.append((path.name, right))
    return found


def check_file_names(files: AppFiles) -> None:
    found = misspelled_files(files)
    if not found:
        return
    name, right = found[0]
    others = "".join(f"\n  {n!r} should be {r}" for n, r in found[1:])
    raise BuildError(
        f"The Python version file {name!r} is misspelled",
        f"The app has a file named {name!r}, which looks like a Python version file, but\n"
        f"the buildpack reads only {RUNTIME_TXT} and {PYTHON_VERSION_FILE}, so it would be\n"
        f"ignored and the app would get a Python version it did not ask for.{others}\n\n"
        f"Rename it: git mv {name!r} {right}",
        error_id="python-version::misspelled-file",
    )


# --- reading the app's sources --------------------------------------------------------------

def read_requests(files: AppFiles | Path) -> list[VersionRequest]:
    """The requests the app's version sources make, in their order of precedence."""
    files = AppFiles.of(files)
    check_file_names(files)
    requests = []
    raw = files.bytes(files.app_dir / RUNTIME_TXT, "version")
    if raw is not None:
        requests.append(parse_runtime_txt(raw))
    raw = files.bytes(files.app_dir / PYTHON_VERSION_FILE, "version")
    if raw is not None:
        requests.append(parse_python_version_file(raw))
    text = files.text(files.app_dir / PIPFILE_LOCK, "lock")
    if text is not None:
        found = pipfile_lock.python_request(pipfile_lock.parse(text))
        if found is not None:
            requests.append(parse_pipfile_lock_version(*found))
    return requests


def choose(requests: list[VersionRequest]) -> tuple[VersionRequest | None, list[VersionRequest]]:
    """The deciding request (the first), and the version files it overrides with another
    version (Pipfile.lock is not among them: a contradiction with it is an error, see
    ``installers.python_check``)."""
    if not requests:
        return None, []
    first = requests[0]
    overridden = [r for r in requests[1:] if r.source != PIPFILE_LOCK and r.text != first.text]
    return first, overridden


# --- the store --------------------------------------------------------------------------------

def _version_text(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def newest_per_minor(entries: list[RuntimeEntry]) -> dict[tuple[int, int], RuntimeEntry]:
    newest: dict[tuple[int, int], RuntimeEntry] = {}
    for entry in entries:
        key = entry.version_tuple[:2]
        if key not in newest or entry.version_tuple > newest[key].version_tuple:
            newest[key] = entry
    return newest


def available_text(request: VersionRequest | None, entries: list[RuntimeEntry]) -> str:
    """What the store can provide (``entries``: only the versions this build may use)."""
    if not entries:
        return "The runtime store has no Python version this build may use for this stack."
    versions = sorted({e.version_tuple for e in entries}, reverse=True)
    lines = [f"Available versions: {', '.join(_version_text(v) for v in versions)}"]
    if request is not None:
        same = [_version_text(v) for v in versions if v[:2] == (request.major, request.minor)]
        lines.append(f"For Python {request.minor_text}: {', '.join(same) if same else 'none'}")
    newest = [e.version for _, e in sorted(newest_per_minor(entries).items(), reverse=True)]
    lines.append(f"Newest release of each minor: {', '.join(newest)}")
    return "\n".join(lines)


def resolve(request: VersionRequest, entries: list[RuntimeEntry],
            usable: list[RuntimeEntry] | None = None) -> RuntimeEntry:
    """The store entry for the request: the exact patch, or the newest patch of X.Y.
    ``usable`` (default: ``entries``) is what an error lists as available."""
    shown = entries if usable is None else usable
    matching = [e for e in entries if request.accepts(e)]
    if not matching and request.variant:
        raise no_variant_error(request, entries, shown)
    if not matching:
        fix = {RUNTIME_TXT: f"Change {RUNTIME_TXT} to one of the available versions.",
               PYTHON_VERSION_FILE: f"Change {PYTHON_VERSION_FILE} to one of the available versions.",
               PIPFILE_LOCK: "Change [requires] in the Pipfile to one of the available versions\n"
                             "and run `pipenv lock`."}.get(
            request.source, f"Add a {PYTHON_VERSION_FILE} naming one of the available versions.")
        raise BuildError(
            f"Python {request.text} is not available",
            f"{describe_source(request)} asks for Python {request.text}, but the runtime store\n"
            f"has no such version for this stack and architecture.\n\n"
            f"{available_text(request, [e for e in shown if not e.variant])}\n\n{fix}",
            error_id="python-version::unavailable",
        )
    return max(matching, key=lambda e: e.version_tuple)


def no_variant_error(request: VersionRequest, entries: list[RuntimeEntry],
                     usable: list[RuntimeEntry]) -> BuildError:
    """The store has no build of the request's variant (3.13t) for its version."""
    same = sorted((e for e in entries if e.variant == request.variant), key=lambda e: e.version_tuple,
                  reverse=True)
    kind = variants.label(request.variant).strip(" ()")
    has = ", ".join(e.label for e in same) if same else "none"
    default = VersionRequest(request.major, request.minor, request.patch, request.source)
    return BuildError(
        f"The runtime store has no {kind} Python {request.text[:-1]}",
        f"{describe_source(request)} asks for Python {request.text}, the {kind} build\n"
        f"(without the GIL), but the runtime store has none for this stack and architecture.\n\n"
        f"{kind.capitalize()} builds in the store: {has}\n"
        f"{available_text(default, [e for e in usable if not e.variant])}\n\n"
        f"Ask for one of those, write {default.written} for the default build, or add a\n"
        f"{kind} build to the store: bin/build-runtime-store STORE --from-source "
        f"{request.minor_text}{variants.suffix(request.variant)}",
        error_id="python-version::no-free-threaded-build",
    )


def describe_source(request: VersionRequest) -> str:
    return {"default": "The buildpack's default",
            "sticky": "The version this app was first built with (kept in the build cache)",
            "requires-python": "pyproject.toml's requires-python"}.get(request.source,
                                                                     request.source)


def outdated_patch_warning(request: VersionRequest, chosen: RuntimeEntry,
                           entries: list[RuntimeEntry]) -> tuple[str, str] | None:
    """(summary, body) when an exact patch is pinned and the store has a newer one (of the
    same variant)."""
    newest = newest_per_minor([e for e in entries if e.variant == chosen.variant])[chosen.version_tuple[:2]]
    if request.patch is None or newest.version_tuple <= chosen.version_tuple:
        return None
    if request.source == PIPFILE_LOCK:
        fix = f"change python_full_version in Pipfile.lock's Pipfile to {newest.version}"
    else:
        written = f"python-{newest.label}" if request.source == RUNTIME_TXT else newest.label
        tagged = request.minor_text + variants.suffix(request.variant)
        also = "" if request.source == RUNTIME_TXT else f" (or write just {tagged})"
        fix = f"update {request.source} to\n{written}{also}"
    return (f"Python {chosen.label} is not the newest {request.minor_text} release",
            f"{chosen.label} is available as {newest.label}: {fix} to get its security "
            f"and bug fixes.")
