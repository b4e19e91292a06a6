"""Apps in a subfolder of the repository (monorepos): the ``APP_BASE`` config var.

``APP_BASE=services/api`` names the app's folder, relative to the repository root
(the convention of the monorepo buildpacks). Then:

- detect also looks there (when the platform exports the variable to detect);
- compile reads the app's files (version files, dependency files, Procfile, hooks,
  ``manage.py``) in that folder, while the slug stays the whole repository: the runtime
  (``.heroku/python``) and ``.profile.d`` are at its root, which is ``$HOME`` at run time;
- the slug runs from that folder: ``.profile.d`` changes into it, so the process
  commands, one-off commands and the app's relative paths work as in the folder. (The
  platforms source ``.profile.d`` in the shell that then runs the command: Heroku,
  herokuish since it changes into ``$HOME`` before sourcing, this buildpack's runner.);
- release reads the Procfile in that folder, or makes the default process types for the
  app there; compile records the folder in ``RECORD`` because release gets no config vars.

A buildpack earlier in the chain may already have moved the folder to the root while
``APP_BASE`` is still set (heroku-buildpack-monorepo does this): when the folder is gone
and the root is a Python app, the root is built.
"""
from __future__ import annotations

from pathlib import Path

from buildpack.app import app_files
from buildpack.app.markers import MARKER_FILES, is_python_app, python_subfolders
from buildpack.base import output
from buildpack.base.output import BuildError
from buildpack.base.slug_layout import APP_BASE_RECORD

CONFIG_VAR = "APP_BASE"
RECORD = APP_BASE_RECORD


def normalize(value: str) -> str:
    """``./api/`` -> ``api``; empty or ``.`` -> ``""`` (the root). ValueError if unusable."""
    text = value.strip()
    if not text.isprintable():
        raise ValueError("it contains control characters such as a line break")
    if text.startswith("/"):
        raise ValueError("it is an absolute path; it must be relative to the repository root")
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ValueError("it contains `..`; the folder must be inside the repository")
    return "/".join(parts)


def _folders_hint(build_dir: Path) -> str:
    folders = python_subfolders(build_dir)
    if not folders:
        return f"No first-level folder of the repository has one of {', '.join(MARKER_FILES)}."
    return ("These folders hold a Python app: " + ", ".join(f"{name}/" for name in folders)
            + ".\nSet APP_BASE to one of them, for example:\n\n"
            f"    {CONFIG_VAR}={folders[0]}")


def choose(build_dir: Path, value: str | None) -> str:
    """The app's folder relative to ``build_dir`` (``""`` for the root), logged.

    Raises BuildError when ``APP_BASE`` cannot be used, and when it is not set but the
    app is evidently in a subfolder (detect accepts that case so that this can say so).
    """
    try:
        base = normalize(value or "")
    except ValueError as err:
        raise BuildError(f"Invalid {CONFIG_VAR} config var",
                         f"{CONFIG_VAR} is {value!r}: {err}.\n\n"
                         f"Set it to the app's folder inside the repository, such as `api` or\n"
                         f"`services/api`, or unset it for an app at the root.",
                         error_id="app-base::invalid") from None
    if not base:
        if not is_python_app(build_dir) and python_subfolders(build_dir):
            raise BuildError(
                "No Python app at the root of the repository",
                "The root has none of the files that mark a Python app, but a subfolder\n"
                f"does. {_folders_hint(build_dir)}\n\n"
                "If the app is at the root and has no dependencies, add an empty\n"
                "requirements.txt at the root instead.",
                error_id="app-base::app-in-subfolder")
        return ""
    path = build_dir / base
    if not path.exists() and not path.is_symlink():
        if is_python_app(build_dir):
            output.detail(f"{CONFIG_VAR}={base}: there is no such folder, but the root is a Python\n"
                          "app (a buildpack before this one has probably moved it there):\n"
                          "building the root.")
            return ""
        raise BuildError(f"The {CONFIG_VAR} folder {base}/ does not exist",
                         f"{CONFIG_VAR} is {base!r}, but the repository has no such folder.\n"
                         f"{_folders_hint(build_dir)}",
                         error_id="app-base::missing-folder")
    if not app_files.is_inside(build_dir, path):
        raise BuildError(f"The {CONFIG_VAR} folder {base}/ is a link outside the repository",
                         f"{base} resolves to a place outside the app. Point {CONFIG_VAR} at a\n"
                         "real folder inside the repository.",
                         error_id="app-base::link-outside-repo")
    if not path.is_dir():
        raise BuildError(f"{CONFIG_VAR} names a file, not a folder",
                         f"{base} is not a folder. Set {CONFIG_VAR} to the folder that holds the app.",
                         error_id="app-base::not-a-folder")
    output.step(f"Building the app in {base}/ ({CONFIG_VAR})")
    return base


def record(build_dir: Path, base: str) -> None:
    """Remember the folder for bin/release (or forget a previous build's)."""
    if base:
        app_files.write_text(build_dir, RECORD, base + "\n")
    else:
        app_files.remove(build_dir, RECORD)


def recorded(build_dir: Path) -> str:
    """The folder compile recorded (``""`` for the root, or when it is unusable)."""
    try:
        base = normalize(app_files.AppFiles(build_dir).text(build_dir / RECORD, "version") or "")
    except (BuildError, ValueError):
        return ""
    path = build_dir / base
    return base if path.is_dir() and app_files.is_inside(build_dir, path) else ""
