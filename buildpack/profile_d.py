"""What the app needs at run time, written to ``.profile.d/`` in the slug.

The platform sources ``.profile.d/*.sh`` after exporting config vars, with ``HOME``
set to where the slug is mounted; so everything is relative to ``$HOME`` and uses
``${VAR:-default}`` so that a user's config var wins.
"""
from __future__ import annotations

from pathlib import Path

PROFILE_NAME = "python.sh"
PYTHON_HOME_RELATIVE = ".heroku/python"


def render_profile() -> str:
    """The shell script; the runtime finds libpython via its own $ORIGIN rpath."""
    return (
        "# Written by buildpack-python: run-time environment for the app's Python.\n"
        f'export PATH="$HOME/{PYTHON_HOME_RELATIVE}/bin:$PATH"\n'
        'export PYTHONUNBUFFERED="${PYTHONUNBUFFERED:-true}"\n'
        'export LANG="${LANG:-C.UTF-8}"\n'
    )


def write_profile(build_dir: Path) -> Path:
    directory = build_dir / ".profile.d"
    directory.mkdir(exist_ok=True)
    path = directory / PROFILE_NAME
    path.write_text(render_profile(), encoding="utf-8")
    return path
