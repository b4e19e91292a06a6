"""The multi-buildpack ``export`` file: the installed Python for the next buildpack.

A buildpack that runs later in the same build sources ``export`` in this buildpack's
own directory (not in BUILD_DIR). It runs before the slug moves, so the paths are the
build paths. Written atomically (a new file renamed over the old one), since the
buildpack directory may be shared by builds.
"""
from __future__ import annotations

import os
import shlex
import tempfile
from pathlib import Path

from buildpack import output, settings

EXPORT_NAME = "export"


def render_export(prefix: Path) -> str:
    return (
        f'export PATH={shlex.quote(str(prefix / "bin"))}:"$PATH"\n'
        'export PYTHONUNBUFFERED="${PYTHONUNBUFFERED:-true}"\n'
        'export LANG="${LANG:-C.UTF-8}"\n'
    )


def write_export(prefix: Path, buildpack_dir: Path = settings.BUILDPACK_DIR) -> None:
    """Write ``buildpack_dir/export``; a read-only buildpack dir only costs a warning."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{EXPORT_NAME}-", dir=buildpack_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(render_export(prefix))
            os.chmod(tmp, 0o644)
            os.replace(tmp, buildpack_dir / EXPORT_NAME)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        output.warning(
            "Could not write the export file for following buildpacks",
            f"Writing {buildpack_dir / EXPORT_NAME} failed: {exc.strerror or exc}.\n"
            "The app itself is not affected; a buildpack that runs after this one in the\n"
            "same build will not find this Python on its PATH.")
