"""Pipenv: ``pipenv install --deploy --system`` of Pipfile.lock into the app's Python.

``--deploy`` makes Pipenv refuse a Pipfile.lock whose hash does not match the Pipfile
(Pipenv computes it; the rules are its own), ``--system`` installs into the runtime's
own site-packages; only ``[packages]`` (and the categories ``PYTHON_DEPENDENCY_GROUPS``
names: ``--categories``) are installed, hash-checked by pip, never the ``[dev-packages]``.
Pipenv does not read the app's ``.env`` during the build.
"""
from __future__ import annotations

import hashlib
import re

from buildpack.base import output
from buildpack.base.children import run_streamed
from buildpack.cache import layout
from buildpack.installers import pinned_tools, prune, resolution_record, slug_cleanup
from buildpack.installers.context import InstallContext
from buildpack.installers.failures import install_error, stale_lock
from buildpack.installers.record import Choice
from buildpack.installers.tool_env import tool_env
from buildpack.python_version import pipfile_lock

CACHE_FOLDER, VENVS_FOLDER = layout.PIPENV, layout.PIPENV_VENVS  # in CACHE_DIR

ARGS = ["install", "--deploy", "--system"]
DEV_ARGS = [*ARGS, "--dev"]  # bin/test-compile: the [dev-packages] too


def arguments(choice: Choice) -> list[str]:
    """``pipenv install``'s arguments; the selected groups are Pipfile categories
    (``--categories "packages <name>..."``)."""
    groups = choice.selection.groups
    if not groups:
        return list(DEV_ARGS if choice.dev else ARGS)
    categories = ["packages", *(["dev-packages"] if choice.dev else []), *groups]
    return [*ARGS, "--categories", " ".join(dict.fromkeys(categories))]
# Pipenv prints the Python traceback of its own exceptions ("[DeployException]:   File
# ..."), which says nothing to the app's developer: it is left out of the log.
_TRACEBACK_RE = re.compile(r"^\[\w+\]:")
_OUT_OF_DATE_RE = re.compile(r"out\s+of\s+date")


def locked_names(ctx: InstallContext, choice: Choice) -> list[str]:
    """The distributions Pipfile.lock pins in the categories this build installs."""
    lock = next(p for p in choice.files if p.name == "Pipfile.lock")
    data = pipfile_lock.parse(ctx.files.text(lock, "lock") or "{}")
    categories = ["default", *(["develop"] if choice.dev else []), *choice.selection.groups]
    return sorted({name for category in categories
                   if isinstance(section := data.get(category), dict) for name in section})


def update(ctx: InstallContext, choice: Choice, secrets: list[str]) -> None:
    """``pipenv install`` into the previous build's environment, which keeps what the lock
    no longer has: that is uninstalled after (``prune``, the lock's names as the roots);
    what came from a path, URL or VCS is installed again from the app's current files.

    The prune is skipped when it cannot find anything: Pipenv changed nothing, and the
    lock and the categories are byte for byte those the last prune of this environment
    had (recorded in it, ``resolution_record``), as uv's plain install is."""
    prune.reinstall_direct(ctx, secrets)
    roots = tuple(locked_names(ctx, choice))
    inputs = _prune_inputs(ctx, choice, roots)
    pruned = resolution_record.recorded(ctx.prefix) == inputs
    resolution_record.forget(ctx.prefix)  # an install stopped half-way claims nothing
    before = slug_cleanup.environment_state(ctx.prefix)
    _install(ctx, choice, secrets)
    if not pruned or slug_cleanup.environment_state(ctx.prefix) != before:
        prune.remove_unneeded(ctx, secrets, names=roots)
    else:
        output.detail("Pipfile.lock is as in the last build and Pipenv changed nothing: "
                      "nothing to uninstall.")
    resolution_record.remember(ctx.prefix, inputs)


def _prune_inputs(ctx: InstallContext, choice: Choice, roots: tuple[str, ...]) -> str:
    """The SHA-256 of what the prune reads: Pipfile.lock, the roots, Pipenv's arguments."""
    lock = next(p for p in choice.files if p.name == "Pipfile.lock")
    hashed = hashlib.sha256(b"pipenv prune\0" + "\0".join([*arguments(choice), *roots]).encode())
    hashed.update(b"\0" + (ctx.files.bytes(lock, "lock") or b""))
    return hashed.hexdigest()


def install(ctx: InstallContext, choice: Choice, secrets: list[str]) -> None:
    """Into a fresh runtime: it then holds what the lock has and nothing to prune (the
    record says so to the next build)."""
    resolution_record.forget(ctx.prefix)
    _install(ctx, choice, secrets)
    resolution_record.remember(ctx.prefix, _prune_inputs(ctx, choice, tuple(locked_names(ctx, choice))))


def _install(ctx: InstallContext, choice: Choice, secrets: list[str]) -> None:
    tool = pinned_tools.TOOLS["pipenv"]
    tool_dir = pinned_tools.ensure(ctx, tool, secrets)
    pipfile = choice.files[0]
    env = tool_env(
        ctx,
        PIPENV_PIPFILE=str(pipfile),
        PIPENV_DONT_LOAD_ENV="1",
        PIPENV_NOSPIN="1",
        PIPENV_YES="1",
        PIPENV_IGNORE_VIRTUALENVS="1",
        PIPENV_CACHE_DIR=str(ctx.cache_dir / CACHE_FOLDER),
        WORKON_HOME=str(ctx.cache_dir / VENVS_FOLDER),
        COLUMNS="1000",  # one message per line, not wrapped
    )
    output.step(f"Installing dependencies using Pipenv ({tool.version()})")
    args = arguments(choice)
    which = "and [dev-packages]" if choice.dev else "of Pipfile.lock, no dev-packages"
    if choice.selection:
        which += f", with {choice.selection.describe()}"
    output.detail(f"pipenv {' '.join(args)}: the [packages] {which}")
    code, lines = run_streamed(pinned_tools.command(ctx, tool, tool_dir, args), env,
                               ctx.app_dir, secrets, hide=_TRACEBACK_RE.match)
    if code == 0:
        return
    if _OUT_OF_DATE_RE.search("".join(lines)):
        raise stale_lock("Pipfile.lock", "the Pipfile",
                         "Pipenv's message with both hashes is above", "pipenv lock",
                         "pipenv::lock-out-of-date")
    if not any(line.strip() and not _TRACEBACK_RE.match(line) for line in lines):
        output.indent_lines(lines[-20:])  # only the hidden lines: the error points at them
    raise install_error(lines, env, "Pipenv", "the packages of Pipfile.lock",
                        f"pipenv {' '.join(args)}", app_dir=ctx.app_dir, code=code)
