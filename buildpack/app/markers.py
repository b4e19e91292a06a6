"""``bin/detect BUILD_DIR``: print ``Python`` and exit 0 when the app is a Python app.

Where the app is:

- at the root of the repository when it has one of ``MARKER_FILES`` there;
- in the folder named by ``APP_BASE`` when the platform exports that config var to
  detect (most do not: detect gets no ENV_DIR);
- in a first-level subfolder that has a marker file. Detect then succeeds too, so that
  platforms which refuse a buildpack whose detect fails (Heroku: "App not compatible
  with buildpack") run compile, which says to set ``APP_BASE`` (see ``app_base``).
  Deeper folders and hidden ones (``.git``, ``.github``) are not looked at.

A non-zero exit only means "not mine" to the platform, so failing to detect is not an
error block: one short line on stderr says what was looked for.
"""
from __future__ import annotations

import os
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
    "Pipfile.lock",
    "poetry.lock",
    "uv.lock",
    "pdm.lock",
    "pylock.toml",
)
# PEP 751's named lock files (``pylock.<name>.toml``, chosen with PYTHON_PYLOCK) count too.
NAMED_MARKERS = "pylock.*.toml"


def _is_marker(path: Path) -> bool:
    """A regular file, or a symlink (even one whose target is missing or elsewhere)."""
    try:
        return path.is_symlink() or path.is_file()
    except OSError:  # e.g. an unreadable directory on the way
        return False


def found_markers(app_dir: Path) -> list[str]:
    found = [name for name in MARKER_FILES if _is_marker(Path(app_dir) / name)]
    try:
        named = sorted(p.name for p in Path(app_dir).glob(NAMED_MARKERS) if _is_marker(p))
    except OSError:
        named = []
    return found + named[:10]


def is_python_app(app_dir: Path) -> bool:
    return bool(found_markers(app_dir))


def python_subfolders(build_dir: Path) -> list[str]:
    """First-level, non-hidden folders (not links) that hold a Python app, sorted."""
    try:
        entries = sorted(os.scandir(build_dir), key=lambda e: e.name)
    except OSError:
        return []
    return [e.name for e in entries
            if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)
            and is_python_app(Path(e.path))]


