"""Guard the files the buildpack reads from the app against links out of the app.

A hostile push could make ``Procfile`` or ``requirements.txt`` a symlink to a file
on the build server (``/etc/passwd``, another app's cache); the build would read it
and echo its contents into the build log or the release. Such links are refused.
"""
from __future__ import annotations

import os
from pathlib import Path

from buildpack.output import BuildError

READ_BY_BUILDPACK = (
    "runtime.txt", ".python-version", "Procfile", "requirements.txt", "Pipfile",
    "Pipfile.lock", "pyproject.toml", "poetry.lock", "uv.lock", "setup.py", "setup.cfg",
)


def is_inside(root: Path, path: Path) -> bool:
    """True if ``path`` (links resolved) is ``root`` or below it."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root + os.sep)


def check_links(app_dir: Path, names: tuple[str, ...] = READ_BY_BUILDPACK) -> None:
    """Raise BuildError if any of ``names`` is a link that leaves ``app_dir``."""
    for name in names:
        path = app_dir / name
        if path.is_symlink() and not is_inside(app_dir, path):
            raise BuildError(
                f"{name} is a link to a file outside the app",
                f"{name} points to {os.readlink(path)!r}, which is outside the app's directory.\n"
                "The build reads only files that are part of the app. Commit the file itself\n"
                "instead of a symbolic link.",
            )


def regular_file(app_dir: Path, name: str,
                 fix: str = "Make it a plain file, or remove it.") -> Path | None:
    """``app_dir/name`` if it exists; an error if it is a directory or a broken link."""
    path = app_dir / name
    if not path.exists() and not path.is_symlink():
        return None
    if not path.is_file():
        raise BuildError(
            f"{name} is not a regular file",
            f"{name} exists but is a directory or a link to a file that does not exist.\n{fix}",
        )
    return path
