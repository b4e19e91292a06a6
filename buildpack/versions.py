"""Which Python version an app asks for, and which store entry satisfies it.

Order: ``runtime.txt`` (``python-X.Y.Z`` or ``python-X.Y``), then ``.python-version``
(``X.Y`` or ``X.Y.Z``; comments and blank lines allowed, the first version line
wins), else the default minor from vendor/. When both files exist they must agree;
the more specific one decides.
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path

from buildpack.app_files import AppFiles
from buildpack.manifest import RuntimeEntry
from buildpack.output import BuildError

RUNTIME_TXT = "runtime.txt"
PYTHON_VERSION_FILE = ".python-version"
_RUNTIME_RE = re.compile(r"^python-(\d+)\.(\d+)(?:\.(\d+))?$")
_PYTHON_VERSION_RE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")
EOL_WARNING_DAYS = 365


@dataclass(frozen=True)
class VersionRequest:
    """``major.minor`` plus an optional patch; ``source`` names the file that asked."""

    major: int
    minor: int
    patch: int | None
    source: str  # "runtime.txt", ".python-version" or "default"

    @property
    def text(self) -> str:
        base = f"{self.major}.{self.minor}"
        return base if self.patch is None else f"{base}.{self.patch}"

    @property
    def minor_text(self) -> str:
        return f"{self.major}.{self.minor}"

    def admits(self, version: tuple[int, int, int]) -> bool:
        if version[:2] != (self.major, self.minor):
            return False
        return self.patch is None or version[2] == self.patch


def _decode(raw: bytes, filename: str, example: str) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BuildError(
            f"{filename} is not UTF-8 text",
            f"{filename} must be plain UTF-8 text (not UTF-16) holding a version such as:\n\n"
            f"    {example}\n\nSave it as UTF-8 and push again.",
            error_id="python-version::not-utf8",
        ) from None


def _shown(text: str) -> str:
    return repr(text[:60] + ("..." if len(text) > 60 else ""))


def parse_runtime_txt(raw: bytes) -> VersionRequest:
    """Parse runtime.txt contents (BOM, CRLF and surrounding blank lines tolerated)."""
    text = _decode(raw, RUNTIME_TXT, "python-3.13.0")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    match = _RUNTIME_RE.match(lines[0]) if len(lines) == 1 else None
    if not match:
        if not lines:
            shown = "an empty file"
        elif len(lines) > 1:
            shown = f"{len(lines)} non-blank lines"
        else:
            shown = _shown(lines[0])
        raise BuildError(
            f"Invalid Python version in {RUNTIME_TXT}",
            f"{RUNTIME_TXT} contains {shown}, which is not a Python version.\n\n"
            f"It must be a single line of the form python-X.Y.Z (or python-X.Y for the\n"
            f"newest X.Y release), for example:\n\n    python-3.13.0\n\n"
            f"Fix {RUNTIME_TXT} (or delete it to use the default version) and push again.",
            error_id="runtime-txt::invalid-version",
        )
    major, minor, patch = match.group(1, 2, 3)
    return VersionRequest(int(major), int(minor), None if patch is None else int(patch), RUNTIME_TXT)


def parse_python_version_file(raw: bytes) -> VersionRequest:
    """Parse .python-version: the first line that is not blank or a ``#`` comment."""
    text = _decode(raw, PYTHON_VERSION_FILE, "3.13")
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _PYTHON_VERSION_RE.match(line)
        if not match:
            raise BuildError(
                f"Invalid Python version in {PYTHON_VERSION_FILE} (line {number})",
                f"Line {number} of {PYTHON_VERSION_FILE} is {_shown(line)}, which is not a CPython\n"
                f"version this buildpack can provide.\n\n"
                f"Write the version as X.Y (recommended: you get the newest patch release) or\n"
                f"X.Y.Z, for example:\n\n    3.13\n\n"
                f"pyenv names such as 'system', 'pypy3.10' or '3.13-dev' are not supported.",
                error_id="python-version-file::invalid-version",
            )
        major, minor, patch = match.group(1, 2, 3)
        return VersionRequest(int(major), int(minor), None if patch is None else int(patch),
                              PYTHON_VERSION_FILE)
    raise BuildError(
        f"No Python version in {PYTHON_VERSION_FILE}",
        f"{PYTHON_VERSION_FILE} holds only blank lines and comments.\n\n"
        f"Put a version such as 3.13 on its first line, or delete the file.",
        error_id="python-version-file::no-version",
    )


def read_requests(files: AppFiles | Path) -> list[VersionRequest]:
    """The requests the app's version files make, runtime.txt first."""
    files = AppFiles.of(files)
    requests = []
    raw = files.bytes(files.app_dir / RUNTIME_TXT, "version")
    if raw is not None:
        requests.append(parse_runtime_txt(raw))
    raw = files.bytes(files.app_dir / PYTHON_VERSION_FILE, "version")
    if raw is not None:
        requests.append(parse_python_version_file(raw))
    return requests


def choose(requests: list[VersionRequest]) -> VersionRequest | None:
    """The deciding request; an error when the files contradict each other."""
    if not requests:
        return None
    first = requests[0]
    for other in requests[1:]:
        same_minor = (first.major, first.minor) == (other.major, other.minor)
        if not same_minor or (first.patch is not None and other.patch is not None
                              and first.patch != other.patch):
            raise BuildError(
                "The app's Python version files disagree",
                f"{first.source} asks for Python {first.text}, but {other.source} asks for "
                f"Python {other.text}.\n\n"
                f"Keep one of them (.python-version is recommended), or make them name the same\n"
                f"version.",
                error_id="python-version::files-disagree",
            )
    return max(requests, key=lambda r: r.patch is not None)


def default_request(default_minor: str) -> VersionRequest:
    major, minor = (int(p) for p in default_minor.split("."))
    return VersionRequest(major, minor, None, "default")


def _version_text(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def _newest_per_minor(entries: list[RuntimeEntry]) -> list[str]:
    newest: dict[tuple[int, int], tuple[int, int, int]] = {}
    for entry in entries:
        key = entry.version_tuple[:2]
        newest[key] = max(newest.get(key, entry.version_tuple), entry.version_tuple)
    return [_version_text(v) for _, v in sorted(newest.items(), reverse=True)]


def supported_minors(eol_dates: dict[str, str], today: datetime.date) -> list[str]:
    """Minors not yet at their end of life, oldest first."""
    alive = [m for m, d in eol_dates.items() if datetime.date.fromisoformat(d) > today]
    return sorted(alive, key=lambda m: tuple(int(p) for p in m.split(".")))


def _available_text(request: VersionRequest, entries: list[RuntimeEntry],
                    supported: list[str] | None = None) -> str:
    if not entries:
        return "The runtime store has no Python versions for this stack and architecture."
    versions = sorted({e.version_tuple for e in entries}, reverse=True)
    lines = [f"Available versions: {', '.join(_version_text(v) for v in versions)}"]
    same = [_version_text(v) for v in versions if v[:2] == (request.major, request.minor)]
    lines.append(f"For Python {request.minor_text}: {', '.join(same) if same else 'none'}")
    lines.append(f"Newest release of each minor: {', '.join(_newest_per_minor(entries))}")
    if supported:
        lines.append(f"Supported minors (not end-of-life): {', '.join(supported)}")
    return "\n".join(lines)


def resolve(request: VersionRequest, entries: list[RuntimeEntry],
            supported: list[str] | None = None) -> RuntimeEntry:
    """The store entry for the request: the exact patch, or the newest patch of X.Y."""
    where = request.source if request.source != "default" else "The buildpack's default"
    if request.major < 3:
        raise BuildError(
            f"Python {request.text} is end-of-life and not supported",
            f"{where} asks for Python {request.text}. Python 2 reached its end of life\n"
            f"on 2020-01-01 and this buildpack does not provide it.\n\n"
            f"{_available_text(request, entries, supported)}\n\n"
            f"Port the app to Python 3 and name a version in .python-version (e.g. 3.13).",
            error_id="python-version::end-of-life",
        )
    matching = [e for e in entries if request.admits(e.version_tuple)]
    if not matching:
        fix = (f"Change {request.source} to one of the available versions."
               if request.source != "default"
               else "Add a .python-version naming one of the available versions.")
        raise BuildError(
            f"Python {request.text} is not available",
            f"{where} asks for Python {request.text}, but the runtime store has no such\n"
            f"version for this stack and architecture.\n\n"
            f"{_available_text(request, entries, supported)}\n\n{fix}",
            error_id="python-version::unavailable",
        )
    return max(matching, key=lambda e: e.version_tuple)


def version_warnings(request: VersionRequest, chosen: RuntimeEntry, entries: list[RuntimeEntry],
                     eol_dates: dict[str, str], today: datetime.date) -> list[tuple[str, str]]:
    """(summary, body) warnings: an outdated pinned patch, an (almost) end-of-life minor."""
    found = []
    newest = max((e for e in entries if e.version_tuple[:2] == chosen.version_tuple[:2]),
                 key=lambda e: e.version_tuple)
    if request.patch is not None and newest.version_tuple > chosen.version_tuple:
        fix = (f"python-{newest.version}" if request.source == RUNTIME_TXT else newest.version)
        found.append((
            f"Python {chosen.version} is not the newest {request.minor_text} release",
            f"{chosen.version} is available as {newest.version}: update {request.source} to\n"
            f"{fix} to get its security and bug fixes"
            f"{'' if request.source == RUNTIME_TXT else f' (or write just {request.minor_text})'}.",
        ))
    eol_text = eol_dates.get(request.minor_text)
    if eol_text:
        eol = datetime.date.fromisoformat(eol_text)
        if eol <= today:
            found.append((
                f"Python {request.minor_text} reached its end of life on {eol_text}",
                f"Python {request.minor_text} no longer gets security fixes. Upgrade the app to a\n"
                f"supported Python and update {request.source if request.source != 'default' else '.python-version'}.",
            ))
        elif (eol - today).days <= EOL_WARNING_DAYS:
            found.append((
                f"Python {request.minor_text} reaches its end of life on {eol_text}",
                f"After that date it gets no security fixes. Plan the upgrade to a newer Python\n"
                f"now and update {request.source if request.source != 'default' else '.python-version'} when you do.",
            ))
    return found
