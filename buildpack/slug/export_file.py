"""The multi-buildpack ``export`` file: the installed Python for the next buildpack.

A buildpack that runs later in the same build sources ``export`` in this buildpack's
own directory (not in BUILD_DIR). That directory may be shared by concurrent builds of
different apps, so the file names no build path: it finds the Python of the build that
sources it, in ``$BUILD_DIR`` when the platform exports it, else in ``$1`` (the build dir
when a buildpack's bin/compile sources it itself), else in the current directory
(where herokuish and the multi-buildpack runners start the next buildpack). Every
build writes the same text, atomically, so builds cannot cross.
"""
from __future__ import annotations

from pathlib import Path

from buildpack.base import atomic_write, output, settings
from buildpack.base.slug_layout import PYTHON_DIR
from buildpack.runtime.profile_d import DEFAULTS, LIBRARY_PATHS

EXPORT_NAME = "export"


def render_export() -> str:
    lines = [
        "# Written by buildpack-python: the Python of the build that sources this file.",
        'for _bp_python_dir in "${BUILD_DIR:-}" "${1:-}" "$PWD"; do',
        f'  if [ -n "$_bp_python_dir" ] && [ -x "$_bp_python_dir/{PYTHON_DIR}/bin/python3" ]; then',
        f'    export PATH="$_bp_python_dir/{PYTHON_DIR}/bin:$PATH"',
        *(f'    export {name}="$_bp_python_dir/{PYTHON_DIR}/lib${{{name}:+:${name}}}"'
          for name in LIBRARY_PATHS),
        "    break",
        "  fi",
        "done",
        "unset _bp_python_dir",
    ]
    lines += [f'export {name}="${{{name}:-{DEFAULTS[name]}}}"' for name in ("PYTHONUNBUFFERED", "LANG")]
    return "\n".join(lines) + "\n"


def write_export(buildpack_dir: Path = settings.BUILDPACK_DIR) -> None:
    """Write ``buildpack_dir/export``; a read-only buildpack dir only costs a warning."""
    try:
        atomic_write.write_text(buildpack_dir / EXPORT_NAME, render_export())
    except OSError as exc:
        output.warning(
            "Could not write the export file for following buildpacks",
            f"Writing {buildpack_dir / EXPORT_NAME} failed: {exc.strerror or exc}.\n"
            "The app itself is not affected; a buildpack that runs after this one in the\n"
            "same build will not find this Python on its PATH.")
