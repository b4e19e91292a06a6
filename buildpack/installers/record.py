"""The package manager's record (``Manager``) and the plan-time ``Choice`` that holds one.

The records themselves are in ``managers``; this module only defines their shape, so that
the install functions (which take a ``Choice``) and the records (which name the install
functions) do not import each other."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from buildpack.base import hashing, settings
from buildpack.installers.context import InstallContext
from buildpack.installers.pinned_tools import TOOLS_DIR, Tool

# The config vars that name what to install besides the main dependencies (``selection``).
GROUPS_VAR = "PYTHON_DEPENDENCY_GROUPS"
EXTRAS_VAR = "PYTHON_EXTRAS"


@dataclass(frozen=True)
class Selection:
    """The dependency groups and extras to install besides the main dependencies, as the
    project spells them (checked against what it defines: ``selection.select``).
    ``files``: what defines them when that is not already a file of the choice (a
    requirements.txt app's pyproject.toml with ``[dependency-groups]``): part of the cache
    key."""

    groups: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    files: tuple[Path, ...] = ()
    checked: bool = True  # False: not yet checked against the project (``selection.confirm``)

    def __bool__(self) -> bool:
        return bool(self.groups or self.extras)

    def key(self) -> str:
        """The cache key's text: ``groups=a,b;extras=x`` ("" when nothing is selected)."""
        return f"groups={','.join(self.groups)};extras={','.join(self.extras)}" if self else ""

    def describe(self) -> str:
        """``the group web and the extras s3, pg`` for the log ("" when nothing is selected)."""
        parts = [f"the {kind}{'s' if len(names) > 1 else ''} {', '.join(names)}"
                 for kind, names in (("group", self.groups), ("extra", self.extras)) if names]
        return " and ".join(parts)


@dataclass(frozen=True)
class Choice:
    """The package manager an app uses and the files that declare its dependencies.

    ``manager`` is the record of ``installers.managers`` that installs (for requirements.txt
    the one of the chosen engine; ``NO_DEPENDENCIES`` without dependency files); ``files`` holds
    the manifest before the lock (``Pipfile``, ``Pipfile.lock``). ``installs_app``: the
    app itself is the package to install (``pip install .``). ``engine_reason``: the one
    line that says why requirements.txt is not installed by the default engine (see
    ``uv_pip``).
    """

    manager: Manager
    files: tuple[Path, ...] = field(default_factory=tuple)
    installs_app: bool = False
    # A CI build (bin/test-compile): the dev/test dependencies too (see installers).
    dev: bool = False
    engine_reason: str = ""
    # PYTHON_DEPENDENCY_GROUPS and PYTHON_EXTRAS, checked against the project.
    selection: Selection = field(default_factory=Selection)
    # The app (APP_BASE) is a member of a uv workspace: the workspace's root folder (its
    # uv.lock and version files) and the member's package name (``manager_files``).
    workspace_root: Path | None = None
    workspace_package: str = ""


InstallFunction = Callable[[InstallContext, Choice, list[str]], None]


@dataclass(frozen=True)
class Manager:
    name: str  # the package manager: the cache key's manager, the build report, the log
    display: str
    lockfile: str | None  # the file whose presence picks this manager
    manifest: str | None  # the file the lock is made from (None: the lock file is all)
    lock_command: str | None  # regenerates a stale or missing lock
    # What installs the packages besides pip, pinned in vendor/tools/<name>.txt (None: pip
    # alone, vendor/pip.txt). Its pin is part of the cache key; its version is reported.
    tool: Tool | None
    config_vars: tuple[str, ...]  # the app's settings for it, let through to the installer
    config_patterns: tuple[str, ...]  # the same, as full-match regexes (per-source names)
    install: InstallFunction
    # Brings the previous build's installed environment up to date: installs what changed,
    # reinstalls what came from a path, URL or VCS (``prune.direct_url_names``) and removes
    # what is no longer needed.
    update: InstallFunction
    # What installs a requirements.txt (PYTHON_INSTALLER: "uv" or "pip"); "" for the others.
    engine: str = ""
    # uv installs the packages, and so pip into a fresh runtime: uv is fetched while the
    # runtime is unpacked (else pip installs itself, from its wheel fetched meanwhile).
    installs_pip: bool = False
    # The app's file a CI build (bin/test-compile) installs after the dependencies, with the
    # record's engine (``installers.install``).
    test_requirements: str | None = None
    # Where the app states the Python it needs (``python_check``), besides pyproject.toml's
    # [project] requires-python: the lock file's _meta.requires (Pipfile.lock), or this
    # table of pyproject.toml, in Poetry's syntax (^, ~), when requires-python is absent.
    python_in_lock: bool = False
    python_table: tuple[str, ...] = ()
    # Which of GROUPS_VAR and EXTRAS_VAR it can install (``selection``); another one set
    # is an error. (For requirements.txt, groups are pyproject.toml's [dependency-groups];
    # ``pip install .`` of the app also takes extras: ``selection.accepted``.)
    selection_vars: tuple[str, ...] = ()

    @property
    def min_python(self) -> tuple[int, int] | None:
        return self.tool.min_python if self.tool else None

    def pins(self) -> list[Path]:
        """The files that pin what installs the app's packages (part of the cache key)."""
        return [settings.PIP_REQUIREMENTS] + ([self.tool.requirements] if self.tool else [])

    def installer_version(self) -> str:
        """The cache key's version of what installs: pip's, with the engine when it is
        not the manager itself (``26.3 with uv``), and the hash of the tool's pin."""
        engine = f" with {self.engine}" if self.engine and self.engine != self.name else ""
        tools = self.pins()[1:]
        return settings.pinned_pip_version() + engine + (
            ":" + hashing.hash_files(tools, TOOLS_DIR) if tools else "")
