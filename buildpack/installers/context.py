"""What the installers share: the plan-time choice and the install-time context."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from buildpack.app_files import AppFiles

if TYPE_CHECKING:
    from buildpack.installers.managers import Manager


@dataclass(frozen=True)
class Choice:
    """The package manager an app uses and the files that declare its dependencies.

    ``manager`` is the record of ``installers.managers`` that installs (for requirements.txt
    the one of the chosen engine; ``NO_DEPENDENCIES`` without dependency files); ``files`` holds
    the manifest before the lock (``Pipfile``, ``Pipfile.lock``). ``installs_app``: the
    app itself is the package to install (``pip install .``). ``installs_local_code``:
    the install copies code from the app's folder (``pip install .``, a non-editable
    local path requirement), so ``files`` alone do not determine what gets installed and
    an installed environment must not be reused on their account. (Editable installs
    read the code in place and do not count.) ``engine_reason``: the one line that says
    why requirements.txt is not installed by the default engine (see ``uv_pip``).
    """

    manager: Manager
    files: tuple[Path, ...] = field(default_factory=tuple)
    installs_app: bool = False
    installs_local_code: bool = False
    # Why an installed environment cannot be reused (local paths, --find-links folders,
    # VCS branches), for the log; empty when it can.
    uncached: tuple[str, ...] = ()
    # A CI build (bin/test-compile): the dev/test dependencies too (see installers).
    dev: bool = False
    engine_reason: str = ""


@dataclass(frozen=True)
class InstallContext:
    """What an installer may use: the app, the runtime, the build's environment."""

    app_dir: Path
    prefix: Path
    python: Path
    env: dict[str, str]
    cache_dir: Path
    secrets: list[str]
    python_version: str  # the runtime's (X.Y.Z)
    files: AppFiles  # reads the app's files (see app_files)
