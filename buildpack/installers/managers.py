"""One record per package manager: everything the build knows about it, in one place.

Detection (``manager_files``), the engine choice for requirements.txt (``installers.choose``),
the Python check (``python_check``), the installed environment's cache key and the build
report (``build``), the config vars let through to the installers (``subprocess_env``) and
the error texts all read these records. ``Choice.manager`` is one of them. A new manager
is one more record here plus its install function.

| record      | lock file        | manifest       | relock        | installs with (pin)          |
|-------------|------------------|----------------|---------------|------------------------------|
| PIP_WITH_UV | requirements.txt | (none)         | (none)        | uv (vendor/tools/uv.txt)     |
| PIP         | requirements.txt | (none)         | (none)        | pip (vendor/pip.txt)         |
| PIPENV      | Pipfile.lock     | Pipfile        | `pipenv lock` | pipenv, Python 3.10+         |
| POETRY      | poetry.lock      | pyproject.toml | `poetry lock` | poetry, Python 3.10+         |
| UV          | uv.lock          | pyproject.toml | `uv lock`     | uv (a native program)        |
| PDM         | pdm.lock         | pyproject.toml | `pdm lock`    | pdm, Python 3.10+            |
| PYLOCK_*    | pylock.toml      | (none)         | (none)        | uv (or pip)                  |

requirements.txt has two records, one per engine (``PYTHON_INSTALLER``, ``uv_pip``):
the package manager is pip either way, and detection finds the default engine's. So has
``pylock.toml`` (PEP 751, ``pylock.<name>.toml`` when ``PYTHON_PYLOCK`` names it): both
``uv pip install -r`` and pip 26 install it, hash-checked. An app
that is a package (``pip install .``) is ``PIP``; an app without dependency files is
``NO_DEPENDENCIES``.
"""
from __future__ import annotations

import dataclasses
import textwrap

from buildpack.base import output
from buildpack.installers import pdm, pip, pipenv, poetry, uv, uv_pip
from buildpack.installers.context import InstallContext
from buildpack.installers.pinned_tools import TOOLS
from buildpack.installers.record import EXTRAS_VAR, GROUPS_VAR, Choice, Manager


def _nothing_to_install(ctx: InstallContext, choice: Choice, secrets: list[str]) -> None:
    output.step("Installing dependencies")
    looked_for = ", ".join([*BY_LOCKFILE, *PROJECT_FILES])
    output.detail("No dependency files: no dependencies to install.\n"
                  + textwrap.fill(f"(The buildpack looks for {looked_for}.)", 80))


_PIP_VARS = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX",
             "PIP_TRUSTED_HOST", "PIP_CERT", "PIP_CLIENT_CERT", "PIP_DEFAULT_TIMEOUT",
             "PIP_RETRIES", "PIP_NO_BINARY", "PIP_ONLY_BINARY", "PIP_PREFER_BINARY")

PIP_WITH_UV = Manager(
    name="pip", display="pip", lockfile="requirements.txt", manifest=None, lock_command=None,
    tool=TOOLS["uv"], config_vars=_PIP_VARS, config_patterns=(),
    install=uv_pip.install, update=uv_pip.update, engine="uv", installs_pip=True,
    test_requirements=pip.TEST_REQUIREMENTS, selection_vars=(GROUPS_VAR,))

PIP = Manager(
    name="pip", display="pip", lockfile="requirements.txt", manifest=None, lock_command=None,
    tool=None, config_vars=_PIP_VARS, config_patterns=(), install=pip.install, update=pip.update,
    engine="pip", test_requirements=pip.TEST_REQUIREMENTS, selection_vars=(GROUPS_VAR,))

PIPENV = Manager(
    name="pipenv", display="Pipenv", lockfile="Pipfile.lock", manifest="Pipfile",
    lock_command="pipenv lock", tool=TOOLS["pipenv"],
    config_vars=(*_PIP_VARS, "PIPENV_PYPI_MIRROR", "PIPENV_TIMEOUT"),  # Pipenv installs with pip
    config_patterns=(), install=pipenv.install, update=pipenv.update, python_in_lock=True,
    selection_vars=(GROUPS_VAR,))

POETRY = Manager(
    name="poetry", display="Poetry", lockfile="poetry.lock", manifest="pyproject.toml",
    lock_command="poetry lock", tool=TOOLS["poetry"],
    config_vars=("POETRY_REQUESTS_TIMEOUT", "POETRY_INSTALLER_MAX_WORKERS"),
    # a source's URL, credentials and certificates ([[tool.poetry.source]])
    config_patterns=(r"POETRY_REPOSITORIES_[A-Z0-9_]+_URL",
                     r"POETRY_HTTP_BASIC_[A-Z0-9_]+_(?:USERNAME|PASSWORD)",
                     r"POETRY_CERTIFICATES_[A-Z0-9_]+_(?:CERT|CLIENT_CERT)"),
    install=poetry.install, update=poetry.update,
    python_table=("tool", "poetry", "dependencies", "python"),
    selection_vars=(GROUPS_VAR, EXTRAS_VAR))

UV = Manager(
    name="uv", display="uv", lockfile="uv.lock", manifest="pyproject.toml",
    lock_command="uv lock", tool=TOOLS["uv"],
    config_vars=("UV_INDEX", "UV_DEFAULT_INDEX", "UV_INDEX_URL", "UV_EXTRA_INDEX_URL",
                 "UV_FIND_LINKS", "UV_INDEX_STRATEGY", "UV_INSECURE_HOST", "UV_HTTP_TIMEOUT",
                 "UV_HTTP_RETRIES", "UV_NATIVE_TLS"),
    # credentials of a named index ([[tool.uv.index]] name = "private")
    config_patterns=(r"UV_INDEX_[A-Z0-9_]+_(?:USERNAME|PASSWORD)",),
    install=uv.install, update=uv.update, installs_pip=True,
    selection_vars=(GROUPS_VAR, EXTRAS_VAR))

PDM = Manager(
    name="pdm", display="PDM", lockfile="pdm.lock", manifest="pyproject.toml",
    lock_command="pdm lock", tool=TOOLS["pdm"],
    # (sources in pyproject.toml take precedence)
    config_vars=("PDM_PYPI_URL", "PDM_PYPI_USERNAME", "PDM_PYPI_PASSWORD", "PDM_PYPI_VERIFY_SSL"),
    config_patterns=(), install=pdm.install, update=pdm.update,
    selection_vars=(GROUPS_VAR, EXTRAS_VAR))

# The package manager that wrote a pylock.toml does not install it: uv or pip does (its
# `requires-python` is read by ``python_check``).
PYLOCK_WITH_UV = Manager(
    name="pylock", display="pylock.toml", lockfile="pylock.toml", manifest=None,
    lock_command=None, tool=TOOLS["uv"],
    config_vars=_PIP_VARS, config_patterns=(), install=uv_pip.install, update=uv_pip.update,
    engine="uv", installs_pip=True, selection_vars=(GROUPS_VAR, EXTRAS_VAR))
PYLOCK_PIP = dataclasses.replace(PYLOCK_WITH_UV, tool=None, install=pip.install, update=pip.update,
                                 engine="pip", installs_pip=False)

NO_DEPENDENCIES = Manager(
    name="none", display="none", lockfile=None, manifest=None, lock_command=None,
    tool=None, config_vars=(), config_patterns=(), install=_nothing_to_install,
    update=_nothing_to_install)

MANAGERS = (PIP_WITH_UV, PIP, PIPENV, POETRY, UV, PDM, PYLOCK_WITH_UV, PYLOCK_PIP)
# requirements.txt's records by engine (PYTHON_INSTALLER, see ``uv_pip.choose_engine``).
BY_ENGINE: dict[str, Manager] = {m.engine: m for m in (PIP_WITH_UV, PIP)}
# The same for each lock file that either engine installs.
ENGINES: dict[str, dict[str, Manager]] = {
    "requirements.txt": BY_ENGINE,
    "pylock.toml": {m.engine: m for m in (PYLOCK_WITH_UV, PYLOCK_PIP)}}
# The record of each lock file, in detection order (requirements.txt, pylock.toml: the
# default engine's).
BY_LOCKFILE: dict[str, Manager] = {
    m.lockfile: m for m in (BY_ENGINE[uv_pip.DEFAULT_ENGINE], PIPENV, POETRY, UV, PDM,
                            ENGINES["pylock.toml"][uv_pip.DEFAULT_ENGINE]) if m.lockfile}
# Without any of those, these files make the app itself a package, which ``PIP`` installs
# (``pip install .``; ``manager_files`` reads them in this order).
PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")


def or_list(names: list[str]) -> str:
    """``a, b or c``: names for a message."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
