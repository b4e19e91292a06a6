"""What an install function gets at install time: the app, the runtime, the environment."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from buildpack.app.app_files import AppFiles


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
    # The folder the app runs from under another path (a slug's BUILD_DIR, run as /app):
    # what the install writes naming it is rewritten. None when the build's paths are the
    # launch paths (CNB layers and /workspace). The target says which (``steps.Target``).
    slug_root: Path | None
    variant: str = ""  # the runtime's (runtime.variants): "freethreaded" for 3.13t
