"""``bin/detect BUILD_DIR``: print ``Python`` and exit 0 when the app is a Python app.

The rules are ``app.markers``'. A non-zero exit only means "not mine" to the platform, so
failing to detect is not an error block: one short line on stderr says what was looked for.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from buildpack.app.app_base import CONFIG_VAR, normalize
from buildpack.app.markers import DETECTED_NAME, MARKER_FILES, is_python_app, python_subfolders


def main(argv: list[str]) -> int:
    if not argv or not argv[0]:
        sys.stderr.write("Usage: bin/detect BUILD_DIR\n")
        return 1
    build_dir = Path(argv[0])
    if not build_dir.is_dir():
        sys.stderr.write(f"bin/detect: build directory {build_dir} does not exist\n")
        return 1
    app_base = os.environ.get(CONFIG_VAR, "").strip()
    try:
        app_dir = build_dir / normalize(app_base)
    except ValueError:
        app_dir = build_dir  # compile explains what is wrong with the value
    if is_python_app(build_dir) or is_python_app(app_dir) or python_subfolders(build_dir):
        sys.stdout.write(f"{DETECTED_NAME}\n")
        sys.stdout.flush()
        return 0
    where = f"the app root or {CONFIG_VAR}={app_base}" if app_base else "the app root"
    sys.stderr.write(
        f"No Python app detected: none of {', '.join(MARKER_FILES)} found in {where}\n")
    return 1
