"""PDM: ``pdm sync --prod`` of pdm.lock into the app's Python, without dev groups.

PDM runs on the app's interpreter (``PDM_PYTHON``) with virtualenvs off, in its "global"
mode (``-g -p <app>``), which installs into that interpreter's own site-packages rather
than a ``.venv`` or ``__pypackages__`` in the app. PDM's own process runs with ``-S``: it
never imports from the site-packages it is writing (``pinned_tools.Tool.without_site``).
``pdm lock --check`` first refuses a pdm.lock that no longer matches pyproject.toml (PDM
prints nothing then: the error says what to run). Only the default dependencies are
installed, never the dev groups (a CI build, ``bin/test-compile``, installs every group),
except those that ``PYTHON_DEPENDENCY_GROUPS``/``PYTHON_EXTRAS`` name (``-G``). The project itself, when PDM treats
it as a distribution, is installed editable as PDM does; ``slug_cleanup`` makes that
reference relative. The index is the lock's sources from pyproject.toml
(``[[tool.pdm.source]]``), else ``PDM_PYPI_URL``; PDM's update check is off, and its
caches live in CACHE_DIR. Into the previous build's environment (``update``), ``--only-keep``
also removes what the selected groups no longer have.
"""
from __future__ import annotations

from buildpack.base import output
from buildpack.base.children import run_streamed
from buildpack.cache import layout
from buildpack.installers import pinned_tools, prune
from buildpack.installers.context import InstallContext
from buildpack.installers.failures import install_error, stale_lock
from buildpack.installers.record import Choice
from buildpack.installers.tool_env import tool_env

CACHE_FOLDER, HOME_FOLDER = layout.PDM, layout.PDM_HOME  # in CACHE_DIR

CHECK_ARGS = ["lock", "--check"]
SYNC_ARGS = ["sync", "--prod"]
DEV_SYNC_ARGS = ["sync", "--dev", "-G", ":all"]  # bin/test-compile: every group


def arguments(choice: Choice) -> list[str]:
    """``pdm sync``'s arguments. The selected groups and extras are each a ``-G``; PDM
    refuses ``--prod`` beside a dev group, and with a dev group named it installs no other
    dev group, so ``--prod`` goes when groups are selected."""
    if choice.dev:
        return list(DEV_SYNC_ARGS)
    selected = [a for name in (*choice.selection.groups, *choice.selection.extras)
                for a in ("-G", name)]
    return [*(["sync"] if choice.selection.groups else SYNC_ARGS), *selected]


def update(ctx: InstallContext, choice: Choice, secrets: list[str]) -> None:
    """``pdm sync --only-keep`` into the previous build's environment: PDM installs what
    the lock changed and removes what the selected groups no longer have (pip, setuptools
    and wheel it never removes); what came from a path, URL or VCS is uninstalled first
    and installed again from the app's current files (``prune``)."""
    prune.reinstall_direct(ctx, secrets)
    install(ctx, choice, secrets, only_keep=True)


def install(ctx: InstallContext, choice: Choice, secrets: list[str], only_keep: bool = False) -> None:
    tool = pinned_tools.TOOLS["pdm"]
    tool_dir = pinned_tools.ensure(ctx, tool, secrets)
    env = tool_env(
        ctx,
        PDM_PYTHON=str(ctx.python),
        PDM_USE_VENV="false",
        PDM_CHECK_UPDATE="false",
        PDM_NON_INTERACTIVE="1",
        PDM_IGNORE_ACTIVE_VENV="1",
        PDM_CACHE_DIR=str(ctx.cache_dir / CACHE_FOLDER),
        PDM_HOME=str(ctx.cache_dir / HOME_FOLDER),
        PDM_CONFIG_FILE=str(ctx.cache_dir / layout.TOOL_CONFIG / "pdm.toml"),
    )
    output.step(f"Installing dependencies using PDM ({tool.version()})")
    project = ["-p", str(ctx.app_dir)]
    code, lines = run_streamed(pinned_tools.command(ctx, tool, tool_dir, CHECK_ARGS + project),
                               env, ctx.app_dir, secrets, echo=False)
    if code != 0:
        output.indent_lines(lines)
        raise stale_lock("pdm.lock", "pyproject.toml", "`pdm lock --check` failed", "pdm lock",
                         "pdm::lock-out-of-date")
    args = arguments(choice) + (["--only-keep"] if only_keep else [])
    which = "every group" if choice.dev else "without the dev groups"
    if choice.selection and not choice.dev:
        which = f"the default group, with {choice.selection.describe()}"
    output.detail(f"pdm {' '.join(args)}: the packages in pdm.lock, {which}")
    code, lines = run_streamed(
        pinned_tools.command(ctx, tool, tool_dir, [*args, "-g", *project]), env, ctx.app_dir,
        secrets)
    if code != 0:
        raise install_error(lines, env, "PDM", "the packages of pdm.lock", f"pdm {' '.join(args)}",
                            app_dir=ctx.app_dir, code=code)
