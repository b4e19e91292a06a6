"""How the app declares its dependencies, and installing them.

``choose(app_dir)`` runs at plan time (pure checks on the app's files, so a bad
combination fails the push before anything is written); ``install(choice, ctx)``
runs the chosen installer against the provisioned interpreter.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from buildpack import output
from buildpack.output import BuildError


@dataclass(frozen=True)
class Choice:
    """The package manager an app uses and the files that declare its dependencies."""

    manager: str  # "pip" or "none"
    files: tuple[Path, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class InstallContext:
    """What an installer may use: the app, the runtime, the build's environment."""

    app_dir: Path
    prefix: Path
    python: Path
    env: dict[str, str]
    cache_dir: Path
    secrets: list[str]
    pip_version: str


def _regular_file(app_dir: Path, name: str) -> Path | None:
    path = app_dir / name
    if not path.exists() and not path.is_symlink():
        return None
    if not path.is_file():
        raise BuildError(
            f"{name} is not a regular file",
            f"{name} is a directory or a link to a file that does not exist.\n"
            "Make it a plain text file listing the app's dependencies, one per line.",
        )
    return path


def choose(app_dir: Path) -> Choice:
    requirements = _regular_file(app_dir, "requirements.txt")
    if requirements is not None:
        return Choice("pip", (requirements,))
    return Choice("none")


def install(choice: Choice, ctx: InstallContext) -> None:
    from buildpack.installers import pip

    if choice.manager == "pip":
        pip.install_requirements(ctx, choice.files[0])
    else:
        output.detail("No requirements.txt found; no dependencies to install.")
