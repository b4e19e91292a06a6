"""Settings every package-manager tool runs with, on top of the build's environment.

Caches go to CACHE_DIR (never into the slug), and user- or system-wide configuration
files of the build host are not read (an empty config folder stands in for them), the
same way pip runs with ``PIP_CONFIG_FILE=/dev/null``.
"""
from __future__ import annotations

from pathlib import Path

from buildpack.cache import layout
from buildpack.installers.context import InstallContext


def empty_config_dir(ctx: InstallContext) -> Path:
    path = ctx.cache_dir / layout.TOOL_CONFIG
    path.mkdir(parents=True, exist_ok=True)
    return path


def tool_env(ctx: InstallContext, **settings: str) -> dict[str, str]:
    config = str(empty_config_dir(ctx))
    env = dict(ctx.env)
    env.update(
        XDG_CACHE_HOME=str(ctx.cache_dir / layout.XDG_CACHE),
        XDG_CONFIG_HOME=config,
        XDG_CONFIG_DIRS=config,
        XDG_DATA_HOME=str(ctx.cache_dir / layout.XDG_DATA),
        NO_COLOR="1",
    )
    env.update(settings)
    return env
