"""uv: ``uv sync --locked`` of uv.lock into the app's Python, without dev groups (but the
groups and extras of ``PYTHON_DEPENDENCY_GROUPS``/``PYTHON_EXTRAS``: ``--group``, ``--extra``).

uv manages the runtime's own site-packages (``UV_PROJECT_ENVIRONMENT`` is the runtime
prefix, ``UV_PYTHON`` its interpreter) and never downloads a Python of its own. The
project itself is installed editable (as uv does by default), so its code is read from
the app's folder at run time; ``slug_cleanup`` makes that reference relative.

An ``APP_BASE`` folder that is a member of a uv workspace (``manager_files``) is installed
from the workspace's uv.lock: ``uv sync --locked --package <member> --no-editable`` (uv
finds the workspace root from the member's folder), so the member and the workspace
libraries it depends on are copied into site-packages and the other members are left out.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

from buildpack.base import output
from buildpack.base.children import run_quiet, run_streamed
from buildpack.base.output import BuildError
from buildpack.cache import layout
from buildpack.installers import pinned_tools, prune
from buildpack.installers.context import InstallContext
from buildpack.installers.failures import install_error, stale_lock
from buildpack.installers.record import Choice
from buildpack.installers.tool_env import tool_env

CACHE_FOLDER = layout.UV  # in CACHE_DIR; uv_pip uses it too
_READY: dict[Path, Path] = {}  # install dir -> checked binary, once per build


def ensure_uv(ctx: InstallContext, secrets: list[str]) -> Path:
    """The pinned uv binary (installed into CACHE_DIR/tools, checked once per build)."""
    tool = pinned_tools.TOOLS["uv"]
    where = pinned_tools.install_dir(ctx, tool)
    if where not in _READY:
        _READY[where] = pinned_tools.ensure(ctx, tool, secrets) / "bin" / "uv"
    return _READY[where]


def prune_cache(ctx: InstallContext) -> None:
    """Drop from uv's cache what the next build does not need (``uv cache prune --ci``),
    when uv ran in this build: the pre-built wheels it downloaded. Their files are the
    installed environment's (``UV_LINK_MODE=hardlink``) and stay in its cache entry; uv's
    unpacked copy would add a folder tree as large as the environment's. Kept: the wheels
    uv built from source (building them again is slow) and the index pages. A package
    that is not in the environment is downloaded again. Best effort: a failure keeps
    the cache as it is."""
    uv = _READY.get(pinned_tools.install_dir(ctx, pinned_tools.TOOLS["uv"]))
    cache = ctx.cache_dir / CACHE_FOLDER
    if uv is None or not cache.is_dir():
        return
    env = tool_env(ctx, UV_CACHE_DIR=str(cache), UV_NO_PROGRESS="1")
    with contextlib.suppress(BuildError, OSError):
        run_quiet([str(uv), "cache", "prune", "--ci", "--quiet"], env=env, cwd=ctx.app_dir)

ARGS = ["sync", "--locked", "--no-default-groups"]
DEV_ARGS = ["sync", "--locked", "--all-groups"]  # bin/test-compile


def arguments(choice: Choice) -> list[str]:
    """``uv sync``'s arguments: the lock's main packages, plus the selected groups and
    extras (a CI build has every group already)."""
    groups = [] if choice.dev else [a for g in choice.selection.groups for a in ("--group", g)]
    extras = [a for e in choice.selection.extras for a in ("--extra", e)]
    member = ["--package", choice.workspace_package, "--no-editable"] \
        if choice.workspace_package else []
    return [*(DEV_ARGS if choice.dev else ARGS), *member, *groups, *extras]


def update(ctx: InstallContext, choice: Choice, secrets: list[str]) -> None:
    """``uv sync`` into the previous build's environment (it removes what the lock no
    longer has), reinstalling what came from a path, URL or VCS (``prune``)."""
    install(ctx, choice, secrets, reinstall=prune.direct_url_names(ctx.prefix))


def install(ctx: InstallContext, choice: Choice, secrets: list[str],
            reinstall: list[str] | None = None) -> None:
    tool = pinned_tools.TOOLS["uv"]
    tool_dir = ensure_uv(ctx, secrets).parent.parent
    env = tool_env(
        ctx,
        UV_PROJECT_ENVIRONMENT=str(ctx.prefix),
        UV_PYTHON=str(ctx.python),
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_MANAGED_PYTHON="1",
        UV_CACHE_DIR=str(ctx.cache_dir / CACHE_FOLDER),
        UV_LINK_MODE="hardlink",  # one copy of each file (env_cache: the damage rule)
        UV_NO_PROGRESS="1",
    )
    output.step(f"Installing dependencies using uv ({tool.version()})")
    args = arguments(choice) + [f"--reinstall-package={name}" for name in reinstall or ()]
    which = "with all groups" if choice.dev else "without the dev groups"
    if choice.selection:
        which += f", with {choice.selection.describe()}"
    lock = "uv.lock"
    if choice.workspace_root is not None:
        root = os.path.relpath(choice.workspace_root, ctx.app_dir)
        lock = f"the workspace's uv.lock ({root}/uv.lock) that {choice.workspace_package} needs"
        which += ", the workspace members non-editable"
    output.detail(f"uv {' '.join(args)}: the packages in {lock}, {which}")
    code, lines = run_streamed(pinned_tools.command(ctx, tool, tool_dir, args), env,
                               ctx.app_dir, secrets)
    if code == 0:
        return
    if any("needs to be updated" in line for line in lines):
        raise stale_lock("uv.lock", "pyproject.toml", "uv's message is above", "uv lock",
                         "uv::lock-out-of-date")
    raise install_error(lines, env, "uv", "the packages of uv.lock",
                        f"uv {' '.join(args)}", app_dir=ctx.app_dir, code=code)
