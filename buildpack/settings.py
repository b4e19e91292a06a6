"""The buildpack's own pinned settings, kept in vendor/."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

BUILDPACK_DIR = Path(__file__).resolve().parent.parent
VENDOR_DIR = BUILDPACK_DIR / "vendor"
PIP_REQUIREMENTS = VENDOR_DIR / "pip.txt"


@lru_cache(maxsize=None)
def _settings() -> dict:
    return json.loads((VENDOR_DIR / "settings.json").read_text(encoding="utf-8"))


def default_python_minor() -> str:
    return _settings()["default_python_minor"]


def default_store_url() -> str:
    return _settings()["runtime_store_url"]


def pinned_pip_version() -> str:
    """The version in vendor/pip.txt (``pip==X.Y ...``)."""
    match = re.search(r"^pip==(\S+)", PIP_REQUIREMENTS.read_text(encoding="utf-8"), re.M)
    if not match:
        raise RuntimeError(f"{PIP_REQUIREMENTS} has no pip== pin")
    return match.group(1)
