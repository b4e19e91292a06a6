"""Poetry: ``poetry sync --only main`` of poetry.lock into the app's Python (plus the
groups and extras of ``PYTHON_DEPENDENCY_GROUPS``/``PYTHON_EXTRAS``: ``--only main,<group>``,
``--extras``).

Poetry runs on the app's interpreter with virtualenv creation off, so it installs into
the runtime's own site-packages; only the ``main`` group is installed (no dev or other
groups), and packages not in the lock are removed. ``poetry sync`` itself refuses a
poetry.lock that no longer matches pyproject.toml, and an invalid pyproject.toml, before it
installs anything: its message names which (a ``poetry check --lock`` before it cost a
second Poetry start, about 0.5 s of every build). The app's own package
(unless ``package-mode = false``) is installed editable, as Poetry does, and
``slug_cleanup`` makes that reference relative. Keyring lookups are off: credentials
come from ``POETRY_HTTP_BASIC_<SOURCE>_USERNAME``/``_PASSWORD`` config vars.
"""
from __future__ import annotations

from buildpack.base import output, toml_io
from buildpack.base.children import run_streamed
from buildpack.base.output import BuildError
from buildpack.cache import layout
from buildpack.installers import pinned_tools, prune
from buildpack.installers.context import InstallContext
from buildpack.installers.failures import install_error, stale_lock
from buildpack.installers.record import Choice
from buildpack.installers.tool_env import empty_config_dir, tool_env

CACHE_FOLDER, DATA_FOLDER = layout.POETRY, layout.POETRY_DATA  # in CACHE_DIR

SYNC_ARGS = ["sync", "--only", "main", "--no-ansi", "--no-interaction"]
DEV_SYNC_ARGS = ["sync", "--all-groups", "--no-ansi", "--no-interaction"]  # bin/test-compile


def arguments(choice: Choice) -> list[str]:
    """``poetry sync``'s arguments: the main group (and the selected groups: ``--only
    main,web``, since Poetry ignores ``--with`` beside ``--only``), the selected extras."""
    args = list(DEV_SYNC_ARGS if choice.dev else SYNC_ARGS)
    if choice.selection.groups and not choice.dev:
        args[args.index("main")] = ",".join(("main", *choice.selection.groups))
    extras = [a for e in choice.selection.extras for a in ("--extras", e)]
    return args[:-2] + extras + args[-2:]
_NOISE = ("Skipping virtualenv creation",)
# What ``poetry sync`` prints when it refuses to start (Poetry 2.x).
_STALE_LOCK = "Run `poetry lock`"
_INVALID = "The Poetry configuration is invalid"


def update(ctx: InstallContext, choice: Choice, secrets: list[str]) -> None:
    """``poetry sync`` into the previous build's environment (it removes what the lock no
    longer has), after uninstalling what came from a path, URL or VCS (``prune``) but the
    app's own project, which every ``poetry sync`` installs again from the app's files (a
    pip uninstall of it cost about 0.4 s of every build)."""
    prune.reinstall_direct(ctx, secrets, installs_itself=_project_name(ctx, choice))
    install(ctx, choice, secrets)


def _project_name(ctx: InstallContext, choice: Choice) -> str:
    """pyproject.toml's [project] name (or Poetry 1's [tool.poetry] name); "" if none."""
    data = toml_io.parse(ctx.files.text(choice.files[0], "manifest") or "", "pyproject.toml")
    tool = data.get("tool")
    for table in (data.get("project"), tool.get("poetry") if isinstance(tool, dict) else None):
        if isinstance(table, dict) and isinstance(table.get("name"), str):
            return str(table["name"])
    return ""


def install(ctx: InstallContext, choice: Choice, secrets: list[str]) -> None:
    tool = pinned_tools.TOOLS["poetry"]
    tool_dir = pinned_tools.ensure(ctx, tool, secrets)
    env = tool_env(
        ctx,
        POETRY_VIRTUALENVS_CREATE="false",
        POETRY_NO_INTERACTION="1",
        POETRY_KEYRING_ENABLED="false",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        POETRY_CACHE_DIR=str(ctx.cache_dir / CACHE_FOLDER),
        POETRY_CONFIG_DIR=str(empty_config_dir(ctx)),
        POETRY_DATA_DIR=str(ctx.cache_dir / DATA_FOLDER),
    )
    output.step(f"Installing dependencies using Poetry ({tool.version()})")
    args = arguments(choice)
    shown = " ".join(a for a in args if not a.startswith("--no-"))
    which = "all groups" if choice.dev else "main group only"
    if choice.selection:
        which = ("all groups" if choice.dev else "the main group") + \
            f", with {choice.selection.describe()}"
    output.detail(f"poetry {shown}: the packages in poetry.lock, {which}")
    code, lines = run_streamed(pinned_tools.command(ctx, tool, tool_dir, args), env,
                               ctx.app_dir, secrets, hide=lambda line: line.startswith(_NOISE))
    if code == 0:
        return
    if any(_STALE_LOCK in line for line in lines):
        raise stale_lock("poetry.lock", "pyproject.toml", "Poetry's message is above",
                         "poetry lock", "poetry::lock-out-of-date")
    if any(_INVALID in line for line in lines):
        raise BuildError(
            "Poetry found errors in pyproject.toml",
            "Poetry reported the errors above. Fix pyproject.toml (run `poetry check --lock`\n"
            "locally until it passes) and push again.",
            error_id="poetry::check-failed",
        )
    raise install_error(lines, env, "Poetry", "the packages of poetry.lock",
                        f"poetry {shown}", app_dir=ctx.app_dir, code=code)
