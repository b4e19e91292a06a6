"""Where a CNB lifecycle puts things, from its environment variables or arguments.

Buildpack API 0.8 and later pass paths in ``CNB_*`` variables; older APIs passed them as
arguments (``bin/detect PLATFORM PLAN``, ``bin/build LAYERS PLATFORM PLAN``), and the
lifecycle still may. The variables win. The app is the working directory.

CNB mode is on when ``CNB_BUILDPACK_DIR`` names this buildpack's directory: the lifecycle
sets it for every API version, a classic platform never does, and a CNB buildpack that
runs this one as a classic buildpack (a shim) has its own directory there.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from buildpack.base import platform_info, settings
from buildpack.base.output import BuildError

BUILDPACK_DIR_VAR = "CNB_BUILDPACK_DIR"


def requested(environ: Mapping[str, str]) -> bool:
    """Whether a CNB lifecycle runs this buildpack."""
    value = environ.get(BUILDPACK_DIR_VAR, "").strip()
    return bool(value) and os.path.realpath(value) == str(settings.BUILDPACK_DIR)


def _path(environ: Mapping[str, str], name: str, argv: list[str], index: int,
          program: str) -> Path:
    value = environ.get(name, "").strip() or (argv[index] if len(argv) > index else "")
    if not value:
        raise BuildError(f"{program} was not told where {name} is",
                         f"The CNB lifecycle sets {name} (or passes it as argument {index + 1}).\n"
                         "Run this buildpack with a CNB platform such as `pack build`.",
                         error_id="cnb::missing-argument")
    return Path(value)


@dataclass(frozen=True)
class DetectArgs:
    platform_dir: Path
    plan_path: Path

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], argv: list[str]) -> DetectArgs:
        return cls(_path(environ, "CNB_PLATFORM_DIR", argv, 0, "bin/detect"),
                   _path(environ, "CNB_BUILD_PLAN_PATH", argv, 1, "bin/detect"))


@dataclass(frozen=True)
class BuildArgs:
    layers_dir: Path
    platform_dir: Path

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], argv: list[str]) -> BuildArgs:
        return cls(_path(environ, "CNB_LAYERS_DIR", argv, 0, "bin/build"),
                   _path(environ, "CNB_PLATFORM_DIR", argv, 1, "bin/build"))

    @property
    def env_dir(self) -> Path:
        """The config vars, one file each: the classic ENV_DIR."""
        return self.platform_dir / "env"


def target_stack(environ: Mapping[str, str]) -> str | None:
    """The stack name of the run image from ``CNB_TARGET_DISTRO_*`` (Buildpack API 0.10),
    named like the classic stacks derived from /etc/os-release (``ubuntu-24.04``).

    The runtime runs on the run image, so its distribution decides which runtime fits;
    ``None`` when the lifecycle does not say (the build image's os-release is used).
    """
    name = environ.get("CNB_TARGET_DISTRO_NAME", "").strip()
    version = environ.get("CNB_TARGET_DISTRO_VERSION", "").strip()
    if not name or not version:
        return None
    return platform_info.stack_from_os_release(f"ID={name}\nVERSION_ID={version}\n")


def plan_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment snapshot the build reads (``plan.read_inputs``): the lifecycle's,
    with ``STACK`` from the run image (``target_stack``) when the platform sets none,
    since the runtime runs there. The process's own environment is left as it is."""
    snapshot = dict(environ)
    stack = target_stack(snapshot)
    if stack and not snapshot.get("STACK", "").strip():
        snapshot["STACK"] = stack
    return snapshot
