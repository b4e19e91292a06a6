"""The app's process types: its Procfile, else a default ``web`` process.

The platform runs the Procfile at the root of the slug when there is one, and
otherwise the ``default_process_types`` of bin/release. Those are:

- the types of the app folder's Procfile, for an ``APP_BASE`` app (the platform does
  not look there; the processes start in that folder, see ``app_base``);
- without any Procfile, a default ``web``: for a Django app with gunicorn installed,
  ``gunicorn <project>.wsgi`` (gunicorn binds to ``0.0.0.0:$PORT`` when ``PORT`` is
  set); else, when exactly one of ``ENTRY_POINTS`` is a script (it has an
  ``if __name__ == "__main__":`` block), ``python <that file>``.

Compile logs which applies, and that a Procfile overrides a default. Release works the
same out from the slug, so both always agree.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from buildpack import django, output, procfile
from buildpack.procfile import PROCFILE_NAME

ENTRY_POINTS = ("app.py", "main.py", "server.py")
_SHELL_SAFE = re.compile(r"[\w./-]+")


@dataclass(frozen=True)
class Default:
    """The default ``web`` command (``None`` when there is none) and why."""

    command: str | None
    reason: str


def _load(app_dir: Path) -> dict[str, str] | None:
    try:
        return procfile.load_procfile(app_dir)
    except procfile.ProcfileError as err:
        raise procfile.procfile_build_error(err) from None


def warn_line_endings(app_dir: Path) -> None:
    """Warn about a BOM or CRLF: we read past them, but herokuish/Dokku do not."""
    path = app_dir / "Procfile"
    if not path.is_file():
        return
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf") or b"\r\n" in data:
        output.warning(
            "The Procfile has Windows line endings or a byte-order mark",
            "This buildpack reads it as intended, but some platforms (herokuish, Dokku)\n"
            "keep the carriage return in each command or miss the first process type.\n"
            "Save the Procfile as UTF-8 without a BOM and with LF line endings\n"
            "(e.g. `git config core.autocrlf input`, then re-commit it).",
        )


def read(build_dir: Path, base: str) -> dict[str, str] | None:
    """The validated types of the Procfile that applies (root first); ``None`` without one."""
    root = _load(build_dir)
    if not base:
        return root
    in_app = _load(build_dir / base)
    return root if root is not None else in_app


def _is_script(path: Path) -> bool:
    try:
        return path.is_file() and "__main__" in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def default_web(app_dir: Path, prefix: Path) -> Default:
    """The ``web`` process an app without a Procfile gets, from its files and ``prefix``."""
    manage_py = django.find_manage_py(app_dir)
    if manage_py is not None:
        module = django.wsgi_module(manage_py)
        if module is None:
            return Default(None, f"{manage_py.relative_to(app_dir)} is there, but no "
                                 "<project>/wsgi.py next to the settings was found")
        if not (prefix / "bin" / "gunicorn").is_file():
            return Default(None, "This is a Django app, but gunicorn is not in its "
                                 f"requirements; with it, the default is `gunicorn {module}`")
        folder = manage_py.parent.relative_to(app_dir).as_posix()
        if folder != "." and not _SHELL_SAFE.fullmatch(folder):
            return Default(None, f"The Django project's folder {folder!r} has unusual characters")
        chdir = "" if folder == "." else f"--chdir {folder} "
        return Default(f"gunicorn {chdir}{module}",
                       f"Django app ({module.replace('.', '/')}.py) with gunicorn installed")
    scripts = [name for name in ENTRY_POINTS if _is_script(app_dir / name)]
    if len(scripts) == 1:
        return Default(f"python {scripts[0]}", f"{scripts[0]} is the app's only entry point")
    if scripts:
        return Default(None, f"{' and '.join(scripts)} could each be the entry point")
    return Default(None, f"No entry point found (none of {', '.join(ENTRY_POINTS)} is a script)")


def release_types(build_dir: Path, base: str, prefix: Path) -> dict[str, str]:
    """``default_process_types`` for bin/release."""
    declared = read(build_dir, base)
    if declared is not None:
        return declared
    default = default_web(build_dir / base, prefix)
    return {"web": default.command} if default.command else {}


def log_discovery(build_dir: Path, base: str, prefix: Path) -> None:
    """The "Discovering process types" step: what the platform will run, and defaults."""
    output.step("Discovering process types")
    root = _load(build_dir)
    in_app = _load(build_dir / base) if base else None
    declared = root if root is not None else in_app
    if declared is not None:
        where = "" if root is not None or not base else f" ({base}/{PROCFILE_NAME})"
        output.detail(f"Procfile declares types -> {', '.join(declared) or '(none)'}{where}")
        if base and root is not None:
            _warn_root_procfile(base, root, in_app is not None)
        return
    output.detail("Procfile declares types -> (none)")
    default = default_web(build_dir / base, prefix)
    if default.command:
        output.detail("Default types for buildpack-python -> web")
        output.detail(f"web: {default.command}")
        output.detail(f"({default.reason}.)\n"
                      "This is a default: add a Procfile to choose the command yourself.")
        return
    output.warning(
        "No Procfile found",
        f"The app has no Procfile and no default web process: {default.reason}.\n"
        "Nothing will be started. Add a Procfile to the app, for example:\n\n"
        f"    {procfile.EXAMPLE_LINE}")


def _warn_root_procfile(base: str, root: dict[str, str], app_has_one: bool) -> None:
    if app_has_one:
        output.warning(
            "Two Procfiles: the one at the repository root is used",
            f"The platform runs the Procfile at the root of the repository, so\n"
            f"{base}/{PROCFILE_NAME} is ignored. Keep only one of them.")
    stale = [name for name, command in root.items() if f"cd {base}" in command]
    if stale:
        output.warning(
            f"The Procfile changes into {base}/ although processes already start there",
            f"With APP_BASE={base}, every process starts in {base}/, so `cd {base}` in the\n"
            f"Procfile's {', '.join(stale)} command(s) fails. Remove it from the command.")
