"""Which Python version an app asks for, and which store entry satisfies it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from buildpack.manifest import RuntimeEntry
from buildpack.output import BuildError

RUNTIME_TXT = "runtime.txt"
_RUNTIME_RE = re.compile(r"^python-(\d+)\.(\d+)(?:\.(\d+))?$")


@dataclass(frozen=True)
class VersionRequest:
    """``major.minor`` plus an optional patch; ``source`` says who asked."""

    major: int
    minor: int
    patch: int | None
    source: str  # "runtime.txt" or "default"

    @property
    def text(self) -> str:
        base = f"{self.major}.{self.minor}"
        return base if self.patch is None else f"{base}.{self.patch}"


def _clean_text(raw: bytes, filename: str) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BuildError(
            f"{filename} is not UTF-8 text",
            f"{filename} must hold a single line such as:\n\n    python-3.13.0\n\n"
            f"Save it as plain UTF-8 (no UTF-16) and push again.",
        ) from None


def parse_runtime_txt(raw: bytes) -> VersionRequest:
    """Parse runtime.txt contents (BOM, CRLF and surrounding blank lines tolerated)."""
    text = _clean_text(raw, RUNTIME_TXT)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    found = lines[0] if lines else ""
    match = _RUNTIME_RE.match(found) if len(lines) == 1 else None
    if not match:
        shown = repr(found[:60]) if found else "an empty file"
        if len(lines) > 1:
            shown = f"{len(lines)} non-blank lines"
        raise BuildError(
            f"Invalid Python version in {RUNTIME_TXT}",
            f"{RUNTIME_TXT} contains {shown}, which is not a Python version.\n\n"
            f"It must be a single line of the form python-X.Y.Z, for example:\n\n"
            f"    python-3.13.0\n\n"
            f"Fix {RUNTIME_TXT} (or delete it to use the default version) and push again.",
        )
    major, minor, patch = match.group(1, 2, 3)
    return VersionRequest(int(major), int(minor), None if patch is None else int(patch), RUNTIME_TXT)


def read_runtime_txt(app_dir: Path) -> VersionRequest | None:
    path = app_dir / RUNTIME_TXT
    if not path.exists() and not path.is_symlink():
        return None
    if not path.is_file():
        raise BuildError(
            f"{RUNTIME_TXT} is not a regular file",
            f"{RUNTIME_TXT} exists but is a directory or a broken link.\n"
            f"Replace it with a file containing e.g. python-3.13.0, or remove it.",
        )
    return parse_runtime_txt(path.read_bytes())


def default_request(default_minor: str) -> VersionRequest:
    major, minor = (int(p) for p in default_minor.split("."))
    return VersionRequest(major, minor, None, "default")


def _available_text(entries: list[RuntimeEntry]) -> str:
    versions = sorted({e.version_tuple for e in entries}, reverse=True)
    if not versions:
        return "The runtime store has no Python versions for this stack and architecture."
    listed = ", ".join(".".join(map(str, v)) for v in versions)
    return f"Available versions: {listed}"


def resolve(request: VersionRequest, entries: list[RuntimeEntry]) -> RuntimeEntry:
    """The store entry for the request: the exact patch, or the newest patch of X.Y."""
    if request.major < 3:
        raise BuildError(
            f"Python {request.text} is end-of-life and not supported",
            f"{request.source} asks for Python {request.text}. Python 2 reached its end of life\n"
            f"on 2020-01-01 and this buildpack does not provide it.\n\n"
            f"{_available_text(entries)}\n\n"
            f"Port the app to Python 3 and put e.g. python-3.13.0 in {RUNTIME_TXT}.",
        )
    same_minor = [e for e in entries if e.version_tuple[:2] == (request.major, request.minor)]
    if request.patch is not None:
        same_minor = [e for e in same_minor if e.version_tuple[2] == request.patch]
    if not same_minor:
        fix = (f"Change {RUNTIME_TXT} to one of the available versions."
               if request.source == RUNTIME_TXT
               else "Add a runtime.txt naming one of the available versions.")
        raise BuildError(
            f"Python {request.text} is not available",
            f"{'The default version' if request.source == 'default' else RUNTIME_TXT + ' asks for'}"
            f" Python {request.text}, but the runtime store has no such version\n"
            f"for this stack and architecture.\n\n{_available_text(entries)}\n\n{fix}",
        )
    return max(same_minor, key=lambda e: e.version_tuple)
