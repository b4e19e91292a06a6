"""One record per package manager: everything the build knows about it, in one place.

Detection (``manager_files``), the Python check (``python_check``), the installed
environment's cache key (``compile.cache_key``), the config vars let through to the
installers (``subprocess_env``) and the error texts all read these records. A new
manager (PDM, ...) is one more record here plus its install function.

| record | lock file        | manifest       | relock         | tool (vendor/tools) |
|--------|------------------|----------------|----------------|---------------------|
| pip    | requirements.txt | (none)         | (none)         | pip (vendor/pip.txt) |
| pipenv | Pipfile.lock     | Pipfile        | `pipenv lock`  | pipenv, Python 3.10+ |
| poetry | poetry.lock      | pyproject.toml | `poetry lock`  | poetry, Python 3.10+ |
| uv     | uv.lock          | pyproject.toml | `uv lock`      | uv (a native program) |
| pdm    | pdm.lock         | pyproject.toml | `pdm lock`     | pdm, Python 3.10+ |

(A requirements.txt may be installed by uv as the engine: ``uv_pip``, chosen per build.)
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from buildpack import settings
from buildpack.installers import pdm, pip, pipenv, poetry, uv
from buildpack.installers.context import Choice, InstallContext
from buildpack.installers.pinned_tools import TOOLS, Tool

InstallFunction = Callable[[InstallContext, Choice, list[str]], None]


@dataclass(frozen=True)
class Manager:
    name: str  # Choice.manager, the cache key's manager, the log's name
    display: str
    lockfile: str  # the file whose presence picks this manager
    manifest: str | None  # the file the lock is made from (None: the lock file is all)
    lock_command: str | None  # regenerates a stale or missing lock
    # Whether the lock file's text installs code copied from the app's folder (so the
    # installed environment cannot be cached on the lock's hash). None: read the
    # requirements files instead (``requirements_files.uncached_sources``).
    local_code: Callable[[str], bool] | None
    tool: Tool | None  # pinned in vendor/tools/<name>.txt; None: only pip (vendor/pip.txt)
    config_vars: tuple[str, ...]  # the app's settings for it, let through to the installer
    config_patterns: tuple[str, ...]  # the same, as full-match regexes (per-source names)
    install: InstallFunction

    @property
    def min_python(self) -> tuple[int, int] | None:
        return self.tool.min_python if self.tool else None

    def pins(self) -> list[Path]:
        """The files that pin what installs the app's packages (part of the cache key)."""
        return [settings.PIP_REQUIREMENTS] + ([self.tool.requirements] if self.tool else [])


def _pipfile_lock_has_local_code(text: str) -> bool:
    try:
        packages = json.loads(text).get("default", {})
    except (ValueError, AttributeError, RecursionError):
        return False  # reported with its own message when the lock is read
    return isinstance(packages, dict) and any(
        isinstance(spec, dict) and ("path" in spec or "file" in spec) and not spec.get("editable")
        for spec in packages.values())


def _matches(pattern: str) -> Callable[[str], bool]:
    regex = re.compile(pattern, re.M)
    return lambda text: bool(regex.search(text))


_PIP_VARS = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX",
             "PIP_TRUSTED_HOST", "PIP_CERT", "PIP_CLIENT_CERT", "PIP_DEFAULT_TIMEOUT",
             "PIP_RETRIES", "PIP_NO_BINARY", "PIP_ONLY_BINARY", "PIP_PREFER_BINARY")

PIP = Manager(
    name="pip", display="pip", lockfile="requirements.txt", manifest=None, lock_command=None,
    local_code=None, tool=None, config_vars=_PIP_VARS, config_patterns=(), install=pip.install)

PIPENV = Manager(
    name="pipenv", display="Pipenv", lockfile="Pipfile.lock", manifest="Pipfile",
    lock_command="pipenv lock", local_code=_pipfile_lock_has_local_code,
    tool=TOOLS["pipenv"],
    config_vars=(*_PIP_VARS, "PIPENV_PYPI_MIRROR", "PIPENV_TIMEOUT"),  # Pipenv installs with pip
    config_patterns=(), install=pipenv.install)

POETRY = Manager(
    name="poetry", display="Poetry", lockfile="poetry.lock", manifest="pyproject.toml",
    lock_command="poetry lock", local_code=_matches(r"^type\s*=\s*\"(?:directory|file)\""),
    tool=TOOLS["poetry"],
    config_vars=("POETRY_REQUESTS_TIMEOUT", "POETRY_INSTALLER_MAX_WORKERS"),
    # a source's URL, credentials and certificates ([[tool.poetry.source]])
    config_patterns=(r"POETRY_REPOSITORIES_[A-Z0-9_]+_URL",
                     r"POETRY_HTTP_BASIC_[A-Z0-9_]+_(?:USERNAME|PASSWORD)",
                     r"POETRY_CERTIFICATES_[A-Z0-9_]+_(?:CERT|CLIENT_CERT)"),
    install=poetry.install)

UV = Manager(
    name="uv", display="uv", lockfile="uv.lock", manifest="pyproject.toml",
    lock_command="uv lock", local_code=_matches(r"^source\s*=\s*\{\s*(?:directory|path)\s*="),
    tool=TOOLS["uv"],
    config_vars=("UV_INDEX", "UV_DEFAULT_INDEX", "UV_INDEX_URL", "UV_EXTRA_INDEX_URL",
                 "UV_FIND_LINKS", "UV_INDEX_STRATEGY", "UV_INSECURE_HOST", "UV_HTTP_TIMEOUT",
                 "UV_HTTP_RETRIES", "UV_NATIVE_TLS"),
    # credentials of a named index ([[tool.uv.index]] name = "private")
    config_patterns=(r"UV_INDEX_[A-Z0-9_]+_(?:USERNAME|PASSWORD)",),
    install=uv.install)

PDM = Manager(
    name="pdm", display="PDM", lockfile="pdm.lock", manifest="pyproject.toml",
    lock_command="pdm lock", local_code=_matches(r"^path\s*="), tool=TOOLS["pdm"],
    # (sources in pyproject.toml take precedence)
    config_vars=("PDM_PYPI_URL", "PDM_PYPI_USERNAME", "PDM_PYPI_PASSWORD", "PDM_PYPI_VERIFY_SSL"),
    config_patterns=(), install=pdm.install)

# In detection order: the lock files are looked for in this order.
MANAGERS: dict[str, Manager] = {m.name: m for m in (PIP, PIPENV, POETRY, UV, PDM)}
BY_LOCKFILE: dict[str, Manager] = {m.lockfile: m for m in MANAGERS.values()}
