"""Things committed to the app that would break the slug, found at plan time.

- A ``.venv/`` (in the app's folder or at the repository root): a virtual environment
  made on the developer's machine. Its scripts and ``pyvenv.cfg`` name that machine's
  absolute paths, its packages were built for another system, and tools that look for
  ``.venv`` (uv, Poetry, PDM, editors' run configurations) would pick it over the
  slug's Python. An error, as with the leader, with the two commands that fix it.
- A ``.heroku/python``: a Python left from another build. The build replaces it (it
  never mixes it with the runtime it installs), so this is a warning, not an error as
  with the leader; rebuilding a checkout in place (``bin/local-deploy``, a herokuish
  rebuild) then keeps working, and the warning says to stop committing it.
"""
from __future__ import annotations

import os
from pathlib import Path

from buildpack.base import output
from buildpack.base.output import BuildError
from buildpack.base.slug_layout import PYTHON_DIR

VENV = ".venv"
HEROKU_PYTHON = PYTHON_DIR


def check(build_dir: Path, app_dir: Path) -> None:
    """Refuse a committed ``.venv``; warn about a committed ``.heroku/python``."""
    for folder in dict.fromkeys((app_dir, build_dir)):
        venv = folder / VENV
        if os.path.lexists(venv):
            shown = venv.relative_to(build_dir)
            raise BuildError(
                f"The app contains a {shown}/ folder (a virtual environment)",
                f"{shown} is a virtual environment made on another machine: its scripts and\n"
                "pyvenv.cfg name that machine's paths, and package managers would use it\n"
                "instead of the Python this build installs, so the app would not start.\n\n"
                "Keep it out of the repository:\n\n"
                f"    echo '{VENV}/' >> .gitignore\n"
                f"    git rm -r --cached {shown}\n"
                "    git commit -m 'Stop committing the virtual environment'\n\n"
                "The build installs the dependencies from the app's dependency files.",
                error_id="app::committed-venv")
    if os.path.lexists(build_dir / HEROKU_PYTHON):
        output.warning(
            f"The app contains {HEROKU_PYTHON}, which this build replaces",
            f"{HEROKU_PYTHON} is where the build installs Python, so a committed copy (or one\n"
            "left by an earlier build of this checkout) is deleted and installed afresh.\n"
            "If it is in the repository, remove it:\n\n"
            "    echo '/.heroku/' >> .gitignore\n"
            f"    git rm -r --cached {HEROKU_PYTHON}")
