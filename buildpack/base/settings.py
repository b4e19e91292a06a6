"""The buildpack's own pinned settings, kept in vendor/."""
from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from buildpack.base.numbers import parse_version

BUILDPACK_DIR = Path(__file__).resolve().parents[2]
VENDOR_DIR = BUILDPACK_DIR / "vendor"
PIP_REQUIREMENTS = VENDOR_DIR / "pip.txt"
# Filled only in an offline bundle (bin/build-offline-bundle).
BUNDLED_STORE = VENDOR_DIR / "runtimes"
BUNDLED_WHEELS = VENDOR_DIR / "wheels"


def machine_cache(environ: Mapping[str, str] | None = None) -> Path:
    """The build machine's own cache, outside any app's: CPython sources and builds, the
    store builder's tools, local-deploy's store and apps (``$XDG_CACHE_HOME`` honoured)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "buildpack-python"


@cache
def _json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VENDOR_DIR / name).read_text(encoding="utf-8"))
    return data


def default_store_url() -> str:
    return str(_json("settings.json")["runtime_store_url"])


def eol_dates() -> dict[str, str]:
    """minor ("3.12") -> end-of-life date (ISO), from vendor/python-eol.json."""
    return dict(_json("python-eol.json")["end_of_life"])


def release_dates() -> dict[str, str]:
    """minor ("3.14") -> date of its X.Y.0 release (ISO), from vendor/python-releases.json."""
    return dict(_json("python-releases.json")["released"])


def pinned_version(requirements: Path, name: str) -> str:
    """The version a pin file of vendor/ gives ``name`` (``name==X.Y ...``)."""
    match = re.search(rf"^{re.escape(name)}==(\S+)", requirements.read_text(encoding="utf-8"), re.M)
    if not match:
        raise RuntimeError(f"{requirements} has no {name}== pin")
    return match.group(1)


def pinned_pip_version() -> str:
    return pinned_version(PIP_REQUIREMENTS, "pip")


def pip_min_python() -> tuple[int, int]:
    """The oldest Python the pinned pip runs on (``# Requires-Python: >=X.Y`` in vendor/pip.txt)."""
    match = re.search(r"^# Requires-Python: >=(\d+)\.(\d+)", PIP_REQUIREMENTS.read_text(encoding="utf-8"),
                      re.M)
    if not match:
        raise RuntimeError(f"{PIP_REQUIREMENTS} has no '# Requires-Python: >=X.Y' line")
    major, minor = parse_version(f"{match.group(1)}.{match.group(2)}", parts=(2,))
    return major, minor
