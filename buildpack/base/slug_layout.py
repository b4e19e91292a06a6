"""Where a classic slug puts things, defined once.

The platform builds in BUILD_DIR and runs the slug from ``/app`` (``$HOME`` at run time):

- ``.heroku/python``: the runtime, pip and the app's packages (``/app/.heroku/python``);
- ``.heroku/app-base``: the app's folder for an ``APP_BASE`` build (``app_base``);
- ``.heroku/sbom.cdx.json``: the installed Python's CycloneDX SBOM (``app_build.sbom``);
- ``.profile.d/python.sh``: the run-time environment (``profile_d``).

A CNB build puts the same things into layers instead (``cnb.build``).
"""
from __future__ import annotations

from pathlib import Path

APP_ROOT = "/app"
PYTHON_DIR = Path(".heroku") / "python"
RUNTIME_PREFIX = f"{APP_ROOT}/{PYTHON_DIR}"
APP_BASE_RECORD = Path(".heroku") / "app-base"
PROFILE_DIR = Path(".profile.d")
PROFILE_NAME = "python.sh"


def installed(prefix: Path, package: str) -> bool:
    """Whether the Python at ``prefix`` has the import package ``package``."""
    return any(prefix.glob(f"lib/python3*/site-packages/{package}/__init__.py"))
