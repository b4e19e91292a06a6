"""``bin/detect BUILD_DIR``: print ``Python`` and exit 0 when the app is a Python app.

A non-zero exit only means "not mine" to the platform, so failing to detect is not an
error block: one short line on stderr says what was looked for.
"""
from __future__ import annotations

import sys
from pathlib import Path

DETECTED_NAME = "Python"

MARKER_FILES = (
    "requirements.txt",
    "runtime.txt",
    ".python-version",
    "setup.py",
    "setup.cfg",
    "pyproject.toml",
    "Pipfile",
    "poetry.lock",
    "uv.lock",
)


def _is_marker(path: Path) -> bool:
    """A regular file, or a symlink (even one whose target is missing or elsewhere)."""
    try:
        return path.is_symlink() or path.is_file()
    except OSError:  # e.g. an unreadable directory on the way
        return False


def found_markers(app_dir: Path) -> list[str]:
    return [name for name in MARKER_FILES if _is_marker(Path(app_dir) / name)]


def is_python_app(app_dir: Path) -> bool:
    return bool(found_markers(app_dir))


def main(argv: list[str]) -> int:
    if not argv or not argv[0]:
        sys.stderr.write("Usage: bin/detect BUILD_DIR\n")
        return 1
    app_dir = Path(argv[0])
    if not app_dir.is_dir():
        sys.stderr.write(f"bin/detect: build directory {app_dir} does not exist\n")
        return 1
    if is_python_app(app_dir):
        sys.stdout.write(f"{DETECTED_NAME}\n")
        sys.stdout.flush()
        return 0
    sys.stderr.write(
        f"No Python app detected: none of {', '.join(MARKER_FILES)} found in the app root\n")
    return 1
